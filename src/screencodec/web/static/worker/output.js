// Where the worker's decoded pixels go. Two ways, one per class:
//
// - CanvasOutput (the page's default): the page's canvas was transferred
//   here (transferControlToOffscreen) and is drawn with putImageData, only
//   the dirty rectangles; the browser shows it without the page's main
//   thread. The page reads its pixels back through the worker (`read`), and
//   a worker started again after a failure gets a fresh canvas element.
// - BitmapOutput (where a canvas cannot be transferred): each update's dirty
//   rectangles are cut from the framebuffer as ImageBitmaps and transferred
//   to the page, which draws them with drawImage. Measured slower: the
//   bitmaps' upload lands on the main thread when it paints
//   (benchmarks/test_bench_web_worker.py, RESULTS.md).

// More rectangles than this are sent as one: their bounding box.
const MAX_TILES = 16;
const EXACT = { premultiplyAlpha: "none", colorSpaceConversion: "none" };

function bounds(rects) {
  let x0 = Infinity, y0 = Infinity, x1 = 0, y1 = 0;
  for (const r of rects) {
    x0 = Math.min(x0, r.x);
    y0 = Math.min(y0, r.y);
    x1 = Math.max(x1, r.x + r.width);
    y1 = Math.max(y1, r.y + r.height);
  }
  return [{ x: x0, y: y0, width: x1 - x0, height: y1 - y0 }];
}

export class BitmapOutput {
  constructor() {
    this.image = null;
  }

  /** ImageBitmaps of `dirty` in `fb` (RGBA, width x height): [{ x, y, bitmap }]. */
  async draw(fb, width, height, dirty) {
    if (!this.image || this.image.data !== fb || this.image.width !== width) {
      this.image = new ImageData(fb, width, height);
    }
    const rects = dirty.length > MAX_TILES ? bounds(dirty) : dirty;
    return Promise.all(rects.filter((r) => r.width > 0 && r.height > 0).map(async (r) => ({
      x: r.x, y: r.y, bitmap: await createImageBitmap(this.image, r.x, r.y, r.width, r.height, EXACT),
    })));
  }

  clear() {
    this.image = null;
  }

  /** Pixels of the canvas: the page reads its own. */
  read() {
    return null;
  }
}

export class CanvasOutput {
  /** `restored()` is called once the canvas's context came back (and was painted again). */
  constructor(canvas, restored) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d", { alpha: false });
    this.image = null;
    // A 2D context on the GPU comes back blank after the GPU process
    // restarts (a crash, a driver reset, its watchdog on a starved machine),
    // and a still screen sends nothing: paint it all again.
    canvas.addEventListener("contextrestored", () => {
      if (this.image) this.ctx.putImageData(this.image, 0, 0);
      restored();
    });
  }

  async draw(fb, width, height, dirty) {
    let all = false;
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
      all = true;
    }
    if (!this.image || this.image.data !== fb || this.image.width !== width) {
      this.image = new ImageData(fb, width, height);
      all = true;
    }
    if (all) this.ctx.putImageData(this.image, 0, 0);
    else for (const r of dirty) this.ctx.putImageData(this.image, 0, 0, r.x, r.y, r.width, r.height);
    return [];
  }

  clear() {
    this.canvas.width = 1;
    this.canvas.height = 1;
    this.image = null;
  }

  read() {
    const { width, height } = this.canvas;
    return { width, height, data: this.ctx.getImageData(0, 0, width, height).data };
  }
}
