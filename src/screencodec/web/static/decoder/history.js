// The ZSTREAM op (docs/protocol.md, "ZSTREAM op"): the rect's B, G, R rows as
// the next bytes of the session's zstd stream, one frame spanning updates so
// earlier pixels come back as matches. Mirrors codecs/history.py: the frame
// header and every block header are checked before decompressing, an op may
// hold no more blocks than its bytes need, and the stream position catches a
// lost update. Any failure drops the stream; only a RESET op starts a new one.

import { DecodeError, LimitError } from './errors.js';
import { bgrToWords } from './pixels.js';
import { BLOCK_SIZE, ZSTD_MAGIC, ZstdStream, windowOf } from './zstd.js';

export const RESET = 1;
/** The host ends a block after at most 126 KiB of an op's data. */
export const FLUSH_SIZE = 126 * 1024;
export const MIN_WINDOW = BLOCK_SIZE;
/** Largest window a stream may declare (8 MiB): its memory at the viewer. */
export const ZSTREAM_MAX_WINDOW = 1 << 23;
const FRAME_HEADER = 6;

const u32 = (d, o) => (d[o] | (d[o + 1] << 8) | (d[o + 2] << 16) | (d[o + 3] << 24)) >>> 0;

/** The window a ZSTREAM frame header declares; DecodeError unless it is the
 * 6-byte header the format allows. */
export function parseFrameHeader(d) {
  if (d.length < FRAME_HEADER) throw new DecodeError('ZSTREAM: truncated zstd frame header');
  if (u32(d, 0) !== ZSTD_MAGIC) throw new DecodeError('ZSTREAM: a RESET op does not start with a zstd frame');
  if (d[4] !== 0) {
    throw new DecodeError(`ZSTREAM: frame header descriptor 0x${d[4].toString(16)} (content size, checksum, ` +
      'dictionary and single segment are not allowed)');
  }
  const window = windowOf(d[5]);
  if (!(window >= MIN_WINDOW && window <= ZSTREAM_MAX_WINDOW)) {
    throw new LimitError(`ZSTREAM: window of ${window} bytes outside ${MIN_WINDOW}..${ZSTREAM_MAX_WINDOW}`);
  }
  return window;
}

/** Check the blocks of one op's data (see codecs/history.py `_check_blocks`). */
export function checkBlocks(d, expected) {
  const limit = Math.ceil(expected / FLUSH_SIZE);
  let pos = 0;
  let count = 0;
  let exact = 0;
  let compressed = 0;
  while (pos < d.length) {
    if (d.length - pos < 3) throw new DecodeError('ZSTREAM: truncated block header');
    const head = d[pos] | (d[pos + 1] << 8) | (d[pos + 2] << 16);
    const last = head & 1;
    const kind = (head >> 1) & 3;
    const size = head >>> 3;
    pos += 3;
    count += 1;
    if (last) throw new DecodeError('ZSTREAM: a block ends the frame (a stream\'s frame never ends)');
    if (kind === 3) throw new DecodeError('ZSTREAM: reserved block type');
    if (size > BLOCK_SIZE) throw new DecodeError(`ZSTREAM: block of ${size} bytes (at most ${BLOCK_SIZE})`);
    if (count > limit) throw new LimitError(`ZSTREAM: more than ${limit} blocks for ${expected} bytes`);
    pos += kind === 1 ? 1 : size;
    if (pos > d.length) throw new DecodeError('ZSTREAM: truncated block');
    if (kind === 2) {
      compressed += 1;
      continue;
    }
    exact += size;
    if (exact > expected) throw new LimitError(`ZSTREAM: raw and RLE blocks of more than ${expected} bytes`);
  }
  if (count === 0) throw new DecodeError('ZSTREAM: no block');
  if (exact + compressed * BLOCK_SIZE < expected) {
    throw new DecodeError(`ZSTREAM: ${count} blocks cannot hold ${expected} bytes`);
  }
}

/**
 * The viewer's end of the history stream. State: the zstd stream and its
 * position (bytes decompressed since RESET, mod 2^32), or none. Not shared
 * between decoders.
 */
export class HistoryDecoder {
  constructor() {
    this._stream = null;
    this._position = 0;
  }

  get active() {
    return this._stream !== null;
  }

  dropStream() {
    this._stream = null;
    this._position = 0;
  }

  prepare(op) {
    try {
      return { words: this._decode(op) };
    } catch (e) {
      this.dropStream();
      throw e;
    }
  }

  _decode(op) {
    if (op.flags & ~RESET) throw new DecodeError(`ZSTREAM: unknown op flags 0x${op.flags.toString(16)}`);
    const p = op.payload;
    if (p.length <= 4) throw new DecodeError('ZSTREAM: payload holds no stream data');
    const position = u32(p, 0);
    let data = p.subarray(4);
    const expected = op.w * op.h * 3;
    let header = null;
    if (op.flags & RESET) {
      this.dropStream();
      if (position) throw new DecodeError(`ZSTREAM: a RESET op at stream position ${position}, not 0`);
      parseFrameHeader(data);
      header = data.subarray(0, FRAME_HEADER);
      data = data.subarray(FRAME_HEADER);
    } else if (this._stream === null) {
      throw new DecodeError('ZSTREAM: no stream to continue (the first op after a keyframe or a ' +
        'refused update must have RESET)');
    } else if (position !== this._position) {
      throw new DecodeError(`ZSTREAM: op starts at stream position ${position}, the stream is at ` +
        `${this._position} (an update was lost)`);
    }
    checkBlocks(data, expected);
    const stream = this._stream || new ZstdStream();
    const { out, produced } = stream.decompress(header, data, expected);
    if (produced !== expected) {
      throw new DecodeError(`ZSTREAM: blocks gave ${produced} bytes, the rect needs ${expected}`);
    }
    this._stream = stream;
    this._position = (this._position + expected) % 2 ** 32;
    return bgrToWords(out, 0, op.w * op.h);
  }
}
