"""The host's pre-auth room (channel/throttle.py ``PreauthSlots``) against an
agent whose address already holds a connection there (its earlier attempt,
still parked: a reconnect after a lost link tries again and again).

A newcomer displaced the oldest connection of the address holding the most
only if that address held two more than the newcomer's own: with one
connection of its own already, the agent was refused BUSY by addresses of
two connections each, half the addresses (64 for the default room of 128)
that keep out a newcomer from a fresh address. Real sockets on loopback, as
in test_attack_crowded_host.py; the room is 5 and its clock does not move
(no connection stalls)."""

from __future__ import annotations

import asyncio

from screencodec.transport.channel.codes import SessionCredentials

from .cluster import run
from .test_attack_crowded_host import _park, preauth_room


def test_an_agent_whose_address_holds_a_connection_is_not_kept_out_by_pairs() -> None:
    """The agent's address holds one parked connection; two addresses hold
    two each: the room (5) is full. Before: the agent's new attempt was
    refused BUSY. Expected: it gets in, in the slot of its own earlier
    attempt (the one the host drops), the crowd's connections kept. (A
    newcomer from a fresh address takes one of a pair's, as before.)"""
    creds = SessionCredentials()

    async def main() -> None:
        async with preauth_room(creds, 5, lambda: 0.0) as (port, slots, held):
            earlier = await _park(port, creds.code, "127.0.3.1", held)
            crowd = [await _park(port, creds.code, f"127.0.2.{1 + i // 2}", held)
                     for i in range(4)]
            assert [a for a, _ in [earlier, *crowd]] == ["HELLO"] * 5
            answer, _ = await _park(port, creds.code, "127.0.3.1", held)
            assert (answer, slots.evicted, len(slots)) == ("HELLO", 1, 5)
            assert await asyncio.wait_for(earlier[1][0].read(), 10) == b""  # dropped
            assert not any(reader.at_eof() for _, (reader, _) in crowd)

    run(main())
