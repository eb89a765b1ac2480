"""takeover36: the host's user ends (or takes control back from) an agent by
the peer name they were shown, while the agent's session moves to a new link.

An agent's side of its link died unnoticed; its new connection presents the
ticket and takes the session over from the old link (session/resume.py).
The embedder was shown the old link's peer name (SharingChanged, the
question). ``Host.disconnect(peer=THAT_NAME)`` must end that agent's
session whichever link it is on now: while the take-over is under way (the
old link still cleaning up), once the new link has joined, and once that
one was lost too and the session is away under its name. Found before:
during the take-over it ended nothing (the old link is left to its MOVED
end, the new one had another name) and the agent was granted a moment
later, unasked; after it, nothing either. ``revoke(level, peer)`` reads the
name the same way. A new connection is never given a name that still names
a session. Real sockets on loopback (test_resume.py's setup); the old
link's cleanup held in its encoder's shutdown (test_review34_races.py).
"""

from __future__ import annotations

import asyncio
import threading

import pytest

from screencodec.errors import ConsentDeniedError
from screencodec.transport import CONTROL, VIEW, Permission
from screencodec.transport.channel.memory import channel_pair
from screencodec.transport.session import messages as m
from screencodec.transport.session.events import SessionEnded, SessionResumed
from screencodec.transport.session.link import ViewerLink
from screencodec.transport.session.resume import MOVED

from .helpers import ended_lost, run, until
from .test_resume import _granted, _lose, _Setup
from .test_review34_races import _slow_shutdown

AGENT = "Alice (support)"
ENDED = "ended by the host: done for today"


async def _moving(s: _Setup) -> tuple[bytes, ViewerLink]:
    """The agent granted VIEW+CONTROL, its side of the link dead and the
    host's open and silent: its ticket, and the old link."""
    viewer, task = await s.join(VIEW | CONTROL)
    ticket = await _granted(viewer)
    (old,) = s.host._runtime.links
    s.proxy.abandon()
    await ended_lost(viewer, task)
    return ticket, old


async def _ends(s: _Setup, n: int) -> list[SessionEnded]:
    ends: list[SessionEnded] = []
    while len(ends) < n:
        ev = await s.event(SessionEnded)
        assert isinstance(ev, SessionEnded)
        ends.append(ev)
    return ends


async def _asked_again(s: _Setup, ticket: bytes | None) -> None:
    """The agent's ticket opens nothing more: its next try is asked about
    (and refused here)."""
    asked = len(s.asked)
    s.answer = Permission()
    with pytest.raises(ConsentDeniedError):
        await s.join(VIEW | CONTROL, resume=ticket)
    assert len(s.asked) == asked + 1 and s.host.viewers == ()


def test_disconnect_by_the_old_name_during_the_take_over_ends_the_agents_session() -> None:
    async def main() -> list[SessionEnded]:
        async with _Setup() as s:
            ticket, old = await _moving(s)
            hold, entered = threading.Event(), threading.Event()
            _slow_shutdown(old, hold, entered)
            taking = asyncio.ensure_future(s.join(VIEW | CONTROL, resume=ticket))
            try:
                await until(entered.is_set, 10, "the take-over under way")
                (new,) = [link for link in s.host._runtime.serving if link is not old]
                assert old.moved and new.peer != old.peer
                ending = asyncio.ensure_future(s.host.disconnect(old.peer, "done for today"))
                await until(lambda: new.ended_here is not None or ending.done(), 10, "ending")
            finally:
                hold.set()
            await asyncio.wait_for(ending, 15)
            # Found: the new link was granted, unasked, the session going on.
            joined = (await asyncio.gather(taking, return_exceptions=True))[0]
            assert isinstance(joined, ConsentDeniedError), joined
            assert "done for today" in str(joined)
            ends = await _ends(s, 2)
            assert s.host.viewers == () and len(s.host._runtime.tickets) == 0
            await _asked_again(s, ticket)
            return ends

    moved, ended = run(main(), 60)
    assert (moved.moved, moved.reason) == (True, MOVED), moved
    # Named as the host's user knew the session: the old link's name, the agent's.
    assert (ended.peer, ended.who) == (moved.peer, AGENT), ended
    assert (ended.reason, ended.resumable, ended.moved) == (ENDED, 0.0, False), ended


@pytest.mark.parametrize("where", ["on its new link", "away again"])
def test_disconnect_by_the_old_name_ends_the_session_wherever_it_went(where: str) -> None:
    """After the take-over: the session goes on over the new link (the
    embedder may not have read SessionResumed yet), or that link was lost
    too and the session is away under the new link's name."""

    async def main() -> None:
        async with _Setup() as s:
            ticket, old = await _moving(s)
            again, task = await s.join(VIEW | CONTROL, resume=ticket)
            back = await s.event(SessionResumed)
            assert isinstance(back, SessionResumed) and back.was == old.peer
            ticket = await _granted(again)
            if where == "away again":
                # Shown: the ticket it presented no longer works, only the new one.
                await until(lambda: s.host._runtime.tickets.unshown() == 0, 10, "shown")
                lost = await _lose(s, again, task)
                assert (lost.peer, lost.resumable) == (back.peer, 60.0)
                await s.host.disconnect(old.peer, "done for today")
                assert s.host._runtime.tickets.parked() == []
            else:
                await s.host.disconnect(old.peer, "done for today")
                reason = await asyncio.wait_for(task, 10)
                assert reason == "host said bye: done for today", reason
                (ended,) = await _ends(s, 1)  # the moved one came before SessionResumed
                assert (ended.peer, ended.reason, ended.moved) == (back.peer, ENDED, False), ended
            assert len(s.host._runtime.tickets) == 0
            await _asked_again(s, ticket)

    run(main(), 60)


def test_revoke_by_the_old_name_reaches_the_session_on_its_new_link() -> None:
    async def main() -> None:
        async with _Setup() as s:
            ticket, old = await _moving(s)
            again, task = await s.join(VIEW | CONTROL, resume=ticket)
            assert again.level == VIEW | CONTROL
            await s.event(SessionResumed)
            await s.host.revoke(CONTROL, old.peer)
            await until(lambda: again.level == VIEW, 10, "control taken back")
            (link,) = s.host._runtime.links
            assert link.level == VIEW
            await again.bye()
            await task

    run(main(), 60)


def test_a_new_connection_is_not_given_a_name_that_still_names_a_session() -> None:
    """The old link gone, its name is free among the links: a connection
    from that address (an agent behind the same NAT, through a relay) must
    not take it, or ``disconnect(THAT_NAME)`` would end both."""

    async def main() -> None:
        async with _Setup() as s:
            ticket, old = await _moving(s)
            again, task = await s.join(VIEW | CONTROL, resume=ticket)
            await s.event(SessionResumed)
            await until(old.finished.is_set, 10, "the old link gone")
            host_end, viewer_end = channel_pair((old.peer, "memory:viewer"))
            serving = asyncio.ensure_future(s.host.serve(viewer_end))
            await until(lambda: len(s.host._runtime.serving) == 2, 10, "served")
            (other,) = [x for x in s.host._runtime.serving if x.who != AGENT]
            assert other.peer == f"{old.peer} #2", other.peer
            await host_end.send(m.encode(m.Bye("")))
            await asyncio.wait_for(serving, 10)
            await again.bye()
            await task

    run(main(), 60)
