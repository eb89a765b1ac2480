// Cross-check runner: decode the streams tests/web/test_js_decoder.py wrote
// with the page's decoder and compare every outcome with Python's.
//
// For each NAME.msgs (messages, each as u32 length + bytes) in the directory
// given, NAME.expect.json lists per message [refused, fb xxh3 hex or "",
// needsKeyframe, sequence or null, feed's count or null] as Python's ScreenDecoder saw it, and
// NAME.final.bin holds Python's final framebuffer (B, G, R, X); a stream named
// feed-* holds chunks of a byte stream for feed() instead. Prints one
// JSON line: { streams, messages, mismatches: [...] }. With NAME.video.bin
// the decoder gets a sink that replays Python's pictures for its VIDEO ops.

import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { DecodeError, ScreenDecoder, bgrxToRgba, rgbaToBgrx } from '../../../src/screencodec/web/static/decoder/index.js';
import { xxh3 } from '../../../src/screencodec/web/static/decoder/xxh3.js';

export function readMessages(path) {
  const data = readFileSync(path);
  const out = [];
  let pos = 0;
  while (pos < data.length) {
    const n = data.readUInt32LE(pos);
    out.push(new Uint8Array(data.buffer, data.byteOffset + pos + 4, n));
    pos += 4 + n;
  }
  return out;
}

/** A video sink that returns, in order, the pictures Python's reference
 * decoder made for the stream's VIDEO ops (NAME.video.bin), after checking
 * each op asks for a picture of that size. */
export function replaySink(path) {
  const data = readFileSync(path);
  let pos = 0;
  return {
    calls: 0,
    async decode(op) {
      this.calls += 1;
      if (pos >= data.length) throw new Error('no more pictures');
      const w = data.readUInt32LE(pos), h = data.readUInt32LE(pos + 4);
      const bgrx = data.subarray(pos + 8, pos + 8 + w * h * 4);
      pos += 8 + w * h * 4;
      if (w !== op.width || h !== op.height) throw new Error(`picture ${w}x${h} for a ${op.width}x${op.height} op`);
      return { width: w, height: h, data: bgrxToRgba(bgrx) };
    },
    reset() {},
    get left() {
      return data.length - pos;
    },
  };
}

export async function checkStream(dir, name) {
  const messages = readMessages(join(dir, `${name}.msgs`));
  const expect = JSON.parse(readFileSync(join(dir, `${name}.expect.json`), 'utf8'));
  const videoPath = join(dir, `${name}.video.bin`);
  const sink = existsSync(videoPath) ? replaySink(videoPath) : null;
  const dec = new ScreenDecoder({ video: sink });
  const mismatches = [];
  // The framebuffer's hash, recomputed only when its bytes changed.
  let last = null;
  let lastHash = '';
  const digest = () => {
    if (!dec.framebuffer) return '';
    if (!last || last.length !== dec.framebuffer.length || !Buffer.from(last.buffer).equals(Buffer.from(dec.framebuffer.buffer))) {
      last = dec.framebuffer.slice();
      lastHash = xxh3(rgbaToBgrx(last)).toString(16).padStart(16, '0');
    }
    return lastHash;
  };
  for (let i = 0; i < messages.length; i++) {
    const [refused, hash, needsKey, seq, count] = expect[i];
    const feed = name.startsWith('feed-');
    const before = dec.framebuffer ? dec.framebuffer.slice() : null;
    let error = null;
    let got_count = null;
    try {
      if (feed) got_count = await dec.feed(messages[i]);
      else await dec.decode(messages[i]);
    } catch (e) {
      error = e;
    }
    const got = digest();
    const problems = [];
    if (error && !(error instanceof DecodeError)) problems.push(`non-DecodeError ${error.name}: ${error.message}`);
    if (!!error !== !!refused) problems.push(error ? `refused: ${error.message}` : 'accepted');
    if (got_count !== count) problems.push(`feed handled ${got_count}, not ${count}`);
    if (error && !feed && before !== null && !Buffer.from(before.buffer).equals(Buffer.from(dec.framebuffer.buffer))) {
      problems.push('framebuffer changed on refusal');
    }
    if (got !== hash) problems.push(`framebuffer ${got} != ${hash}`);
    if (dec.needsKeyframe !== needsKey) problems.push(`needsKeyframe ${dec.needsKeyframe}`);
    if (dec.lastSeq !== seq) problems.push(`lastSeq ${dec.lastSeq} != ${seq}`);
    if (problems.length) mismatches.push({ stream: name, message: i, problems });
  }
  if (sink && (sink.left || !sink.calls)) {
    mismatches.push({ stream: name, message: 'video', problems: [`${sink.calls} pictures taken, ${sink.left} bytes left`] });
  }
  const finalPath = join(dir, `${name}.final.bin`);
  if (existsSync(finalPath) && dec.framebuffer) {
    const want = readFileSync(finalPath);
    const got = rgbaToBgrx(dec.framebuffer);
    if (want.length !== got.length || !want.equals(Buffer.from(got.buffer))) {
      mismatches.push({ stream: name, message: 'final', problems: ['final framebuffer differs'] });
    }
  }
  return { messages: messages.length, mismatches };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2];
  const names = readdirSync(dir).filter((f) => f.endsWith('.msgs')).map((f) => f.slice(0, -5)).sort();
  let total = 0;
  const mismatches = [];
  for (const name of names) {
    const r = await checkStream(dir, name);
    total += r.messages;
    mismatches.push(...r.mismatches);
  }
  console.log(JSON.stringify({ streams: names.length, messages: total, mismatches }));
}
