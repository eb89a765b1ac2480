"""End-to-end latency, grab -> decoded framebuffer, over loopback at 1080p.

Host and viewer run in one process on one event loop, connected through the
real sealed transport (SPAKE2 + ChaCha20-Poly1305 over TCP on 127.0.0.1), so
the figure includes grab, encode, seal, the socket, open, decode and the
scheduling between them. Update ``n`` is the ``n``-th encode, so the grab
time recorded by the instrumented encoder pairs with the viewer's decode time
of sequence ``n``.

Run: ``pytest benchmarks/test_bench_latency.py -s`` (or ``python`` it).
Targets: p50 <= 10 ms, p99 <= 30 ms.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from screencodec.capture.base import SourceWrapper
from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.encoder import ScreenEncoder
from screencodec.transport import Host, HostConfig, Viewer, allow
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct

SCENARIOS = {"typing": "typing", "scrolling": "browser"}


class TimedSource(SourceWrapper):
    """Records when the latest grab started and ended."""

    def __init__(self, inner: SyntheticDesktop) -> None:
        super().__init__(inner)
        self.grab_started = 0.0
        self.grab_ended = 0.0

    def grab(self) -> npt.NDArray[np.uint8]:
        self.grab_started = time.perf_counter()
        frame = self.inner.grab()
        self.grab_ended = time.perf_counter()
        return frame


async def measure(scenario: str, seconds: float = 4.0, warmup: int = 10) -> dict[str, float]:
    source = TimedSource(SyntheticDesktop(1920, 1080, scenario=scenario, seed=1))
    grabbed: list[tuple[float, float]] = []  # [n-1] = grab start, end of the n-th encode

    class TimedEncoder(ScreenEncoder):
        def encode(self, frame: Any, /) -> bytes:
            grabbed.append((source.grab_started, source.grab_ended))
            return super().encode(frame)

    host = Host(source, consent=allow(), config=HostConfig(min_interval=1 / 30),
                encoder_factory=TimedEncoder)  # fmt: skip
    creds = SessionCredentials()
    async with await listen_direct("127.0.0.1", 0, creds, host.serve) as listener:
        channel = await connect_direct("127.0.0.1", listener.port, creds.code, creds.password)
        viewer = Viewer(channel)
        viewer.record_times = True
        await viewer.start()
        task = asyncio.ensure_future(viewer.run())
        await asyncio.sleep(seconds)
        await viewer.bye()
        await task
    await host.close()
    applied = [(seq, t) for seq, t in viewer.applied_at[warmup:] if seq <= len(grabbed)]
    # "from grab": the frame exists (grab returned): what the session pipeline adds.
    # "incl. grab": from the start of the grab, so the source's own cost counts too
    # (for the synthetic desktop that is its renderer, 2-20 ms at 1080p).
    lat = sorted((t - grabbed[seq - 1][1]) * 1000 for seq, t in applied)
    full = sorted((t - grabbed[seq - 1][0]) * 1000 for seq, t in applied)
    q = statistics.quantiles(lat, n=100, method="inclusive")
    qf = statistics.quantiles(full, n=100, method="inclusive")
    return {"updates": len(lat), "p50_ms": q[49], "p99_ms": q[98], "max_ms": lat[-1],
            "p50_incl_grab_ms": qf[49], "p99_incl_grab_ms": qf[98],
            "fps": len(viewer.applied_at) / seconds}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_latency_1080p(name: str, benchmark: Any) -> None:
    result: dict[str, float] = benchmark.pedantic(
        lambda: asyncio.run(measure(SCENARIOS[name])), rounds=1, iterations=1
    )
    benchmark.extra_info.update(result)
    print(f"\n{name} 1080p: " + " ".join(f"{k}={v:.1f}" for k, v in result.items()))
    assert result["updates"] >= 30
    # Targets: p50 <= 10 ms, p99 <= 30 ms. Asserted with headroom so a loaded CI
    # machine does not fail the suite; the printed numbers are the report.
    assert result["p50_ms"] <= 25
    assert result["p99_ms"] <= 80


if __name__ == "__main__":
    for label, scen in SCENARIOS.items():
        print(label, asyncio.run(measure(scen)))
