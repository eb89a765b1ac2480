// The lossless ops (docs/protocol.md, "Ops"): FILL, RAW, ZSTD with its
// DELTA_UP, PLANAR and MED filters, and PALETTE. `prepare*` validates and decodes
// one op without touching the framebuffer (it throws DecodeError); the result
// is `{ fill: word }` or `{ words: Uint32Array }` (RGBA, row-major, w * h),
// which index.js writes once every op of the update has been prepared.

import { DecodeError } from './errors.js';
import { bgrToWords, bgrWord, OPAQUE } from './pixels.js';
import { inflate } from './zstd.js';

export const DELTA_UP = 1;
export const PLANAR = 2;
export const MED = 4;
/** The op flags a ZSTD op may carry (MED only with PLANAR); others are refused. */
export const ZSTD_FLAG_SETS = new Set([0, DELTA_UP, PLANAR, DELTA_UP | PLANAR, MED | PLANAR]);

function noFlags(op, name) {
  if (op.flags) throw new DecodeError(`${name}: unknown op flags 0x${op.flags.toString(16).padStart(2, '0')}`);
}

export function prepareFill(op) {
  noFlags(op, 'FILL');
  if (op.payload.length !== 3) throw new DecodeError(`FILL: payload of ${op.payload.length} bytes, expected 3`);
  return { fill: bgrWord(op.payload, 0) };
}

export function prepareRaw(op) {
  noFlags(op, 'RAW');
  const n = op.w * op.h;
  if (op.payload.length !== n * 3) throw new DecodeError(`RAW: ${op.payload.length} bytes for a ${op.w}x${op.h} rect`);
  return { words: bgrToWords(op.payload, 0, n) };
}

/** The median edge predictor of LOCO-I: a = left, b = up, c = up-left; the
 * median of a, b and a + b - c, i.e. a + b - c clamped between a and b. */
function med(a, b, c) {
  const lo = a < b ? a : b;
  const hi = a < b ? b : a;
  const g = a + b - c;
  const m = g > lo ? g : lo;
  return m < hi ? m : hi;
}

/** Undo MED | PLANAR on `d` (planes of residuals of B - G, G, R - G) into RGBA words. */
export function unmed(d, w, h) {
  const n = w * h;
  const n2 = 2 * n;
  // In place, the residuals become the planes' values in raster order; the
  // three planes side by side, as three independent chains of additions.
  for (let i = 1; i < w; i++) {
    d[i] = (d[i] + d[i - 1]) & 255;
    d[n + i] = (d[n + i] + d[n + i - 1]) & 255;
    d[n2 + i] = (d[n2 + i] + d[n2 + i - 1]) & 255;
  }
  for (let row = w; row < n; row += w) {
    let a0 = (d[row] + d[row - w]) & 255;
    let a1 = (d[n + row] + d[n + row - w]) & 255;
    let a2 = (d[n2 + row] + d[n2 + row - w]) & 255;
    d[row] = a0;
    d[n + row] = a1;
    d[n2 + row] = a2;
    for (let i = row + 1; i < row + w; i++) {
      a0 = (d[i] + med(a0, d[i - w], d[i - w - 1])) & 255;
      a1 = (d[n + i] + med(a1, d[n + i - w], d[n + i - w - 1])) & 255;
      a2 = (d[n2 + i] + med(a2, d[n2 + i - w], d[n2 + i - w - 1])) & 255;
      d[i] = a0;
      d[n + i] = a1;
      d[n2 + i] = a2;
    }
  }
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const g = d[n + i];
    out[i] = OPAQUE | (((d[i] + g) & 255) << 16) | (g << 8) | ((d[n2 + i] + g) & 255);
  }
  return out;
}

/** Undo the ZSTD filters on `d` (the rect's filtered bytes) into RGBA words. */
export function unfilter(d, w, h, flags) {
  const n = w * h;
  if (flags === (MED | PLANAR)) return unmed(d, w, h);
  if (flags & PLANAR) {
    if (flags & DELTA_UP) {
      for (let plane = 0; plane < 3; plane++) {
        const base = plane * n;
        for (let i = base + w; i < base + n; i++) d[i] = (d[i] + d[i - w]) & 255;
      }
    }
    const out = new Uint32Array(n);
    for (let i = 0; i < n; i++) out[i] = OPAQUE | (d[i] << 16) | (d[n + i] << 8) | d[2 * n + i];
    return out;
  }
  if (flags & DELTA_UP) {
    const stride = w * 3;
    for (let i = stride; i < n * 3; i++) d[i] = (d[i] + d[i - stride]) & 255;
  }
  return bgrToWords(d, 0, n);
}

export function prepareZstd(op) {
  if (!ZSTD_FLAG_SETS.has(op.flags)) noFlags(op, 'ZSTD');
  const n = op.w * op.h;
  const d = inflate(op.payload, n * 3);
  return { words: unfilter(d, op.w, op.h, op.flags) };
}

/** Bytes of a packed index image: `h` rows of ceil(w * bits / 8). */
export function indexSize(w, h, bits) {
  return h * Math.ceil((w * bits) / 8);
}

export function preparePalette(op) {
  noFlags(op, 'PALETTE');
  const p = op.payload;
  if (p.length < 4) throw new DecodeError('PALETTE: truncated header');
  const bits = p[0];
  const reserved = p[1];
  const n = p[2] | (p[3] << 8);
  if (reserved) throw new DecodeError('PALETTE: reserved byte is not zero');
  if (![1, 2, 4, 8].includes(bits) || !(n >= 1 && n <= 1 << bits)) {
    throw new DecodeError(`PALETTE: ${n} colours with ${bits}-bit indices`);
  }
  if (p.length < 4 + 3 * n) throw new DecodeError('PALETTE: truncated colour table');
  const table = new Uint32Array(n);
  for (let i = 0; i < n; i++) table[i] = bgrWord(p, 4 + 3 * i);
  const { w, h } = op;
  const packed = inflate(p.subarray(4 + 3 * n), indexSize(w, h, bits));
  const rowBytes = Math.ceil((w * bits) / 8);
  const perByte = 8 / bits;
  const mask = (1 << bits) - 1;
  const words = new Uint32Array(w * h);
  for (let y = 0; y < h; y++) {
    const row = y * rowBytes;
    for (let x = 0; x < w; x++) {
      // The first pixel of a byte is in its most significant bits; padding
      // bits at the end of a row are ignored.
      const shift = 8 - bits * ((x % perByte) + 1);
      const index = (packed[row + Math.floor(x / perByte)] >> shift) & mask;
      if (index >= n) throw new DecodeError(`PALETTE: index ${index} past the palette of ${n} colours`);
      words[y * w + x] = table[index];
    }
  }
  return { words };
}
