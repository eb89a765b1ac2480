// zstd glue over the vendored fzstd (pure JS, streaming). fzstd decodes; the
// checks the Python decoder gets from libzstd are made here, before anything
// is decompressed: the frame header (content size, window, reserved bits),
// every block header (type, size, truncation), one frame and nothing after
// it, and the checksum when a frame has one. Output is counted per block,
// so a frame that gives more or fewer bytes than declared is refused.
//
// fzstd is fed only whole, pre-walked frames or blocks, and anything it
// throws becomes a DecodeError. What remains less strict than libzstd is
// inside compressed blocks (fzstd clips a block that decodes past 128 KiB
// and reads zeros for a match beyond its window instead of failing); the
// block and byte counts above still bound every op's output exactly.

import { Decompress } from '../vendor/fzstd/index.js';
import { DecodeError, LimitError, guarded } from './errors.js';
import { xxh64 } from './xxhash.js';

export const ZSTD_MAGIC = 0xfd2fb528;
export const BLOCK_SIZE = 128 * 1024;
const RAW = 0;
const RLE = 1;
const COMPRESSED = 2;

const u32 = (d, o) => (d[o] | (d[o + 1] << 8) | (d[o + 2] << 16) | (d[o + 3] << 24)) >>> 0;

/**
 * Parse a zstd frame header: `{ size, contentSize, window, singleSegment,
 * checksum, dictId }`; contentSize is -1 when the frame declares none (a
 * number below 2^53, else Infinity). DecodeError for anything that is not a
 * zstd frame header.
 */
export function frameHeader(d) {
  if (d.length < 5 || u32(d, 0) !== ZSTD_MAGIC) throw new DecodeError('bad zstd frame header: not a zstd frame');
  const fhd = d[4];
  const fcsFlag = fhd >> 6;
  const singleSegment = (fhd >> 5) & 1;
  const checksum = (fhd >> 2) & 1;
  const dictFlag = fhd & 3;
  if (fhd & 8) throw new DecodeError('bad zstd frame header: reserved bit set');
  let pos = 5;
  let window = 0;
  if (!singleSegment) {
    if (d.length < pos + 1) throw new DecodeError('bad zstd frame header: truncated');
    const exponent = d[pos] >> 3;
    const base = 2 ** (10 + exponent);
    window = base + (base / 8) * (d[pos] & 7);
    pos += 1;
  }
  const dictBytes = [0, 1, 2, 4][dictFlag];
  const fcsBytes = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag];
  if (d.length < pos + dictBytes + fcsBytes) throw new DecodeError('bad zstd frame header: truncated');
  let dictId = 0;
  for (let i = dictBytes - 1; i >= 0; i--) dictId = dictId * 256 + d[pos + i];
  pos += dictBytes;
  let contentSize = -1;
  if (fcsBytes) {
    contentSize = 0;
    for (let i = fcsBytes - 1; i >= 0; i--) contentSize = contentSize * 256 + d[pos + i];
    if (fcsBytes === 2) contentSize += 256;
    if (contentSize > Number.MAX_SAFE_INTEGER) contentSize = Infinity;
    pos += fcsBytes;
  }
  if (singleSegment) window = contentSize;
  return { size: pos, contentSize, window, singleSegment: !!singleSegment, checksum: !!checksum, dictId };
}

/**
 * Walk the block headers of `d` from `pos`: `{ ends, last, exact, compressed }`
 * with where each block ends, whether the last walked block ended the frame,
 * the bytes raw and RLE blocks give (exact sizes) and how many blocks are
 * compressed. Stops after the frame's last block when `untilLast`.
 */
export function walkBlocks(d, pos, { blockMax = BLOCK_SIZE, untilLast = true, maxBlocks = Infinity } = {}) {
  const ends = [];
  let exact = 0;
  let compressed = 0;
  let last = 0;
  while (pos < d.length) {
    if (d.length - pos < 3) throw new DecodeError('zstd: truncated block header');
    const head = d[pos] | (d[pos + 1] << 8) | (d[pos + 2] << 16);
    last = head & 1;
    const kind = (head >> 1) & 3;
    const size = head >>> 3;
    pos += 3;
    if (kind === 3) throw new DecodeError('zstd: reserved block type');
    if (size > blockMax) throw new DecodeError(`zstd: block of ${size} bytes (at most ${blockMax})`);
    if (ends.length >= maxBlocks) throw new LimitError(`zstd: more than ${maxBlocks} blocks`);
    pos += kind === RLE ? 1 : size;
    if (pos > d.length) throw new DecodeError('zstd: truncated block');
    ends.push(pos);
    if (kind === COMPRESSED) compressed += 1;
    else exact += size;
    if (last && untilLast) break;
  }
  return { ends, last: !!last, exact, compressed };
}

