"""The browser page's display lag over a shaped home link, against the Python
Viewer over the same link in the same run.

Each session is ``screencodec.linkbench``'s (a :class:`PacedSource` playing a
clip at its own timing, the real :class:`Host` with its defaults, the sealed
transport through a :class:`ProxyProcess` shaping 4 Mbit/s, 40 ms RTT), with
one difference for the page: the viewer is the real ``view --web`` path,
:class:`WebViewer` (its bridge, a real :class:`Viewer` with the bridge as its
sink) and the page in headless Chromium, which decodes in JS (video with
WebCodecs), draws into its canvas and answers each update with ``applied``,
from which the bridge sends the Receipt. The Python Viewer's session is
:func:`linkbench.run_session` itself.

How the page's figures are measured (the definitions of ``linkbench.session``):

* **Which frame each update carries**: the host's encoder is wrapped as in
  ``run_session``; the bridge's ``update`` (what the viewer hands each update
  to) is wrapped on the instance, finds the bytes among the encoder's outputs
  and notes the future the page resolves.
* **Display lag**: from ``PacedSource.time_of(i)`` of each changed source
  frame to ``viewer.applied_at`` of the first update carrying it or a later
  frame. For the page that is when the bridge received the page's ``applied``
  (after decode and ``putImageData``): the Receipt point, the same one
  ``benchmarks/test_bench_web.py`` uses on loopback.
* **Time to exact**: the updates the page applied are decoded again after the
  session by Python's ``ScreenDecoder`` (bit-exact with the page's decoder:
  RESULTS.md "Browser viewer", cross-check); the first framebuffer equal to
  the last source frame gives the time. The session stops once nothing was
  forwarded for ``QUIET`` s after the source ended (or ``SETTLE`` s). The
  canvas itself is then read back and compared with the last frame
  (``canvas exact``).
* **Where the page's time goes**, per lag sample: a script injected before
  the page loads (CDP ``Page.addScriptToEvaluateOnNewDocument``; the page's
  code is unchanged) wraps ``WebSocket`` and ``putImageData`` and stamps each
  update's arrival in the page, the ``applied`` it sends, the canvas draws
  between them and the next animation frame after it. With the page's own
  ``decodeMs`` (decode + draw per applied update) each lag is split into:
  source -> encode start (the host waiting: ticks, its in-flight window of
  receipts), encode start -> bridge (encode, link, viewer), bridge -> page
  (the bridge's queue, the WebSocket, the page's main thread busy), queued in
  the page, decode, draw, page -> bridge (``applied`` back). The page's clock
  is put on ``perf_counter`` from the bounds every update gives (forward and
  back delays are >= 0), the midpoint. The page decodes in its worker: its
  ``decodeMs`` is the worker's decode and draw (and the main thread's
  ``drawImage`` of the bitmaps, for "page-bitmap"); "draw" is only what the
  main thread spends in ``putImageData`` / ``drawImage``.
* **The main thread's long tasks** (over 50 ms, PerformanceObserver
  ``longtask``) from the first update on: while one runs, the page reads no
  WebSocket frame, sends no receipt and takes no input.
* **Old against new**: each workload is also played to the page of
  ``OLD_REV`` (its static files served instead: decoding on the main thread),
  and to "page-bitmap"; ratios against the old page of the same round.

Run: ``pytest benchmarks/test_bench_web_link.py -s`` (about 30 s per
workload and round), or ``python benchmarks/test_bench_web_link.py``.
``SCREENCODEC_WEBLINK_ROUNDS`` (default 1), ``SCREENCODEC_WEBLINK_LINK``
(default ``4M,40ms``), ``SCREENCODEC_WEBLINK_WORKLOADS`` and
``SCREENCODEC_WEBLINK_VIEWERS`` (comma-separated), ``SCREENCODEC_WEBLINK_OLD``
(a git revision; needs git and this checkout).
Needs chromium, chromedriver and the corpus (``make corpus``; clips that are
missing are left out).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import io
import math
import os
import shutil
import statistics
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from screencodec.capture.replay import FrameSequence, PacedSource
from screencodec.decoder import ScreenDecoder
from screencodec.linkbench import Link, ProxyProcess, SessionResult, parse_link, run_session
from screencodec.linkbench.ledger import CountingChannel, Ledger
from screencodec.linkbench.metrics import bgr_equal, display_lags, percentile
from screencodec.linkbench.report import corpus_workloads
from screencodec.linkbench.session import (
    _CLOCK,
    _NotingEncoder,
    _Probe,
    _result,
    _Run,
    _staged,
    host_default_encoder,
)
from screencodec.linkbench.workloads import open_workload
from screencodec.transport import (
    Host,
    HostConfig,
    SessionCredentials,
    allow,
    connect_direct,
    listen_direct,
)
from screencodec.web import WebOptions, WebViewer

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
LINK = os.environ.get("SCREENCODEC_WEBLINK_LINK", "4M,40ms")
ROUNDS = int(os.environ.get("SCREENCODEC_WEBLINK_ROUNDS", "1"))
SECONDS = 8.0
QUIET = 2.0  # after the source ended: this long without an update ends the session
SETTLE = 10.0  # at most this long after the source ended
MAX_SAMPLES = 16  # PSNR samples per session (every 0.5 s of applied updates)
_WANTED = ["typing", "corpus:vim-typing", "corpus:terminal-log", "corpus:browser-docs",
           "corpus:window-drag"]  # fmt: skip
_ASKED = os.environ.get("SCREENCODEC_WEBLINK_WORKLOADS", ",".join(_WANTED)).split(",")
#: The viewers each workload is played to: the page as it is (decoding in its
#: worker, which draws into the transferred canvas), the page whose worker
#: sends ImageBitmaps that its main thread draws ("bitmap", its way where a
#: canvas cannot be transferred), the page of ``OLD_REV`` (decoding on its
#: main thread: the baseline) and the Python Viewer.
VIEWERS = os.environ.get("SCREENCODEC_WEBLINK_VIEWERS",
                         "page-old,page,page-bitmap,python").split(",")  # fmt: skip
#: The page before its decoding moved into a worker (b96732f).
OLD_REV = os.environ.get("SCREENCODEC_WEBLINK_OLD", "b96732f^")
WORKLOADS = [w for w in _ASKED if not w.startswith("corpus:") or w in corpus_workloads()]

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None, reason="chromium and chromedriver are needed"
)

#: Injected before the page's own scripts: stamps (performance.now()) each
#: update's arrival, each ``applied`` sent (with whether ok and the time spent
#: in putImageData since the last one) and the animation frame after it.
_PROBE_JS = """
(() => {
  const rec = { arrive: [], sent: [], ok: [], draw: [], raf: [], drawAcc: 0, long: [] };
  window.__pagelag = rec;
  for (const name of ["putImageData", "drawImage"]) {
    const inner = CanvasRenderingContext2D.prototype[name];
    CanvasRenderingContext2D.prototype[name] = function (...a) {
      const t0 = performance.now();
      try { return inner.apply(this, a); } finally { rec.drawAcc += performance.now() - t0; }
    };
  }
  // The main thread's long tasks (over 50 ms): [start, duration].
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) rec.long.push([e.startTime, e.duration]);
  }).observe({ type: "longtask", buffered: true });
  const Native = window.WebSocket;
  class Probed extends Native {
    constructor(...a) {
      super(...a);
      this.addEventListener("message", (ev) => {
        if (typeof ev.data === "string" || ev.data.byteLength < 4) return;
        if (new Uint8Array(ev.data, 0, 4)[3] === 1) rec.arrive.push(performance.now());
      });
    }
    send(data) {
      if (typeof data === "string" && data.startsWith('{"t":"applied"')) {
        const t = performance.now();
        rec.sent.push(t);
        rec.ok.push(data.includes('"ok":true'));
        rec.draw.push(rec.drawAcc);
        rec.drawAcc = 0;
        const k = rec.raf.length;
        rec.raf.push(null);
        requestAnimationFrame(() => { rec.raf[k] = performance.now(); });
      }
      return super.send(data);
    }
  }
  window.WebSocket = Probed;
})();
"""

#: The canvas's R, G, B each summed with weights (index % 251 + 1): compared
#: with the same sums of the last source frame.
_CANVAS_SUMS_JS = """
const done = arguments[arguments.length - 1];
(async () => {
  const p = window.screencodecPage;
  let px = p.readPixels ? await p.readPixels() : null;
  if (!px) {
    const c = document.getElementById('screen');
    px = { width: c.width, height: c.height,
      data: c.getContext('2d').getImageData(0, 0, c.width, c.height).data };
  }
  const d = px.data;
  let r = 0, g = 0, b = 0;
  for (let i = 0, k = 0; i < d.length; i += 4, k++) {
    const w = (k % 251) + 1;
    r += d[i] * w; g += d[i + 1] * w; b += d[i + 2] * w;
  }
  done([px.width, px.height, r, g, b]);
})();
"""


def _frame_sums(frame: Any) -> list[int]:
    h, w = frame.shape[:2]
    weights = (np.arange(h * w, dtype=np.int64) % 251) + 1
    flat = frame.reshape(h * w, -1)
    return [w, h, *(int(np.dot(flat[:, c].astype(np.int64), weights)) for c in (2, 1, 0))]


def _driver() -> Any:
    """test_bench_web's headless Chromium, with the probe injected into every page."""
    from test_bench_web import _driver as chromium

    drv = chromium()
    drv.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": _PROBE_JS})
    return drv


