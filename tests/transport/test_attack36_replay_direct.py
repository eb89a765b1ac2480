"""attack36: a replayed resume ticket against the live link that took the
session up with it, with no proxy between that link and the host (the host's
TCP peer is the agent's own kernel: test_takeover36_silent's live links go
through test_resume's proxy, whose TCP acknowledges for the agent).

The attacker holds the password and a copy of the ticket the agent just
took its session up with; the agent's program reads nothing (busy: it has
not answered an update yet). Several copies are presented at once, also
while the agent's receive buffer is full (window 0). Each replayer waits
the whole bound and is asked about (no); the agent keeps its session.

What the replayers hold: the ticket's bytes alone, or with the proof key
of another link of that session (Alice's first, lost: what a Viewer kept
from it). Until resume38 they also held the live link's own key, "the
worst case", to test takeover36's probe of that link (session/silent.py:
it saw life in every case). Since resume38 that key is what makes a retry
the agent's own (session/proof.py: it never leaves the agent's process),
and a retry holding it takes the session over at once, unasked, the probe
gone (test_takeover36_silent.py, test_resume38_proven.py).
"""

from __future__ import annotations

import asyncio
import time

import pytest

from screencodec.errors import ConsentDeniedError
from screencodec.transport import CONTROL, VIEW, Viewer
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.session import link as link_module
from screencodec.transport.session import messages as m
from screencodec.transport.session.events import SessionEnded, SessionResumed

from .helpers import run, taking_up, until
from .takeover_host import host_for_takeover

_REPLAYS = 2  # two at once from one address (the throttle lets 3 handshake)


@pytest.mark.parametrize("holding", ["the bytes", "another link's key"])
@pytest.mark.parametrize("agent", ["busy", "busy, buffer full"])
def test_replayed_tickets_at_once_are_each_refused_while_a_direct_link_reads_nothing(
        agent: str, holding: str, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    wait = 2.5
    monkeypatch.setattr(link_module, "_SETTLE_WAIT", wait)

    async def main() -> None:
        setup = await host_for_takeover("127.0.0.1")
        host, seen = setup.host, setup.seen
        ticket = await setup.first_agent_away()
        assert ticket.proof_key is not None  # of Alice's first link, lost

        # The agent takes the session up with the ticket, directly, reads up
        # to its first update, then reads nothing (its program busy).
        holder = await setup.connect()
        for msg in taking_up(ticket, holder, (VIEW | CONTROL).bits):
            await holder.send(m.encode(msg))
        while not isinstance(m.decode(await asyncio.wait_for(holder.recv(), 10)), m.Update):
            pass
        await until(lambda: any(isinstance(e, SessionResumed) for e in seen), 10, "resumed")
        (link,) = host._runtime.links
        copy: bytes = bytes(ticket) if holding == "the bytes" else ticket
        filling = None
        if agent == "busy, buffer full":
            async def fill() -> None:
                for _ in range(256):
                    await host.send_extension("test.fill", bytes(256 * 1024), link.peer)

            def full() -> bool:
                wire = link.channel
                assert isinstance(wire, SecureChannel)
                return wire._writer.transport.get_write_buffer_size() > 0

            filling = asyncio.ensure_future(fill())
            await until(full, 10, "its buffers full")

        async def replay() -> str:
            v = Viewer(await setup.connect(), who="Mallory", resume=copy)
            try:
                await v.start(VIEW | CONTROL)
            except ConsentDeniedError:
                return "refused"
            await v.bye()
            return "granted"

        began = time.monotonic()
        outcomes = await asyncio.gather(*(replay() for _ in range(_REPLAYS)))
        took = time.monotonic() - began
        print(f"{agent}, {holding}: {outcomes} after {took:.2f} s")
        assert outcomes == ["refused"] * _REPLAYS
        assert wait <= took < wait + 3.0, took
        assert len(setup.asked) == 1 + _REPLAYS
        assert host.viewers == (link.peer,) and not link.moved and not link.finished.is_set()
        assert not any(isinstance(e, SessionEnded) and e.moved for e in seen)
        if filling is not None:
            filling.cancel()
        await holder.close()
        await setup.close()

    run(main(), 90)
