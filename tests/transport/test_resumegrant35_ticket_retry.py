"""resumegrant35: the ticket an agent resumed with, on a link lost before
the agent could hold the next one (smallleft35's cut after the grant), and
what someone else who presents it gets (session/resume.py).

Found before: the host spent the ticket as the resumed link claimed it and
gave the next one after its chat hello; a link cut in between (or after the
new ticket went but before the agent read it) left the agent with a spent
ticket, and the host's user, told it may come back unasked, was asked
again. Now the session holds the presented ticket until the agent answers
an update; a second connection presenting it meanwhile waits for that
(then it is asked) or for that link's loss (then it resumes). Real sockets
on loopback: the setup of test_resume.py, and a raw agent that takes the
session up and answers nothing until told to.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from screencodec.errors import ConsentDeniedError, ScreencodecError
from screencodec.transport import VIEW, Permission, Viewer
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import connect_direct
from screencodec.transport.session import link as link_module
from screencodec.transport.session import messages as m
from screencodec.transport.session.events import SessionEnded, SessionResumed
from screencodec.transport.session.resume import ResumeTickets

from .helpers import run, taking_up, until
from .secure_fixtures import FAST
from .test_resume import _granted, _lose, _Setup


async def _take_up(s: _Setup, ticket: bytes) -> tuple[SecureChannel, int]:
    """A raw agent that resumes with ``ticket`` through the proxy and reads
    up to the first update (its new ticket went before it), answering
    nothing: the channel and that update's sequence number."""
    channel = await s.connect()
    for msg in taking_up(ticket, channel, VIEW.bits):
        await channel.send(m.encode(msg))
    seen: list[type] = []
    while True:
        msg = m.decode(await asyncio.wait_for(channel.recv(), 10))
        seen.append(type(msg))
        if isinstance(msg, m.Update):
            assert m.PermissionGrant in seen and m.Extension in seen, seen
            return channel, msg.seq


async def _lost_away(s: _Setup) -> bytes:
    """An agent granted VIEW, its link lost: its ticket."""
    viewer, task = await s.join()
    ticket = await _granted(viewer)
    await _lose(s, viewer, task)
    return ticket


def test_a_link_lost_before_its_agent_held_the_next_ticket_resumes_with_the_old_one() -> None:
    """Taken up with the ticket, lost before answering an update: the agent
    comes back with the same ticket, unasked. Once it answered an update on
    a resumed link, that ticket is refused (the user is asked)."""

    async def main() -> None:
        async with _Setup() as s:
            ticket = await _lost_away(s)
            raw, _ = await _take_up(s, ticket)
            assert isinstance(await s.event(SessionResumed), SessionResumed)
            s.proxy.cut()  # the new ticket went; the agent never showed it has it
            ended = await s.event(SessionEnded)
            assert isinstance(ended, SessionEnded) and ended.resumable == 60.0
            await raw.close()

            again, task = await s.join(resume=ticket)
            assert isinstance(await s.event(SessionResumed), SessionResumed)
            assert len(s.asked) == 1 and again.level == VIEW
            # Its receipt reaches the host: the old ticket is spent for good.
            await until(lambda: s.host._runtime.tickets.unshown() == 0, 10, "shown")
            await _lose(s, again, task)
            s.answer = Permission()
            with pytest.raises(ConsentDeniedError):
                await s.join(resume=ticket)
            assert len(s.asked) == 2 and s.host.viewers == ()

    run(main(), 60)


@pytest.mark.parametrize("first", ["answers an update", "is lost", "stays silent",
                                   "ends with the host's /end"])
