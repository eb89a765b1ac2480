"""walk32: a Viewer that comes back with a resume ticket says whether the
host took its session up (Viewer.resumed, a SessionRejoined event), so an
interface does not say "back in the session" of a new one.

Real Host and Viewer over sealed channels on loopback, through a proxy the
test cuts (tests/transport/test_resume.py's setup)."""

from __future__ import annotations

import asyncio

from screencodec.transport import SessionRejoined, Viewer
from screencodec.transport.session.events import Event, Subscription

from .helpers import run, until
from .test_resume import _granted, _lose, _Setup


async def _rejoin(s: _Setup, ticket: bytes) -> tuple[Viewer, Subscription, asyncio.Task[str]]:
    viewer = Viewer(await s.connect(), who="Alice (support)", resume=ticket)
    events = viewer.events()  # before run() reads the host's hello
    await viewer.start()
    return viewer, events, asyncio.ensure_future(viewer.run())


async def _told(events: Subscription, viewer: Viewer) -> list[Event]:
    """The viewer's events until its first picture is decoded and a
    SessionRejoined came."""
    seen: list[Event] = []
    while viewer.decoded < 1 or not any(isinstance(ev, SessionRejoined) for ev in seen):
        seen.append(await asyncio.wait_for(anext(events), 10))
    return seen


def test_a_resumed_session_is_said_resumed() -> None:
    async def main() -> None:
        async with _Setup() as s:
            first, task = await s.join()
            ticket = await _granted(first)
            assert first.resumed is False  # a first connection: a new session
            await _lose(s, first, task)
            again, events, task2 = await _rejoin(s, ticket)
            assert again.resumed is None  # not known at the grant: the hello follows it
            seen = await _told(events, again)
            rejoined = [ev for ev in seen if isinstance(ev, SessionRejoined)]
            assert rejoined == [SessionRejoined(again.channel.peer, True)], seen
            assert again.resumed is True and len(s.asked) == 1
            await again.bye()
            await task2

    run(main(), 60)


def test_a_session_the_host_ended_while_away_is_said_new() -> None:
    async def main() -> None:
        async with _Setup() as s:
            first, task = await s.join()
            ticket = await _granted(first)
            await _lose(s, first, task)
            await s.host.disconnect()  # the host's user typed /end while the agent was away
            again, events, task2 = await _rejoin(s, ticket)
            assert len(s.asked) == 2  # let in anew: its user was asked again
            seen = await _told(events, again)
            rejoined = [ev for ev in seen if isinstance(ev, SessionRejoined)]
            assert rejoined == [SessionRejoined(again.channel.peer, False)], seen
            assert again.resumed is False
            await again.bye()
            await task2

    run(main(), 60)


def test_a_first_connection_tells_no_rejoin() -> None:
    async def main() -> None:
        async with _Setup() as s:
            viewer = Viewer(await s.connect(), who="Alice (support)")
            events = viewer.events()
            await viewer.start()
            task = asyncio.ensure_future(viewer.run())
            await until(lambda: viewer.decoded >= 1, 10, "a picture")
            assert viewer.resumed is False
            await viewer.bye()
            await task
            seen: list[Event] = []
            while True:
                try:
                    seen.append(await asyncio.wait_for(anext(events), 1))
                except (asyncio.TimeoutError, StopAsyncIteration):
                    break
            assert not any(isinstance(ev, SessionRejoined) for ev in seen), seen

    run(main(), 60)
