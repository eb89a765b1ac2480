// The VIDEO op (docs/protocol.md, "VIDEO op"): one H.264 access unit per op.
// This module checks everything the format lets a decoder check without
// decoding (payload header, rect size, per-update limits, each stream's
// continuity: IDR start, same size and chroma, frame numbers counting up) and
// hands the access unit to the page's sink (WebCodecs), whose picture must
// come back at exactly the rect's size.
//
// Sink: `{ async decode(op) -> { width, height, data: Uint8ClampedArray RGBA },
// reset() }`, op = `{ stream, x, y, width, height, header, payload, keyframe }`
// with header = `{ codec, flags, idr, chroma420, stream, frame }`. `reset()`
// is called whenever the decoder refuses an update: every stream restarts at
// an IDR (the host's keyframe answer).

import { DecodeError, LimitError } from './errors.js';

export const CODEC_H264 = 1;
export const FLAG_IDR = 1;
export const FLAG_420 = 2;
export const MAX_STREAMS = 8;
export const MAX_VIDEO_OPS = MAX_STREAMS;
export const MAX_VIDEO_COVERAGE = 1;
export const VIDEO_HEADER_SIZE = 8;
export const MAX_VIDEO_WIDTH = 8192;
export const MAX_VIDEO_HEIGHT = 4320;

/** Parse a VIDEO payload's 8-byte header (no checks beyond its length). */
export function videoHeader(payload) {
  if (payload.length <= VIDEO_HEADER_SIZE) throw new DecodeError('VIDEO: truncated payload');
  const flags = payload[1];
  return {
    codec: payload[0],
    flags,
    idr: !!(flags & FLAG_IDR),
    chroma420: !!(flags & FLAG_420),
    stream: payload[2] | (payload[3] << 8),
    frame: (payload[4] | (payload[5] << 8) | (payload[6] << 16) | (payload[7] << 24)) >>> 0,
  };
}

/**
 * Per-stream state and per-update limits for VIDEO ops. State: for each of at
 * most 8 streams (least recently used dropped), its size, chroma and next
 * frame number; the VIDEO ops and area of the update being prepared.
 */
export class VideoOps {
  constructor(sink = null) {
    this.sink = sink;
    this._streams = new Map();
    this._ops = 0;
    this._area = 0;
  }

  beginUpdate() {
    this._ops = 0;
    this._area = 0;
  }

  /** Forget every stream (the sink too): the next picture of each must be an IDR. */
  reset() {
    this._streams.clear();
    if (this.sink && typeof this.sink.reset === 'function') {
      try {
        this.sink.reset();
      } catch {
        // A failing reset leaves nothing to undo: the next IDR reconfigures.
      }
    }
  }

  async prepare(op, width, height) {
    this._ops += 1;
    this._area += op.w * op.h;
    if (this._ops > MAX_VIDEO_OPS) throw new LimitError(`VIDEO: more than ${MAX_VIDEO_OPS} VIDEO ops in one update`);
    if (this._area > MAX_VIDEO_COVERAGE * width * height) {
      throw new LimitError(`VIDEO: the VIDEO ops of one update cover more than ${MAX_VIDEO_COVERAGE}x ` +
        `the ${width}x${height} frame`);
    }
    if (op.flags) throw new DecodeError(`VIDEO: unknown op flags 0x${op.flags.toString(16)}`);
    const head = videoHeader(op.payload);
    if (head.codec !== CODEC_H264) throw new DecodeError(`VIDEO: unknown codec ${head.codec}`);
    if (head.flags & ~(FLAG_IDR | FLAG_420)) throw new DecodeError(`VIDEO: unknown flags 0x${head.flags.toString(16)}`);
    if (op.w % 2 || op.h % 2 || op.w > MAX_VIDEO_WIDTH || op.h > MAX_VIDEO_HEIGHT) {
      throw new DecodeError(`VIDEO: a ${op.w}x${op.h} rect cannot hold an H.264 picture`);
    }
    const sid = head.stream;
    let stream = this._streams.get(sid);
    if (head.idr) {
      stream = { w: op.w, h: op.h, chroma420: head.chroma420, next: head.frame };
    } else if (!stream) {
      throw new DecodeError(`VIDEO: stream ${sid} continues without an IDR`);
    } else if (stream.w !== op.w || stream.h !== op.h || stream.chroma420 !== head.chroma420) {
      this._streams.delete(sid);
      throw new DecodeError(`VIDEO: stream ${sid} changed its format without an IDR`);
    } else if (head.frame !== stream.next) {
      this._streams.delete(sid);
      throw new DecodeError(`VIDEO: stream ${sid} frame ${head.frame}, expected ${stream.next}`);
    }
    this._streams.delete(sid); // re-inserted last: most recently used
    this._streams.set(sid, stream);
    while (this._streams.size > MAX_STREAMS) this._streams.delete(this._streams.keys().next().value);
    if (!this.sink) {
      this._streams.delete(sid);
      throw new DecodeError('VIDEO: this decoder has no video sink');
    }
    let picture;
    try {
      picture = await this.sink.decode({
        stream: sid, x: op.x, y: op.y, width: op.w, height: op.h, header: head,
        payload: op.payload.subarray(VIDEO_HEADER_SIZE), keyframe: head.idr,
      });
    } catch (e) {
      this._streams.delete(sid);
      if (e instanceof DecodeError) throw e;
      throw new DecodeError(`VIDEO: stream ${sid}: ${e && e.message ? e.message : e}`);
    }
    const n = op.w * op.h;
    if (!picture || picture.width !== op.w || picture.height !== op.h || !picture.data ||
        picture.data.length !== n * 4) {
      this._streams.delete(sid);
      throw new DecodeError(`VIDEO: stream ${sid}: the picture is not ${op.w}x${op.h}`);
    }
    stream.next = (head.frame + 1) % 2 ** 32;
    const d = picture.data;
    const words = d.byteOffset % 4 === 0
      ? new Uint32Array(d.buffer, d.byteOffset, n).slice()
      : new Uint32Array(new Uint8Array(d).buffer);
    for (let i = 0; i < n; i++) words[i] |= 0xff000000;
    return { words };
  }
}
