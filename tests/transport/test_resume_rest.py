"""Resuming, the cases the first work left open (transport/session/resume.py):
a link that fails one way only, a takeover that waited out the old link's
close, input sent blind while the link is down, and a session that is gone.

Every session runs over real sockets on loopback, through the cuttable
proxy of tests/transport/helpers.py (LinkProxy), as in test_resume.py.
"""

from __future__ import annotations

import asyncio

import pytest

from screencodec.transport import CONTROL, VIEW, Viewer
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.input.recording import RecordingInjector
from screencodec.transport.session.events import SessionEnded, SessionResumed

from .helpers import run, until
from .test_resume import _granted, _lose, _Setup

#: One side's channels: a silent peer is noticed after 1 s.
_NOTICES = Timeouts(handshake=5.0, idle=1.0, keepalive=0.2, max_duration=None)
#: The other's: it never times its peer out, and sends a keepalive when it has
#: nothing else to send, so its peer hears from it while its sending works.
_AGENT = Timeouts(handshake=5.0, idle=None, keepalive=0.2, max_duration=None)


@pytest.mark.parametrize("dead", ["viewer", "host"])
def test_a_link_that_fails_one_way_resumes(dead: str) -> None:
    """One side's sending dies, the other's works. "viewer": the agent's
    uplink; the host times the silent agent out and closes, the agent reads
    that close and took it for the host's end (no reconnect: the session
    was over). "host": the agent times the silent host out; the host read
    the agent's close as its end and kept no ticket (the user was asked
    again). Expected both ways: the host keeps the ticket, the agent's
    viewer takes it for a lost link, and resumes without a second question."""
    host, agent = ((_NOTICES, _AGENT) if dead == "viewer" else (_AGENT, _NOTICES))

    async def main() -> None:
        async with _Setup(timeouts=host) as s:
            viewer, task = await s.join(VIEW | CONTROL, timeouts=agent)
            ticket = await _granted(viewer)
            s.proxy.mute(dead)
            reason = await asyncio.wait_for(task, 10)
            ended = await s.event(SessionEnded)
            assert isinstance(ended, SessionEnded) and ended.resumable == 60.0
            assert "nothing received" in reason + ended.reason and viewer.link_lost
            s.proxy.muted = None  # the new connection works both ways
            again, task2 = await s.join(VIEW | CONTROL, resume=ticket, timeouts=_AGENT)
            assert again.level == VIEW | CONTROL and len(s.asked) == 1
            back = await s.event(SessionResumed)
            assert isinstance(back, SessionResumed) and back.who == "Alice (support)"
            await until(lambda: again.decoded >= 1, 10, "a picture")
            await again.bye()
            await task2

    run(main(), 60)


def test_a_takeover_does_not_wait_out_the_old_links_close() -> None:
    """A ticket presented while the host still serves the old link (its
    agent's side died, the host's is open and silent). The host's close of
    the old link lingered for the agent to read it, up to Timeouts.linger
    (2 s by default; 2.0 s measured from ticket to grant), though the agent
    is on its new connection; past the takeover's own bound (5 s) the new
    session was granted while the old one was still ending. Expected: the
    old session has ended (SessionEnded, moved) before the new one is
    granted, however long the host's linger."""

    async def main() -> None:
        lingering = Timeouts(handshake=5.0, idle=None, keepalive=None, max_duration=None,
                             linger=30.0)  # fmt: skip
        async with _Setup(timeouts=lingering) as s:
            viewer, task = await s.join(VIEW | CONTROL)
            ticket = await _granted(viewer)
            s.proxy.abandon()
            await asyncio.wait_for(task, 10)
            again, task2 = await s.join(VIEW | CONTROL, resume=ticket)
            assert again.level == VIEW | CONTROL and len(s.asked) == 1
            back = await s.event(SessionResumed)
            ended = [e for e in s.seen if isinstance(e, SessionEnded)]
            assert len(ended) == 1 and ended[0].moved, s.seen
            assert s.host.viewers == (back.peer,)
            await again.bye()
            await task2

    run(main(), 60)


@pytest.mark.parametrize("how", ["key", "button", "wheel", "pointer_move"])
def test_input_sent_blind_after_a_resume_is_not_sent_and_the_caller_is_told(how: str) -> None:
    """An agent resumes with CONTROL and types before its first picture on
    the new connection arrived (blind: the keys were meant for a screen it
    has not seen since the outage). The host dropped them and the caller
    was not told (the call returned None, as for input that went).
    Expected: the call returns False and nothing goes to the host; once the
    first picture is applied there, input goes (True) and is injected."""
    args = {"key": (0x61, True, "a"), "button": (1, True), "wheel": (0, 1),
            "pointer_move": (5, 6)}[how]  # fmt: skip

    async def main() -> None:
        async with _Setup() as s:
            viewer, task = await s.join(VIEW | CONTROL)
            ticket = await _granted(viewer)
            await _lose(s, viewer, task)
            injector = s.host.injector
            assert isinstance(injector, RecordingInjector)
            again = Viewer(await s.connect(), who="Alice (support)", resume=ticket)
            assert await again.start(VIEW | CONTROL) == VIEW | CONTROL
            before = len(injector.events)
            # Its run() has not started: no picture can have been applied.
            assert await getattr(again, how)(*args) is False
            assert again.blind and again.input_withheld == 1
            task2 = asyncio.ensure_future(again.run())
            await until(lambda: not again.blind, 10, "the first receipt")
            (link,) = s.host._runtime.links
            assert link.gate.dropped_before_grant == 0  # nothing blind reached the host
            assert await getattr(again, how)(*args) is True
            await until(lambda: len(injector.events) > before, 10, "injected")
            assert injector.events[before][0] == {"pointer_move": "move"}.get(how, how)
            assert again.input_withheld == 1
            await again.bye()
            await task2

    run(main(), 60)
