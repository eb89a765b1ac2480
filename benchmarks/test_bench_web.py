"""The web viewer in a real headless Chromium, against the Python side in the
same run.

1. **Decode time per update in the page**: streams of the synthetic typing,
   terminal, browser and video scenarios at 1080p (60 frames after the
   keyframe, video as a live session sends it: H.264 4:4:4 regions), written
   once by ``ScreenEncoder``, replayed in the page by its ScreenDecoder with
   the WebCodecs video sink, *including* drawing the dirty rectangles into a
   1080p canvas (putImageData), as the page does. Python's ScreenDecoder
   decodes the same messages; reported: median and mean per delta update for
   each, and the page's as a ratio to Python's. Target: the page
   keeps up with 60 fps (median under 16.7 ms) for typing, terminal, browser.
2. **Display lag**: a host sharing the 1080p typing and browser scenarios over
   the sealed transport on loopback; time from the end of each grab to the
   update applied: in the page (the Receipt point: the page said it drew it),
   and, as the baseline in the same run, in the Python Viewer.

Run: ``pytest benchmarks/test_bench_web.py -s`` (or ``python`` it).
"""

from __future__ import annotations

import asyncio
import base64
import shutil
import statistics
import threading
import time
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from screencodec.capture.base import SourceWrapper
from screencodec.capture.replay import synthetic_sequence
from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.decoder import ScreenDecoder
from screencodec.encoder import ScreenEncoder
from screencodec.transport import Host, HostConfig, Viewer, allow
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.web import WebOptions, WebViewer

W, H = 1920, 1080
FRAMES = 60
SCENARIOS = ("typing", "terminal", "browser", "video")
CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None, reason="chromium and chromedriver are needed"
)

_REPLAY = """
const [base, updates, done] = arguments;
(async () => {
  const { ScreenDecoder } = await import(base + "decoder/index.js");
  const { WebCodecsVideo } = await import(base + "app/video.js");
  const canvas = document.createElement("canvas");
  canvas.width = 1920; canvas.height = 1080;
  document.body.append(canvas);
  const ctx = canvas.getContext("2d", { alpha: false });
  const msgs = updates.map((u) => Uint8Array.from(atob(u), (c) => c.charCodeAt(0)));
  let times = [];
  for (let pass = 0; pass < 2; pass++) {  // the second pass counts: the JIT is warm
    const dec = new ScreenDecoder({ video: new WebCodecsVideo() });
    let image = null;
    times = [];
    for (const m of msgs) {
      const t0 = performance.now();
      const r = await dec.decode(m);
      if (!image || image.data !== dec.framebuffer) {
        image = new ImageData(dec.framebuffer, dec.width, dec.height);
        ctx.putImageData(image, 0, 0);
      } else {
        for (const d of r.dirty) ctx.putImageData(image, 0, 0, d.x, d.y, d.width, d.height);
      }
      times.push(performance.now() - t0);
    }
  }
  done({ times });
})().catch((e) => done({ error: String(e && e.message || e) }));
"""


def _driver() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM or ""
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                "--window-size=1280,900"):  # fmt: skip
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service(CHROMEDRIVER or ""), options=opts)


def _encode(scenario: str) -> list[bytes]:
    seq = synthetic_sequence(scenario, W, H, fps=30, seconds=(FRAMES + 1) / 30, seed=0)
    t = [0.0]
    enc = ScreenEncoder(W, H, video=scenario == "video", clock=lambda: t[0])
    out = []
    for i in range(len(seq)):
        t[0] = i / 30
        out.append(enc.encode(np.ascontiguousarray(seq.frame(i))))
    return out


def _python_times(messages: list[bytes]) -> list[float]:
    times: list[float] = []
    for _ in range(2):
        dec = ScreenDecoder()
        times = []
        for m in messages:
            t0 = time.perf_counter()
            dec.decode(m)
            times.append((time.perf_counter() - t0) * 1e3)
    return times


