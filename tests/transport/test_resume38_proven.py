"""resume38: the agent's retry that proves it holds the live link's key
takes the session over from that link at once, unasked, through a relay too.

The agent's session was taken up again (resumed) on a link, and that link
died on the agent's side before its first receipt, while the host still
takes it for live: the ticket it resumed with is the only one the agent
holds. Its retry presents that ticket with a proof made with the live
link's key (session/proof.py), bound to the new connection. Before: the
host waited up to 5 s for that link, probing it only on a direct TCP link
on Linux (session/silent.py); through a relay (whose TCP acknowledges for
the agent) the retry waited the 5 s and the host's user was asked again
(here: no). Now the proof alone takes the session over: the old link gets
the taken-over end (resume.MOVED), what it held goes on.

Real sockets on loopback: a real relay (transport.relay.Relay), the host
registered at it, and the agent's connections through test_resume's
LinkProxy in front of the relay (which the test cuts, or abandons: the
agent's side gone, the relay's side open and silent, so the relay goes on
taking what the host sends).
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.errors import ConsentDeniedError, SessionClosedError
from screencodec.transport import CONTROL, VIEW, Host, Viewer
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import connect_via_relay, host_via_relay
from screencodec.transport.input.recording import RecordingInjector
from screencodec.transport.relay import Relay
from screencodec.transport.session import messages as m
from screencodec.transport.session.consent import ConsentRequest
from screencodec.transport.session.events import Event, SessionEnded, SessionResumed
from screencodec.transport.session.permissions import Grant
from screencodec.transport.session.proof import link_key
from screencodec.transport.session.resume import MOVED, Ticket

from .helpers import LinkProxy, ended_lost, run, taking_up, until
from .secure_fixtures import FAST

#: What the retry may take here at most: the old behaviour waited the whole
#: settle wait (5 s) and then asked the host's user, which fails this by
#: far; a loaded machine has room under it.
_GENEROUS = 4.0


class _RelaySetup:
    """A host registered at a real relay; the agent reaches the relay
    through a proxy. The host's user says yes to the first question and no
    to every later one (``asked``); the host's events in ``seen``."""

    def __init__(self) -> None:
        self.creds = SessionCredentials()
        self.asked: list[ConsentRequest] = []
        self.seen: list[Event] = []

        async def consent(request: ConsentRequest) -> Grant:
            self.asked.append(request)
            return Grant(request.level) if len(self.asked) == 1 else Grant.deny()

        self.host = Host(SyntheticDesktop(160, 120, scenario="typing", seed=3),
                         consent=consent, injector=RecordingInjector())  # fmt: skip

    async def __aenter__(self) -> _RelaySetup:
        self.relay = Relay()
        await self.relay.start()
        self.reg = await host_via_relay("127.0.0.1", self.relay.port, self.creds,
                                        self.host.serve, timeouts=FAST)  # fmt: skip
        await self.reg.wait_registered(10)
        self.proxy = LinkProxy(self.relay.port)
        await self.proxy.start()
        self._noting = asyncio.ensure_future(self._note())
        return self

    async def _note(self) -> None:
        async for ev in self.host.events():
            self.seen.append(ev)

    async def __aexit__(self, *exc: object) -> None:
        self._noting.cancel()
        await self.proxy.close()
        await self.reg.close()
        await self.host.close()
        await self.relay.close()

    async def connect(self) -> SecureChannel:
        """An agent's connection, through the proxy and the relay."""
        return await connect_via_relay("127.0.0.1", self.proxy.port, self.creds.code,
                                       self.creds.password, timeouts=FAST)  # fmt: skip

    def ended(self) -> list[SessionEnded]:
        return [e for e in self.seen if isinstance(e, SessionEnded)]


async def _resumed_and_dropped(s: _RelaySetup) -> tuple[SecureChannel, Ticket]:
    """Alice joins (the one yes) and her link is cut; her session is taken up
    again with her ticket on a new link, which reads up to the first update
    and answers nothing: the host's live link, its viewer not yet shown to
    hold the next ticket. That link's agent side, and what the agent holds
    for its retry (the ticket it resumed with, and that link's key)."""
    first = Viewer(await s.connect(), who="Alice")
    await first.start(VIEW | CONTROL)
    running = asyncio.ensure_future(first.run())
    await until(lambda: first.resume_ticket is not None and first.decoded >= 1, 10, "ticket")
    ticket = first.resume_ticket
    assert isinstance(ticket, Ticket) and ticket.proof_key is not None
    s.proxy.cut()
    await ended_lost(first, running)
    await until(lambda: any(e.resumable for e in s.ended()), 10, "away")

    resumed = await s.connect()
    for msg in taking_up(ticket, resumed, (VIEW | CONTROL).bits):
        await resumed.send(m.encode(msg))
    while not isinstance(m.decode(await asyncio.wait_for(resumed.recv(), 10)), m.Update):
        pass
    await until(lambda: any(isinstance(e, SessionResumed) for e in s.seen), 10, "resumed")
    assert len(s.asked) == 1
    # What a Viewer granted on that link keeps (session/proof.py).
    return resumed, Ticket(bytes(ticket), hold=ticket.hold, proof_key=link_key(resumed))