def _tree_cpu(root: int) -> float:
    """CPU seconds (user + system) of ``root``'s descendants now alive (from /proc)."""
    parent: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(d)] = int(fields[1])
        ticks[int(d)] = int(fields[11]) + int(fields[12])
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        kids = [p for p, pp in parent.items() if pp == pid]
        total += sum(ticks[k] for k in kids)
        todo += kids
    return total / os.sysconf("SC_CLK_TCK")


class _LoopLag:
    """How late a 5 ms sleep wakes on this event loop (the loop host, bridge and
    viewer share): its stalls delay every one of them."""

    def __init__(self) -> None:
        self.late: list[float] = []
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while True:
            t = _CLOCK()
            await asyncio.sleep(0.005)
            self.late.append((_CLOCK() - t - 0.005) * 1000)

    def stop(self) -> dict[str, float]:
        self._task.cancel()
        return {"loop_late_p99_ms": percentile(self.late, 99),
                "loop_late_max_ms": max(self.late, default=math.nan)}  # fmt: skip


@dataclass
class _Forwarded:
    """One update the bridge handed to the page."""

    index: int  # source frame it carries (-1: not matched)
    started: float  # encode start
    data: bytes
    at: float  # bridge.update called
    answered: float = math.nan  # the page's ``applied`` resolved it
    ok: bool = False


