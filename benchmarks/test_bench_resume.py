"""A link cut and resumed: time to the picture again, keyframe against kept picture.

The real Host and Viewer over the sealed transport through the shaping proxy
in a process of its own (``linkbench.isolated``) at 4 Mbit/s and 40 ms, the
workload playing at 1080p. After ``WARM`` seconds the viewer's socket is
reset (a link that failed), the clip plays on for ``CUT`` seconds, and a new
connection resumes the session twice in each round, once as before (a
keyframe) and once with the picture the viewer kept (transport/session/kept.py),
in alternating order. Reported per workload: the first update's bytes, the
time from the new connection's dial to the first picture shown, and to the
exact picture once the screen stops; the kept picture as a ratio to the
keyframe of the same round.

Run: ``pytest benchmarks/test_bench_resume.py -s`` (corpus clips when
``corpus/`` holds them; about 20 s a round).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from screencodec.capture.base import FrameSource, SourceWrapper
from screencodec.capture.replay import PacedSource
from screencodec.linkbench.isolated import ProxyProcess
from screencodec.linkbench.report import corpus_workloads
from screencodec.linkbench.shaper import Link
from screencodec.linkbench.workloads import open_workload
from screencodec.transport import VIEW, Host, Viewer, allow
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.connect.via_relay import reset_stream

WARM, CUT = 4.0, 3.0
ROUNDS = int(os.environ.get("SCREENCODEC_RESUME_ROUNDS", "2"))
WORKLOADS = ["typing", *corpus_workloads()]
_ROWS: list[tuple[str, dict[str, list[float]]]] = []


class _Stoppable(SourceWrapper):
    """Repeats its last frame once ``still`` is set (the screen stops)."""

    def __init__(self, inner: FrameSource) -> None:
        super().__init__(inner)
        self.still = False
        self._last: Any = None

    def grab(self) -> Any:
        if not self.still or self._last is None:
            self._last = np.array(self.inner.grab(), copy=True)
        return self._last


async def _until(check: Any, limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("the picture did not come")
        await asyncio.sleep(0.003)


async def _round(workload: str, kept: bool) -> tuple[float, float, float]:
    source = _Stoppable(PacedSource(open_workload(workload, seconds=60), loop=True))
    host = Host(source, consent=allow())
    creds = SessionCredentials()
    listener = await listen_direct("127.0.0.1", 0, creds, host.serve)
    proxy = ProxyProcess(listener.port, Link.symmetric(4e6 / 8, 0.040))
    await proxy.start()
    try:
        def dial() -> Any:
            return connect_direct("127.0.0.1", proxy.port, creds.code, creds.password)

        old = Viewer(await dial())
        await old.start(VIEW)
        task = asyncio.ensure_future(old.run())
        await asyncio.sleep(WARM)
        reset_stream(old.channel._writer)  # type: ignore[attr-defined]
        await task
        assert old.link_lost and old.resume_ticket is not None
        await asyncio.sleep(CUT)
        t0 = time.perf_counter()
        new = Viewer(await dial(), resume=old.resume_ticket,
                     picture=old.kept_picture if kept else None)  # fmt: skip
        await new.start(VIEW)
        run = asyncio.ensure_future(new.run())
        await _until(lambda: new.decoded >= 1)
        first = time.perf_counter() - t0
        (link,) = host._runtime.serving
        size = float(link.stream.meter.bytes_sent)
        source.still = True
        await _until(lambda: new.framebuffer is not None and np.array_equal(
            new.framebuffer[..., :3], source.grab()[..., :3]))  # fmt: skip
        exact = time.perf_counter() - t0
        await new.bye()
        await run
        return size, first, exact
    finally:
        await proxy.close()
        await listener.close()
        await host.close()


@pytest.fixture(scope="module", autouse=True)
def _table() -> Iterator[None]:
    yield
    if not _ROWS:
        return
    print(f"\n\nResumed after a {CUT:g} s cut at 4 Mbit/s, 40 ms (medians of {ROUNDS} rounds,"
          f" load {os.getloadavg()[0]:.1f}):")  # fmt: skip
    print("| workload | kB sent until the first picture, keyframe / kept | first picture ms"
          " | exact ms | kept / keyframe: bytes, first, exact |\n|---|---|---|---|---|")
    for name, r in _ROWS:
        med = {k: statistics.median(v) for k, v in r.items()}
        print(f"| {name} | {med['key_bytes'] / 1e3:.1f} / {med['kept_bytes'] / 1e3:.1f}"
              f" | {med['key_first'] * 1e3:.0f} / {med['kept_first'] * 1e3:.0f}"
              f" | {med['key_exact'] * 1e3:.0f} / {med['kept_exact'] * 1e3:.0f}"
              f" | {med['kept_bytes'] / med['key_bytes']:.2f}x,"
              f" {med['kept_first'] / med['key_first']:.2f}x,"
              f" {med['kept_exact'] / med['key_exact']:.2f}x |")  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("workload", WORKLOADS, ids=[w.replace(":", "_") for w in WORKLOADS])
def test_resume(workload: str, benchmark: Any) -> None:
    figures: dict[str, list[float]] = {}

    def measure() -> None:
        for i in range(ROUNDS):
            for kept in (i % 2 == 0, i % 2 == 1):
                size, first, exact = asyncio.run(_round(workload, kept))
                tag = "kept" if kept else "key"
                for name, value in (("bytes", size), ("first", first), ("exact", exact)):
                    figures.setdefault(f"{tag}_{name}", []).append(value)

    benchmark.pedantic(measure, rounds=1, iterations=1)
    _ROWS.append((workload, figures))
    benchmark.extra_info.update({k: statistics.median(v) for k, v in figures.items()})
