// Sizes the screen canvas and keeps it and the host's pointer (its own small
// canvas above it) scaled together: "fit" shrinks the screen into the
// window, "1:1" shows it pixel for pixel with scrollbars. The picture itself
// is drawn by the decoding worker (app/decoding.js): into the screen canvas,
// transferred to it ("offscreen"), or, where a browser cannot transfer a
// canvas, as ImageBitmaps of each update's dirty rectangles that are drawn
// here ("bitmap"). Until the first picture, the empty screen says in its
// middle what the page is waiting for (the header's status: connecting,
// waiting for the user's answer, the first picture, or why not).

export const FIRST_PICTURE = "Connected: the first picture is on its way...";

export class Renderer {
  constructor(screen, cursor, viewport, { mode = "bitmap", repaint = () => {} } = {}) {
    this.screen = screen;
    this.cursorCanvas = cursor;
    this.viewport = viewport;
    this.mode = mode;
    this.ctx = mode === "bitmap" ? screen.getContext("2d", { alpha: false }) : null;
    // The frame's size (the canvas's own, which an offscreen canvas's
    // placeholder does not follow).
    this.width = screen.width;
    this.height = screen.height;
    this.scaleMode = "fit";
    this.shape = null;
    this.drawnShape = null;
    this.cursorState = null;
    this.pictures = 0;
    new ResizeObserver(() => this.layout()).observe(viewport);
    // A 2D context on the GPU is lost when the GPU process restarts (a crash,
    // a driver reset, its watchdog on a starved machine) and comes back
    // blank; updates paint only what they change, and a still screen sends
    // none: the worker sends the whole frame again (the pointer's canvas is
    // painted from the shape held here). A canvas the worker draws into is
    // painted again there.
    screen.addEventListener("contextrestored", () => {
      if (this.ctx && this.pictures) repaint();
    });
    cursor.addEventListener("contextrestored", () => {
      this.drawnShape = null;
      if (this.cursorState) this.setCursor(this.cursorState);
    });
    this.frozen = null; // the last picture of a failed worker's canvas, until the next one's
    this.frozenNote = document.createElement("p");
    this.frozenNote.className = "frozen-note";
    this.frozenNote.setAttribute("role", "status");
    this.frozenNote.textContent = "Reconnecting the picture...";
    this.frozenNote.hidden = true;
    screen.parentElement.append(this.frozenNote);
    this.waiting = document.getElementById("waiting");
    const status = document.getElementById("status");
    if (this.waiting && status) {
      // "Connected" (the bridge's status once the user said yes) over an
      // empty screen read as if nothing would come; on a slow link the
      // first picture takes seconds.
      this.mirror = () => {
        const text = status.textContent;
        if (!this.pictures) this.waiting.textContent = text === "Connected" ? FIRST_PICTURE : text;
      };
      this.statusWatch = new MutationObserver(this.mirror);
      this.watchStatus = () => this.statusWatch.observe(status, { childList: true, characterData: true, subtree: true });
      this.watchStatus();
      this.mirror();
    }
  }

  /** The screen canvas handed to a worker (mode "offscreen"; once per canvas
   * element: a worker started again after a failure gets a fresh element).
   *
   * A transferred canvas cannot be taken back, and the fresh one is empty
   * until the new worker has a keyframe (a round trip to the host, more on a
   * slow link): the old element stays where it was, over the fresh one,
   * showing the last picture as it was (frozen: no input reaches it), with
   * a small "Reconnecting the picture" note, until the new worker has
   * painted its first picture (`draw`); then it goes. A worker that fails
   * again before that keeps the same frozen picture (the element in between
   * never showed one). */
  offscreen() {
    if (this.transferred) {
      const old = this.screen;
      const fresh = old.cloneNode(false);
      old.before(fresh);
      if (this.frozen || !this.pictures) {
        old.remove();
      } else {
        // One going already (its successor had painted) goes now: it would lie over this one.
        for (const gone of old.parentElement.querySelectorAll("canvas.frozen")) gone.remove();
        old.removeAttribute("id");
        old.classList.add("frozen");
        old.setAttribute("aria-hidden", "true");
        this.frozen = old;
        this.frozenNote.hidden = false;
      }
      this.screen = fresh;
      if (this.onScreen) this.onScreen(fresh);
      this.layout();
    }
    this.transferred = true;
    return this.screen.transferControlToOffscreen();
  }

  // The frozen picture goes once the fresh canvas shows its first one: after
  // two of the page's frames, by when the worker's canvas has reached the
  // screen (its pixels are committed at the end of the worker's task).
  thaw(now = false) {
    const frozen = this.frozen;
    if (!frozen) return;
    this.frozen = null;
    const drop = () => {
      frozen.remove();
      if (!this.frozen) this.frozenNote.hidden = true;
    };
    if (now) drop();
    else requestAnimationFrame(() => requestAnimationFrame(drop));
  }

