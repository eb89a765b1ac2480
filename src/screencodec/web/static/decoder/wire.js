// The wire format's framing and structure (docs/protocol.md, "Messages",
// "UPDATE", "CURSOR_SHAPE", "CURSOR_POSITION"): splitting a byte stream into
// messages and strictly parsing their headers. Like wire/parse.py it never
// decompresses; op payloads are the op modules' to check. Payloads are
// subarrays of the caller's buffer: parsing copies nothing.

import { DecodeError, LimitError } from './errors.js';

export const MAGIC0 = 0x53; // 'S'
export const MAGIC1 = 0x43; // 'C'
export const VERSION = 1;
export const HEADER_SIZE = 8;
export const UPDATE_HEADER_SIZE = 16;
export const OP_HEADER_SIZE = 14;
export const HASH_SIZE = 8;
/** Largest body any message may declare (1 GiB); decoders usually cap lower. */
export const MAX_BODY_SIZE = 2 ** 30;
export const MAX_DIMENSION = 16384;
/** The ops of one update may cover at most this many times the frame's area
 * (every op is decoded before the first write: this bounds its memory). */
export const MAX_OP_COVERAGE = 4;
export const CURSOR_MAX_SIZE = 256;
export const CURSOR_SHAPE_HEADER = 16;
export const CURSOR_POSITION_SIZE = 17;

export const MessageType = Object.freeze({ UPDATE: 1, CURSOR_SHAPE: 2, CURSOR_POSITION: 3 });
export const UpdateFlags = Object.freeze({ KEYFRAME: 1, HASH: 2 });
export const Op = Object.freeze({
  FILL: 1, RAW: 2, ZSTD: 3, PALETTE: 4, COPY: 5, VIDEO: 6, ZSTREAM: 7,
});
export const OP_NAMES = ['?', 'FILL', 'RAW', 'ZSTD', 'PALETTE', 'COPY', 'VIDEO', 'ZSTREAM'];
export const ZSTREAM_RESET = 1;
export const ZSTREAM_HEADER_SIZE = 4;
const VIDEO_HEADER_SIZE = 8;
const VIDEO_IDR = 1;

const u16 = (d, o) => d[o] | (d[o + 1] << 8);
const u32 = (d, o) => (d[o] | (d[o + 1] << 8) | (d[o + 2] << 16) | (d[o + 3] << 24)) >>> 0;
const i32 = (d, o) => d[o] | (d[o + 1] << 8) | (d[o + 2] << 16) | (d[o + 3] << 24);
const u64 = (d, o) => (BigInt(u32(d, o + 4)) << 32n) | BigInt(u32(d, o));
export { u16, u32, i32, u64 };

/**
 * Check the framing of the 8-byte header at `offset`: its magic and length,
 * which every version keeps. Returns `{ version, type, length }`; the version
 * and type are the caller's to judge. DecodeError when the bytes cannot be a
 * message (the stream's framing is then lost).
 */
export function readHeader(data, maxBody = MAX_BODY_SIZE, offset = 0) {
  if (data.length - offset < HEADER_SIZE) {
    throw new DecodeError(`truncated header: ${data.length - offset} of ${HEADER_SIZE} bytes`);
  }
  if (data[offset] !== MAGIC0 || data[offset + 1] !== MAGIC1) {
    throw new DecodeError('bad magic: not a screencodec message');
  }
  const length = u32(data, offset + 4);
  if (length > Math.min(maxBody, MAX_BODY_SIZE)) {
    throw new LimitError(`message body of ${length} bytes exceeds the limit of ${maxBody}`);
  }
  return { version: data[offset + 2], type: data[offset + 3], length };
}

/** Check that `data` is exactly one message; return `{ version, type, body }`. */
export function splitFrame(data, maxBody = MAX_BODY_SIZE) {
  const { version, type, length } = readHeader(data, maxBody);
  const end = HEADER_SIZE + length;
  if (data.length < end) throw new DecodeError(`truncated message: ${data.length} of ${end} bytes`);
  if (data.length > end) throw new DecodeError(`${data.length - end} trailing bytes after the message`);
  return { version, type, body: data.subarray(HEADER_SIZE, end) };
}

export function checkVersion(version) {
  if (version !== VERSION) {
    throw new DecodeError(`unsupported wire version ${version} (this decoder reads ${VERSION})`);
  }
}

/**
 * Parse and validate an UPDATE body: `{ sequence, flags, keyframe, width,
 * height, hash, ops }`, `hash` a BigInt or null, each op `{ index, op, flags,
 * x, y, w, h, payload }`. Checks everything wire/parse.py checks: flags,
 * reserved field, size limits, op count against the bytes left, known ops,
 * rectangles inside the frame, total op area, truncation and stray bytes.
 */
