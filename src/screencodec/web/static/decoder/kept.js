// The digest of the picture the page kept, for a resumed session's host to
// go on from (docs/transport.md "Resuming on the kept picture"; Python's
// transport/session/kept.py): per 64x64 tile in raster order (the last row
// and column may be partial), BLAKE2b with an 8-byte digest, keyed with the
// 16-byte key the Python viewer chose, over the tile's B, G, R bytes, row
// after row. BLAKE2b is the vendored blakejs, not written here.

import blake from '../vendor/blakejs/blake2b.js';

export const TILE = 64;
export const KEY_SIZE = 16;
export const DIGEST_SIZE = 8;

/** How many tiles a `width` x `height` picture has. */
export function tileCount(width, height) {
  return Math.ceil(width / TILE) * Math.ceil(height / TILE);
}

/**
 * The tile digests of `rgba` (R, G, B, A bytes, `width` x `height`, as the
 * decoder's framebuffer) under `key` (a Uint8Array of KEY_SIZE bytes): a
 * Uint8Array of DIGEST_SIZE bytes per tile.
 */
export function tileDigests(rgba, width, height, key) {
  if (!(key instanceof Uint8Array) || key.length !== KEY_SIZE) throw new TypeError('a 16-byte key');
  if (rgba.length !== width * height * 4) throw new RangeError('a picture of another size');
  const out = new Uint8Array(tileCount(width, height) * DIGEST_SIZE);
  const bgr = new Uint8Array(TILE * TILE * 3);
  let at = 0;
  for (let y0 = 0; y0 < height; y0 += TILE) {
    const h = Math.min(TILE, height - y0);
    for (let x0 = 0; x0 < width; x0 += TILE) {
      const w = Math.min(TILE, width - x0);
      let j = 0;
      for (let y = y0; y < y0 + h; y++) {
        let i = (y * width + x0) * 4;
        for (let x = 0; x < w; x++, i += 4) {
          bgr[j++] = rgba[i + 2];
          bgr[j++] = rgba[i + 1];
          bgr[j++] = rgba[i];
        }
      }
      out.set(blake.blake2b(bgr.subarray(0, j), key, DIGEST_SIZE), at);
      at += DIGEST_SIZE;
    }
  }
  return out;
}
