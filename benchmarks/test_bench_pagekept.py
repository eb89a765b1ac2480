"""The page's digest of the picture it kept (static/decoder/kept.js), old and
new in the same run: blakejs (pure JS, the page before hash-wasm) against
hash-wasm's WebAssembly BLAKE2b, for a 1080p picture.

* **digest**: headless Chromium on the page's own origin (its server, its
  CSP), a 1080p keyframe of the synthetic typing screen decoded by the page's
  decoding worker (app/decoding.js, worker/main.js), then ``keep`` asked
  ``ROUNDS`` times: the worker's own time for it (``ms`` of its answer, as
  the page reports it in ``keptMs``). The first is what a lost link costs (a
  fresh worker: the hash's code not yet compiled, nor warm); the rest are
  warm. The page is loaded under its policy ('wasm-unsafe-eval': hash-wasm)
  and under the policy before it (WebAssembly refused: the fallback,
  blakejs), alternating, ``PAGES`` loads each. On the main thread of the same
  page, ``tileDigests`` with either BLAKE2b named (``kind``), warm.
* **resume**: a real Host playing the synthetic typing screen at 1080p, the
  web viewer (``WebViewer``) and its page in headless Chromium, through the
  shaping proxy in its own process at 4 Mbit/s and 40 ms. The screen stops,
  the page shows it exactly, then the viewer's socket is reset (a link that
  failed) and the run reconnects at once: the time from the reset to the
  page's next applied update (the continuation on the kept picture, empty:
  nothing changed), under either policy, alternating. The canvas is checked
  exact after (untimed).

Run: ``pytest benchmarks/test_bench_pagekept.py -s`` or ``python`` it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import importlib.util
import os
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from screencodec.capture.replay import PacedSource
from screencodec.encoder import ScreenEncoder
from screencodec.linkbench.isolated import ProxyProcess
from screencodec.linkbench.shaper import Link
from screencodec.linkbench.workloads import open_workload
from screencodec.transport import Host, allow
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.connect.via_relay import reset_stream
from screencodec.web import WebOptions, WebViewer
from screencodec.web import server as server_module
from screencodec.web.server import WebServer
from test_bench_resume import _Stoppable
from test_bench_web import _driver, _Loop

ROOT = Path(__file__).resolve().parents[1]
W, H = 1920, 1080
ROUNDS = 5  # keeps per page load
PAGES = int(os.environ.get("SCREENCODEC_PAGEKEPT_PAGES", "3"))  # loads per policy
CUTS = int(os.environ.get("SCREENCODEC_PAGEKEPT_CUTS", "3"))  # resumes per policy
POLICIES = ("wasm", "blakejs")

_DIGEST = """
const [base, update, rounds, done] = arguments;
(async () => {
  const kept = await import(base + "decoder/kept.js");
  const { ScreenDecoder } = await import(base + "decoder/index.js");
  const { DecodeWorker } = await import(base + "app/decoding.js");
  const bytes = Uint8Array.from(atob(update), (c) => c.charCodeAt(0));
  const key = crypto.getRandomValues(new Uint8Array(16));
  let failed = null;
  const worker = new DecodeWorker({
    url: base + "worker/main.js", mode: "bitmap", canvas: null,
    onAnswer: (entry, m) => {
      for (const t of m.tiles || []) t.bitmap.close();
    },
    onLost: () => {},
    onFailed: (reason) => (failed = reason),
  });
  await worker.start();
  worker.decode(bytes.slice().buffer);
  const inWorker = [];
  for (let i = 0; i < rounds; i++) inWorker.push((await worker.keep(key)).ms);
  worker.worker.terminate();
  const dec = new ScreenDecoder();
  await dec.decode(bytes);
  const kind = await kept.blake2bKind();
  const main = { wasm: [], blakejs: [] };
  for (let i = 0; i < rounds; i++) {
    for (const k of kind === "wasm" ? ["wasm", "blakejs"] : ["blakejs"]) {
      const t = performance.now();
      await kept.tileDigests(dec.framebuffer, dec.width, dec.height, key, k);
      main[k].push(performance.now() - t);
    }
  }
  done({ kind, failed, inWorker, main });
})().catch((e) => done({ error: String((e && e.message) || e) }));
"""


@contextlib.contextmanager
def _policy(name: str) -> Iterator[None]:
    """The page's CSP (``wasm``) or the one before 'wasm-unsafe-eval' (``blakejs``)."""
    csp = server_module._csp
    if name == "wasm":
        yield
        return
    server_module._csp = lambda port: csp(port).replace(" 'wasm-unsafe-eval'", "")  # type: ignore[assignment]
    try:
        yield
    finally:
        server_module._csp = csp  # type: ignore[assignment]