@dataclass
class PageRun:
    result: SessionResult
    canvas_exact: bool | None
    refused: int
    #: component name -> per-lag-sample ms (same order as the lag samples)
    parts: dict[str, list[float]] = field(default_factory=dict)
    lags: list[float] = field(default_factory=list)
    clock_bounds_ms: float = math.nan  # width of the page-clock alignment interval
    #: the main thread's long tasks (> 50 ms) from the first update on: ms each
    long_tasks: list[float] = field(default_factory=list)


class _Tap:
    """Wraps a bridge's ``update``: notes each forwarded update and its answer."""

    def __init__(self, web: WebViewer, probe: _Probe, first: asyncio.Event) -> None:
        self.forwarded: list[_Forwarded] = []
        self.last = _CLOCK()
        bridge = web.bridge
        assert bridge is not None
        inner = bridge.update

        def update(data: bytes, /) -> asyncio.Future[tuple[int, int] | None]:
            if web.viewer is not None:  # set before its first update comes
                web.viewer.record_times = True
            index, started = probe.match(data)
            rec = _Forwarded(index, started, data, _CLOCK())
            self.forwarded.append(rec)
            self.last = rec.at
            fut = inner(data)

            def done(f: asyncio.Future[tuple[int, int] | None]) -> None:
                rec.answered = self.last = _CLOCK()
                rec.ok = not f.cancelled() and f.result() is not None
                if rec.ok:
                    first.set()

            fut.add_done_callback(done)
            return fut

        bridge.update = update  # type: ignore[method-assign]


