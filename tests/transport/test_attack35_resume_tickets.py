"""attack35: the resume-ticket rules of resumegrant35 (session/resume.py),
attacked.

Since resumegrant35 a claim moves the session to the link presenting the
ticket, and the presented ticket lives on until the agent answers an update
there; a second connection presenting it meanwhile waits (at most
``_SETTLE_WAIT``). Each test is an attack by someone who knows the code,
or who also holds the password and a ticket (a former agent), or who can
cut the agent's link at chosen moments, and names what must happen. Real
sockets on loopback: the setup of test_resume.py, a raw agent that answers
nothing until told to, and an X server that is slow to answer the join
(its layout held: the host claims, then waits there before its grant).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from screencodec.errors import ConsentDeniedError
from screencodec.transport import VIEW, Permission
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.session import link as link_module
from screencodec.transport.session import messages as m
from screencodec.transport.session.events import SessionEnded, SessionResumed
from screencodec.transport.session.proof import link_key
from screencodec.transport.session.resume import RESUME_CHANNEL, Ticket

from .helpers import run, taking_up, until
from .test_resume import _granted, _lose, _Setup


async def _raw_resume(s: _Setup, ticket: bytes) -> SecureChannel:
    """A raw agent's connection (through the proxy) that presents ``ticket``
    and asks to view, then reads nothing."""
    channel = await s.connect()
    for msg in taking_up(ticket, channel, VIEW.bits):
        await channel.send(m.encode(msg))
    return channel


async def _read_to_update(channel: SecureChannel) -> tuple[bytes, int]:
    """Read up to the first update: the new ticket that went before it, and
    that update's sequence number."""
    ticket = b""
    while True:
        msg = m.decode(await asyncio.wait_for(channel.recv(), 10))
        if isinstance(msg, m.Extension) and msg.channel == RESUME_CHANNEL:
            ticket = msg.payload
        if isinstance(msg, m.Update):
            assert ticket, "no ticket before the first update"
            return ticket, msg.seq


class _SlowScreen:
    """The host's screen hub answering the join's layout only once let go
    (an X server slow to answer): the join waits between its claim and its
    grant."""

    def __init__(self, s: _Setup) -> None:
        self.hub = s.host._runtime.hub
        self.layout = self.hub.layout
        self.go = asyncio.Event()
        self.waiting = 0

    async def held(self, index: int) -> Any:
        self.waiting += 1
        await self.go.wait()
        return await self.layout(index)

    def __enter__(self) -> _SlowScreen:
        self.hub.layout = self.held
        return self

    def __exit__(self, *exc: object) -> None:
        self.hub.layout = self.layout


async def _away(s: _Setup) -> tuple[bytes, SessionEnded]:
    """Alice granted VIEW, her link lost: her ticket, and the end the
    host's user was told."""
    viewer, task = await s.join()
    ticket = await _granted(viewer)
    ended = await _lose(s, viewer, task)
    assert ended.who == "Alice (support)" and ended.resumable > 0
    return ticket, ended


async def _cut_before_rejoining(s: _Setup, ticket: bytes) -> SessionEnded:
    """A connection takes the session up with ``ticket`` and is cut while
    the host waits for the screen, after its claim and before its grant:
    the end the host tells of."""
    with _SlowScreen(s) as slow:
        raw = await _raw_resume(s, ticket)
        await until(lambda: slow.waiting == 1, 10, "claimed, held before the grant")
        assert s.host._runtime.tickets.parked() == []  # taken up
        s.proxy.cut()
        await asyncio.sleep(0)
        slow.go.set()
        ended = await s.event(SessionEnded)
    await raw.close()
    assert isinstance(ended, SessionEnded)
    return ended


def test_a_connection_cut_before_it_rejoined_leaves_the_session_away_as_the_user_was_told(
) -> None:  # fmt: skip
    """A network attacker cuts the agent's (or a ticket holder's) new
    connection after the host claimed the session and before its grant.
    The session is away as it was: under the peer name and agent's name
    the host's user was told (so that ``disconnect(peer)`` of the agent
    away still ends it), and for no longer than the window it had then.
    Found before the fix: its end named the cut connection's address and
    no agent ("" who), the session stayed parked under that address, and
    its window started again (the CLI had said 'may reconnect within 3 s',
    then 'did not come back ... can no longer come back without asking
    you', yet the ticket resumed unasked after that)."""

    async def main() -> None:
        async with _Setup(resume_window=3.0) as s:
            ticket, first = await _away(s)
            lost_at = time.monotonic()
            await asyncio.sleep(1.5)  # half its window: the agent's retry, late
            ended = await _cut_before_rejoining(s, ticket)
            assert (ended.peer, ended.who) == (first.peer, first.who), ended
            assert 0 < ended.resumable <= 3.0 - (time.monotonic() - lost_at) + 0.2, ended
            parked = s.host._runtime.tickets.parked()
            assert [p.peer for p in parked] == [first.peer]
            # Past the window told at the first loss: asked (here: no).
            await asyncio.sleep(max(0.0, lost_at + 3.2 - time.monotonic()))
            s.answer = Permission()
            with pytest.raises(ConsentDeniedError):
                await s.join(resume=ticket)
            assert len(s.asked) == 2

    run(main(), 60)