export function parseUpdate(body, maxWidth = MAX_DIMENSION, maxHeight = MAX_DIMENSION) {
  if (body.length < UPDATE_HEADER_SIZE) throw new DecodeError('truncated update header');
  const sequence = u32(body, 0);
  const flags = u16(body, 4);
  const width = u16(body, 6);
  const height = u16(body, 8);
  const reserved = u16(body, 10);
  const count = u32(body, 12);
  if (flags & ~(UpdateFlags.KEYFRAME | UpdateFlags.HASH)) {
    throw new DecodeError(`unknown update flags 0x${flags.toString(16).padStart(4, '0')}`);
  }
  if (reserved) throw new DecodeError('reserved update field is not zero');
  const mw = Math.min(maxWidth, MAX_DIMENSION);
  const mh = Math.min(maxHeight, MAX_DIMENSION);
  if (!(width >= 1 && width <= mw && height >= 1 && height <= mh)) {
    throw new LimitError(`frame size ${width}x${height} outside 1x1..${maxWidth}x${maxHeight}`);
  }
  const keyframe = !!(flags & UpdateFlags.KEYFRAME);
  let pos = UPDATE_HEADER_SIZE;
  let hash = null;
  if (flags & UpdateFlags.HASH) {
    if (body.length < pos + HASH_SIZE) throw new DecodeError('truncated update hash');
    hash = u64(body, pos);
    pos += HASH_SIZE;
  }
  // Each op takes at least its header: a larger count is a lie, and checking
  // it first keeps a hostile count from driving a long loop.
  if (count > Math.floor((body.length - pos) / OP_HEADER_SIZE)) {
    throw new DecodeError(`op count ${count} does not fit in ${body.length - pos} bytes`);
  }
  const ops = [];
  let areaLeft = MAX_OP_COVERAGE * width * height;
  for (let i = 0; i < count; i++) {
    if (body.length - pos < OP_HEADER_SIZE) {
      throw new DecodeError(`op ${i}: truncated op header at ${body.length - pos} bytes`);
    }
    const op = body[pos];
    const oflags = body[pos + 1];
    const x = u16(body, pos + 2);
    const y = u16(body, pos + 4);
    const w = u16(body, pos + 6);
    const h = u16(body, pos + 8);
    const plen = u32(body, pos + 10);
    pos += OP_HEADER_SIZE;
    if (!(op >= Op.FILL && op <= Op.ZSTREAM)) throw new DecodeError(`op ${i}: unknown op ${op}`);
    if (w === 0 || h === 0 || x + w > width || y + h > height) {
      throw new DecodeError(`op ${i}: rectangle ${x},${y} ${w}x${h} outside the ${width}x${height} frame`);
    }
    areaLeft -= w * h;
    if (areaLeft < 0) {
      throw new LimitError(
        `op ${i}: the ops cover more than ${MAX_OP_COVERAGE}x the ${width}x${height} frame`);
    }
    if (plen > body.length - pos) {
      throw new DecodeError(`op ${i}: payload of ${plen} bytes truncated at ${body.length - pos}`);
    }
    if (keyframe && op === Op.COPY) {
      throw new DecodeError(`op ${i}: a KEYFRAME holds a COPY (it may not read the old picture)`);
    }
    if (keyframe && op === Op.VIDEO && !(plen >= VIDEO_HEADER_SIZE && body[pos + 1] & VIDEO_IDR)) {
      throw new DecodeError(`op ${i}: a KEYFRAME holds a VIDEO op that is not an IDR`);
    }
    if (op === Op.ZSTREAM) {
      if (oflags & ~ZSTREAM_RESET) {
        throw new DecodeError(`op ${i}: unknown ZSTREAM op flags 0x${oflags.toString(16)}`);
      }
      if (plen <= ZSTREAM_HEADER_SIZE) {
        throw new DecodeError(`op ${i}: ZSTREAM payload of ${plen} bytes holds no stream data`);
      }
    }
    ops.push({ index: i, op, flags: oflags, x, y, w, h, payload: body.subarray(pos, pos + plen) });
    pos += plen;
  }
  if (pos !== body.length) throw new DecodeError(`${body.length - pos} stray bytes after the last op`);
  if (keyframe && !coversFrame(ops, width, height)) {
    throw new DecodeError(`the ops of a KEYFRAME do not cover the ${width}x${height} frame`);
  }
  return { sequence, flags, keyframe, width, height, hash, ops };
}

/**
 * Whether the rectangles (objects with x, y, w, h, all inside the frame)
 * cover every pixel of a `width` x `height` frame. Overlaps are legal, so
 * areas prove nothing: the union is measured on the grid of the rectangles'
 * own edges (coordinate compression), a few cells per rectangle.
 */
