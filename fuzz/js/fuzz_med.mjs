// Mutation fuzzer for the page decoder's ZSTD MED filter (op flags MED | PLANAR).
//
//   python fuzz/js/make_med_seeds.py /tmp/medseeds
//   node fuzz/js/fuzz_med.mjs [--seconds S | --iterations N] [--seed K] DIR...
//
// Like fuzz.mjs (whose invariants it checks: only DecodeError escapes, a
// refused message leaves the framebuffer byte for byte as it was and the
// decoder waiting for a keyframe, no decode slower than --max-ms), but the
// mutations aim at ZSTD ops: an op's flags set to a valid or neighbouring
// value, bytes of a raw zstd block changed (the frame still decodes, so the
// MED inverse sees arbitrary residuals, extreme values included), the
// frame's declared content size moved, the payload cut or extended (lengths
// fixed up so only the zstd frame is wrong), the rect resized under the same
// payload; a third of the time fuzz.mjs-style byte mutations instead. And
// an oracle: after an accepted update, every MED op's rect that no later
// op wrote over holds exactly what docs/protocol.md's inverse (written here
// from the spec's three cases, pixel by pixel) makes of its residuals, and
// no pixel outside the update's rects changed.
// Prints one JSON line: { iterations, refused, accepted, medChecked, slowestMs, failures }.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DecodeError, ScreenDecoder, parseUpdate, splitFrame } from '../../src/screencodec/web/static/decoder/index.js';
import { inflate } from '../../src/screencodec/web/static/decoder/zstd.js';
import { parseArgs, readStreams, rng, timed } from './harness.mjs';

const MED = 6;
const FLAGS = [0, 1, 2, 3, 4, 5, 6, 6, 6, 7, 8, 0x0e, 0x46, 0x86, 0xff];
const EXTREMES = [0, 1, 127, 128, 254, 255];

function parse(msg) {
  try {
    return parseUpdate(splitFrame(msg).body);
  } catch {
    return null;
  }
}

const put16 = (b, o, v) => { b[o] = v & 255; b[o + 1] = (v >>> 8) & 255; };
const put32 = (b, o, v) => { for (let i = 0; i < 4; i++) b[o + i] = (v >>> (8 * i)) & 255; };
const get32 = (b, o) => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;

/** Replace `cut` bytes at `at` (an offset inside op's payload, or its end)
 * by `insert`, fixing the op's payload length and the message's body length. */
function splice(msg, op, at, cut, insert) {
  const out = new Uint8Array(msg.length - cut + insert.length);
  out.set(msg.subarray(0, at));
  out.set(insert, at);
  out.set(msg.subarray(at + cut), at + insert.length);
  const head = op.payload.byteOffset - msg.byteOffset - 14;
  put32(out, head + 10, op.payload.length - cut + insert.length);
  put32(out, 4, get32(msg, 4) - cut + insert.length);
  return out;
}

/** A ZSTD-aware mutation of `msg`, or null when it holds no ZSTD op. */
function mutateZstd(msg, r) {
  const u = parse(msg);
  if (!u) return null;
  const zs = u.ops.filter((o) => o.op === 3);
  if (!zs.length) return null;
  const op = zs[r.int(zs.length)];
  const head = op.payload.byteOffset - msg.byteOffset - 14;
  const base = head + 14;
  const p = op.payload;
  // A raw frame as fuzz/med_seeds.py writes it: 13-byte header, raw blocks.
  const raw = p.length > 16 && p[4] === 0xe0 && (p[13] & 6) === 0;
  const out = msg.slice();
  switch (r.int(6)) {
    case 0:
      out[head + 1] = FLAGS[r.int(FLAGS.length)];
      return out;
    case 1: case 2: {
      if (!raw) {
        out[head + 1] = MED;
        return out;
      }
      const n = 1 + r.int(r() < 0.3 ? 64 : 6);
      const at = 16 + r.int(p.length - 16);
      for (let k = 0; k < n && at + k < p.length; k++) {
        out[base + at + k] = r() < 0.5 ? EXTREMES[r.int(EXTREMES.length)] : r.int(256);
      }
      if (r() < 0.8) out[head + 1] = MED;
      return out;
    }
    case 3: {
      if (!raw) return splice(out, op, base + r.int(p.length + 1), 0, [r.int(256)]);
      const delta = [-1, 1, 256, -256][r.int(4)];
      let size = 0;
      for (let i = 7; i >= 0; i--) size = size * 256 + p[5 + i];
      size = Math.max(0, size + delta);
      for (let i = 0; i < 8; i++) out[base + 5 + i] = Math.floor(size / 2 ** (8 * i)) & 255;
      return out;
    }
    case 4: {
      // Cut from or add to the frame's end, or in the middle.
      const at = r() < 0.5 ? p.length : r.int(p.length);
      if (r() < 0.5) return splice(out, op, base + Math.max(0, at - 1), Math.min(1 + r.int(3), p.length - Math.max(0, at - 1)), []);
      return splice(out, op, base + at, 0, Array.from({ length: 1 + r.int(4) }, () => r.int(256)));
    }
    default: {
      const w = r() < 0.5 ? op.h : Math.max(1, op.w + (r() < 0.5 ? -1 : 1));
      const h = r() < 0.5 ? op.w : op.h;
      if (op.x + w > u.width || op.y + h > u.height) return null;
      put16(out, head + 6, w);
      put16(out, head + 8, h);
      return out;
    }
  }
}

