"""review38: attacks on resume38's fast take-over of a live link by a
retry that proves it holds that link's key (session/proof.py).

Each test names who holds what and the expected outcome. Real sockets on
loopback: a direct host (takeover_host: its user says yes to the first
question, no to every later one). The settle wait is 2 s here (5 s in the
product).

* an oracle: the agent's own Viewer is made to present its ticket and
  proof to a fake host that knows the code and password (it relays, or
  redirects, the agent's retry); that proof, presented with the ticket on
  the attacker's own connection to the real host, proves nothing: it binds
  the connection it was made on;
* the chain A -> B: once the agent's newer connection took the session over,
  the older link's key (and its ticket, or the new one's bytes) take nothing;
* two retries, each with a valid proof, at once: one gets in, unasked; the
  other is asked about (one yes, one viewer);
* a proven retry of a link the host's user took CONTROL from gets VIEW
  alone; of a link the user stopped (VIEW taken), nothing: it is asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from screencodec.errors import ConsentDeniedError, ScreencodecError
from screencodec.transport import CONTROL, VIEW, Permission, Viewer
from screencodec.transport.channel.base import Channel
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session import link as link_module
from screencodec.transport.session import messages as m
from screencodec.transport.session.events import SessionEnded
from screencodec.transport.session.proof import PROOF_CHANNEL, link_key
from screencodec.transport.session.resume import MOVED, RESUME_CHANNEL, Ticket

from .helpers import run, taking_up, until
from .takeover_host import TIMEOUTS, TakeoverHost, host_for_takeover

_WAIT = 2.0


async def _alice(setup: TakeoverHost) -> tuple[Viewer, asyncio.Task[str], Ticket]:
    """Alice joins (the one yes) and runs: her viewer, its run, her ticket
    (with her live link's key)."""
    alice = Viewer(await setup.connect(), who="Alice")
    await alice.start(VIEW | CONTROL)
    running = asyncio.ensure_future(alice.run())
    await until(lambda: alice.resume_ticket is not None and alice.decoded >= 1, 10, "ticket")
    ticket = alice.resume_ticket
    assert isinstance(ticket, Ticket) and ticket.proof_key is not None
    return alice, running, ticket


async def _try(setup: TakeoverHost, ticket: bytes, who: str = "Mallory",
               level: Permission | None = None) -> tuple[str, Viewer]:  # fmt: skip
    """A Viewer presenting ``ticket`` (its proof, if it holds a key): what
    it got, and the viewer."""
    v = Viewer(await setup.connect(), who=who, resume=ticket)
    try:
        got = await v.start(VIEW | CONTROL if level is None else level)
    except ConsentDeniedError:
        return "refused", v
    return f"granted {got}", v


async def _raw(setup: TakeoverHost, ticket: bytes, proof: bytes) -> str:
    """The attacker's own connection: ``ticket`` and ``proof`` (bytes it
    got elsewhere), asks for view and control: what the host answers first."""
    channel = await setup.connect()
    for msg in (m.Capabilities.legacy(), m.Extension(RESUME_CHANNEL, ticket),
                m.Extension(PROOF_CHANNEL, proof),
                m.PermissionRequest((VIEW | CONTROL).bits, "Mallory")):  # fmt: skip
        await channel.send(m.encode(msg))
    answer = m.decode(await asyncio.wait_for(channel.recv(), 20))
    with contextlib.suppress(ScreencodecError, OSError):
        await channel.close()
    return type(answer).__name__


async def _taken_up(setup: TakeoverHost) -> tuple[Channel, Ticket]:
    """Alice's session away, then taken up with her ticket on a raw link of
    the agent's that reads up to its first update and then nothing (its
    viewer never shows the next ticket): that link, and what the agent
    holds (the ticket it took the session up with, that link's key)."""
    ticket = await setup.first_agent_away()
    holder = await setup.connect()
    for msg in taking_up(ticket, holder, (VIEW | CONTROL).bits):
        await holder.send(m.encode(msg))
    while not isinstance(m.decode(await asyncio.wait_for(holder.recv(), 10)), m.Update):
        pass
    return holder, Ticket(bytes(ticket), proof_key=link_key(holder))


@pytest.mark.parametrize("live", ["its current ticket", "the ticket it was taken up with"])
def test_a_proof_the_agent_made_for_a_fake_host_proves_nothing_on_the_attackers_connection(
        live: str, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Mallory knows the code and password and runs a host of her own; the
    agent's retry reaches her (a redirect, a poisoned relay pairing) and
    sends her its ticket and a valid proof FOR THAT CONNECTION. Presented
    on her connection to the real host: refused after the wait, asked; the
    agent's live link untouched. The live link holds the session with the
    ticket it was given, or (resume38's case) with the one it took the
    session up with, its viewer not shown the next one."""
    monkeypatch.setattr(link_module, "_SETTLE_WAIT", _WAIT)

    async def main() -> None:
        setup = await host_for_takeover("127.0.0.1")
        alice: Viewer | None = None
        if live == "its current ticket":
            alice, running, ticket = await _alice(setup)
        else:
            holder, ticket = await _taken_up(setup)
        (link,) = setup.host._runtime.links
        got: dict[str, bytes] = {}

        async def fake_host(channel: Channel) -> str:
            while True:
                msg = m.decode(await channel.recv())
                if isinstance(msg, m.Extension):
                    got[msg.channel] = msg.payload
                if isinstance(msg, m.PermissionRequest):
                    await channel.close()
                    return "done"

        fake = await listen_direct("127.0.0.1", 0, setup.creds, fake_host)
        agent_retry = Viewer(await connect_direct("127.0.0.1", fake.port, setup.creds.code,
                                                  setup.creds.password, timeouts=TIMEOUTS),
                             who="Alice", resume=ticket)  # fmt: skip
        with contextlib.suppress(ScreencodecError, OSError):
            await agent_retry.start(VIEW | CONTROL, timeout=5)
        with contextlib.suppress(ScreencodecError, OSError):
            await agent_retry.channel.close()
        await until(lambda: PROOF_CHANNEL in got, 10, "the agent's proof at the fake host")
        assert got[RESUME_CHANNEL] == bytes(ticket)

        began = time.monotonic()
        answer = await _raw(setup, got[RESUME_CHANNEL], got[PROOF_CHANNEL])
        took = time.monotonic() - began
        print(f"oracle: {answer} after {took:.3f} s")
        assert answer == "PermissionDeny" and took >= _WAIT - 0.1, (answer, took)
        assert len(setup.asked) == 2
        assert not link.moved and not link.finished.is_set()
        if alice is not None:
            assert not running.done()
            await alice.bye()
            await asyncio.wait_for(running, 10)
        else:
            await holder.close()
        await fake.close()
        await setup.close()

    run(main(), 60)


@pytest.mark.parametrize("presented", ["the older ticket", "the newer ticket's bytes"])
def test_after_a_take_over_the_older_links_key_takes_nothing(
        presented: str, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Alice's newer connection (her ticket and key) took her session over
    from her older one (A -> B). Whoever holds the older link's key (the
    older viewer itself, or its memory) with the older ticket, or with a
    copy of the newer ticket's bytes, gets nothing from B: asked (no), B
    untouched and still served."""
    monkeypatch.setattr(link_module, "_SETTLE_WAIT", _WAIT)

    async def main() -> None:
        setup = await host_for_takeover("127.0.0.1")
        _, running, ticket = await _alice(setup)
        (older,) = setup.host._runtime.links
        outcome, newer = await _try(setup, ticket, who="Alice")
        assert outcome == f"granted {VIEW | CONTROL}" and len(setup.asked) == 1
        newer_running = asyncio.ensure_future(newer.run())
        assert await asyncio.wait_for(running, 10) == f"channel closed: closed by peer: {MOVED}"
        await until(lambda: newer.resume_ticket is not None
                    and bytes(newer.resume_ticket) != bytes(ticket), 10, "B's ticket")  # fmt: skip
        (b_link,) = [k for k in setup.host._runtime.links if k is not older]
        key = ticket.proof_key
        assert key is not None and newer.resume_ticket is not None
        held = (ticket if presented == "the older ticket"
                else Ticket(bytes(newer.resume_ticket), proof_key=key))  # fmt: skip
        began = time.monotonic()
        got, _ = await _try(setup, held)
        took = time.monotonic() - began
        print(f"{presented} with the older key: {got} after {took:.3f} s")
        assert got == "refused", f"found: {got} after {took:.2f} s; expected: refused, asked"
        assert len(setup.asked) == 2
        assert not b_link.moved and not b_link.finished.is_set() and not newer_running.done()
        assert setup.host.viewers == (b_link.peer,)
        await newer.bye()
        await asyncio.wait_for(newer_running, 10)
        await setup.close()

    run(main(), 60)


def test_two_proven_retries_at_once_one_gets_in_unasked_the_other_is_asked(
        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Alice's ticket and key, presented twice at once (two retries of the
    agent's, or a copy of its process's memory beside it): one takes the
    session over unasked, the other is asked about (no); one viewer."""
    monkeypatch.setattr(link_module, "_SETTLE_WAIT", _WAIT)

    async def main() -> None:
        setup = await host_for_takeover("127.0.0.1")
        _, running, ticket = await _alice(setup)
        one = Viewer(await setup.connect(), who="Alice", resume=ticket)
        two = Viewer(await setup.connect(), who="Alice", resume=ticket)
        runs: list[asyncio.Task[str]] = []

        async def go(v: Viewer) -> str:
            try:
                got = await v.start(VIEW | CONTROL)
            except ConsentDeniedError:
                return "refused"
            runs.append(asyncio.ensure_future(v.run()))  # it reads: shows its ticket
            return f"granted {got}"

        outcomes = sorted(await asyncio.gather(go(one), go(two)))
        print(f"two proven at once: {outcomes}, asked {len(setup.asked)}")
        assert outcomes == [f"granted {VIEW | CONTROL}", "refused"], outcomes
        assert len(setup.asked) == 2 and len(setup.host.viewers) == 1
        assert await asyncio.wait_for(running, 10) == f"channel closed: closed by peer: {MOVED}"
        (winner,) = [v for v in (one, two) if v.level]
        await winner.bye()
        await asyncio.wait_for(runs[0], 10)
        await setup.close()

    run(main(), 60)


@pytest.mark.parametrize("taken", ["control", "view"])
def test_a_proven_retry_never_regains_what_the_user_took_from_the_live_link(
        taken: str, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """The host's user took CONTROL back from Alice's live link: her proven
    retry asking view and control gets view alone, unasked. The user
    stopped sharing with her (VIEW taken): the retry is asked (no)."""
    monkeypatch.setattr(link_module, "_SETTLE_WAIT", _WAIT)

    async def main() -> None:
        setup = await host_for_takeover("127.0.0.1")
        alice, running, ticket = await _alice(setup)
        (link,) = setup.host._runtime.links
        await setup.host.revoke(CONTROL if taken == "control" else VIEW, link.peer)
        if taken == "view":
            await asyncio.wait_for(running, 10)
        else:
            await until(lambda: alice.level == VIEW, 10, "told")
        ticket = alice.resume_ticket
        assert isinstance(ticket, Ticket)
        got, again = await _try(setup, ticket, who="Alice")
        print(f"{taken} taken: {got}, asked {len(setup.asked)}")
        if taken == "control":
            assert got == f"granted {VIEW}" and len(setup.asked) == 1, got
            assert not any(isinstance(e, SessionEnded) and not e.moved
                           for e in setup.seen), setup.seen  # fmt: skip
            await again.bye()
            await asyncio.wait_for(running, 10)
        else:
            assert got == "refused" and len(setup.asked) == 2, got
        await setup.close()

    run(main(), 60)


def test_control_taken_back_as_the_old_link_ends_in_a_take_over_is_not_regained() -> None:
    """The host's user takes CONTROL back from Alice (by the name they were
    shown, her old link's) right as her old link ends in a proven
    take-over: on its SessionEnded (moved), before her new link joined.
    Her new link must not hold CONTROL: the user's take-back sticks."""

    async def main() -> None:
        setup = await host_for_takeover("127.0.0.1")
        _, running, ticket = await _alice(setup)
        (old,) = setup.host._runtime.links
        revoked: list[asyncio.Task[None]] = []

        async def on_moved() -> None:
            async for ev in setup.host.events():
                if isinstance(ev, SessionEnded) and ev.moved:
                    revoked.append(asyncio.ensure_future(setup.host.revoke(CONTROL, old.peer)))
                    return

        watching = asyncio.ensure_future(on_moved())
        await asyncio.sleep(0)
        got, again = await _try(setup, ticket, who="Alice")
        await until(lambda: bool(revoked) and revoked[0].done(), 10, "the revoke")
        (link,) = setup.host._runtime.links
        print(f"take-back as the old link ended: {got}, the new link holds {link.level}")
        assert CONTROL not in link.level, (
            f"found: the new link holds {link.level} after the user took CONTROL back; "
            "expected: view alone")
        with contextlib.suppress(ScreencodecError):
            await again.bye()
        await asyncio.wait_for(running, 10)
        watching.cancel()
        await setup.close()

    run(main(), 60)
