// The page's side of its decoding worker (static/worker/main.js): every
// binary frame from the server goes to the worker as it arrives (the bytes
// transferred, not copied), with the recording's `blank`s among them; the
// worker answers each in order, and the answers are handled here in order:
// tiles to draw, the pointer, a refusal. The page's main thread only draws.
//
// A worker that fails ('error', 'messageerror', an answer that is not
// exactly what was asked: worker/channel.js) is a decode failure the session
// recovers from: it is ended, every message it still had counts as lost (an
// update as refused: the page answers `applied` with ok false, and the host
// is asked for a keyframe), and a new worker takes the next messages.

import { checkToPage, MAX_SIDE } from "../worker/channel.js";
import { tileCount } from "../decoder/kept.js";

const UPDATE = 1;

export class WorkerFailed extends Error {}

export class DecodeWorker {
  /**
   * `url`: worker/main.js; `canvas()`: the OffscreenCanvas to draw into (for
   * mode "offscreen"; called again for each new worker); `onAnswer(entry,
   * msg)` for each answer, in order; `onLost(entry, reason)` for each message
   * a failed worker had not answered, in order; `onFailed(reason)` after;
   * `onRestored()` when the canvas the worker draws into got its context back.
   */
  constructor({ url, mode, canvas, onAnswer, onLost, onFailed, onRestored = () => {} }) {
    this.url = url;
    this.mode = mode;
    this.canvas = canvas;
    this.onAnswer = onAnswer;
    this.onLost = onLost;
    this.onFailed = onFailed;
    this.onRestored = onRestored;
    this.pending = [];
    this.nextId = 1;
    this.worker = null;
    this.ready = null;
    this.failures = 0;
  }

  /** Start a worker; resolves to its video probe once it is ready. */
  start() {
    const worker = new Worker(this.url, { type: "module", name: "screencodec decoder" });
    this.worker = worker;
    let settle;
    this.ready = new Promise((resolve, reject) => (settle = { resolve, reject }));
    this.ready.catch(() => {});
    this.settle = settle;
    this.answered = false;
    // Listeners, not handler properties: what a failed worker still sends
    // is ignored by its identity.
    worker.addEventListener("message", (ev) => {
      if (worker === this.worker) this.answer(ev.data);
    });
    worker.addEventListener("error", (ev) => {
      if (worker === this.worker) this.fail(`the decoder failed: ${(ev && ev.message) || "error"}`);
    });
    worker.addEventListener("messageerror", () => {
      if (worker === this.worker) this.fail("the decoder's answer could not be read");
    });
    const canvas = this.mode === "offscreen" ? this.canvas() : null;
    worker.postMessage({ t: "init", mode: this.mode, canvas }, canvas ? [canvas] : []);
    return this.ready;
  }

  /** A binary frame from the server (its ArrayBuffer is transferred). */
  decode(data) {
    const head = new Uint8Array(data, 0, Math.min(data.byteLength, 4));
    const isUpdate = head.length > 3 && head[3] === UPDATE;
    this.post({ t: "decode", data }, { isUpdate }, [data]);
  }

  blank() {
    this.post({ t: "blank" }, {});
  }

  repaint() {
    this.post({ t: "repaint" }, {});
  }

  /** The pixels the worker's canvas shows (offscreen mode): { width, height, data } or null. */
  read() {
    return new Promise((resolve) => this.post({ t: "read" }, { resolve }));
  }

  /**
   * The digest of the picture the worker's decoder holds under `key` (16
   * bytes), which it adopts (a resumed session may go on from it): resolves
   * to { width, height, digests, ms }, or null (no picture to go on from, or
   * the worker failed).
   */
  keep(key) {
    return new Promise((resolve) => this.post({ t: "keep", key }, { resolve }));
  }

  post(msg, entry, transfer = []) {
    const id = this.nextId;
    this.nextId = (this.nextId + 1) % 2 ** 32;
    Object.assign(entry, { t: msg.t, id });
    if (!this.worker) {
      // A worker that never got ready is not started again: nothing decodes.
      if (entry.resolve) entry.resolve(null);
      else this.onLost(entry, "no decoder");
      return;
    }
    this.pending.push(entry);
    this.worker.postMessage({ ...msg, id }, transfer);
  }

  answer(data) {
    let m = null;
    try {
      m = checkToPage(data);
      if (m.t === "ready") {
        if (this.answered) throw new WorkerFailed("ready twice");
        this.answered = true;
        this.failures = 0;
        this.settle.resolve(m.probe);
        return;
      }
      if (m.t === "restored") {
        this.onRestored();
        return;
      }
      const entry = this.pending[0];
      if (!this.answered || !entry || entry.id !== m.id) throw new WorkerFailed("an answer out of order");
      const kinds = { decode: "done", blank: "painted", repaint: "painted", read: "pixels", keep: "kept" };
      if (kinds[entry.t] !== m.t) throw new WorkerFailed(`a ${m.t} answer to ${entry.t}`);
      if (m.t === "done" && entry.isUpdate !== ["update", "skipped", "refused"].includes(m.kind)) {
        throw new WorkerFailed(`a ${m.kind} answer to ${entry.isUpdate ? "an update" : "another message"}`);
      }
      if (m.t === "pixels" && m.data && m.data.length !== m.width * m.height * 4) {
        throw new WorkerFailed("pixels of another size");
      }
      if (m.t === "kept" && (m.digests ? m.width < 1 || m.height < 1 ||
        m.digests.length !== tileCount(m.width, m.height) * 8 : m.width || m.height)) {
        throw new WorkerFailed("a digest of another size");
      }
      for (const tile of m.tiles || []) {
        const { x, y, bitmap } = tile;
        if (x + bitmap.width > m.width || y + bitmap.height > m.height || m.width > MAX_SIDE) {
          throw new WorkerFailed("a tile outside the frame");
        }
      }
    } catch (e) {
      const tiles = data && Array.isArray(data.tiles) ? data.tiles : [];
      for (const t of tiles) if (t && t.bitmap instanceof ImageBitmap) t.bitmap.close();
      this.fail(String((e && e.message) || e));
      return;
    }
    const entry = this.pending.shift();
    if (entry.t === "keep") {
      entry.resolve(m.digests ? { width: m.width, height: m.height, digests: m.digests, ms: m.ms } : null);
    } else if (entry.resolve) entry.resolve(m.data ? { width: m.width, height: m.height, data: m.data } : null);
    else this.onAnswer(entry, m);
  }

  /** End the worker; what it had not answered is lost; a new one takes over. */
  fail(reason) {
    const dead = this.worker;
    this.worker = null; // what it still sends is ignored
    dead.terminate();
    const lost = this.pending.splice(0);
    const wasReady = this.answered;
    this.failures += 1;
    if (!wasReady) this.settle.reject(new WorkerFailed(reason));
    for (const entry of lost) {
      if (entry.resolve) entry.resolve(null);
      else this.onLost(entry, reason);
    }
    this.onFailed(reason);
    // A worker that never got ready is not started again (it would fail the same way).
    if (wasReady) this.start();
  }
}
