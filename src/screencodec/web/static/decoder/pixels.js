// Pixel layout helpers. The wire carries B, G, R; the page's framebuffer is
// R, G, B, A (alpha 255), the layout ImageData wants. Rect writes go through
// a Uint32Array view of the framebuffer, one word per pixel: on the little-
// endian machines every browser runs on, R is the low byte.

if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) {
  throw new Error('the screencodec decoder needs a little-endian platform');
}

export const OPAQUE = 0xff000000;

/** The RGBA word of the colour at `o` of B, G, R bytes `d`. */
export function bgrWord(d, o) {
  return (OPAQUE | (d[o] << 16) | (d[o + 1] << 8) | d[o + 2]) >>> 0;
}

/** `n` pixels of packed B, G, R bytes from `src[off]` as RGBA words. */
export function bgrToWords(src, off, n) {
  const out = new Uint32Array(n);
  for (let i = 0, j = off; i < n; i++, j += 3) {
    out[i] = OPAQUE | (src[j] << 16) | (src[j + 1] << 8) | src[j + 2];
  }
  return out;
}

/** A B, G, R, X (or B, G, R, A) image as R, G, B, A with alpha 255 (or kept). */
export function bgrxToRgba(bgrx, keepAlpha = false) {
  const out = new Uint8ClampedArray(bgrx.length);
  for (let i = 0; i < bgrx.length; i += 4) {
    out[i] = bgrx[i + 2];
    out[i + 1] = bgrx[i + 1];
    out[i + 2] = bgrx[i];
    out[i + 3] = keepAlpha ? bgrx[i + 3] : 255;
  }
  return out;
}

/** An RGBA image as B, G, R, X with X = 255 (what Python's framebuffer holds). */
export function rgbaToBgrx(rgba) {
  const out = new Uint8Array(rgba.length);
  for (let i = 0; i < rgba.length; i += 4) {
    out[i] = rgba[i + 2];
    out[i + 1] = rgba[i + 1];
    out[i + 2] = rgba[i];
    out[i + 3] = 255;
  }
  return out;
}

/** Paint the rect of a `fbWidth`-wide word framebuffer with one word. */
export function fillRect(fb32, fbWidth, x, y, w, h, word) {
  for (let r = 0; r < h; r++) {
    const start = (y + r) * fbWidth + x;
    fb32.fill(word, start, start + w);
  }
}

/** Write `w * h` words (row-major) into the rect. */
export function writeRect(fb32, fbWidth, x, y, w, h, words) {
  if (w === fbWidth && x === 0) {
    fb32.set(words, y * fbWidth);
    return;
  }
  for (let r = 0; r < h; r++) {
    fb32.set(words.subarray(r * w, (r + 1) * w), (y + r) * fbWidth + x);
  }
}

/** A copy of the rect's words. */
export function readRect(fb32, fbWidth, x, y, w, h) {
  const out = new Uint32Array(w * h);
  for (let r = 0; r < h; r++) {
    const start = (y + r) * fbWidth + x;
    out.set(fb32.subarray(start, start + w), r * w);
  }
  return out;
}