async def run_page_session(frames: FrameSequence, link: Link, driver: Any, *,
                           name: str) -> PageRun:  # fmt: skip
    """One session of ``frames`` to the page in ``driver`` over ``link``."""
    changed, paced, probe = _staged(frames, sample_period=0.5, max_samples=0)
    gate, final, stop = probe.gate, probe.final, probe.stop_index
    host = Host(
        gate, consent=allow(), config=HostConfig(),
        encoder_factory=lambda w, h: _NotingEncoder(host_default_encoder(w, h), probe),
    )  # fmt: skip
    proxy = ProxyProcess(0, link)
    ledger = Ledger(_CLOCK)
    creds = SessionCredentials()
    t_start = [math.nan]

    async def serve(channel: Any) -> None:
        await host.serve(CountingChannel(channel, ledger, "up"))

    async def connect() -> Any:
        channel = CountingChannel(
            await connect_direct("127.0.0.1", proxy.port, creds.code, creds.password),
            ledger, "down")  # fmt: skip
        t_start[0] = _CLOCK()
        return channel

    pictured = asyncio.Event()
    canvas_exact = None
    try:
        async with await listen_direct("127.0.0.1", 0, creds, serve) as listener:
            proxy.upstream = listener.port
            await proxy.start()
            try:
                web = WebViewer(connect, WebOptions(open_browser=False, grace=30.0))
                running = asyncio.ensure_future(web.run())
                await web.listening.wait()
                tap = _Tap(web, probe, pictured)
                await asyncio.to_thread(driver.get, web.url)
                await asyncio.wait_for(pictured.wait(), 60)
                gate.release()
                await asyncio.wait_for(gate.started.event.wait(), 60)
                lag = _LoopLag()
                cpu0, browser0 = time.process_time(), _tree_cpu(driver.service.process.pid)
                end = paced.time_of(len(frames) - 1)
                await asyncio.sleep(max(0.0, end - _CLOCK()))
                span = _CLOCK() - (paced.started_at or math.nan)
                cpu = {"cpu_self": (time.process_time() - cpu0) / span,
                       "cpu_browser": (_tree_cpu(driver.service.process.pid) - browser0) / span,
                       **lag.stop()}  # fmt: skip
                while _CLOCK() < end + SETTLE:
                    waiting = any(math.isnan(r.answered) for r in tap.forwarded)
                    if not waiting and _CLOCK() - tap.last > QUIET:
                        break
                    await asyncio.sleep(0.1)
                viewer = web.viewer
                assert viewer is not None
                host_stats = viewer.host_stats
                sums = await asyncio.to_thread(driver.execute_async_script, _CANVAS_SUMS_JS)
                canvas_exact = sums == _frame_sums(final)
                page = await asyncio.to_thread(
                    driver.execute_script,
                    "return [window.__pagelag, window.screencodecPage.decodeMs]",
                )
                await viewer.bye()
                ended = await asyncio.wait_for(running, 30)
            finally:
                await proxy.close()
    finally:
        await host.close()
        paced.close()
        await asyncio.to_thread(driver.get, "about:blank")

    # What the page applied, in order, as run_session's probe notes it.
    ok = [r for r in tap.forwarded if r.ok]
    probe.shown = [(r.index, r.started) for r in ok]
    probe.payload = [len(r.data) for r in ok]
    times = [t for _, t in viewer.applied_at]
    decoder = ScreenDecoder()
    next_sample = -math.inf
    for pos, r in enumerate(ok[: len(times)]):
        fb = decoder.decode(r.data)
        if probe.exact_at is None and r.index >= stop and bgr_equal(fb, final):
            probe.exact_at = pos
        if times[pos] >= next_sample and len(probe.samples) < MAX_SAMPLES and pos > 0:
            probe.samples[pos] = fb.copy()
            next_sample = times[pos] + 0.5
    run = _Run(viewer, t_start[0], ended, host_stats)
    result = _result(name=name, link=link, frames=frames, paced=paced, probe=probe, run=run,
                     down=proxy.down, up=proxy.up, changed=changed, ledger=ledger)  # fmt: skip
    result.extra.pop("ledger", None)
    result.extra.update(cpu)
    out = PageRun(result, canvas_exact, sum(1 for r in tap.forwarded if not r.ok))
    first = page[0]["arrive"][0] if page[0]["arrive"] else math.inf
    out.long_tasks = [d for start, d in page[0]["long"] if start + d >= first]
    _split(out, forwarded=tap.forwarded, ok=ok, times=times, rec=page[0], decode_ms=page[1],
           changed=changed, paced=paced)  # fmt: skip
    return out


