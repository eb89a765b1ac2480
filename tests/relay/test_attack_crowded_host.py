"""The crowd of test_attack_crowded_code.py, one address per connection, at a
host listening directly: its pre-auth room (channel/throttle.py
``PreauthSlots``: connections that sent a HELLO or nothing, 128 in all).

Before, a newcomer past the room's total displaced the oldest connection of
the address holding the most; with one connection per address that is simply
the oldest, and an agent on a slow link, still owing its PAKE message, was
it. Now a newcomer displaces only a connection stalled past the allowance its
own link earned, or one of an address holding two more than the newcomer's,
and is otherwise refused BUSY (docs/security.md, "The pre-auth room").

Real sockets on loopback: the host from 127.0.0.1, the agent's viewer from
its own address through :class:`SlowLink`, attackers from 127.0.0.2 and up
(or 127.0.2.x), each sending a viewer's HELLO and then nothing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest

from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import MAGIC, PROTOCOL_VERSION, FrameType, encode_frame
from screencodec.transport.channel.handshake import ROLE_VIEWER
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.channel.throttle import PreauthSlots
from screencodec.transport.connect import accept, connect_direct, listen_direct

from .cluster import run
from .test_attack_crowded_code import AGENT, FAST, SLOW, SlowLink, agent_outcome, answer

Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def _park(port: int, code: str, source: str,
                held: list[asyncio.StreamWriter]) -> tuple[str, Stream]:
    """A viewer's HELLO from ``source``, then nothing: the host's answer
    (HELLO, or the refusal's name) and the stream, its writer in ``held``."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    held.append(writer)
    writer.write(encode_frame(FrameType.HELLO, MAGIC + PROTOCOL_VERSION.to_bytes(2, "big")
                              + bytes([ROLE_VIEWER]) + code.encode()))
    return await answer(reader), (reader, writer)


@contextlib.asynccontextmanager
async def preauth_room(
    creds: SessionCredentials, total: int, clock: Callable[[], float]
) -> AsyncIterator[tuple[int, PreauthSlots, list[asyncio.StreamWriter]]]:
    """A host listening directly whose pre-auth room holds ``total`` and
    keeps time by ``clock``: its port, the room, and a list for the writers
    a test parks (closed at the end)."""
    listener = await listen_direct("127.0.0.1", 0, creds, lambda ch: ch.close(),  # type: ignore[arg-type,return-value]
                                   timeouts=FAST)
    slots = listener._acceptor.slots = PreauthSlots(total=total, clock=clock)
    held: list[asyncio.StreamWriter] = []
    try:
        yield listener.port, slots, held
    finally:
        for writer in held:
            with contextlib.suppress(Exception):
                writer.close()
        await listener.close()


#: The agent's link: 0.75 s each way.
_ONE_WAY = 0.75


def _kernel_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    """The host reads the round trip of the agent's connection as the kernel
    measures it on a real link of that round trip (from the TCP handshake,
    accept.link_round_trip): 1.5 s. The SlowLink is a proxy on loopback, its
    connection to the host opened at once and the agent's hello delivered
    0.75 s later, so the host saw half the round trip (the kernel's is
    loopback's) and allowed the agent grace + 1.5 s for its PAKE message,
    due 1.5 s after the host's hello: the grace's 1 s was all the slack, for
    the host, the link, the agent and the crowd sharing this process's one
    event loop (flake48d, load 25-45: the PAKE message came past that
    allowance in 2 of 22 timed runs, a newcomer then would have displaced
    the agent)."""
    measured = accept.link_round_trip

    def link_round_trip(writer: asyncio.StreamWriter) -> float:
        peer = writer.get_extra_info("peername")
        if peer is not None and peer[0] == AGENT:
            return max(measured(writer), 2 * _ONE_WAY)
        return measured(writer)

    monkeypatch.setattr(accept, "link_round_trip", link_round_trip)


async def _slow_agent_direct(attackers: int) -> str:
    """The agent on a 1.5 s round trip connects straight to the host; once
    the host holds its connection, ``attackers`` addresses park a HELLO each.
    "in" or what stopped the agent."""
    creds = SessionCredentials()
    accepted: asyncio.Queue[SecureChannel] = asyncio.Queue()
    held: list[asyncio.StreamWriter] = []
    listener = await listen_direct("127.0.0.1", 0, creds, accepted.put_nowait, timeouts=SLOW)
    try:
        async with SlowLink(listener.port, one_way=_ONE_WAY) as link:
            agent = asyncio.ensure_future(connect_direct(
                "127.0.0.1", link.port, creds.code, creds.password, timeouts=SLOW))
            while not len(listener._acceptor.slots):
                await asyncio.sleep(0.005)
            crowd = [asyncio.ensure_future(_park(listener.port, creds.code,
                                                 f"127.0.{i // 250}.{2 + i % 250}", held))
                     for i in range(attackers)]
            return await agent_outcome(agent, accepted, crowd, held)
    finally:
        await listener.close()


def test_a_crowd_does_not_displace_a_slow_agent_connecting_directly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """160 addresses park a HELLO each right behind the agent's connection
    (1.5 s round trip, its PAKE message due about 2.25 s after it opened).
    Before: displaced, "the peer closed the connection". Expected: the
    agent's session completes."""
    _kernel_round_trip(monkeypatch)
    assert run(_slow_agent_direct(160)) == "in"


def test_a_full_room_refuses_newcomers_until_a_connection_stalls_past_its_allowance() -> None:
    """A room of 4 full of fresh parked connections, one per address: a
    newcomer from a fifth address is refused BUSY and nobody is displaced
    (before: it displaced the oldest). Once the parked ones have owed their
    PAKE message longer than their allowance (1 s plus twice their loopback
    round trip; the room's clock is moved, not waited for), a newcomer gets
    in, and the connection stalled longest is the one the host drops."""
    creds = SessionCredentials()
    now = [0.0]

    async def main() -> None:
        async with preauth_room(creds, 4, lambda: now[0]) as (port, slots, held):
            parked = [await _park(port, creds.code, f"127.0.2.{1 + i}", held)
                      for i in range(4)]
            assert [answer for answer, _ in parked] == ["HELLO"] * 4
            answer, _ = await _park(port, creds.code, "127.0.2.9", held)
            assert (answer, slots.evicted, len(slots)) == ("BUSY", 0, 4)
            now[0] += 1.5
            answer, _ = await _park(port, creds.code, "127.0.2.10", held)
            assert (answer, slots.evicted, len(slots)) == ("HELLO", 1, 4)
            first = parked[0][1][0]
            assert await asyncio.wait_for(first.read(), 10) == b""  # dropped by the host

    run(main())
