"""review38: a copy of a LIVE session's current ticket (and the password)
must not take the session from the real agent unasked.

The agent's viewer is there and reading; it holds the ticket the host gave
it on its link. An attacker holds a copy of that ticket's bytes (an
embedder kept it as plain bytes, a log, a backup) and the password, but not
the link's key, which never leaves the agent's process (session/proof.py).
Found on main: the copy's connection took the session over at once, unasked
(resume.claim matched a session's current ticket whoever held it; only the
ticket a link took the session UP with waited for that link, step 5 of
docs/transport.md's resume steps), and the agent read "a newer connection of
yours took this session over". Expected: the copy waits for the live link
(the settle wait), which does not end, and is asked about (here: no); the
agent keeps its session and its pictures.

Direct on loopback, and through the real relay.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Awaitable, Callable

import pytest

from screencodec.errors import ConsentDeniedError, ScreencodecError
from screencodec.transport import CONTROL, VIEW, Viewer
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import listen_direct
from screencodec.transport.session import link as link_module
from screencodec.transport.session.events import SessionEnded, SessionResumed
from screencodec.transport.session.permissions import ConsentRequest, Grant
from screencodec.transport.session.resume import Ticket

from .helpers import ended_lost, run, until
from .takeover_host import TakeoverHost, host_for_takeover, reset
from .test_resume38_proven import _RelaySetup

_WAIT = 2.0  # link._SETTLE_WAIT here (5 s in the product)


@pytest.mark.parametrize("path", ["direct", "relay"])
def test_a_copy_of_a_live_sessions_ticket_waits_and_is_asked_the_agent_keeps_it(
        path: str, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setattr(link_module, "_SETTLE_WAIT", _WAIT)

    async def main() -> None:
        if path == "direct":
            setup = await host_for_takeover("127.0.0.1")
            host, asked, seen, connect = setup.host, setup.asked, setup.seen, setup.connect
            closing = setup.close
        else:
            relayed = _RelaySetup()
            await relayed.__aenter__()
            host, asked, seen, connect = (relayed.host, relayed.asked, relayed.seen,
                                          relayed.connect)  # fmt: skip

            async def closing() -> None:
                await relayed.__aexit__(None, None, None)

        alice = Viewer(await connect(), who="Alice")
        await alice.start(VIEW | CONTROL)
        running = asyncio.ensure_future(alice.run())
        await until(lambda: alice.resume_ticket is not None and alice.decoded >= 1, 10,
                    "ticket")  # fmt: skip
        ticket = alice.resume_ticket
        assert isinstance(ticket, Ticket) and ticket.proof_key is not None
        (link,) = host._runtime.links

        began = time.monotonic()
        mallory = Viewer(await connect(), who="Mallory", resume=bytes(ticket))
        try:
            level = await mallory.start(VIEW | CONTROL)
        except ConsentDeniedError:
            outcome = "refused"
        else:
            outcome = f"granted {level}"
        took = time.monotonic() - began
        with contextlib.suppress(ScreencodecError, OSError):
            await mallory.channel.close()  # granted (the hole): not left open
        print(f"{path}: copy {outcome} after {took:.3f} s, asked {len(asked)}")
        assert outcome == "refused", (
            f"found: the copy was {outcome} after {took:.2f} s, the host's user asked "
            f"{len(asked)} time(s); expected: refused after the settle wait, asked")
        assert len(asked) == 2 and asked[1].who == "Mallory"
        assert took >= _WAIT - 0.1, took
        # The agent keeps its session: not moved, still served, still decoding.
        assert not link.moved and not link.finished.is_set() and not running.done()
        assert host.viewers == (link.peer,)
        assert not any(isinstance(e, SessionEnded) and e.moved for e in seen)
        before = alice.decoded
        await until(lambda: alice.decoded > before, 10, "Alice still gets pictures")
        await alice.bye()
        await asyncio.wait_for(running, 10)
        await closing()

    run(main(), 60)


class _Away:
    """A host whose user says yes to the first question and then what
    ``later`` says (no by default); Alice joins and her link is reset:
    the session is away (parked). Direct on loopback, or through the real
    relay (its agent side cut at the proxy)."""

    def __init__(self, path: str, later: bool = False) -> None:
        self.path, self.later = path, later

    async def __aenter__(self) -> _Away:
        later = self.later
        if self.path == "direct":
            class _Host(TakeoverHost):
                async def _consent(self, request: ConsentRequest) -> Grant:
                    self.asked.append(request)
                    yes = len(self.asked) == 1 or later
                    return Grant(request.level) if yes else Grant.deny()

            direct = _Host()
            direct.listener = await listen_direct("127.0.0.1", 0, direct.creds,
                                                  direct.host.serve)  # fmt: skip
            self.host, self.asked, self.seen = direct.host, direct.asked, direct.seen
            self.connect, self._close = direct.connect, direct.close
            self._direct = direct
            self.ticket = await direct.first_agent_away()
            return self
        relayed = self._relayed = _RelaySetup()
        await relayed.__aenter__()
        if later:
            relayed.host._runtime.consent = _yes(relayed.asked)
        self.host, self.asked, self.seen = relayed.host, relayed.asked, relayed.seen
        self.connect = relayed.connect

        async def closing() -> None:
            await relayed.__aexit__(None, None, None)

        self._close = closing
        first = Viewer(await relayed.connect(), who="Alice")
        await first.start(VIEW | CONTROL)
        running = asyncio.ensure_future(first.run())
        await until(lambda: first.resume_ticket is not None and first.decoded >= 1, 10,
                    "ticket")  # fmt: skip
        ticket = first.resume_ticket
        assert isinstance(ticket, Ticket)
        relayed.proxy.cut()
        await ended_lost(first, running)
        await until(lambda: any(e.resumable for e in relayed.ended()), 10, "away")
        self.ticket = ticket
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._close()


def _yes(asked: list[ConsentRequest]) -> Callable[[ConsentRequest], Awaitable[Grant]]:
    async def consent(request: ConsentRequest) -> Grant:
        asked.append(request)
        return Grant(request.level)

    return consent


async def _start(viewer: Viewer) -> str:
    try:
        return f"granted {await viewer.start(VIEW | CONTROL)}"
    except ConsentDeniedError:
        return "refused"


@pytest.mark.parametrize("copy", ["the bytes", "another key"])
@pytest.mark.parametrize("path", ["direct", "relay"])
def test_a_copy_of_an_away_sessions_ticket_is_asked_about_the_agent_resumes(
        path: str, copy: str) -> None:  # fmt: skip
    """parked38. Found on main (review38's strict xfail): while the session
    was away, a copy of its ticket with the password resumed it unasked, as
    Alice (view and control), and Alice's own retry found the ticket spent
    and was asked. Expected: the copy (the ticket's bytes alone, or with a
    proof made with a key that is not the lost link's) is asked about, as a
    new request (here: no), the session stays parked; Alice's retry, whose
    proof verifies against the key the host kept with the ticket, resumes
    unasked with her levels, and gets pictures."""

    async def main() -> None:
        async with _Away(path) as s:
            ticket = s.ticket
            assert isinstance(ticket, Ticket) and ticket.proof_key is not None
            bytes_ = bytes(ticket)
            held = (bytes_ if copy == "the bytes"
                    else Ticket(bytes_, proof_key=secrets.token_bytes(32)))  # fmt: skip
            mallory = Viewer(await s.connect(), who="Mallory", resume=held)
            got = await _start(mallory)
            parked = len(s.host._runtime.tickets.parked())
            agent = Viewer(await s.connect(), who="Alice", resume=ticket)
            back = await _start(agent)
            print(f"{path}, {copy}: the copy {got}, the agent {back}, "
                  f"asked {[a.who for a in s.asked]}")  # fmt: skip
            assert (got, back) == ("refused", f"granted {VIEW | CONTROL}"), (
                f"found: the copy {got}, the agent's own retry {back}")
            assert [a.who for a in s.asked] == ["Alice", "Mallory"]
            assert parked == 1  # left for its agent
            resumed = [e for e in s.seen if isinstance(e, SessionResumed)]
            assert [(e.who, e.level) for e in resumed] == [("Alice", VIEW | CONTROL)]
            task = asyncio.ensure_future(agent.run())
            await until(lambda: agent.decoded >= 1, 10, "Alice's pictures")
            assert agent.resume_ticket is not None and agent.resume_ticket.proof_key
            await agent.bye()
            await asyncio.wait_for(task, 10)

    run(main(), 60)


def test_a_copy_the_user_lets_in_is_a_new_session_the_away_one_stays_for_its_agent() -> None:
    """The host's user says yes to the copy's request (they took it for
    their agent, say): the copy is a new session, with what the user gave
    it, under its own name; the away session stays parked for its window,
    and the agent's retry with its proof still resumes it unasked."""

    async def main() -> None:
        async with _Away("direct", later=True) as s:
            ticket = s.ticket
            mallory = Viewer(await s.connect(), who="Mallory", resume=bytes(ticket))
            assert await _start(mallory) == f"granted {VIEW | CONTROL}"
            assert [a.who for a in s.asked] == ["Alice", "Mallory"]
            assert not any(isinstance(e, SessionResumed) for e in s.seen)
            assert len(s.host._runtime.tickets.parked()) == 1
            agent = Viewer(await s.connect(), who="Alice", resume=ticket)
            assert await _start(agent) == f"granted {VIEW | CONTROL}"
            assert len(s.asked) == 2  # not asked again
            (back,) = [e for e in s.seen if isinstance(e, SessionResumed)]
            assert back.who == "Alice" and len(s.host.viewers) == 2
            for v in (mallory, agent):
                await v.bye()

    run(main(), 60)


def test_a_copy_waiting_for_a_live_link_that_is_then_lost_is_asked_the_agent_resumes(
        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """The copy of a live session's ticket waits for the live link (above);
    whoever holds it also resets the agent's link meanwhile. Before
    parked38 the session, parked then, resumed for the copy unasked, as the
    agent. Now the copy is asked about (no), the session stays parked, and
    the agent's retry with its proof resumes it unasked."""
    monkeypatch.setattr(link_module, "_SETTLE_WAIT", _WAIT)

    async def main() -> None:
        setup = await host_for_takeover("127.0.0.1")
        alice = Viewer(await setup.connect(), who="Alice")
        await alice.start(VIEW | CONTROL)
        running = asyncio.ensure_future(alice.run())
        await until(lambda: alice.resume_ticket is not None and alice.decoded >= 1, 10,
                    "ticket")  # fmt: skip
        ticket = alice.resume_ticket
        assert isinstance(ticket, Ticket) and isinstance(alice.channel, SecureChannel)
        mallory = Viewer(await setup.connect(), who="Mallory", resume=bytes(ticket))
        copying = asyncio.ensure_future(_start(mallory))
        await asyncio.sleep(0.3)  # the copy waits for Alice's live link
        reset(alice.channel)
        await asyncio.wait_for(running, 10)
        got = await copying
        parked = len(setup.host._runtime.tickets.parked())
        agent = Viewer(await setup.connect(), who="Alice", resume=ticket)
        back = await _start(agent)
        print(f"waiting copy: {got}, the agent {back}, asked {[a.who for a in setup.asked]}")
        assert (got, back) == ("refused", f"granted {VIEW | CONTROL}")
        assert [a.who for a in setup.asked] == ["Alice", "Mallory"] and parked == 1
        await agent.bye()
        await setup.close()

    run(main(), 60)


def test_a_live_sessions_current_ticket_is_claimed_only_with_its_holders_proof() -> None:
    """resume.ResumeTickets alone: the ticket a live link was given names
    that link (holding) and claims nothing without that link proven (found
    on main: claimed, the live holder taken over); proven, it is claimed;
    parked, the ticket alone claims nothing (parked38): only with a proof
    made with the key kept with it, and then it is left parked until then."""
    from screencodec.transport.session.resume import ResumeTickets

    tickets = ResumeTickets(60.0, clock=lambda: 0.0)
    live, copy, other = object(), object(), object()
    ticket = tickets.issue(live, "Alice", VIEW | CONTROL, 0, 0.0, key=b"k" * 32)
    assert ticket is not None
    assert tickets.holding(ticket) is live and tickets.settling(ticket) is None
    assert tickets.claim(ticket, copy, "copy") is None and tickets.unknown == 1
    assert tickets.claim(ticket, copy, "copy", proven=other) is None
    assert tickets.held_by(live) is not None  # untouched
    claimed = tickets.claim(ticket, copy, "agent", proven=live, key=b"c" * 32)
    assert claimed is not None and claimed.holder is live
    assert tickets.held_by(copy) is not None and tickets.holding(ticket) is None
    # Parked now: no proof, or one of another key, claims nothing; the key
    # the host kept does (here: the claimant's link's, given at the claim).
    kept = tickets.held_by(copy)
    assert kept is not None and [bytes(k) for k in kept._keys] == [b"c" * 32, b"k" * 32]
    buffers = kept._keys
    assert tickets.park(copy, VIEW | CONTROL, 0) == 60.0
    assert tickets.claim(ticket, other, "copy") is None
    assert tickets.claim(ticket, other, "copy", proves=lambda k: k == b"x" * 32) is None
    assert len(tickets.parked()) == 1 and tickets.unknown == 4
    back = tickets.claim(ticket, other, "agent", proves=lambda k: k == b"k" * 32)
    assert back is not None and not tickets.parked() and not back._keys
    # Spent (the session goes on elsewhere): the keys it kept are zeroed.
    tickets.forget(other)
    assert all(bytes(k) == bytes(32) for k in buffers) and len(tickets) == 0
