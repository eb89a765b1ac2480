// The page's decoder of the screencodec wire format (docs/protocol.md): the
// counterpart of src/screencodec/decoder.py, with the same strictness. One
// module per concern: wire.js (framing, headers, limits), lossless.js (FILL,
// RAW, ZSTD, PALETTE), copy.js, history.js (ZSTREAM), video.js (VIDEO through
// the page's sink), cursor.js, zstd.js (over the vendored fzstd).
//
// An update applies atomically: every op is validated and decoded before the
// first pixel is written, and a HASH mismatch restores what was written, so a
// refused update leaves the framebuffer exactly as it was.

import { DecodeError, IntegrityError, LimitError } from './errors.js';
import { CursorState } from './cursor.js';
import { applyCopies, prepareCopy } from './copy.js';
import { HistoryDecoder } from './history.js';
import { tileDigests } from './kept.js';
import { prepareFill, preparePalette, prepareRaw, prepareZstd } from './lossless.js';
import { OPAQUE, bgrxToRgba, fillRect, readRect, rgbaToBgrx, writeRect } from './pixels.js';
import { VideoOps } from './video.js';
import { xxh3 } from './xxh3.js';
import {
  MAX_DIMENSION, MessageReader, MessageType, Op, checkVersion, parseUpdate, splitFrame,
} from './wire.js';

export { DecodeError, IntegrityError, LimitError, MessageReader, bgrxToRgba, rgbaToBgrx };
export { MessageType, Op, parseUpdate, splitFrame } from './wire.js';

export const DEFAULT_MAX_MESSAGE = 256 * 1024 * 1024;

/** A Uint8Array over `data` (a Uint8Array, an ArrayBuffer as a WebSocket
 * delivers it, or any typed array view). */
function asBytes(data) {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError('decode() takes a Uint8Array or an ArrayBuffer');
}

/**
 * Keeps the viewer's framebuffer and applies messages to it.
 *
 * State: `framebuffer` (Uint8ClampedArray R, G, B, A with A = 255, `width` x
 * `height`, null before the first keyframe; a new array when the size
 * changes, so read it again after each decode), `needsKeyframe` (true before
 * the first keyframe and after any refused message: deltas are then skipped,
 * counted in `skipped`, until a keyframe), `lastSeq` (the sequence number
 * of the last applied update that had ops or was a keyframe, or null),
 * `cursor` (CursorState), the ZSTREAM history stream and the VIDEO streams.
 *
 * `keep(key)` gives the digest of the picture held, for a resumed session's
 * host to go on from, and adopts it (the first delta then may carry any
 * number).
 *
 * `decode` calls are serialised internally (a VIDEO op awaits the sink), so a
 * caller may fire them without awaiting each; they apply in call order.
 */
export class ScreenDecoder {
  constructor({
    maxPixels = (64 * 1024 * 1024) / 4,
    maxMessage = DEFAULT_MAX_MESSAGE,
    maxWidth = MAX_DIMENSION,
    maxHeight = MAX_DIMENSION,
    video = null,
    verify = true,
  } = {}) {
    this.maxPixels = maxPixels;
    this.maxMessage = maxMessage;
    this.maxWidth = maxWidth;
    this.maxHeight = maxHeight;
    /** Check each update's HASH (off once pictures from the video sink, whose
     * colour conversion is not the normative one, are in the framebuffer). */
    this.verify = verify;
    this.width = 0;
    this.height = 0;
    this.framebuffer = null;
    this._fb32 = null;
    this.lastSeq = null;
    this.updates = 0;
    this.skipped = 0;
    this.ignored = 0;
    this.cursor = new CursorState();
    this._history = new HistoryDecoder();
    this._video = new VideoOps(video);
    // Whether the framebuffer holds only pixels decoded as the format
    // specifies (VIDEO pictures from the sink are not): HASH can be checked.
    this._exact = true;
    this._needsKeyframe = true;
    this._queue = Promise.resolve();
    this._reader = null;
  }

  get needsKeyframe() {
    return this._needsKeyframe;
  }

  set needsKeyframe(value) {
    this._needsKeyframe = !!value;
    if (value) {
      this._history.dropStream();
      this._video.reset();
    }
  }

  /** The video sink (settable: the page may create it after the decoder). */
  get video() {
    return this._video.sink;
  }

