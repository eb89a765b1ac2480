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

const RESYNC_SPAN = HEADER_SIZE + UPDATE_HEADER_SIZE;

/**
 * The body length if the 24 bytes at `offset` can start a keyframe
 * (docs/protocol.md, "Decoding a byte stream"): magic, version 1, type
 * UPDATE, a length within the limit, and an update header with KEYFRAME set,
 * no unknown flag, a size in range, reserved 0 and 1 to as many ops as the
 * length holds; else -1.
 */
export function keyframeHeaderLength(d, o, maxBody) {
  if (d[o] !== MAGIC0 || d[o + 1] !== MAGIC1 || d[o + 2] !== VERSION || d[o + 3] !== MessageType.UPDATE) return -1;
  const length = u32(d, o + 4);
  if (length < UPDATE_HEADER_SIZE || length > Math.min(maxBody, MAX_BODY_SIZE)) return -1;
  const b = o + HEADER_SIZE;
  const flags = u16(d, b + 4), width = u16(d, b + 6), height = u16(d, b + 8);
  const reserved = u16(d, b + 10), count = u32(d, b + 12);
  if (!(flags & UpdateFlags.KEYFRAME) || flags & ~(UpdateFlags.KEYFRAME | UpdateFlags.HASH) || reserved) return -1;
  if (!(width >= 1 && width <= MAX_DIMENSION && height >= 1 && height <= MAX_DIMENSION)) return -1;
  const room = length - UPDATE_HEADER_SIZE - (flags & UpdateFlags.HASH ? HASH_SIZE : 0);
  if (!(count >= 1 && count <= Math.floor(room / OP_HEADER_SIZE))) return -1;
  return length;
}

/**
 * Splits a byte stream into whole messages and finds its way back to a
 * keyframe when the stream's framing is lost (docs/protocol.md, "Decoding a
 * byte stream"), as wire/parse.py's MessageReader.
 *
 * `push(chunk)` appends bytes; `pop()` returns the next whole message (any
 * version and type: the caller judges those) or null until more bytes come.
 * When the 8 bytes where a header should start cannot be one (bad magic, a
 * length over the limit) `pop` throws a DecodeError once, before anything of
 * that length is buffered, and the reader *resynchronises*: it drops bytes
 * up to the next offset where a keyframe header starts and returns that
 * message. A caller that refuses such a message calls `reject()`, and the
 * search goes on from the byte after that header's first.
 *
 * `feed(chunk)` is push + pop until null: it returns the messages, or throws
 * the DecodeError of a bad header with the messages found before it in
 * `error.messages` (the next feed goes on searching).
 *
 * State: the buffered bytes, `synced` (whether the framing is known) and the
 * last message found by a search (until the next pop).
 */
export class MessageReader {
  constructor(maxBody = MAX_BODY_SIZE) {
    this.maxBody = maxBody;
    this.synced = true;
    this._buf = new Uint8Array(0);
    this._start = 0;
    this._end = 0;
    this._found = null;
  }

  /** Bytes buffered towards an incomplete message. */
  get pending() {
    return this._end - this._start;
  }

  push(chunk) {
    const have = this._end - this._start;
    if (this._end + chunk.length > this._buf.length) {
      const need = have + chunk.length;
      if (need > this._buf.length) {
        const buf = new Uint8Array(Math.max(need, 2 * this._buf.length, 4096));
        buf.set(this._buf.subarray(this._start, this._end));
        this._buf = buf;
      } else {
        this._buf.copyWithin(0, this._start, this._end);
      }
      this._start = 0;
      this._end = have;
    }
    this._buf.set(chunk, this._end);
    this._end += chunk.length;
  }

  pop() {
    this._found = null;
    if (!this.synced) return this._search();
    const view = this._buf.subarray(this._start, this._end);
    if (view.length < HEADER_SIZE) return null;
    let length;
    try {
      ({ length } = readHeader(view, this.maxBody));
    } catch (e) {
      this.synced = false;
      this._start += 1;
      throw new DecodeError(`${e.message}; the stream's framing is lost until a keyframe`);
    }
    if (view.length < HEADER_SIZE + length) return null;
    this._start += HEADER_SIZE + length;
    return view.slice(0, HEADER_SIZE + length);
  }

  /** The message the last pop found by searching was refused: search on
   * from its second byte. Does nothing after any other pop. */
  reject() {
    if (this._found === null) return;
    const rest = this._buf.subarray(this._start, this._end);
    const buf = new Uint8Array(this._found.length - 1 + rest.length);
    buf.set(this._found.subarray(1));
    buf.set(rest, this._found.length - 1);
    this._buf = buf;
    this._start = 0;
    this._end = buf.length;
    this._found = null;
    this.synced = false;
  }

  feed(chunk) {
    this.push(chunk);
    const out = [];
    for (;;) {
      let msg;
      try {
        msg = this.pop();
      } catch (e) {
        e.messages = out;
        throw e;
      }
      if (msg === null) return out;
      out.push(msg);
    }
  }

  _search() {
    const d = this._buf;
    let start = this._start;
    let i;
    let length;
    for (;;) {
      i = findMark(d, start, this._end);
      if (i < 0) {
        // Keep what could be the start of a mark cut by the chunk's end.
        this._start = Math.max(this._start, this._end - 3);
        return null;
      }
      if (this._end - i < RESYNC_SPAN) {
        this._start = i;
        return null;
      }
      length = keyframeHeaderLength(d, i, this.maxBody);
      if (length >= 0) break;
      start = i + 1;
    }
    this._start = i;
    if (this._end - i < HEADER_SIZE + length) return null;
    const msg = d.slice(i, i + HEADER_SIZE + length);
    this._start = i + HEADER_SIZE + length;
    this._found = msg;
    this.synced = true;
    return msg;
  }
}

/** The first offset in d[from, end) where "SC", version 1, UPDATE starts, or -1. */
function findMark(d, from, end) {
  for (let i = d.indexOf(MAGIC0, from); i >= 0 && i + 3 < end; i = d.indexOf(MAGIC0, i + 1)) {
    if (d[i + 1] === MAGIC1 && d[i + 2] === VERSION && d[i + 3] === MessageType.UPDATE) return i;
  }
  return -1;
}