/** Run fzstd's streaming decompressor over `chunks` (pushed in order, the last
 * with `final`), collecting its output; throws DecodeError on any failure or
 * once more than `limit` bytes came out. */
function run(decompressor, chunks, final, limit, what) {
  const pieces = [];
  let produced = 0;
  decompressor.ondata = (piece) => {
    if (!piece.length) return;
    produced += piece.length;
    if (produced > limit) throw new DecodeError(`${what}: blocks gave over ${limit} bytes`);
    pieces.push(piece);
  };
  guarded(`${what}: corrupt zstd data`, () => {
    chunks.forEach((c, i) => decompressor.push(c, final && i === chunks.length - 1));
  });
  decompressor.ondata = null;
  return { pieces, produced };
}

function concat(pieces, size) {
  if (pieces.length === 1) return pieces[0];
  const out = new Uint8Array(size);
  let o = 0;
  for (const p of pieces) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function singleSegmentHeader(size) {
  // magic, then a descriptor with Single_Segment and the smallest content
  // size field that holds `size` (1, 2 or 4 bytes); no checksum, no dictionary.
  if (size < 256) return Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x20, size);
  if (size < 65536 + 256) {
    const v = size - 256;
    return Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x60, v & 255, v >> 8);
  }
  return Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0xa0, size & 255, (size >> 8) & 255, (size >> 16) & 255, size >>> 24);
}

/**
 * Decompress one zstd frame that must declare exactly `expected` bytes and
 * be followed by nothing (the ZSTD and PALETTE ops). The declared size is
 * checked before anything is allocated, so a bomb costs nothing.
 */
export function inflate(payload, expected) {
  let head;
  try {
    head = frameHeader(payload);
  } catch (e) {
    throw new DecodeError(`bad zstd frame header: ${e.message}`);
  }
  if (head.contentSize !== expected) {
    throw new DecodeError(`zstd frame declares ${head.contentSize} bytes, the rect needs ${expected}`);
  }
  if (head.dictId) throw new DecodeError('corrupt zstd data: the frame needs a dictionary');
  const blockMax = Math.min(BLOCK_SIZE, head.window);
  const walk = walkBlocks(payload, head.size, { blockMax });
  if (!walk.last) throw new DecodeError('corrupt zstd data: truncated frame (no last block)');
  const blocksEnd = walk.ends[walk.ends.length - 1];
  const end = blocksEnd + (head.checksum ? 4 : 0);
  if (end > payload.length) throw new DecodeError('corrupt zstd data: truncated checksum');
  if (end < payload.length) {
    throw new DecodeError(`zstd: ${payload.length - end} bytes of unused data after the frame`);
  }
  if (walk.exact > expected) throw new DecodeError(`corrupt zstd data: blocks of more than ${expected} bytes`);
  // fzstd sizes its window from the header: give it a single-segment header
  // for exactly `expected` bytes, so a hostile window costs no memory. The
  // window only bounds match distances, and within one frame of `expected`
  // bytes every distance fits.
  const { pieces, produced } = run(
    new Decompress(), [singleSegmentHeader(expected), payload.subarray(head.size, blocksEnd)],
    true, expected, 'zstd');
  if (produced !== expected) throw new DecodeError(`zstd data gave ${produced} bytes, expected ${expected}`);
  const out = concat(pieces, expected);
  if (head.checksum) {
    const want = u32(payload, blocksEnd);
    const got = Number(xxh64(out) & 0xffffffffn);
    if (want !== got) throw new DecodeError('corrupt zstd data: checksum mismatch');
  }
  return out;
}

/** zstd's window descriptor -> window size, for ZSTREAM's 6-byte header. */
export function windowOf(descriptor) {
  const base = 2 ** (10 + (descriptor >> 3));
  return base + (base / 8) * (descriptor & 7);
}

/**
 * One zstd frame that spans calls (ZSTREAM's history stream): `start(header)`
 * begins it, `blocks(data, limit)` decompresses the next whole blocks and
 * returns their output. Not reusable after an error (drop it).
 */
export class ZstdStream {
  constructor() {
    this._d = new Decompress();
  }

  /** Decompress `header` (the frame header, or null once started) and the
   * whole blocks `data`; DecodeError past `limit` bytes of output. */
  decompress(header, data, limit) {
    let chunk = data;
    if (header) {
      // fzstd holds back the start of a frame until 18 bytes have come;
      // empty raw blocks (legal, they produce nothing and change no state)
      // make up a short first op so its blocks decode now.
      const pad = Math.max(0, Math.ceil((18 - header.length - data.length) / 3)) * 3;
      chunk = new Uint8Array(header.length + data.length + pad);
      chunk.set(header);
      chunk.set(data, header.length);
    }
    const { pieces, produced } = run(this._d, [chunk], false, limit, 'ZSTREAM');
    return { out: concat(pieces, produced), produced };
  }
}