  set video(sink) {
    this._video.sink = sink;
  }

  /**
   * Apply one whole message (a Uint8Array or an ArrayBuffer; the decoder
   * does not keep it). Resolves to `{ type, dirty }`: type 'update',
   * 'cursor-shape', 'cursor-position' or 'ignored' (a message type this
   * decoder does not know, skipped by its length), dirty the rectangles the
   * update painted ([] otherwise, and for a skipped delta). Rejects with a
   * DecodeError, after which `needsKeyframe` is true and the framebuffer is
   * unchanged.
   */
  decode(message) {
    let bytes;
    try {
      bytes = asBytes(message);
    } catch (e) {
      return Promise.reject(e);
    }
    const run = this._queue.then(() => this._decode(bytes));
    this._queue = run.catch(() => {});
    return run;
  }

  /**
   * Go on from the picture held, in a new session's stream: resolves to
   * `{ width, height, digests }`, the tile digests of the framebuffer under
   * `key` (kept.js), or null when there is no picture the host sent (none
   * yet, or one waiting for a keyframe). The decoder then adopts it, as
   * Python's `ScreenDecoder.adopt`: the ZSTREAM history and the VIDEO
   * streams start afresh, and the next delta is taken with whatever number
   * it carries. Serialised with `decode`.
   */
  keep(key) {
    const run = this._queue.then(async () => {
      if (!this.framebuffer || this._needsKeyframe) return null;
      const digests = await tileDigests(this.framebuffer, this.width, this.height, key);
      this._history.dropStream();
      this._video.reset();
      this.lastSeq = null; // nothing anchors the next delta's number
      return { width: this.width, height: this.height, digests };
    });
    this._queue = run.catch(() => {});
    return run;
  }

  /**
   * Apply every message a chunk of a byte stream completes (messages
   * concatenated, chunks of any size), as Python's `ScreenDecoder.feed`.
   * Resolves to how many were handled; a refused message does not stop the
   * ones after it (a keyframe among them is applied), and the first error is
   * thrown once all are handled. After a header that cannot be one, the
   * decoder searches the stream for the next keyframe (MessageReader).
   */
  feed(chunk) {
    let bytes;
    try {
      bytes = asBytes(chunk);
    } catch (e) {
      return Promise.reject(e);
    }
    const run = this._queue.then(() => this._feed(bytes));
    this._queue = run.catch(() => {});
    return run;
  }

  async _feed(chunk) {
    if (!this._reader) this._reader = new MessageReader(this.maxMessage);
    const reader = this._reader;
    reader.push(chunk);
    let error = null;
    let count = 0;
    for (;;) {
      try {
        const msg = reader.pop();
        if (msg === null) break;
        await this._decode(msg);
        count += 1;
      } catch (e) {
        this.needsKeyframe = true;
        reader.reject();
        error = error || e;
      }
    }
    if (error) throw error;
    return count;
  }

  async _decode(message) {
    try {
      const { version, type, body } = splitFrame(message, this.maxMessage);
      checkVersion(version);
      switch (type) {
        case MessageType.UPDATE:
          return await this._update(body);
        case MessageType.CURSOR_SHAPE:
          this.cursor.applyShape(body);
          return { type: 'cursor-shape', dirty: [] };
        case MessageType.CURSOR_POSITION:
          this.cursor.applyPosition(body);
          return { type: 'cursor-position', dirty: [] };
        default:
          // New types extend version 1 only where ignoring them leaves the
          // picture right (docs/protocol.md, "Versioning").
          this.ignored += 1;
          return { type: 'ignored', dirty: [] };
      }
    } catch (e) {
      // Whatever was refused may have been an update: the next delta could
      // build on a state this decoder never reached.
      this.needsKeyframe = true;
      if (e instanceof DecodeError) throw e;
      throw new DecodeError(`internal error: ${e && e.message ? e.message : e}`);
    }
  }

