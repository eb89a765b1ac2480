// The digest of the picture the page kept, for a resumed session's host to
// go on from (docs/transport.md "Resuming on the kept picture"; Python's
// transport/session/kept.py): per 64x64 tile in raster order (the last row
// and column may be partial), BLAKE2b with an 8-byte digest, keyed with the
// 16-byte key the Python viewer chose, over the tile's B, G, R bytes, row
// after row.
//
// BLAKE2b is vendored, not written here: hash-wasm's WebAssembly build
// (vendor/hash-wasm: 15-20 ms for a 1080p picture), or, where WebAssembly
// cannot run (no WebAssembly, or a page whose CSP lacks 'wasm-unsafe-eval'),
// blakejs in plain JS (vendor/blakejs, loaded only then: 0.3-0.9 s).

import { createBLAKE2b } from '../vendor/hash-wasm/blake2b.js';

export const TILE = 64;
export const KEY_SIZE = 16;
export const DIGEST_SIZE = 8;

/** How many tiles a `width` x `height` picture has. */
export function tileCount(width, height) {
  return Math.ceil(width / TILE) * Math.ceil(height / TILE);
}

// Each makes the tile hash for one key: bytes -> DIGEST_SIZE bytes.
const HASHERS = {
  async wasm(key) {
    const h = await createBLAKE2b(DIGEST_SIZE * 8, key);
    return (bytes) => h.init().update(bytes).digest('binary');
  },
  async blakejs(key) {
    const { default: blake } = await import('../vendor/blakejs/blake2b.js');
    return (bytes) => blake.blake2b(bytes, key, DIGEST_SIZE);
  },
};

let usable = null;

/**
 * Which BLAKE2b the digest uses here: resolves to 'wasm', or 'blakejs' where
 * hash-wasm's module cannot be compiled (found once, on the first call).
 */
export function blake2bKind() {
  if (!usable) {
    usable = createBLAKE2b(DIGEST_SIZE * 8, new Uint8Array(KEY_SIZE)).then(() => 'wasm', () => 'blakejs');
  }
  return usable;
}

// `w` pixels of `rgba` from byte `i` as B, G, R into `bgr` from byte `j`. A
// function of its own, not a loop inside tileDigests: called per row, it is
// compiled early; the same loop inlined ran unoptimised through most of the
// first digest (once per lost link), the copy taking twice as long.
function bgrRow(rgba, i, bgr, j, w) {
  for (const end = i + 4 * w; i < end; i += 4, j += 3) {
    bgr[j] = rgba[i + 2];
    bgr[j + 1] = rgba[i + 1];
    bgr[j + 2] = rgba[i];
  }
}

/**
 * The tile digests of `rgba` (R, G, B, A bytes, `width` x `height`, as the
 * decoder's framebuffer) under `key` (a Uint8Array of KEY_SIZE bytes):
 * resolves to a Uint8Array of DIGEST_SIZE bytes per tile. `kind` ('wasm' or
 * 'blakejs') picks the BLAKE2b; by default, blake2bKind's.
 */
export async function tileDigests(rgba, width, height, key, kind = null) {
  if (!(key instanceof Uint8Array) || key.length !== KEY_SIZE) throw new TypeError('a 16-byte key');
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError('a picture of no size');
  }
  if (!rgba || rgba.length !== width * height * 4) throw new RangeError('a picture of another size');
  const name = kind === null ? await blake2bKind() : kind;
  if (name !== 'wasm' && name !== 'blakejs') throw new TypeError(`no BLAKE2b named ${name}`);
  const hash = await HASHERS[name](key.slice());
  const out = new Uint8Array(tileCount(width, height) * DIGEST_SIZE);
  const bgr = new Uint8Array(TILE * TILE * 3);
  let at = 0;
  for (let y0 = 0; y0 < height; y0 += TILE) {
    const h = Math.min(TILE, height - y0);
    for (let x0 = 0; x0 < width; x0 += TILE) {
      const w = Math.min(TILE, width - x0);
      let j = 0;
      for (let y = y0; y < y0 + h; y++, j += w * 3) bgrRow(rgba, (y * width + x0) * 4, bgr, j, w);
      out.set(hash(bgr.subarray(0, j)), at);
      at += DIGEST_SIZE;
    }
  }
  return out;
}