function mutateBytes(msg, all, r) {
  const b = Array.from(msg);
  for (let k = 1 + r.int(3); k > 0; k--) {
    const at = r() < 0.5 ? r.int(Math.min(b.length, 64) || 1) : r.int(b.length || 1);
    switch (r.int(5)) {
      case 0: b[at] ^= 1 << r.int(8); break;
      case 1: b[at] = r.int(256); break;
      case 2: b.splice(at, 1 + r.int(8)); break;
      case 3: b.length = at; break;
      default: {
        const other = all[r.int(all.length)];
        const from = r.int(other.length || 1);
        b.splice(at, 1 + r.int(32), ...other.subarray(from, from + 1 + r.int(64)));
      }
    }
  }
  return Uint8Array.from(b);
}

/** docs/protocol.md's MED | PLANAR inverse, case by case, into RGBA bytes. */
export function specInverse(res, w, h) {
  const n = w * h;
  const planes = [new Uint8Array(n), new Uint8Array(n), new Uint8Array(n)];
  for (let c = 0; c < 3; c++) {
    const P = planes[c];
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let pred;
        if (x === 0 && y === 0) pred = 0;
        else if (y === 0) pred = P[y * w + x - 1];
        else if (x === 0) pred = P[(y - 1) * w + x];
        else {
          const a = P[y * w + x - 1], b = P[(y - 1) * w + x], cc = P[(y - 1) * w + x - 1];
          if (cc >= Math.max(a, b)) pred = Math.min(a, b);
          else if (cc <= Math.min(a, b)) pred = Math.max(a, b);
          else pred = a + b - cc;
        }
        P[y * w + x] = (res[c * n + y * w + x] + pred) % 256;
      }
    }
  }
  const out = new Uint8Array(4 * n);
  for (let i = 0; i < n; i++) {
    const g = planes[1][i];
    out[4 * i] = (planes[2][i] + g) % 256; // R
    out[4 * i + 1] = g;
    out[4 * i + 2] = (planes[0][i] + g) % 256; // B
    out[4 * i + 3] = 255;
  }
  return out;
}

function oracle(msg, before, dec) {
  const u = parse(msg);
  if (!u) return ['accepted an update that does not parse', 0];
  const fb = dec.framebuffer;
  const W = dec.width;
  if (before && before.length === fb.length && !u.keyframe) {
    const touched = new Uint8Array(W * dec.height);
    for (const o of u.ops) for (let y = o.y; y < o.y + o.h; y++) touched.fill(1, y * W + o.x, y * W + o.x + o.w);
    for (let i = 0; i < touched.length; i++) {
      if (!touched[i] && (fb[4 * i] !== before[4 * i] || fb[4 * i + 1] !== before[4 * i + 1] || fb[4 * i + 2] !== before[4 * i + 2])) {
        return [`pixel ${i % W},${Math.floor(i / W)} outside every op's rect changed`, 0];
      }
    }
  }
  let checked = 0;
  u.ops.forEach((o, i) => {
    if (o.op !== 3 || o.flags !== MED) return;
    const over = u.ops.slice(i + 1).some((l) => l.op !== 5 && l.x < o.x + o.w && o.x < l.x + l.w && l.y < o.y + o.h && o.y < l.y + l.h);
    if (over) return;
    const want = specInverse(inflate(o.payload, o.w * o.h * 3), o.w, o.h);
    for (let y = 0; y < o.h; y++) {
      const row = fb.subarray(4 * ((o.y + y) * W + o.x), 4 * ((o.y + y) * W + o.x + o.w));
      if (!Buffer.from(row).equals(Buffer.from(want.subarray(4 * y * o.w, 4 * (y + 1) * o.w)))) {
        throw new Error(`op ${i} (${o.w}x${o.h} at ${o.x},${o.y}): row ${y} is not the spec's MED inverse`);
      }
    }
    checked += 1;
  });
  return [null, checked];
}

