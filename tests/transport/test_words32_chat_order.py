"""words32: chat lines sent at the same moment from different tasks reach
the peer in the order of the calls (transport/session/chat.py: one queue per
peer), and a burst of concurrent calls waits for room as one caller's
lines do, instead of being refused at once. Real Host and Viewer on loopback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from screencodec.transport.session.chat import MAX_UNACKED

from .helpers import LinkProxy, run, until
from .test_chatack_session import _Seen
from .test_resume import _Setup


class HoldingProxy(LinkProxy):
    """A loopback proxy that can hold what one side sends (kept, in order,
    and passed on when :meth:`let_through` or :meth:`release` is called):
    acknowledgements that come late, as on a slow uplink, not lost ones."""

    def __init__(self, target: int) -> None:
        super().__init__(target)
        self.held: str | None = None
        #: What the held side sent meanwhile, with where it goes.
        self.kept: list[tuple[asyncio.StreamWriter, bytes]] = []

    def hold(self, side: str) -> None:
        self.held = side

    def let_through(self) -> None:
        """What was kept goes on; what comes later is kept while held."""
        kept, self.kept = self.kept, []
        for w, data in kept:
            w.write(data)

    def release(self) -> None:
        self.held = None
        self.let_through()

    @property
    def kept_bytes(self) -> int:
        return sum(len(data) for _, data in self.kept)

    async def _pump(self, r: asyncio.StreamReader, w: asyncio.StreamWriter,
                    sender: str) -> None:  # fmt: skip
        try:
            while data := await r.read(65536):
                if self.held == sender:
                    self.kept.append((w, data))
                    continue
                w.write(data)
                await w.drain()
        except (OSError, ConnectionError):
            w.transport.abort()
            return
        with contextlib.suppress(OSError, ConnectionError):
            w.write_eof()


async def _holding(s: _Setup) -> HoldingProxy:
    await s.proxy.close()
    s.proxy = HoldingProxy(s.listener.port)
    await s.proxy.start()
    return s.proxy


async def _burst(proxy: HoldingProxy, acking: str, send: Callable[[str], Awaitable[object]],
                 prefix: str) -> list[str]:  # fmt: skip
    """4 x MAX_UNACKED lines, each sent by its own task: half while the
    acknowledging side's words are held (the backlog fills, the rest wait
    for room), half as they are let through. The texts in the order of the
    calls; every send must have succeeded."""
    called: list[str] = []

    async def say(n: int) -> object:
        called.append(f"{prefix} {n}")  # the call, in this task's first step
        return await send(f"{prefix} {n}")

    proxy.hold(acking)
    sends = [asyncio.ensure_future(say(n)) for n in range(2 * MAX_UNACKED)]
    await asyncio.sleep(0.3)  # every one of them called; the backlog is full
    proxy.release()
    for n in range(2 * MAX_UNACKED, 4 * MAX_UNACKED):
        sends.append(asyncio.ensure_future(say(n)))
        await asyncio.sleep(0)  # new calls while the late acks free room
    got = await asyncio.gather(*sends, return_exceptions=True)
    assert [g for g in got if isinstance(g, BaseException)] == []
    return called


def test_concurrent_host_lines_arrive_in_the_order_of_the_calls() -> None:
    async def main() -> None:
        async with _Setup() as s:
            proxy = await _holding(s)
            viewer, task = await s.join()
            seen = _Seen(viewer.events_hub)
            await until(lambda: viewer.decoded >= 1, 10, "picture")
            called = await _burst(proxy, "viewer", s.host.send_chat, "line")
            await until(lambda: len(seen.received) == len(called), 10, "every line")
            assert seen.received == called
            await viewer.bye()
            await task

    run(main(), 60)


def test_concurrent_agent_lines_arrive_in_the_order_of_the_calls() -> None:
    async def main() -> None:
        async with _Setup() as s:
            proxy = await _holding(s)
            host_seen = _Seen(s.host)
            viewer, task = await s.join()
            await until(lambda: viewer.decoded >= 1, 10, "picture")
            called = await _burst(proxy, "host", viewer.chat, "agent")
            await until(lambda: len(host_seen.received) == len(called), 10, "every line")
            assert host_seen.received == called
            await viewer.bye()
            await task

    run(main(), 60)