def _keyframe() -> bytes:
    frame = np.ascontiguousarray(open_workload("typing", seconds=2).frame(0))
    return ScreenEncoder(W, H, threads=1).encode(frame)


def run_digests(pages: int = PAGES) -> list[dict[str, Any]]:
    async def on_page(ws: Any, hello: Any) -> None:
        return None

    loop = _Loop()
    server = WebServer(on_page)
    loop.call(server.start())
    driver = _driver()
    driver.set_script_timeout(600)
    update = base64.b64encode(_keyframe()).decode()
    rows = []
    try:
        for i in range(pages):
            for policy in POLICIES if i % 2 == 0 else POLICIES[::-1]:
                with _policy(policy):
                    driver.get(f"http://127.0.0.1:{server.port}/")  # the page's origin; no key
                    out = driver.execute_async_script(
                        _DIGEST, f"/s/{server.access.static_key}/", update, ROUNDS
                    )
                assert "error" not in out and out["failed"] is None, out
                assert out["kind"] == policy, out
                rows.append({"policy": policy, "load": os.getloadavg()[0], **out})
                print(_digest_line(rows[-1]), flush=True)
    finally:
        driver.quit()
        loop.call(server.close())
        loop.close()
    return rows


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values):6.1f} ({min(values):.1f}-{max(values):.1f})"


def _digest_line(r: dict[str, Any]) -> str:
    w = r["inWorker"]
    main = "  ".join(f"{k} {_ms(v)}" for k, v in r["main"].items() if v)
    return (f"{r['policy']:8} worker: first {w[0]:6.1f} ms, then {_ms(w[1:])} ms | "
            f"main thread, warm: {main} ms | load {r['load']:.1f}")  # fmt: skip


def digest_report(rows: list[dict[str, Any]]) -> list[str]:
    lines = [f"The page's digest of a {W}x{H} picture (ms; median (min-max)):"]
    lines += [_digest_line(r) for r in rows]
    by = {p: [r for r in rows if r["policy"] == p] for p in POLICIES}
    first = {p: [r["inWorker"][0] for r in by[p]] for p in POLICIES}
    warm = {p: [x for r in by[p] for x in r["inWorker"][1:]] for p in POLICIES}
    main = {k: [x for r in rows for x in r["main"][k]] for k in POLICIES}
    for what, d in (("worker, first keep", first), ("worker, warm", warm),
                    ("main thread, warm", main)):  # fmt: skip
        a, b = statistics.median(d["blakejs"]), statistics.median(d["wasm"])
        lines.append(f"  {what:19} blakejs {a:7.1f} ms, hash-wasm {b:6.1f} ms: {a / b:5.1f}x")
    return lines


def _page(driver: Any, field: str) -> Any:
    return driver.execute_script(f"return window.screencodecPage && window.screencodecPage.{field}")


def _wait(check: Any, limit: float = 60.0, step: float = 0.002) -> None:
    deadline = time.monotonic() + limit
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("waited too long")
        time.sleep(step)


