// Draws the decoder's framebuffer into the screen canvas (only the dirty
// rectangles), the host's pointer into its own small canvas above it, and
// keeps both scaled together: "fit" shrinks the screen into the window,
// "1:1" shows it pixel for pixel with scrollbars. Until the first picture,
// the empty screen says in its middle what the page is waiting for (the
// header's status: connecting, waiting for the user's answer, or why not).

export class Renderer {
  constructor(screen, cursor, viewport) {
    this.screen = screen;
    this.cursorCanvas = cursor;
    this.viewport = viewport;
    this.ctx = screen.getContext("2d", { alpha: false });
    this.image = null;
    this.mode = "fit";
    this.shapeId = null;
    this.cursorState = null;
    this.pictures = 0;
    new ResizeObserver(() => this.layout()).observe(viewport);
    // A 2D context on the GPU is lost when the GPU process restarts (a crash,
    // a driver reset, its watchdog on a starved machine) and comes back
    // blank; updates paint only what they change, and a still screen sends
    // none: paint everything again (the pointer's canvas too).
    screen.addEventListener("contextrestored", () => {
      if (this.image) this.ctx.putImageData(this.image, 0, 0);
    });
    cursor.addEventListener("contextrestored", () => {
      this.shapeId = null;
      if (this.cursorState) this.setCursor(this.cursorState);
    });
    this.waiting = document.getElementById("waiting");
    const status = document.getElementById("status");
    if (this.waiting && status) {
      this.mirror = () => {
        if (!this.pictures) this.waiting.textContent = status.textContent;
      };
      this.statusWatch = new MutationObserver(this.mirror);
      this.watchStatus = () => this.statusWatch.observe(status, { childList: true, characterData: true, subtree: true });
      this.watchStatus();
      this.mirror();
    }
  }

  // No picture: the screen empty again (as before the first one, its middle
  // saying what the status says); the next draw paints its frame whole.
  clear() {
    this.screen.width = 1;
    this.screen.height = 1;
    this.image = null;
    this.layout();
    const had = this.pictures;
    this.pictures = 0;
    if (had && this.waiting) {
      this.waiting.hidden = false;
      this.watchStatus();
      this.mirror();
    }
  }

  // Paint `dirty` rects of `fb` (RGBA, width x height).
  draw(fb, width, height, dirty) {
    if (!this.pictures++ && this.waiting) {
      this.waiting.hidden = true;
      this.statusWatch.disconnect();
    }
    let all = false;
    if (this.screen.width !== width || this.screen.height !== height) {
      this.screen.width = width;
      this.screen.height = height;
      all = true;
      this.layout();
    }
    if (!this.image || this.image.data !== fb || this.image.width !== width) {
      this.image = new ImageData(fb, width, height);
      all = true;
    }
    if (all) {
      this.ctx.putImageData(this.image, 0, 0);
      return;
    }
    for (const r of dirty) this.ctx.putImageData(this.image, 0, 0, r.x, r.y, r.width, r.height);
  }

  setMode(mode) {
    this.mode = mode;
    this.layout();
  }

  get scale() {
    if (this.mode !== "fit") return 1;
    const w = this.screen.width;
    const h = this.screen.height;
    const vw = this.viewport.clientWidth;
    const vh = this.viewport.clientHeight;
    return Math.min(vw / w, vh / h, 1) || 1;
  }

  layout() {
    const s = this.scale;
    this.screen.style.width = `${this.screen.width * s}px`;
    this.screen.style.height = `${this.screen.height * s}px`;
    this.viewport.classList.toggle("one-to-one", this.mode !== "fit");
    this.placeCursor();
  }

  // The framebuffer pixel under a client (CSS) position, clamped to the frame.
  toFrame(clientX, clientY) {
    const r = this.screen.getBoundingClientRect();
    const x = Math.floor(((clientX - r.left) * this.screen.width) / r.width);
    const y = Math.floor(((clientY - r.top) * this.screen.height) / r.height);
    return {
      x: Math.min(Math.max(x, 0), this.screen.width - 1),
      y: Math.min(Math.max(y, 0), this.screen.height - 1),
    };
  }

  // The decoder's cursor state: { x, y, visible, shapeId, shapes }.
  setCursor(cursor) {
    this.cursorState = cursor;
    const shape = cursor.shapes.get(cursor.shapeId);
    if (shape && cursor.shapeId !== this.shapeId) {
      this.shapeId = cursor.shapeId;
      this.cursorCanvas.width = shape.width;
      this.cursorCanvas.height = shape.height;
      const img = new ImageData(new Uint8ClampedArray(shape.rgba), shape.width, shape.height);
      this.cursorCanvas.getContext("2d").putImageData(img, 0, 0);
    }
    this.placeCursor();
  }

  placeCursor() {
    const c = this.cursorState;
    const shape = c && c.shapes.get(c.shapeId);
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