/** The messages that led to a failure (the stream's prefix, then the
 * mutated one) as NAME.msgs, for crosscheck.mjs or Python to replay. */
function dump(dir, it, prefix, bad) {
  mkdirSync(dir, { recursive: true });
  const parts = [...prefix, bad].flatMap((m) => {
    const n = new Uint8Array(4);
    put32(n, 0, m.length);
    return [n, m];
  });
  writeFileSync(join(dir, `fail-${it}.msgs`), Buffer.concat(parts));
}

export async function fuzzMed({ seconds, iterations, seed, maxMs, dirs, dump: dumpDir }) {
  const streams = readStreams(dirs);
  if (!streams.length) throw new Error('no seed streams (NAME.msgs) in ' + dirs.join(', '));
  const all = streams.flatMap((s) => s.msgs);
  const r = rng(seed);
  const stats = { iterations: 0, refused: 0, accepted: 0, medChecked: 0, slowestMs: 0, failures: [] };
  const deadline = performance.now() + seconds * 1000;
  while (stats.iterations < iterations && performance.now() < deadline && stats.failures.length < 10) {
    const it = stats.iterations++;
    const s = streams[r.int(streams.length)];
    const cut = r.int(s.msgs.length);
    const dec = new ScreenDecoder({ maxPixels: 4096 * 4096 });
    for (let i = 0; i < cut; i++) await timed(dec, s.msgs[i], stats, maxMs);
    let bad = r() < 0.67 ? mutateZstd(s.msgs[cut], r) : null;
    for (let k = r.int(3); bad && k > 0; k--) bad = mutateZstd(bad, r) || bad; // stacked
    if (!bad) bad = mutateBytes(s.msgs[cut], all, r);
    const before = dec.framebuffer ? dec.framebuffer.slice() : null;
    const fail = (what) => {
      stats.failures.push({ iteration: it, seed, stream: s.name, message: cut, what });
      if (dumpDir) dump(dumpDir, it, s.msgs.slice(0, cut), bad);
    };
    const { error, result, slow, ms } = await timed(dec, bad, stats, maxMs);
    if (slow) fail(`decode took ${ms.toFixed(0)} ms`);
    if (error) {
      stats.refused += 1;
      if (!(error instanceof DecodeError)) fail(`threw ${error.name}: ${error.message}`);
      const now = dec.framebuffer;
      if (before === null ? now !== null : !(now && Buffer.from(now.buffer).equals(Buffer.from(before.buffer)))) {
        fail('the framebuffer changed on refusal');
      }
      if (!dec.needsKeyframe) fail('needsKeyframe is false after a refusal');
    } else if (result && result.type === 'update' && !result.skipped) {
      stats.accepted += 1;
      try {
        const [problem, checked] = oracle(bad, before, dec);
        if (problem) fail(problem);
        stats.medChecked += checked;
      } catch (e) {
        fail(e.message);
      }
    } else {
      stats.accepted += 1;
    }
    for (let i = cut + 1; i < Math.min(s.msgs.length, cut + 3); i++) {
      const rest = await timed(dec, s.msgs[i], stats, maxMs);
      if (rest.slow) fail(`decode of message ${i} took ${rest.ms.toFixed(0)} ms`);
      if (rest.error && !(rest.error instanceof DecodeError)) fail(`message ${i} threw ${rest.error.name}`);
    }
  }
  stats.slowestMs = Math.round(stats.slowestMs * 10) / 10;
  return stats;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const stats = await fuzzMed(parseArgs(process.argv.slice(2)));
  console.log(JSON.stringify(stats));
  process.exitCode = stats.failures.length ? 1 : 0;
}