def test_one_ticket_on_two_connections_never_lets_both_in(
        first: str, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """The first connection took the session up with the ticket and has
    not answered an update; a second one (direct, not through the proxy
    that cuts the first) presents it too and waits: asked (here: no) once
    the first answers, or after the bounded wait while the first stays live
    and silent; resumed unasked if the first is lost meanwhile. Never two
    viewers from one yes. The host's user ending the session meanwhile ends
    the wait too, with no question."""
    # The bound (5 s), shorter here; long where the wait must end before it.
    wait = 1.0 if first in ("is lost", "stays silent") else 3.0
    monkeypatch.setattr(link_module, "_SETTLE_WAIT", wait)

    async def main() -> None:
        async with _Setup() as s:
            ticket = await _lost_away(s)
            raw, seq = await _take_up(s, ticket)
            s.answer = Permission()
            direct = await connect_direct("127.0.0.1", s.listener.port, s.creds.code,
                                          s.creds.password, timeouts=FAST)  # fmt: skip
            begun = time.monotonic()
            second = Viewer(direct, who="second", resume=ticket)
            joining = asyncio.ensure_future(second.start(VIEW))
            # Whether its ticket is read before or after what the first does
            # next, the outcome is the same (session/link.py _claim).
            await until(lambda: len(s.host._runtime.serving) == 2, 10, "second served")
            if first == "answers an update":
                await raw.send(m.encode(m.Ack(seq)))
            elif first == "is lost":
                s.proxy.cut()
            elif first == "ends with the host's /end":
                await s.host.disconnect()
            if first == "ends with the host's /end":
                with pytest.raises(ScreencodecError):
                    await asyncio.wait_for(joining, 10)
                assert time.monotonic() - begun < wait
                assert len(s.asked) == 1 and s.host.viewers == ()
            elif first == "is lost":
                await asyncio.wait_for(joining, 10)
                assert len(s.asked) == 1 and len(s.host.viewers) == 1
                assert second.level == VIEW
                await second.bye()
            else:
                with pytest.raises(ConsentDeniedError):
                    await asyncio.wait_for(joining, 10)
                took = time.monotonic() - begun
                assert len(s.asked) == 2 and len(s.host.viewers) == 1
                if first == "answers an update":
                    assert took < wait, took  # not the bounded wait: the answer ended it
                else:
                    assert took >= wait, took
            await raw.close()

    run(main(), 60)


def test_the_ticket_a_session_was_taken_up_with_is_held_until_shown() -> None:
    now = [0.0]
    tickets = ResumeTickets(10.0, clock=lambda: now[0])
    one, two, three = object(), object(), object()
    # The secrets of the links one, two and three (session/proof.py): a
    # parked session is claimed only by a proof made with one kept with it.
    k1, k2, k3 = b"1" * 32, b"2" * 32, b"3" * 32

    def by(key: bytes) -> Callable[[bytearray], bool]:
        return lambda kept: kept == key

    first = tickets.issue(one, "a", VIEW, 0, 0.0, key=k1)
    assert first is not None and tickets.park(one, VIEW, 0) == 10.0
    assert tickets.claim(first, two, "peer two") is None  # no proof (parked38)
    assert tickets.claim(first, two, "peer two", proves=by(k1), key=k2) is not None
    held = tickets.held_by(two)
    assert tickets.settling(first) is two and held is not None and held.peer == "peer two"
    # Live and not shown: another connection does not take it.
    assert tickets.claim(first, three) is None and tickets.unknown == 2
    second = tickets.issue(two, "a", VIEW, 0, 0.0, key=k2)
    assert second is not None and tickets.unshown() == 1
    assert tickets.park(two, VIEW, 0) == 10.0  # lost before it showed it
    assert len(tickets.parked()) == 1
    # The agent's retry: its ticket keyed by link one (it did not read the
    # grant on two) or by two (it did); a copy's proof of no kept key fails.
    assert tickets.claim(first, three, proves=by(k3)) is None
    assert tickets.claim(first, three, proves=by(k1), key=k3) is not None
    third = tickets.issue(three, "a", VIEW, 0, 0.0, key=k3)
    assert third is not None
    tickets.shown(three)
    assert tickets.unshown() == 0 and tickets.settling(first) is None
    assert tickets.park(three, VIEW, 0) == 10.0
    assert tickets.claim(first, proves=by(k3)) is None
    assert tickets.claim(second, proves=by(k3)) is None
    # Shown: the keys of the links before three are not kept any more.
    assert tickets.claim(third, proves=by(k1)) is None and len(tickets) == 1
    assert tickets.claim(third, proves=by(k3)) is not None and len(tickets) == 0