def test_the_user_ending_the_agent_away_by_name_holds_after_a_cut_rejoin() -> None:
    """The host's user (an API's ``disconnect(peer)``) ends the agent who
    is away, by the peer name it was told, after a connection with her
    ticket was cut before it rejoined: her ticket opens nothing more.
    Found before the fix: the session was parked under the cut
    connection's address, the disconnect matched nothing, and the ticket
    resumed unasked."""

    async def main() -> None:
        async with _Setup() as s:
            ticket, first = await _away(s)
            await _cut_before_rejoining(s, ticket)
            await s.host.disconnect(first.peer)
            assert s.host._runtime.tickets.parked() == []
            s.answer = Permission()
            with pytest.raises(ConsentDeniedError):
                await s.join(resume=ticket)
            assert len(s.asked) == 2 and s.host.viewers == ()

    run(main(), 60)


def test_no_earlier_ticket_of_a_session_ever_comes_back() -> None:
    """A former agent keeps every ticket it was given. After a resume
    shown (answered) and one lost unshown, only the ticket that resumed
    last (and the one it was given there) work: the first is refused."""

    async def main() -> None:
        async with _Setup() as s:
            first, _ = await _away(s)
            # Taken up with the first; answered there (shown); lost.
            raw = await _raw_resume(s, first)
            second, seq = await _read_to_update(raw)
            # What a Viewer granted on that link keeps (session/proof.py).
            second = Ticket(second, proof_key=link_key(raw))
            await raw.send(m.encode(m.Ack(seq)))
            await until(lambda: s.host._runtime.tickets.unshown() == 0, 10, "shown")
            s.proxy.cut()
            assert isinstance(await s.event(SessionEnded), SessionEnded)
            # Taken up with the second; lost before answering.
            raw2 = await _raw_resume(s, second)
            third, _ = await _read_to_update(raw2)
            held = Ticket(second, proof_key=link_key(raw2))  # re-keyed at its grant
            s.proxy.cut()
            assert (await s.event(SessionEnded)).resumable > 0  # type: ignore[attr-defined]
            await raw.close()
            await raw2.close()
            s.answer = Permission()
            with pytest.raises(ConsentDeniedError):
                await s.join(resume=first)
            assert len(s.asked) == 2
            s.answer = None
            again, task = await s.join(resume=held)  # the agent's retry
            assert isinstance(await s.event(SessionResumed), SessionResumed)
            assert len(s.asked) == 2 and again.level == VIEW
            await again.bye()
            await task
            assert third != second

    run(main(), 60)


@pytest.mark.parametrize("then", ["the agent answers", "the agent stays silent"])
def test_a_flood_of_connections_with_the_presented_ticket_waits_bounded_and_gets_nothing(
        then: str, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """A former agent with the password and the ticket the agent just took
    the session up with opens as many connections as the host lets one
    address (10 a minute) while the agent has not answered there: each
    waits at most the bound, none gets in, each is asked about (no), and
    none of their waits is left behind; the agent's session goes on."""
    # Long enough that every flood is waiting at once (flake48c: on a loaded
    # machine the six connections took 2.9-3.2 s, and with a 1.5 s bound the
    # first was turned away before the last came), and that none could have
    # waited its bound out by the agent's answer: that answer ends every
    # wait at once, timed from it (timed from before the connections, the
    # 1.5 s bound read 2.9 s).
    wait = 8.0
    monkeypatch.setattr(link_module, "_SETTLE_WAIT", wait)
    copies = 6

    async def main() -> None:
        async with _Setup() as s:
            ticket, _ = await _away(s)
            agent = await _raw_resume(s, ticket)
            _, seq = await _read_to_update(agent)
            s.answer = Permission()
            tasks_before = len(asyncio.all_tasks())
            begun = time.monotonic()
            floods: list[SecureChannel] = []
            try:
                for _ in range(copies):
                    floods.append(await _raw_resume(s, ticket))
                await until(lambda: len(s.host._runtime.serving) == 1 + copies, 10,
                            "all waiting")  # fmt: skip
                # Each flood's wait began before this (it is served).
                waiting = time.monotonic()
                waiting_tasks = len(asyncio.all_tasks()) - tasks_before
                if then == "the agent answers":
                    await agent.send(m.encode(m.Ack(seq)))
                denied = 0
                for flood in floods:
                    while True:
                        msg = m.decode(await asyncio.wait_for(flood.recv(), 2 * wait))
                        if isinstance(msg, m.PermissionDeny):
                            denied += 1
                            break
                        assert not isinstance(msg, m.PermissionGrant | m.Update), msg
                done = time.monotonic()
                took = done - begun
                assert denied == copies and len(s.asked) == 1 + copies
                if then == "the agent answers":  # none waited its bound out
                    assert done - waiting < wait / 2, (done - waiting, took)
                else:  # each waited its bound, and no more
                    assert wait <= took and done - waiting < wait + 2.0, (done - waiting, took)
                assert len(s.host.viewers) == 1
            finally:  # closed even on a failure (its sockets: another test's warnings)
                for flood in floods:
                    await flood.close()
            await until(lambda: len(s.host._runtime.serving) == 1, 10, "floods gone")
            left = len(asyncio.all_tasks()) - tasks_before
            print(f"{then}: {copies} waited {took:.2f} s; tasks while waiting"
                  f" +{waiting_tasks}, after +{left}")
            assert left <= 0, left
            await agent.close()

    run(main(), 60)
