"""attack36: a replayed resume ticket against the live link that took the
session up with it, with no proxy between that link and the host (the host's
TCP peer is the agent's own kernel: test_takeover36_silent's live links go
through test_resume's proxy, whose TCP acknowledges for the agent).

The attacker holds the password and a copy of the ticket the agent just
took its session up with; the agent's program reads nothing (busy: it has
not answered an update yet). Several copies are presented at once (can
the attacker make the host probe the agent's link again and again, or
judge it silent?), also while its receive buffer is full (window 0), and
with the host's loop starved for 1.5 x SILENT_AFTER right after each probe
went (does it take the late look for silence?). Each replayer waits the
whole bound and is asked about (no); the agent keeps its session; the host
probes the agent's link once per replay, and every probe saw life (its
kernel's acknowledgements: a starved host finds them when it looks again).
Measured: life seen after 0.02 s (busy), at once (window 0), after the
3.0 s the two starved looks took (starved); the throttle lets one address
handshake 3 connections at once, so two replays go at once here.

Since pop36 a copy of the ticket alone never has the link probed (a proof
made with that link's key must come with it: session/proof.py): the
replayers here hold that key too, the worst case, so the probe is still
what is tested.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from screencodec.errors import ConsentDeniedError
from screencodec.transport import CONTROL, VIEW, Viewer
from screencodec.transport.channel.base import Channel
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.session import link as link_module
from screencodec.transport.session import messages as m
from screencodec.transport.session.events import SessionEnded, SessionResumed
from screencodec.transport.session.proof import link_key
from screencodec.transport.session.resume import RESUME_CHANNEL, Ticket
from screencodec.transport.session.silent import SILENT_AFTER

from .helpers import run, until
from .takeover_host import host_for_takeover

_REPLAYS = 2  # two at once from one address (the throttle lets 3 handshake)


@pytest.mark.parametrize("agent", ["busy", "busy, buffer full", "busy, the host's loop starved"])
def test_replayed_tickets_at_once_are_each_refused_and_probe_once_while_a_direct_link_reads_nothing(
        agent: str, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    wait = 2.5
    monkeypatch.setattr(link_module, "_SETTLE_WAIT", wait)
    verdicts: list[tuple[bool, float]] = []
    probe = link_module.silent

    async def noted(channel: Channel, most: float) -> bool:
        began = time.monotonic()
        verdict = await probe(channel, most)
        verdicts.append((verdict, time.monotonic() - began))
        return verdict

    monkeypatch.setattr(link_module, "silent", noted)
    if agent == "busy, the host's loop starved":
        # The host's loop blocked for longer than SILENT_AFTER right after
        # each probe went (a slow synchronous step, CPU taken by others):
        # it looks at the link again only after the bound has passed.
        sent_probe = SecureChannel.probe

        def probe_then_starve(self: SecureChannel) -> None:
            sent_probe(self)
            asyncio.get_running_loop().call_soon(time.sleep, 1.5 * SILENT_AFTER)

        monkeypatch.setattr(SecureChannel, "probe", probe_then_starve)

    async def main() -> None:
        setup = await host_for_takeover("127.0.0.1")
        host, seen = setup.host, setup.seen
        ticket = await setup.first_agent_away()

        # The agent takes the session up with the ticket, directly, reads up
        # to its first update, then reads nothing (its program busy).
        holder = await setup.connect()
        for msg in (m.Capabilities.legacy(), m.Extension(RESUME_CHANNEL, ticket),
                    m.PermissionRequest((VIEW | CONTROL).bits, "raw")):  # fmt: skip
            await holder.send(m.encode(msg))
        while not isinstance(m.decode(await asyncio.wait_for(holder.recv(), 10)), m.Update):
            pass
        await until(lambda: any(isinstance(e, SessionResumed) for e in seen), 10, "resumed")
        (link,) = host._runtime.links
        proven = Ticket(bytes(ticket), proof_key=link_key(holder))
        filling = None
        if agent == "busy, buffer full":
            async def fill() -> None:
                for _ in range(256):
                    await host.send_extension("test.fill", bytes(256 * 1024), link.peer)

            def closed_window() -> bool:
                acked = link.channel.acknowledged()
                return acked is not None and acked[1].window == 0

            filling = asyncio.ensure_future(fill())
            await until(closed_window, 10, "its receive window closed")

        async def replay() -> str:
            v = Viewer(await setup.connect(), who="Mallory", resume=proven)
            try:
                await v.start(VIEW | CONTROL)
            except ConsentDeniedError:
                return "refused"
            await v.bye()
            return "granted"

        began = time.monotonic()
        outcomes = await asyncio.gather(*(replay() for _ in range(_REPLAYS)))
        took = time.monotonic() - began
        print(f"{agent}: {outcomes} after {took:.2f} s; probes {verdicts}")
        assert outcomes == ["refused"] * _REPLAYS
        assert wait <= took < wait + 3.0 + _REPLAYS * 1.5 * SILENT_AFTER, took
        assert len(setup.asked) == 1 + _REPLAYS
        assert host.viewers == (link.peer,) and not link.moved and not link.finished.is_set()
        assert not any(isinstance(e, SessionEnded) and e.moved for e in seen)
        assert link.channel.acknowledged() is not None  # this system tells (Linux)
        assert len(verdicts) == _REPLAYS and not any(v for v, _ in verdicts), verdicts
        if filling is not None:
            filling.cancel()
        await holder.close()
        await setup.close()

    run(main(), 90)
