// The page's decoding worker (a module Worker started by app/decoding.js):
// it owns the ScreenDecoder (static/decoder), its WebCodecs video sink and
// the pointer's state, so that decoding never holds the page's main thread,
// which keeps reading its WebSocket, answering with receipts and sending
// the agent's input while a heavy update decodes here.
//
// Messages (worker/channel.js, checked both ways) are handled strictly in
// order, one at a time, and each is answered in order: `decode` with `done`
// (the update applied, skipped or refused, with the tiles to draw or the
// pointer), `blank` / `repaint` with `painted`, `read` with `pixels`, `keep`
// with `kept` (the digest of the picture held, which the decoder adopts); and
// `restored`, unasked, when the canvas it draws into got its context back. A
// refusal is a `done` of kind "refused" with the DecodeError's text; anything
// else that goes wrong here is thrown, and the page takes the worker as
// failed (its updates refused, a keyframe asked for, a new worker).

import { ScreenDecoder } from "../decoder/index.js";
import { blake2bKind } from "../decoder/kept.js";
import { probeVideo, WebCodecsVideo } from "../app/video.js";
import { checkToWorker } from "./channel.js";
import { BitmapOutput, CanvasOutput } from "./output.js";

const UPDATE = 1;

let output = null;
let whole = true; // the next picture is drawn whole (the page's canvas is empty)
let sentShape = null; // the cursor shape object the page has
const video = new WebCodecsVideo();
// Pictures up to 48 M pixels (web/bridge.py PAGE_MAX_PIXELS: an 8K screen,
// three 4K side by side), messages up to 256 MiB.
const decoder = new ScreenDecoder({ video, maxPixels: 48_000_000 });
let queue = Promise.resolve();
// The kept picture's BLAKE2b (WebAssembly: 5-10 ms to compile) made ready
// now, not when a lost link asks for the digest.
blake2bKind();

// What the page needs of the pointer: the shape only when it is not the one
// it has (shapes are cached by id; the same id may be sent again, changed).
function cursorState() {
  const c = decoder.cursor;
  const shape = c.shape;
  const fresh = shape && shape !== sentShape ? shape : null;
  sentShape = shape; // null: the page forgets its shape too
  return {
    x: c.x, y: c.y, visible: c.visible, shapeId: c.shapeId, known: !!shape,
    shape: fresh && { width: fresh.width, height: fresh.height, hotX: fresh.hotX, hotY: fresh.hotY,
      rgba: fresh.rgba.slice() },
  };
}

async function paint(dirty) {
  const fb = decoder.framebuffer;
  if (!fb) return [];
  const all = [{ x: 0, y: 0, width: decoder.width, height: decoder.height }];
  const tiles = await output.draw(fb, decoder.width, decoder.height, whole ? all : dirty);
  whole = false;
  return tiles;
}

const bitmaps = (tiles) => tiles.map((t) => t.bitmap);

async function decode(id, data) {
  const t0 = performance.now();
  const bytes = new Uint8Array(data);
  const isUpdate = bytes.length > 3 && bytes[3] === UPDATE;
  const before = video.pictures;
  const done = {
    t: "done", id, kind: "ignored", width: 0, height: 0, ms: 0, pictures: 0, error: "",
    tiles: [], cursor: null,
  };
  let result;
  try {
    result = await decoder.decode(bytes);
  } catch (e) {
    done.kind = isUpdate ? "refused" : "ignored";
    done.error = String((e && e.message) || e).slice(0, 500);
    done.ms = performance.now() - t0;
    return done;
  }
  if (result.type === "update") {
    done.kind = result.skipped ? "skipped" : "update";
    if (!result.skipped) {
      done.tiles = await paint(result.dirty);
      done.width = decoder.width;
      done.height = decoder.height;
    }
  } else if (result.type === "cursor-shape" || result.type === "cursor-position") {
    done.kind = "cursor";
    done.cursor = cursorState();
  }
  done.pictures = Math.min(video.pictures - before, 64);
  done.ms = performance.now() - t0;
  return done;
}

async function handle(m) {
  switch (m.t) {
    case "init": {
      if (output) throw new Error("init twice");
      const restored = () => self.postMessage({ t: "restored" });
      output = m.mode === "offscreen" ? new CanvasOutput(m.canvas, restored) : new BitmapOutput();
      self.postMessage({ t: "ready", probe: await probeVideo() });
      return;
    }
    case "decode": {
      const done = await decode(m.id, m.data);
      self.postMessage(done, bitmaps(done.tiles));
      return;
    }
    case "blank": {
      // The decoder keeps its frame: the server's next picture is a keyframe.
      output.clear();
      whole = true;
      self.postMessage({ t: "painted", id: m.id, width: 0, height: 0, tiles: [] });
      return;
    }
    case "repaint": {
      whole = true;
      const tiles = await paint([]);
      self.postMessage({ t: "painted", id: m.id, width: decoder.width, height: decoder.height, tiles },
        bitmaps(tiles));
      return;
    }
    case "keep": {
      // Asked when the link to the host is lost: the picture no longer
      // changes until the resumed session's first update.
      const t0 = performance.now();
      const kept = await decoder.keep(m.key);
      const digests = kept ? kept.digests : null;
      self.postMessage({ t: "kept", id: m.id, width: kept ? kept.width : 0, height: kept ? kept.height : 0,
        digests, ms: performance.now() - t0 }, digests ? [digests.buffer] : []);
      return;
    }
    case "read": {
      const px = output.read();
      const data = px ? px.data : null;
      self.postMessage({ t: "pixels", id: m.id, width: px ? px.width : 0, height: px ? px.height : 0, data },
        data ? [data.buffer] : []);
      return;
    }
  }
}

self.onmessage = (ev) => {
  const m = checkToWorker(ev.data); // throws: the page sees an 'error' and starts over
  if (m.t !== "init" && !output) throw new Error(`${m.t} before init`);
  // In order, one at a time; an exception surfaces as the worker's 'error'.
  queue = queue.then(() => handle(m)).catch((e) => {
    setTimeout(() => {
      throw e;
    });
  });
};

self.onmessageerror = () => {
  throw new Error("a message from the page could not be read");
};