def _canvas_bgr(driver: Any) -> Any:
    """tests/web/conftest.py's ``canvas_bgr``: the page's canvas, read back."""
    spec = importlib.util.spec_from_file_location("_web_conftest", ROOT / "tests/web/conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.canvas_bgr(driver)


def _one_resume(loop: _Loop, driver: Any, policy: str) -> dict[str, Any]:
    canvas_bgr = _canvas_bgr
    source = _Stoppable(PacedSource(open_workload("typing", seconds=60), loop=True))
    host = Host(source, consent=allow())
    creds = SessionCredentials()

    async def up() -> tuple[Any, ProxyProcess, WebViewer, Any]:
        listener = await listen_direct("127.0.0.1", 0, creds, host.serve)
        proxy = ProxyProcess(listener.port, Link.symmetric(4e6 / 8, 0.040))
        await proxy.start()
        web = WebViewer(lambda: connect_direct("127.0.0.1", proxy.port, creds.code,
                                               creds.password),
                        WebOptions(open_browser=False, grace=30))  # fmt: skip
        run = asyncio.ensure_future(web.run())
        await web.listening.wait()
        return listener, proxy, web, run

    with _policy(policy):
        listener, proxy, web, run = loop.call(up())
        try:
            driver.get(web.url)
            _wait(lambda: (_page(driver, "applied") or 0) >= 3, step=0.05)
            time.sleep(2.0)
            source.still = True
            frame = source.grab()[..., :3]
            _wait(lambda: np.array_equal(canvas_bgr(driver), frame), step=0.2)
            applied = _page(driver, "applied")

            async def cut() -> float:
                assert web.viewer is not None
                t0 = time.perf_counter()
                reset_stream(web.viewer.channel._writer)  # type: ignore[attr-defined]
                return t0

            t0 = loop.call(cut())
            _wait(lambda: _page(driver, "applied") > applied)
            took = time.perf_counter() - t0
            kept_ms = _page(driver, "keptMs")
            (link,) = host._runtime.serving
            stream = link.stream
            exact = np.array_equal(canvas_bgr(driver), frame)
            return {"policy": policy, "ms": took * 1e3, "kept_ms": kept_ms, "exact": exact,
                    "continuations": stream.continuations, "keyframes": stream.keyframes_sent,
                    "load": os.getloadavg()[0]}  # fmt: skip
        finally:

            async def down() -> None:
                web.leave()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(run, 20)
                await proxy.close()
                await listener.close()
                await host.close()

            loop.call(down())


def run_resumes(cuts: int = CUTS) -> list[dict[str, Any]]:
    loop = _Loop()
    driver = _driver()
    rows = []
    try:
        for i in range(cuts):
            for policy in POLICIES if i % 2 == 0 else POLICIES[::-1]:
                rows.append(_one_resume(loop, driver, policy))
                print(_resume_line(rows[-1]), flush=True)
    finally:
        driver.quit()
        loop.close()
    return rows


def _resume_line(r: dict[str, Any]) -> str:
    return (f"{r['policy']:8} reset -> next picture {r['ms']:7.1f} ms (the page's digest "
            f"{r['kept_ms']:.1f} ms); continuations {r['continuations']}, keyframes "
            f"{r['keyframes']}, exact {r['exact']} | load {r['load']:.1f}")  # fmt: skip


def resume_report(rows: list[dict[str, Any]]) -> list[str]:
    lines = ["A 1080p page's link reset at 4 Mbit/s, 40 ms, reconnecting at once:"]
    lines += [_resume_line(r) for r in rows]
    med = {p: statistics.median(r["ms"] for r in rows if r["policy"] == p) for p in POLICIES}
    lines.append(f"  median reset -> next picture: blakejs {med['blakejs']:.0f} ms, hash-wasm "
                 f"{med['wasm']:.0f} ms: {med['blakejs'] / med['wasm']:.2f}x")  # fmt: skip
    return lines


@pytest.mark.slow
def test_pagekept_digest(benchmark: Any, request: pytest.FixtureRequest) -> None:
    from _report import write_lines

    rows: list[dict[str, Any]] = benchmark.pedantic(run_digests, rounds=1, iterations=1)
    benchmark.extra_info["rows"] = rows
    write_lines(request, digest_report(rows))
    assert {r["policy"] for r in rows} == set(POLICIES)


@pytest.mark.slow
def test_pagekept_resume(benchmark: Any, request: pytest.FixtureRequest) -> None:
    from _report import write_lines

    rows: list[dict[str, Any]] = benchmark.pedantic(run_resumes, rounds=1, iterations=1)
    benchmark.extra_info["rows"] = rows
    write_lines(request, resume_report(rows))
    assert all(r["exact"] and r["continuations"] == 1 for r in rows), rows


if __name__ == "__main__":
    t0 = time.monotonic()
    print("\n".join(digest_report(run_digests())))
    print("\n".join(resume_report(run_resumes())))
    print(f"({time.monotonic() - t0:.0f} s)")
