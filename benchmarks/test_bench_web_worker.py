"""The page's main thread while it decodes: decoding on it (the page before
b96732f) against decoding in its worker, drawing either way the worker can.

Streams of the corpus clips (the real-screen recordings: ``make corpus``)
are written once by ``ScreenEncoder`` (with the history stream, as a session
to the page; test_bench_web_decoder's, 121 frames each), then replayed in
headless Chromium on the page's own origin (its server, its CSP), each
message in its own task as the WebSocket delivers them, as fast as they are
taken, three ways:

* **main**: ScreenDecoder and its WebCodecs sink on the main thread, the dirty
  rectangles put into the canvas (``putImageData``): the old page.
* **bitmap**: the page's DecodeWorker (app/decoding.js, worker/main.js); the
  worker sends each update's dirty rectangles as ImageBitmaps, the main
  thread draws them (``drawImage``): the page's way where a canvas cannot be
  transferred.
* **offscreen**: the same worker draws into the canvas itself, transferred
  to it (``transferControlToOffscreen``): the page's default.

Reported per clip and way (the second of two passes: the JIT is warm):
the main thread's own time per message (its handlers), its long tasks (over
50 ms, PerformanceObserver; they include what the browser does on that thread
for the canvas, which the handlers do not see), the longest gap between two
animation frames (how long the page could not paint or take input), and the
time from the first message to the last picture painted. Ratios are against
**main** in the same run.

Run: ``pytest benchmarks/test_bench_web_worker.py -s`` or ``python`` it.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from _report import CORPUS
from screencodec.web.server import WebServer

ROOT = Path(__file__).resolve().parents[1]
CLIPS = [c for c in os.environ.get("SCREENCODEC_WEBWORKER_CLIPS",
                                   "terminal-log,browser-docs,window-drag,vim-typing").split(",")
         if (CORPUS / c).is_dir()]  # fmt: skip
WAYS = ("main", "bitmap", "offscreen")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None, reason="chromium and chromedriver are needed"
)

_REPLAY = """
const [base, updates, way, done] = arguments;
(async () => {
  const { ScreenDecoder } = await import(base + "decoder/index.js");
  const { WebCodecsVideo } = await import(base + "app/video.js");
  const { DecodeWorker } = await import(base + "app/decoding.js");
  const msgs = updates.map((u) => Uint8Array.from(atob(u), (c) => c.charCodeAt(0)));
  const long = [];
  new PerformanceObserver((l) => {
    for (const e of l.getEntries()) long.push([e.startTime, e.duration]);
  }).observe({ type: "longtask" });
  const frame = () => new Promise((r) => requestAnimationFrame(() => r(performance.now())));
  const task = () => new Promise((r) => setTimeout(r, 0));

  let canvas = null;
  let ctx = null;
  let decoder = null;
  let worker = null;
  let answered = null;
  let busy = 0;
  const size = (w, h) => {
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
  };
  if (way === "main") {
    const image = { im: null };
    decoder = new ScreenDecoder({ video: new WebCodecsVideo() });
    decoder.feedOne = async (m) => {
      const r = await decoder.decode(m);
      if (r.type !== "update" || r.skipped) return;
      const fb = decoder.framebuffer;
      if (!image.im || image.im.data !== fb || canvas.width !== decoder.width) {
        size(decoder.width, decoder.height);
        image.im = new ImageData(fb, decoder.width, decoder.height);
        ctx.putImageData(image.im, 0, 0);
      } else {
        for (const d of r.dirty) ctx.putImageData(image.im, 0, 0, d.x, d.y, d.width, d.height);
      }
    };
  }
  async function setUp() {
    canvas = document.createElement("canvas");
    document.body.append(canvas);
    if (way !== "offscreen") ctx = canvas.getContext("2d", { alpha: false });
    if (way !== "main") {
      let left = 0;
      let finished = null;
      worker = new DecodeWorker({
        url: base + "worker/main.js", mode: way, canvas: () => canvas.transferControlToOffscreen(),
        onAnswer: (entry, m) => {
          const s = performance.now();
          if (ctx && m.tiles && m.tiles.length) size(m.width, m.height);
          for (const t of m.tiles || []) {
            if (ctx) ctx.drawImage(t.bitmap, t.x, t.y);
            t.bitmap.close();
          }
          if (m.kind === "refused") finished(new Error(m.error));
          busy += performance.now() - s;
          if (--left === 0) finished(null);
        },
        onLost: () => {},
        onFailed: (reason) => finished(new Error(reason)),
      });
      await worker.start();
      answered = (n) => new Promise((resolve, reject) => {
        left = n;
        finished = (e) => (e ? reject(e) : resolve());
      });
    }
  }
  async function pass() {
    busy = 0;
    const gaps = [];
    let running = true;
    let last = await frame();
    (async () => {
      while (running) {
        const t = await frame();
        gaps.push(t - last);
        last = t;
      }
    })();
    const t0 = performance.now();
    const all = answered ? answered(msgs.length) : null;
    for (const m of msgs) {
      await task(); // one task per message, as the WebSocket delivers them
      const s = performance.now();
      if (way === "main") await decoder.feedOne(m.slice());
      else worker.decode(m.slice().buffer);
      busy += performance.now() - s;
    }
    if (all) await all;
    await frame();
    const t1 = await frame();
    running = false;
    const mine = long.filter(([start, d]) => start + d >= t0 && start <= t1).map(([, d]) => d);
    return { total: t1 - t0, busy, long: mine, gaps };
  }
  await setUp();
  await pass(); // the JIT warms up (the worker's too: one worker, one canvas for both)
  const out = await pass();
  if (worker) worker.worker.terminate();
  canvas.remove();
  done(out);
})().catch((e) => done({ error: String((e && e.message) || e) }));
"""


async def _serve() -> WebServer:
    async def on_page(ws: Any, hello: Any) -> None:
        return None

    server = WebServer(on_page)
    await server.start()
    return server


def run_all(clips: list[str] = CLIPS) -> list[dict[str, Any]]:
    from test_bench_web import _driver
    from test_bench_web_decoder import encode_clip  # its first 121 frames

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(_serve(), loop).result(20)
    driver = _driver()
    driver.set_script_timeout(600)
    rows = []
    try:
        driver.get(f"http://127.0.0.1:{server.port}/")  # the page's origin and CSP; no key
        base = f"/s/{server.access.static_key}/"
        for clip in clips:
            msgs = encode_clip(clip)
            b64 = [base64.b64encode(m).decode() for m in msgs]
            for way in WAYS:
                out = driver.execute_async_script(_REPLAY, base, b64, way)
                assert "error" not in out, (clip, way, out)
                rows.append({"clip": clip, "way": way, "messages": len(msgs),
                             "load": os.getloadavg()[0], **out})  # fmt: skip
                print(_line(rows[-1]), flush=True)
    finally:
        driver.quit()
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(20)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
    return rows


def _line(r: dict[str, Any]) -> str:
    gaps = sorted(r["gaps"]) or [0.0]
    p95 = gaps[min(len(gaps) - 1, int(len(gaps) * 0.95))]
    return (f"{r['clip']:13} {r['way']:9} {r['messages']:3} msgs | main thread "
            f"{r['busy'] / r['messages']:6.2f} ms/msg | long tasks {len(r['long']):3} "
            f"{sum(r['long']):7,.0f} ms max {max(r['long'], default=0):5,.0f} | frame gap p95 "
            f"{p95:5.0f} max {gaps[-1]:5.0f} ms | all shown {r['total']:7,.0f} ms | "
            f"load {r['load']:.1f}")  # fmt: skip


def report(rows: list[dict[str, Any]]) -> list[str]:
    lines = ["The page's main thread, decoding there (main) or in its worker (bitmap, offscreen):"]
    lines += [_line(r) for r in rows]
    lines.append("Against main, same clip:")
    main = {r["clip"]: r for r in rows if r["way"] == "main"}
    for r in rows:
        b = main.get(r["clip"])
        if b is None or r is b:
            continue
        lt = sum(b["long"])
        busy = r["busy"] / max(b["busy"], 1e-9)
        lines.append(
            f"  {r['clip']:13} {r['way']:9} main-thread time {busy:.3f}x, "
            f"long tasks {sum(r['long']) / lt if lt else float('nan'):.2f}x, longest frame gap "
            f"{max(r['gaps'], default=0) / max(max(b['gaps'], default=0), 1e-9):.2f}x, all shown "
            f"{r['total'] / b['total']:.2f}x"
        )  # fmt: skip
    return lines


@pytest.mark.slow
def test_web_worker_main_thread(benchmark: Any, request: pytest.FixtureRequest) -> None:
    from _report import write_lines

    if not CLIPS:
        pytest.skip("no corpus clips (make corpus)")
    rows: list[dict[str, Any]] = benchmark.pedantic(run_all, rounds=1, iterations=1)
    benchmark.extra_info["rows"] = [
        {k: v for k, v in r.items() if k not in ("gaps", "long")}
        | {"long_ms": sum(r["long"]), "gap_max": max(r["gaps"], default=0)}
        for r in rows
    ]
    write_lines(request, report(rows))
    assert {r["way"] for r in rows} == set(WAYS)


if __name__ == "__main__":
    t0 = time.monotonic()
    print("\n".join(report(run_all())))
    print(f"({time.monotonic() - t0:.0f} s)")
