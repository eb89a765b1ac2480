"""A viewer whose host gives no resume ticket does not end the session at
``Timeouts.unanswered`` (finalreview).

5198fb9 made a viewer's channel take ``unanswered`` seconds (10 by default)
of silence for a lost link once its host answered a probe, instead of the
45 s ``idle`` limit, so that the session *resumes* within seconds. With a
host whose resuming is off (``resume_window=0``: no ticket), nothing
resumes: the early close only ends, at 10 s, a session a link stalled for
10-45 s (a Wi-Fi handover, TCP's retransmission backoff after a loss
burst) used to survive. Real host and viewer on loopback, through a
forwarder that holds (not loses) what the host sends for a while.
"""

from __future__ import annotations

import asyncio

from screencodec.transport import VIEW
from screencodec.transport.channel.limits import Timeouts

from .helpers import LinkProxy, run, until
from .test_resume import _Setup

# unanswered (1.5 s) stands for the default 10 s, idle (20 s) for 45 s.
_VIEWER = Timeouts(handshake=5.0, idle=20.0, keepalive=None, probe=0.3, unanswered=1.5)
_STALL = 4.0


class _HoldingProxy(LinkProxy):
    """LinkProxy whose ``held`` side's bytes wait (not lost) until released."""

    def __init__(self, target: int) -> None:
        super().__init__(target)
        self.held: str | None = None
        self.released = asyncio.Event()

    async def _pump(self, r: asyncio.StreamReader, w: asyncio.StreamWriter,
                    sender: str) -> None:  # fmt: skip
        async def read(n: int) -> bytes:
            data = await r.read(n)
            while self.held == sender:
                await self.released.wait()
            return data

        class _Held:
            async def read(self, n: int) -> bytes:
                return await read(n)

        await super()._pump(_Held(), w, sender)  # type: ignore[arg-type]


def test_a_stalled_link_keeps_a_session_that_cannot_resume() -> None:
    async def main() -> None:
        async with _Setup(resume_window=0) as s:
            await s.proxy.close()
            s.proxy = _HoldingProxy(s.listener.port)
            await s.proxy.start()
            viewer, task = await s.join(VIEW, timeouts=_VIEWER)
            await until(lambda: viewer.decoded >= 1, 10, "the first picture")
            assert viewer.resume_ticket is None  # nothing can resume this session
            await until(lambda: viewer.channel.answers_probes, 10, "a probe answered")
            s.proxy.held = "host"  # the host's bytes wait in the forwarder
            await asyncio.sleep(_STALL)
            s.proxy.held = None
            s.proxy.released.set()
            await asyncio.sleep(1.0)
            assert not task.done(), f"the session ended: {task.result()}"
            await viewer.bye()
            await task

    run(main(), 60)
