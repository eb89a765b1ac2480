"""An idle session costs (almost) nothing beside its content: the host sends a
Stats message only when the viewer has something new to show, while the
receipts that pace the host still answer every update.

Real sockets on loopback (the sealed channel; a shaping proxy where a slow
link matters); the host's channel is wrapped to count what it sends.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.linkbench.ledger import CountingChannel, Ledger
from screencodec.linkbench.shaper import Link, ShapingProxy
from screencodec.transport import (
    Host,
    HostConfig,
    SessionCredentials,
    Viewer,
    allow,
    connect_direct,
    listen_direct,
)
from screencodec.transport.channel.base import Channel
from screencodec.transport.session import messages as m
from screencodec.transport.session.events import StatsUpdated
from screencodec.transport.session.stats import (
    BUSY_KBPS,
    REFRESH_PERIODS,
    LinkStats,
    StatsGate,
)

from .helpers import Freezable, run, until

PERIOD = 0.02  # stats period of these sessions: many periods in little time


class Sent(CountingChannel):
    """Wraps the host's channel: every message it sends, decoded, in order
    (and, as any CountingChannel, what it receives in a ledger)."""

    def __init__(self, inner: Channel) -> None:
        super().__init__(inner, Ledger(time.perf_counter), "up")
        self.messages: list[m.Message] = []

    def of(self, kind: Any) -> list[Any]:
        return [x for x in self.messages if isinstance(x, kind)]

    async def send(self, message: bytes, /) -> None:
        self.messages.append(m.decode(message))  # before the write: in send order
        await super().send(message)


async def session(host: Host, body: Callable[[Viewer, Sent], Awaitable[None]],
                  link: Link | None = None) -> None:  # fmt: skip
    """Serve one viewer over loopback (through a shaping proxy if ``link``) and
    run ``body(viewer, sent)`` while it watches."""
    creds = SessionCredentials()
    sent: list[Sent] = []

    async def serve(channel: Channel) -> None:
        sent.append(Sent(channel))
        await host.serve(sent[-1])

    listener = await listen_direct("127.0.0.1", 0, creds, serve)
    proxy = None if link is None else ShapingProxy(listener.port, link)
    port = listener.port if proxy is None else await proxy.start()
    viewer = Viewer(await connect_direct("127.0.0.1", port, creds.display_code, creds.password))
    await viewer.start()
    task = asyncio.ensure_future(viewer.run())
    try:
        await until(lambda: bool(sent) and viewer.decoded > 0, 20, "the first picture")
        await body(viewer, sent[0])
    finally:
        await viewer.bye()
        await asyncio.gather(task, return_exceptions=True)
        await host.close()
        await listener.close()
        if proxy is not None:
            await proxy.close()


def snap(fps: float = 0.0, kbps: float = 0.0, rtt_ms: float = 40.0, skipped: int = 0,
         sent: int = 0) -> LinkStats:  # fmt: skip
    return LinkStats("v", fps, kbps, rtt_ms, 0, sent, skipped, 0, 0)


def test_the_gate_holds_back_still_figures_and_passes_moves() -> None:
    gate = StatsGate()
    assert gate.due(snap(fps=2, kbps=1.5))  # the first one always goes
    # An idle screen's jitter (a caret: 1-3 updates a second, a few kbit/s),
    # updates counted, RTT noise: held back, but refreshed every REFRESH_PERIODS.
    jitter = [snap(fps=1 + k % 3, kbps=0.5 + k % 4, rtt_ms=40 + k % 3, sent=k)
              for k in range(3 * REFRESH_PERIODS)]  # fmt: skip
    assert [gate.due(s) for s in jitter] == [(k + 1) % REFRESH_PERIODS == 0 for k in range(30)]
    # What the viewer shows moves: each goes at once.
    for moved in (snap(fps=0), snap(fps=30, kbps=900), snap(fps=30, kbps=400),
                  snap(fps=30, kbps=400, rtt_ms=80), snap(fps=30, kbps=400, rtt_ms=80, skipped=1)):
        assert gate.due(moved), moved
    # A busy link: every period (the message is noise beside its updates).
    assert all(gate.due(snap(fps=30, kbps=BUSY_KBPS, rtt_ms=80, skipped=1)) for _ in range(3))


def test_a_still_screen_sends_only_stats_refreshes_and_a_change_at_once() -> None:
    screen = Freezable(SyntheticDesktop(160, 120, scenario="typing", seed=3))
    screen.frozen = True
    host = Host(screen, consent=allow(), config=HostConfig(stats_period=PERIOD))

    async def body(viewer: Viewer, sent: Sent) -> None:
        # The join picture's second has passed once the viewer is told 0 fps
        # after one update.
        await until(lambda: viewer.host_stats is not None and viewer.host_stats.sent >= 1
                    and viewer.host_stats.fps_milli == 0, 10, "0 fps shown")  # fmt: skip
        events = host.events()  # from here on, with the counts (no await between)
        stats0, updates0 = len(sent.of(m.Stats)), len(sent.of(m.Update | m.CompactUpdate))
        periods = 0
        async for ev in events:
            if isinstance(ev, StatsUpdated):
                periods += 1
                if periods == 4 * REFRESH_PERIODS:
                    break
        # Still: no update at all, and a Stats message only every REFRESH_PERIODS.
        assert len(sent.of(m.Update | m.CompactUpdate)) == updates0
        stats = len(sent.of(m.Stats)) - stats0
        assert 3 <= stats <= 5, stats
        # The screen moves: the next snapshot shows it, and goes out with it.
        screen.frozen = False
        async for ev in events:
            if isinstance(ev, StatsUpdated) and ev.stats.fps > 0:
                break
        assert sent.of(m.Stats)[-1].fps_milli > 0
        await until(lambda: viewer.host_stats is not None and viewer.host_stats.fps_milli > 0,
                    10, "the viewer shown the change")  # fmt: skip
        events.close()

    run(session(host, body), 60)


def test_typing_over_a_shaped_link_is_still_paced_by_its_receipts() -> None:
    """Receipts drive the pacing: over a 1 Mbit/s, 40 ms link the host times
    the round trip from them, keeps its window, gets every update answered,
    and the viewer is shown that round trip."""
    screen = Freezable(SyntheticDesktop(160, 120, scenario="typing", seed=3))
    host = Host(screen, consent=allow(), config=HostConfig(stats_period=PERIOD))
    link = Link.symmetric(1e6 / 8, 0.04)

    async def body(viewer: Viewer, sent: Sent) -> None:
        (served,) = host._runtime.serving
        flow = served.flow
        await until(lambda: viewer.decoded >= 30, 20, "30 updates")
        await until(lambda: viewer.host_stats is not None and viewer.host_stats.rtt_us >= 40_000,
                    10, "the round trip shown")  # fmt: skip
        # The screen stops: every update sent is answered, nothing is left in flight.
        screen.frozen = True
        await until(lambda: flow.in_flight == 0, 10, "every update answered")
        assert viewer.decoded == len(sent.of(m.Update | m.CompactUpdate))
        assert flow.max_seen_in_flight <= host.config.window
        assert flow.srtt is not None and 0.04 <= flow.srtt < 0.5

    run(session(host, body, link), 60)