class _Loop:
    """An asyncio loop in a thread (the page is driven from this one)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, coro: Any, timeout: float = 120) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


class _TimedSource(SourceWrapper):
    def __init__(self, inner: SyntheticDesktop) -> None:
        super().__init__(inner)
        self.grab_ended = 0.0

    def grab(self) -> npt.NDArray[np.uint8]:
        frame = self.inner.grab()
        self.grab_ended = time.perf_counter()
        return frame


async def _session(scenario: str, page: Any, seconds: float, warmup: int = 3) -> dict[str, float]:
    """Grab -> applied lag through the page (``page`` a driver) or the Python
    Viewer (``page`` None), over the sealed transport on loopback."""
    source = _TimedSource(SyntheticDesktop(W, H, scenario=scenario, seed=1))
    grabbed: list[float] = []

    class TimedEncoder(ScreenEncoder):
        def encode(self, frame: Any, /, *, now: float | None = None) -> bytes:
            data = super().encode(frame, now=now)
            # The session sends (and numbers, from 1) only updates that carry
            # something: update n is the n-th of those.
            if self.last.keyframe or self.last.ops:
                grabbed.append(source.grab_ended)
            return data

    host = Host(source, consent=allow(), config=HostConfig(min_interval=1 / 30),
                encoder_factory=TimedEncoder)  # fmt: skip
    creds = SessionCredentials()

    async def serve(channel: Any) -> None:
        await host.serve(channel)

    async with await listen_direct("127.0.0.1", 0, creds, serve) as listener:

        async def connect() -> Any:
            return await connect_direct("127.0.0.1", listener.port, creds.code, creds.password)

        if page is None:
            viewer = Viewer(await connect())
            viewer.record_times = True
            await viewer.start()
            task = asyncio.ensure_future(viewer.run())
            await asyncio.sleep(seconds)
            await viewer.bye()
            await task
        else:
            web = WebViewer(connect, WebOptions(open_browser=False))
            run = asyncio.ensure_future(web.run())
            await web.listening.wait()
            await asyncio.to_thread(page.get, web.url)
            while web.viewer is None:
                await asyncio.sleep(0.01)
            viewer = web.viewer
            viewer.record_times = True
            await asyncio.sleep(seconds)
            await viewer.bye()
            await run
    await host.close()
    applied = [(s, t) for s, t in viewer.applied_at[warmup:] if s <= len(grabbed)]
    lag = sorted((t - grabbed[s - 1]) * 1000 for s, t in applied)
    q = statistics.quantiles(lag, n=100, method="inclusive")
    return {"updates": len(lag), "p50_ms": q[49], "p99_ms": q[98],
            "fps": len(viewer.applied_at) / seconds}  # fmt: skip


def run_all(seconds: float = 8.0) -> dict[str, Any]:
    driver = _driver()
    loop = _Loop()
    try:
        # A page to run the replay in: the viewer's own page, served as usual.
        async def serve() -> tuple[WebViewer, asyncio.Future[str], str]:
            async def never() -> Any:
                await asyncio.Event().wait()

            web = WebViewer(never, WebOptions(open_browser=False))
            running = asyncio.ensure_future(web.run())
            await web.listening.wait()
            assert web.server is not None
            return web, running, f"/s/{web.server.access.static_key}/"

        async def stop(fut: asyncio.Future[str]) -> None:
            fut.cancel()
            await asyncio.gather(fut, return_exceptions=True)

        _web, running, base = loop.call(serve())
        driver.get(_web.url)
        driver.set_script_timeout(300)
        decode = {}
        for scenario in SCENARIOS:
            msgs = _encode(scenario)
            res = driver.execute_async_script(
                _REPLAY, base, [base64.b64encode(m).decode() for m in msgs]
            )
            assert "error" not in res, res
            page = res["times"][1:]
            py = _python_times(msgs)[1:]
            decode[scenario] = {
                "page_median_ms": statistics.median(page), "page_mean_ms": statistics.mean(page),
                "python_median_ms": statistics.median(py), "python_mean_ms": statistics.mean(py),
                "ratio_median": statistics.median(page) / statistics.median(py),
            }  # fmt: skip
        driver.get("about:blank")
        loop.call(stop(running))
        lag = {}
        for scenario in ("typing", "browser"):
            lag[scenario] = {
                "page": loop.call(_session(scenario, driver, seconds)),
                "python": loop.call(_session(scenario, None, seconds)),
            }
        return {"decode": decode, "lag": lag}
    finally:
        driver.quit()
        loop.close()


def _report(result: dict[str, Any]) -> str:
    lines = ["decode per delta update at 1080p (page incl. canvas draw | Python ScreenDecoder):"]
    for name, r in result["decode"].items():
        lines.append(
            f"  {name:9} page {r['page_median_ms']:6.2f} ms median {r['page_mean_ms']:6.2f} mean"
            f" | python {r['python_median_ms']:6.2f} median {r['python_mean_ms']:6.2f} mean"
            f" | ratio {r['ratio_median']:.2f}"
        )
    lines.append("grab -> applied lag, 1080p, sealed loopback (page | Python viewer):")
    for name, r in result["lag"].items():
        p, b = r["page"], r["python"]
        lines.append(
            f"  {name:9} page p50 {p['p50_ms']:6.1f} p99 {p['p99_ms']:6.1f} ms {p['fps']:5.1f} fps"
            f" | python p50 {b['p50_ms']:6.1f} p99 {b['p99_ms']:6.1f} ms {b['fps']:5.1f} fps"
        )
    return "\n".join(lines)


@pytest.mark.slow
def test_web_viewer_1080p(benchmark: Any) -> None:
    result: dict[str, Any] = benchmark.pedantic(run_all, rounds=1, iterations=1)
    benchmark.extra_info.update(result)
    print("\n" + _report(result))
    for name in ("typing", "terminal", "browser"):
        # 60 fps means 16.7 ms; asserted with headroom for a loaded machine.
        assert result["decode"][name]["page_median_ms"] < 33
    for r in result["lag"].values():
        assert r["page"]["updates"] >= 10


if __name__ == "__main__":
    print(_report(run_all()))