def _split(out: PageRun, *, forwarded: list[_Forwarded], ok: list[_Forwarded],
           times: list[float], rec: dict[str, Any], decode_ms: list[float], changed: list[int],
           paced: PacedSource) -> None:  # fmt: skip
    """Each lag sample of the page split into where its time went (module notes)."""
    n = min(len(forwarded), len(rec["arrive"]), len(rec["sent"]))
    # The page's clock on perf_counter: page + off, where forward and back delays >= 0.
    lo = max((forwarded[k].at - rec["arrive"][k] / 1000 for k in range(n)), default=math.nan)
    hi = min((forwarded[k].answered - rec["sent"][k] / 1000 for k in range(n)
              if not math.isnan(forwarded[k].answered)), default=math.nan)  # fmt: skip
    off = (lo + hi) / 2
    out.clock_bounds_ms = (hi - lo) * 1000
    page_of = {id(r): k for k, r in enumerate(forwarded[:n])}
    ok_k = [k for k in range(n) if rec["ok"][k]]
    decode_of = {k: decode_ms[j] for j, k in enumerate(ok_k) if j < len(decode_ms)}
    shown = [(r.index, t) for r, t in zip(ok, times, strict=False)]
    lags = display_lags(changed, paced.time_of, shown)
    parts: dict[str, list[float]] = {p: [] for p in _PARTS}
    for i, pos in zip(lags.frames, lags.positions, strict=True):
        r = ok[pos]
        k = page_of.get(id(r))
        if k is None or k not in decode_of:
            continue
        arrive = rec["arrive"][k] / 1000 + off
        sent = rec["sent"][k] / 1000 + off
        busy = decode_of[k] / 1000
        draw = min(rec["draw"][k] / 1000, busy)
        raf = rec["raf"][k]
        values = {
            "host wait": r.started - paced.time_of(i),
            "encode+link+viewer": r.at - r.started,
            "bridge->page": arrive - r.at,
            "page queue": sent - arrive - busy,
            "decode": busy - draw,
            "draw": draw,
            "page->bridge": times[pos] - sent,
            "to next frame": math.nan if raf is None else (raf / 1000 + off) - sent,
        }
        out.lags.append((times[pos] - paced.time_of(i)) * 1000)
        for p in _PARTS:
            parts[p].append(values[p] * 1000)
    out.parts = parts


_PARTS = ("host wait", "encode+link+viewer", "bridge->page", "page queue", "decode", "draw",
          "page->bridge", "to next frame")  # fmt: skip


async def _python_run(frames: FrameSequence, link: Link, name: str) -> SessionResult:
    """run_session, with the loop's stalls and the CPU it took while the source played."""
    lag = _LoopLag()
    cpu0, t0 = time.process_time(), _CLOCK()
    result = await run_session(frames, link, name=name)
    span = _CLOCK() - t0  # join and settle included: CPU is a mean over the whole session
    result.extra.update({"cpu_self": (time.process_time() - cpu0) / span, "cpu_browser": 0.0,
                         **lag.stop()})  # fmt: skip
    result.extra.pop("ledger", None)
    return result


