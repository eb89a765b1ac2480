"""review42: a viewer whose receipts lie about the link steers the host's
rate. Real Host and Viewer over SPAKE2 + AEAD, through a 1 Mbit/s, 40 ms
bottleneck with a 256 kB queue (linkbench's ShapingProxy: the customer's
uplink and its modem's buffer). The lying viewer decodes every update as an
honest one does; only its receipts say each update's last byte came 0.3 ms
after its first (the first byte's time, which shows a queue, is true).

Measured (review42, 2 runs each): honest, the bottleneck queue p50 0 ms,
max 33-39 ms, the target 0.9 Mbit/s; lying, the target 137-154 Mbit/s
(median), the queue full for the whole run (p50 2.08 s, 262 kB queued),
cut 5 times to backoff 0.44, which cannot bring 150 Mbit/s under 1. The
same before pace41 (b77d1ff^1): pace41 did not make it. All the uplink's
other traffic, a second viewer's updates and keys included, waits 2 s
behind it.

flowa43: spans that claim over 8 times what the receipts deliver, under a
queue the stamps show and a full window, for a quarter second of receipts,
are not believed again (session/receipt_bound.py's SpanDoubt): the viewer is
timed by its acks, as one that sends no stamps. Measured (5 runs, load
7-15): the queue full (2.08 s) until the doubt, 3.8-3.9 s after it filled
(the first receipt to show it comes a 2 s round trip later), drained
1.0-1.1 s after that, then 0-17 ms; the measured window's p50 0 ms."""

from __future__ import annotations

import asyncio
import time

import pytest

from screencodec.capture.replay import PacedSource, synthetic_sequence
from screencodec.linkbench.shaper import Link, ShapingProxy
from screencodec.transport import Host, SessionCredentials, Viewer, allow
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session import messages as m

from .helpers import run, until

pytest.importorskip("av")


class LyingViewer(Viewer):
    """Receipts that time every update's bytes as 0.3 ms apart."""

    async def _receipt(
        self, msg: m.Update, arrived: float, span: float | None, refused: bool
    ) -> None:
        if span is not None:
            arrived, span = arrived - span + 0.0003, 0.0003
        await super()._receipt(msg, arrived, span, refused)


@pytest.mark.parametrize(
    "kind", [pytest.param(Viewer, id="honest"), pytest.param(LyingViewer, id="lying")]
)
def test_receipts_that_claim_a_fast_link_do_not_fill_the_uplink(kind: type[Viewer]) -> None:
    frames = synthetic_sequence("video", 960, 540, fps=30, seconds=10.0, seed=5)

    async def main() -> list[float]:
        host = Host(PacedSource(frames, loop=True), consent=allow())
        creds = SessionCredentials()
        async with host, await listen_direct("127.0.0.1", 0, creds, host.serve) as listener:
            proxy = ShapingProxy(listener.port, Link.symmetric(125_000, 0.04))
            await proxy.start()
            try:
                ch = await connect_direct("127.0.0.1", proxy.port, creds.code, creds.password)
                viewer = kind(ch)
                await viewer.start()
                task = asyncio.ensure_future(viewer.run())
                try:
                    await until(lambda: viewer.decoded > 0, 30, "the first picture")
                    await asyncio.sleep(4)  # past the join picture and its refinement
                    since = time.perf_counter()
                    await asyncio.sleep(4)
                    return [d for t, d in proxy.down.queue_delays if t > since]
                finally:
                    await viewer.bye()
                    await task
            finally:
                await proxy.close()

    delays = sorted(run(main(), 90))
    assert delays, "nothing crossed the link"
    assert delays[len(delays) // 2] < 0.3, delays[len(delays) // 2]