export function coversFrame(rects, width, height) {
  if (!rects.length) return false;
  const xs = [...new Set([0, width, ...rects.flatMap((r) => [r.x, r.x + r.w])])].sort((a, b) => a - b);
  const ys = [...new Set([0, height, ...rects.flatMap((r) => [r.y, r.y + r.h])])].sort((a, b) => a - b);
  const ix = new Map(xs.map((v, i) => [v, i]));
  const iy = new Map(ys.map((v, i) => [v, i]));
  const cols = xs.length;
  // 2-D difference array over the grid, then its prefix sums: how many
  // rectangles cover each cell.
  const diff = new Int32Array(ys.length * cols);
  for (const r of rects) {
    const x0 = ix.get(r.x), x1 = ix.get(r.x + r.w), y0 = iy.get(r.y), y1 = iy.get(r.y + r.h);
    diff[y0 * cols + x0] += 1;
    diff[y0 * cols + x1] -= 1;
    diff[y1 * cols + x0] -= 1;
    diff[y1 * cols + x1] += 1;
  }
  for (let r = 0; r < ys.length; r++) {
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      if (r) diff[i] += diff[i - cols];
      if (c) diff[i] += diff[i - 1];
      if (r && c) diff[i] -= diff[i - cols - 1];
    }
  }
  // The last grid row and column lie past the frame's edge.
  for (let r = 0; r < ys.length - 1; r++) {
    for (let c = 0; c < cols - 1; c++) if (diff[r * cols + c] <= 0) return false;
  }
  return true;
}

export function parseCursorShape(body) {
  if (body.length < CURSOR_SHAPE_HEADER) throw new DecodeError('truncated cursor shape');
  const shapeId = u64(body, 0);
  if (shapeId === 0n) throw new DecodeError('cursor shape id 0 is reserved: it names no shape');
  const width = u16(body, 8);
  const height = u16(body, 10);
  const hotX = u16(body, 12);
  const hotY = u16(body, 14);
  if (!(width >= 1 && width <= CURSOR_MAX_SIZE && height >= 1 && height <= CURSOR_MAX_SIZE)) {
    throw new LimitError(
      `cursor size ${width}x${height} outside 1x1..${CURSOR_MAX_SIZE}x${CURSOR_MAX_SIZE}`);
  }
  if (hotX >= width || hotY >= height) {
    throw new DecodeError(`cursor hotspot ${hotX},${hotY} outside the ${width}x${height} shape`);
  }
  const pixels = body.subarray(CURSOR_SHAPE_HEADER);
  if (pixels.length !== width * height * 4) {
    throw new DecodeError(`cursor pixels: ${pixels.length} bytes, expected ${width * height * 4}`);
  }
  return { shapeId, width, height, hotX, hotY, pixels };
}

export function parseCursorPosition(body) {
  if (body.length !== CURSOR_POSITION_SIZE) {
    throw new DecodeError(`cursor position: ${body.length} bytes, expected ${CURSOR_POSITION_SIZE}`);
  }
  const visible = body[16];
  if (visible > 1) throw new DecodeError('cursor visibility is neither 0 nor 1');
  return { x: i32(body, 0), y: i32(body, 4), shapeId: u64(body, 8), visible: visible === 1 };
}

/**
 * Splits a byte stream into whole messages (the streaming counterpart of
 * splitFrame, as wire/parse.py's MessageReader). `feed(chunk)` returns the
 * messages the chunk completes, each its own Uint8Array. A bad header throws
 * at once, before its body is buffered, so a hostile length cannot make the
 * reader hoard memory; the reader is useless afterwards (the framing is lost).
 */
export class MessageReader {
  constructor(maxBody = MAX_BODY_SIZE) {
    this.maxBody = maxBody;
    this._buf = new Uint8Array(0);
    this._start = 0;
    this._end = 0;
  }

  /** Bytes buffered towards an incomplete message. */
  get pending() {
    return this._end - this._start;
  }

  feed(chunk) {
    this._append(chunk);
    const out = [];
    while (this._end - this._start >= HEADER_SIZE) {
      const view = this._buf.subarray(this._start, this._end);
      const { length } = readHeader(view, this.maxBody);
      const size = HEADER_SIZE + length;
      if (view.length < size) break;
      out.push(view.slice(0, size));
      this._start += size;
    }
    if (this._start === this._end) this._start = this._end = 0;
    return out;
  }

  _append(chunk) {
    const have = this._end - this._start;
    if (this._end + chunk.length > this._buf.length) {
      // Compact, growing only when what is pending does not fit.
      const need = have + chunk.length;
      const buf = need > this._buf.length ? new Uint8Array(Math.max(need, 2 * this._buf.length, 4096))
        : this._buf;
      if (buf === this._buf) buf.copyWithin(0, this._start, this._end);
      else buf.set(this._buf.subarray(this._start, this._end));
      this._buf = buf;
      this._start = 0;
      this._end = have;
    }
    this._buf.set(chunk, this._end);
    this._end += chunk.length;
  }
}