def _python_session(workload: str, link: Link) -> SessionResult:
    frames = open_workload(workload, seconds=SECONDS)
    try:
        return asyncio.run(_python_run(frames, link, workload))
    finally:
        _close(frames)


def _page_session(workload: str, link: Link, driver: Any, viewer: str = "page") -> PageRun:
    frames = open_workload(workload, seconds=SECONDS)
    try:
        with _page_variant(driver, viewer):
            return asyncio.run(run_page_session(frames, link, driver, name=workload))
    finally:
        _close(frames)


@contextlib.contextmanager
def _page_variant(driver: Any, viewer: str) -> Iterator[None]:
    """Serve the page ``viewer`` names: "page" as it is, "page-bitmap" with its
    worker sending ImageBitmaps (a switch set before the page's scripts),
    "page-old" the static files of ``OLD_REV``."""
    from screencodec.web import server

    added = None
    static = server.STATIC_DIR
    if viewer == "page-bitmap":
        switch = {"source": "window.screencodecDrawMode = 'bitmap';"}
        added = driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", switch)
    elif viewer == "page-old":
        server.STATIC_DIR = _old_static()
    elif viewer != "page":
        raise ValueError(f"no page {viewer!r}")
    try:
        yield
    finally:
        server.STATIC_DIR = static
        if added is not None:
            driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", added)


_OLD: list[Path] = []