  async _update(body) {
    const u = parseUpdate(body, this.maxWidth, this.maxHeight);
    if (u.width * u.height > this.maxPixels) {
      throw new LimitError(`frame size ${u.width}x${u.height} is over ${this.maxPixels} pixels`);
    }
    if (!u.keyframe) {
      if (!this.framebuffer) throw new DecodeError('a delta update arrived before any keyframe');
      if (this._needsKeyframe) {
        this.skipped += 1;
        return { type: 'update', dirty: [], skipped: true };
      }
      if (u.width !== this.width || u.height !== this.height) {
        throw new DecodeError(`the frame size changed to ${u.width}x${u.height} without a keyframe`);
      }
      // A hashed update is judged by its hash, which catches a lost update
      // that left the picture wrong (docs/protocol.md, "Sequence numbers");
      // where this decoder cannot check it (pictures from the video sink are
      // in the framebuffer) it takes that risk, as the format says.
      // (Nothing anchors the first delta on an adopted picture: keep().)
      const expected = this.lastSeq === null ? u.sequence : (this.lastSeq + 1) % 2 ** 32;
      if (u.hash === null && u.sequence !== expected) {
        throw new DecodeError(`update ${u.sequence} where ${expected} belongs: an update was lost`);
      }
    } else {
      this._history.dropStream(); // a keyframe starts every stream afresh
    }
    this._video.beginUpdate();
    const prepared = [];
    let video = false;
    for (const op of u.ops) {
      prepared.push(await this._prepare(op, u.width, u.height));
      if (op.op === Op.VIDEO) video = true;
    }

    const resized = !this.framebuffer || u.width !== this.width || u.height !== this.height;
    const fb32 = resized ? new Uint32Array(u.width * u.height).fill(OPAQUE) : this._fb32;
    const w = u.width;
    const exact = (u.keyframe || this._exact) && !video;
    const check = u.hash !== null && this.verify && exact;
    const undo = check && !resized ? u.ops.map((o) => [o, readRect(fb32, w, o.x, o.y, o.w, o.h)]) : [];

    // Every COPY reads the framebuffer as it was before the update.
    const copies = [];
    u.ops.forEach((o, i) => {
      const from = prepared[i].copyFrom;
      if (from) copies.push({ x: o.x, y: o.y, w: o.w, h: o.h, sx: from.x, sy: from.y });
    });
    applyCopies(fb32, w, copies);
    u.ops.forEach((o, i) => {
      const p = prepared[i];
      if (p.copyFrom) return;
      if (p.words) writeRect(fb32, w, o.x, o.y, o.w, o.h, p.words);
      else fillRect(fb32, w, o.x, o.y, o.w, o.h, p.fill);
    });

    if (check) {
      // The hash needs a frame-sized copy, made after the writes: without the
      // memory for it the update is undone and refused like a mismatch.
      let actual = null;
      try {
        actual = xxh3(rgbaToBgrx(new Uint8Array(fb32.buffer)));
      } catch {
        actual = null;
      }
      if (actual !== u.hash) {
        for (let i = undo.length - 1; i >= 0; i--) {
          const [o, saved] = undo[i];
          writeRect(fb32, w, o.x, o.y, o.w, o.h, saved);
        }
        if (actual === null) throw new DecodeError(`update ${u.sequence}: no memory to check its hash`);
        throw new IntegrityError(`update ${u.sequence}: framebuffer hash ${actual.toString(16)} != ` +
          `${u.hash.toString(16)}`);
      }
    }
    if (resized) {
      this._fb32 = fb32;
      this.framebuffer = new Uint8ClampedArray(fb32.buffer);
      this.width = u.width;
      this.height = u.height;
    }
    this._exact = exact;
    if (u.keyframe || u.ops.length || u.hash !== null) {
      // An empty delta without a hash does not count: it carries the number
      // of the next update, and a transport may leave it unsent.
      this.lastSeq = u.sequence;
    }
    this.updates += 1;
    if (u.keyframe) this._needsKeyframe = false;
    const dirty = resized ? [{ x: 0, y: 0, width: u.width, height: u.height }]
      : u.ops.map((o) => ({ x: o.x, y: o.y, width: o.w, height: o.h }));
    return { type: 'update', dirty };
  }

  async _prepare(op, width, height) {
    switch (op.op) {
      case Op.FILL: return prepareFill(op);
      case Op.RAW: return prepareRaw(op);
      case Op.ZSTD: return prepareZstd(op);
      case Op.PALETTE: return preparePalette(op);
      case Op.COPY: return prepareCopy(op, width, height);
      case Op.ZSTREAM: return this._history.prepare(op);
      case Op.VIDEO: return this._video.prepare(op, width, height);
      default: throw new DecodeError(`no decoder for op ${op.op}`);
    }
  }
}