async def _read_to_end(channel: SecureChannel) -> str:
    """Read what is left on ``channel`` (what the host sent while it was
    not read) up to its end: why it ended, as Viewer.run says it."""
    try:
        while True:
            await asyncio.wait_for(channel.recv(), 10)
    except SessionClosedError as exc:
        return f"channel closed: {exc}"


@pytest.mark.parametrize("old", ["dropped", "held open"])
def test_the_agents_retry_with_its_proof_takes_the_session_over_at_once_through_a_relay(
        old: str) -> None:  # fmt: skip
    """``dropped``: the old link's agent side is gone and its relay side open
    and silent (the relay takes what the host sends). ``held open``: the
    old link's agent is there but reads nothing (the agent runs two viewers
    of the same saved session): it reads, afterwards, that it was taken
    over. Found on main: refused after 5.0 s, the host's user asked a
    second time (and said no), the old link untouched."""

    async def main() -> None:
        async with _RelaySetup() as s:
            holder, held = await _resumed_and_dropped(s)
            (link,) = s.host._runtime.links
            if old == "dropped":
                s.proxy.abandon()
            began = time.monotonic()
            again = Viewer(await s.connect(), who="Alice", resume=held)
            try:
                level = await again.start(VIEW | CONTROL)
            except ConsentDeniedError as exc:
                pytest.fail(f"refused after {time.monotonic() - began:.2f} s, asked "
                            f"{len(s.asked)} times: {exc}")  # fmt: skip
            took = time.monotonic() - began
            print(f"{old}: granted {level} after {took:.3f} s")
            assert level == VIEW | CONTROL and len(s.asked) == 1  # not asked again
            assert took < _GENEROUS, took
            task = asyncio.ensure_future(again.run())
            await until(lambda: again.decoded >= 1, 10, "a picture")
            # The old link got the taken-over end; the session goes on here.
            assert link.moved and link.finished.is_set()
            moved = [e for e in s.ended() if e.moved]
            assert [(e.peer, e.reason) for e in moved] == [(link.peer, MOVED)], s.seen
            back = [e for e in s.seen if isinstance(e, SessionResumed)][-1]
            assert (back.who, back.was, back.level) == ("Alice", link.peer, VIEW | CONTROL)
            assert s.host.viewers == (back.peer,)  # one yes, one viewer
            if old == "held open":
                end = await _read_to_end(holder)
                assert end == f"channel closed: closed by peer: {MOVED}", end
            await again.bye()
            await asyncio.wait_for(task, 10)
            with contextlib.suppress(SessionClosedError):
                await holder.close()

    run(main(), 60)


def test_a_copy_of_the_ticket_through_a_relay_still_waits_and_is_asked() -> None:
    """The same dropped link, and the ticket's bytes alone (no proof: a copy,
    or a viewer of an earlier version): the whole settle wait, then the
    host's user is asked (no); the old link is not taken over."""

    async def main() -> None:
        async with _RelaySetup() as s:
            holder, held = await _resumed_and_dropped(s)
            (link,) = s.host._runtime.links
            s.proxy.abandon()
            began = time.monotonic()
            copy = Viewer(await s.connect(), who="Mallory", resume=bytes(held))
            with pytest.raises(ConsentDeniedError):
                await copy.start(VIEW | CONTROL)
            took = time.monotonic() - began
            print(f"copy: refused after {took:.3f} s")
            assert took >= 4.5, took  # link._SETTLE_WAIT (5 s)
            assert len(s.asked) == 2 and not link.moved and not link.finished.is_set()
            assert not any(e.moved for e in s.ended())
            with contextlib.suppress(SessionClosedError):
                await holder.close()

    run(main(), 60)


def test_a_viewer_taken_over_by_the_agents_newer_connection_says_so_not_an_error() -> None:
    """Two viewers of one saved session (its ticket passed on while the
    first still runs): the newer one is let in unasked, and the older one's
    run ends, not as a lost link (it does not reconnect), with words that
    say its session went on over a newer connection of the agent's: in the
    terminal (view's end line) and in the web page's banner."""
    from screencodec.cli.view_ending import TAKEN_OVER, ended_words
    from screencodec.web.run import _ended_text

    async def main() -> None:
        async with _RelaySetup() as s:
            older = Viewer(await s.connect(), who="Alice")
            await older.start(VIEW | CONTROL)
            running = asyncio.ensure_future(older.run())
            await until(lambda: older.resume_ticket is not None and older.decoded >= 1, 10,
                        "ticket")  # fmt: skip
            newer = Viewer(await s.connect(), who="Alice", resume=older.resume_ticket)
            assert await newer.start(VIEW | CONTROL) == VIEW | CONTROL
            reason = await asyncio.wait_for(running, 10)
            assert len(s.asked) == 1 and not older.link_lost, reason
            assert reason == f"channel closed: closed by peer: {MOVED}", reason
            assert ended_words(reason) == f"session ended: {TAKEN_OVER}"
            assert TAKEN_OVER == ("a newer connection of yours took this session over"
                                  " (the same session, resumed elsewhere)")
            assert _ended_text(reason) == (
                "The session has ended here: a newer connection of yours took it over"
                " (the same session, resumed elsewhere).")
            await newer.bye()

    run(main(), 60)