def _old_static() -> Path:
    """``OLD_REV``'s web/static, exported once per run into a temporary folder."""
    if not _OLD:
        root = Path(tempfile.mkdtemp(prefix="screencodec-old-page-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        repo = Path(__file__).resolve().parents[1]
        cmd = ["git", "-C", str(repo), "archive", OLD_REV, "src/screencodec/web/static"]
        tar = subprocess.run(cmd, check=True, capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(tar)) as t:
            t.extractall(root, filter="data")
        _OLD.append(root / "src/screencodec/web/static")
    return _OLD[0]


def _close(frames: Any) -> None:
    close = getattr(getattr(frames, "frames", frames), "close", None)
    if callable(close):
        close()


@contextlib.contextmanager
def _browser() -> Iterator[Any]:
    drv = _driver()
    try:
        yield drv
    finally:
        drv.quit()


def run_all(workloads: list[str] = WORKLOADS, rounds: int = ROUNDS, link_spec: str = LINK,
            viewers: list[str] = VIEWERS) -> list[dict[str, Any]]:  # fmt: skip
    """Every workload to each viewer one after the other (their order
    reversed every other round), ``rounds`` times."""
    link = parse_link(link_spec)
    rows: list[dict[str, Any]] = []
    with _browser() as driver:
        for rnd in range(rounds):
            for w in workloads:
                for who in viewers if rnd % 2 == 0 else viewers[::-1]:
                    load = os.getloadavg()[0]
                    if who.startswith("page"):
                        pr = _page_session(w, link, driver, who)
                        rows.append({"viewer": who, "round": rnd, "load": load, "run": pr,
                                     "result": pr.result})  # fmt: skip
                    else:
                        rows.append({"viewer": who, "round": rnd, "load": load,
                                     "result": _python_session(w, link)})  # fmt: skip
                    print(_row(rows[-1]), flush=True)
    return rows


def _ms(x: float | None) -> str:
    return "never" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:,.0f}"


def _row(row: dict[str, Any]) -> str:
    r: SessionResult = row["result"]
    extra = ""
    if "run" in row:
        pr: PageRun = row["run"]
        long = pr.long_tasks
        extra = (f" | canvas exact {pr.canvas_exact} refused {pr.refused} | long tasks "
                 f"{len(long)}, {sum(long):,.0f} ms, max {max(long, default=0):,.0f}")  # fmt: skip
    return (f"{r.scenario:22} {row['viewer']:14} r{row['round']} load {row['load']:4.1f} | "
            f"lag p50/p95/max {_ms(r.lag_p50_ms)} / {_ms(r.lag_p95_ms)} / {_ms(r.lag_max_ms)} ms | "
            f"{r.fps:4.1f} upd/s {r.content_fps:4.1f} shown/s {r.kbit_s:6.0f} kbit/s | first "
            f"{_ms(r.first_picture_ms)} ms exact {_ms(r.exact_ms)} ms | wait p95 "
            f"{_ms(r.wait_p95_ms)} transit p95 {_ms(r.transit_p95_ms)} unshown {r.unshown}"
            f" skipped {r.host_skipped} | loop late p99/max {_ms(r.extra['loop_late_p99_ms'])}/"
            f"{_ms(r.extra['loop_late_max_ms'])} ms, CPU self {r.extra['cpu_self']:.2f} browser "
            f"{r.extra['cpu_browser']:.2f}{extra}")  # fmt: skip


def report(rows: list[dict[str, Any]]) -> list[str]:
    lines = [f"Page vs Python viewer over {LINK} (1080p, {SECONDS:g} s clips):"]
    lines += [_row(row) for row in rows]
    lines.append("Page lag split (ms, p50 / p95 / mean of the slowest 5 % of lag samples):")
    for row in rows:
        if "run" not in row:
            continue
        pr: PageRun = row["run"]
        if not pr.lags:
            continue
        cut = percentile(pr.lags, 95)
        tail = [k for k, v in enumerate(pr.lags) if v >= cut]
        cells = []
        for p, values in pr.parts.items():
            good = [v for v in values if not math.isnan(v)]
            slow = [values[k] for k in tail if not math.isnan(values[k])]
            cells.append(f"{p} {_ms(percentile(good, 50))}/{_ms(percentile(good, 95))}/"
                         f"{_ms(statistics.mean(slow) if slow else math.nan)}")  # fmt: skip
        lines.append(f"  {pr.result.scenario:22} {row['viewer']:14} r{row['round']} (clock +-"
                     f"{pr.clock_bounds_ms / 2:.1f} ms): " + ", ".join(cells))  # fmt: skip
    lines += _against_old(rows)
    return lines


def _against_old(rows: list[dict[str, Any]]) -> list[str]:
    """Each page against the old page (main-thread decoding) of the same
    workload and round: lag p95 and long-task time as ratios."""
    old = {(r["result"].scenario, r["round"]): r for r in rows if r["viewer"] == "page-old"}
    lines = []
    for row in rows:
        base = old.get((row["result"].scenario, row["round"]))
        if base is None or row is base or "run" not in row:
            continue
        r, b = row["result"], base["result"]
        mine, theirs = sum(row["run"].long_tasks), sum(base["run"].long_tasks)
        lines.append(
            f"  {r.scenario:22} {row['viewer']:14} r{row['round']} / page-old: lag p95 "
            f"{_ms(r.lag_p95_ms)} / {_ms(b.lag_p95_ms)} ms = {r.lag_p95_ms / b.lag_p95_ms:.2f}, "
            f"long tasks {len(row['run'].long_tasks)} / {len(base['run'].long_tasks)}, "
            f"{mine:,.0f} / {theirs:,.0f} ms")  # fmt: skip
    return ["Against the old page (main-thread decoding), same workload and round:", *lines]


@pytest.mark.slow
def test_web_page_over_shaped_link(benchmark: Any, request: pytest.FixtureRequest) -> None:
    from _report import write_lines

    rows: list[dict[str, Any]] = benchmark.pedantic(run_all, rounds=1, iterations=1)
    benchmark.extra_info["sessions"] = [
        {"viewer": r["viewer"], "round": r["round"], **r["result"].to_dict()} for r in rows
    ]
    write_lines(request, report(rows))
    for row in rows:
        assert row["result"].lag_samples > 0, row["result"].scenario
        if "run" in row:
            assert row["run"].refused == 0


if __name__ == "__main__":
    t0 = time.monotonic()
    print("\n".join(report(run_all())))
    print(f"({time.monotonic() - t0:.0f} s)")