  // No picture: the screen empty again (as before the first one, its middle
  // saying what the status says); the next draw paints its frame whole.
  clear() {
    this.thaw(true); // a frozen picture is a later one too
    this.resize(1, 1);
    const had = this.pictures;
    this.pictures = 0;
    if (had && this.waiting) {
      this.waiting.hidden = false;
      this.watchStatus();
      this.mirror();
    }
  }

  resize(width, height) {
    this.width = width;
    this.height = height;
    if (this.ctx) {
      this.screen.width = width;
      this.screen.height = height;
    }
    this.layout();
  }

  // A picture of width x height: draw its `tiles` ([{ x, y, bitmap }], each
  // closed here). Returns the milliseconds it took.
  draw(tiles, width, height) {
    const t0 = performance.now();
    if (!this.pictures++ && this.waiting) {
      this.waiting.hidden = true;
      this.statusWatch.disconnect();
    }
    if (this.width !== width || this.height !== height) this.resize(width, height);
    for (const { x, y, bitmap } of tiles) {
      if (this.ctx) this.ctx.drawImage(bitmap, x, y);
      bitmap.close();
    }
    this.thaw();
    return performance.now() - t0;
  }

  // The whole frame again (after a lost context): the worker's tiles.
  repainted(tiles, width, height) {
    if (!this.pictures || width !== this.width || height !== this.height) {
      for (const t of tiles) t.bitmap.close();
      return;
    }
    for (const { x, y, bitmap } of tiles) {
      if (this.ctx) this.ctx.drawImage(bitmap, x, y);
      bitmap.close();
    }
  }

  /** The screen's pixels (RGBA), as shown: { width, height, data }. */
  read() {
    if (!this.ctx) return null;
    const { width, height } = this.screen;
    return { width, height, data: this.ctx.getImageData(0, 0, width, height).data };
  }

  setMode(mode) {
    this.scaleMode = mode;
    this.layout();
  }

  get scale() {
    if (this.scaleMode !== "fit") return 1;
    const w = this.width;
    const h = this.height;
    const vw = this.viewport.clientWidth;
    const vh = this.viewport.clientHeight;
    return Math.min(vw / w, vh / h, 1) || 1;
  }

  layout() {
    const s = this.scale;
    for (const canvas of this.frozen ? [this.screen, this.frozen] : [this.screen]) {
      canvas.style.width = `${this.width * s}px`;
      canvas.style.height = `${this.height * s}px`;
    }
    this.viewport.classList.toggle("one-to-one", this.scaleMode !== "fit");
    this.placeCursor();
  }

  // The framebuffer pixel under a client (CSS) position, clamped to the frame.
  toFrame(clientX, clientY) {
    const r = this.screen.getBoundingClientRect();
    const x = Math.floor(((clientX - r.left) * this.width) / r.width);
    const y = Math.floor(((clientY - r.top) * this.height) / r.height);
    return {
      x: Math.min(Math.max(x, 0), this.width - 1),
      y: Math.min(Math.max(y, 0), this.height - 1),
    };
  }

  // The pointer as the worker describes it: { x, y, visible, shapeId, known,
  // shape }: known false when the worker has no shape for shapeId (the
  // default pointer), shape null when the one last given is still right.
  setCursor(cursor) {
    this.cursorState = cursor;
    if (!cursor.known) this.shape = null;
    else if (cursor.shape) this.shape = cursor.shape;
    cursor.shape = null; // kept as this.shape
    const shape = this.shape;
    if (shape && shape !== this.drawnShape) {
      this.drawnShape = shape;
      this.cursorCanvas.width = shape.width;
      this.cursorCanvas.height = shape.height;
      const img = new ImageData(new Uint8ClampedArray(shape.rgba), shape.width, shape.height);
      this.cursorCanvas.getContext("2d").putImageData(img, 0, 0);
    }
    this.placeCursor();
  }

  placeCursor() {
    const c = this.cursorState;
    const shape = this.shape;
    if (!c || !c.visible || !shape) {
      this.cursorCanvas.hidden = true;
      return;
    }
    const s = this.scale;
    const st = this.cursorCanvas.style;
    st.left = `${(c.x - shape.hotX) * s}px`;
    st.top = `${(c.y - shape.hotY) * s}px`;
    st.width = `${shape.width * s}px`;
    st.height = `${shape.height * s}px`;
    this.cursorCanvas.hidden = false;
  }
}
