// Mutation fuzzer for the page's decoder (src/screencodec/web/static/decoder).
//
//   node fuzz/js/fuzz.mjs [--seconds S | --iterations N] [--seed K] DIR...
//
// Seeds are the streams in each DIR (NAME.msgs: messages as u32 length +
// bytes, as tests/web/test_js_decoder.py or fuzz/js/make_seeds.py write
// them). Each iteration replays a random prefix of a stream on a fresh
// decoder, then decodes a mutated copy of the next message (byte flips,
// random bytes, insertions, deletions, truncation, splices from other
// messages, interesting values in the headers; or, 40 % of the time, bytes
// inside one op's payload with the structure kept, which is what reaches
// the zstd decoder) and, after it, up to three
// more of the stream, with a video sink that paints grey or fails. It
// checks that nothing but a DecodeError is thrown, that a refused message
// leaves the framebuffer byte for byte as it was and the decoder waiting for
// a keyframe, that the next messages raise nothing else either, and that no
// decode takes longer than --max-ms (a hang shows as the run's own timeout).
// Prints one JSON line:
// { iterations, refused, accepted, slowestMs, failures }.

import { DecodeError, ScreenDecoder, parseUpdate, splitFrame } from '../../src/screencodec/web/static/decoder/index.js';
import { parseArgs, readStreams, rng, timed } from './harness.mjs';

const INTERESTING = [0, 1, 2, 3, 7, 8, 0x7f, 0x80, 0xff, 0xfe];

/** Change bytes inside one op's payload past its first 12 bytes (zstd data,
 * mostly), keeping the message's structure: this is what reaches fzstd. */
function mutatePayload(msg, r) {
  let u;
  try {
    u = parseUpdate(splitFrame(msg).body);
  } catch {
    return null;
  }
  const ops = u.ops.filter((o) => o.payload.length > 16);
  if (!ops.length) return null;
  const op = ops[r.int(ops.length)];
  const out = msg.slice();
  const base = op.payload.byteOffset - msg.byteOffset;
  for (let k = 1 + r.int(6); k > 0; k--) {
    const at = base + 12 + r.int(op.payload.length - 12);
    out[at] = r() < 0.5 ? out[at] ^ (1 << r.int(8)) : r.int(256);
  }
  return out;
}

function mutate(msg, all, r) {
  if (r() < 0.4) {
    const m = mutatePayload(msg, r);
    if (m) return m;
  }
  const b = Array.from(msg);
  const rounds = 1 + r.int(4);
  for (let k = 0; k < rounds; k++) {
    const kind = r.int(8);
    // Headers are where most checks live: aim there half of the time.
    const at = r() < 0.5 ? r.int(Math.min(b.length, 64) || 1) : r.int(b.length || 1);
    switch (kind) {
      case 0: b[at] ^= 1 << r.int(8); break;
      case 1: b[at] = r.int(256); break;
      case 2: b[at] = INTERESTING[r.int(INTERESTING.length)]; break;
      case 3: b.splice(at, 0, ...Array.from({ length: 1 + r.int(8) }, () => r.int(256))); break;
      case 4: b.splice(at, 1 + r.int(16)); break;
      case 5: b.length = at; break;
      case 6: {
        const other = all[r.int(all.length)];
        const from = r.int(other.length || 1);
        b.splice(at, 1 + r.int(32), ...other.subarray(from, from + 1 + r.int(64)));
        break;
      }
      default: {
        // a 16- or 32-bit field set to an edge value
        const v = [0, 1, 0xffff, 0xffffffff, 0x8000, 1 << 30][r.int(6)];
        for (let i = 0; i < 4 && at + i < b.length; i++) b[at + i] = (v >>> (8 * i)) & 255;
      }
    }
  }
  return Uint8Array.from(b);
}

/** A video sink that paints grey pictures and, now and then, fails or
 * answers with a picture of the wrong size, as a broken WebCodecs might:
 * the decoder must refuse the update either way. */
function fakeSink(r) {
  return {
    async decode(op) {
      const roll = r();
      if (roll < 0.05) throw new Error('decoder failed');
      const w = roll < 0.1 ? op.width + 2 : op.width;
      return { width: w, height: op.height, data: new Uint8ClampedArray(w * op.height * 4).fill(128) };
    },
    reset() {},
  };
}

export async function fuzz({ seconds, iterations, seed, maxMs, dirs }) {
  const streams = readStreams(dirs);
  if (!streams.length) throw new Error('no seed streams (NAME.msgs) in ' + dirs.join(', '));
  const all = streams.flatMap((s) => s.msgs);
  const r = rng(seed);
  const stats = { iterations: 0, refused: 0, accepted: 0, slowestMs: 0, failures: [] };
  const deadline = performance.now() + seconds * 1000;
  while (stats.iterations < iterations && performance.now() < deadline && stats.failures.length < 10) {
    const it = stats.iterations++;
    const s = streams[r.int(streams.length)];
    const cut = r.int(s.msgs.length);
    const dec = new ScreenDecoder({ maxPixels: 4096 * 4096, video: fakeSink(r) });
    for (let i = 0; i < cut; i++) await timed(dec, s.msgs[i], stats, maxMs);
    const bad = mutate(s.msgs[cut], all, r);
    const before = dec.framebuffer ? dec.framebuffer.slice() : null;
    const fail = (what) => stats.failures.push({ iteration: it, seed, stream: s.name, message: cut, what });
    const { error, slow, ms } = await timed(dec, bad, stats, maxMs);
    if (slow) fail(`decode took ${ms.toFixed(0)} ms`);
    if (error) {
      stats.refused += 1;
      if (!(error instanceof DecodeError)) fail(`threw ${error.name}: ${error.message}`);
      const now = dec.framebuffer;
      if (before === null ? now !== null : !(now && Buffer.from(now.buffer).equals(Buffer.from(before.buffer)))) {
        fail('the framebuffer changed on refusal');
      }
      if (!dec.needsKeyframe) fail('needsKeyframe is false after a refusal');
    } else {
      stats.accepted += 1;
    }
    // The rest of the stream must go on without anything but DecodeErrors.
    for (let i = cut + 1; i < Math.min(s.msgs.length, cut + 4); i++) {
      const rest = await timed(dec, s.msgs[i], stats, maxMs);
      if (rest.slow) fail(`decode of message ${i} took ${rest.ms.toFixed(0)} ms`);
      if (rest.error && !(rest.error instanceof DecodeError)) fail(`message ${i} threw ${rest.error.name}`);
    }
  }
  stats.slowestMs = Math.round(stats.slowestMs * 10) / 10;
  return stats;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const stats = await fuzz(parseArgs(process.argv.slice(2)));
  console.log(JSON.stringify(stats));
  process.exitCode = stats.failures.length ? 1 : 0;
}
