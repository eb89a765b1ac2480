"""The host's pre-auth room after 3c57aa4 (a newcomer whose address holds a
connection takes its own address's oldest slot when nobody else may be
displaced), attacked from two addresses: can they now push the agent's
parked attempt out? Real sockets on loopback, the room of 5 full, its clock
still (nobody stalls), as in test_resume_rest_preauth.py. Expected (held):
twelve newcomers from the two addresses (what their attempt limit allows),
alternating, each take only their own address's oldest slot; the agent's
connection is never dropped and the agent's own next attempt still gets in
(in its earlier attempt's slot). A guard of rule 3 (it held before 3c57aa4
too, which refused them BUSY)."""

from __future__ import annotations

import asyncio

from screencodec.transport.channel.codes import SessionCredentials

from .cluster import run
from .test_attack_crowded_host import _park, preauth_room


def test_two_attacker_addresses_cycling_newcomers_never_drop_the_agents_attempt() -> None:
    creds = SessionCredentials()

    async def main() -> None:
        async with preauth_room(creds, 5, lambda: 0.0) as (port, slots, held):
            agent = await _park(port, creds.code, "127.0.3.1", held)
            crowd = [await _park(port, creds.code, f"127.0.2.{1 + i // 2}", held)
                     for i in range(4)]
            assert [a for a, _ in [agent, *crowd]] == ["HELLO"] * 5
            for i in range(12):  # the per-address attempt limit (10 a minute) allows 6 more each
                answer, _ = await _park(port, creds.code, f"127.0.2.{1 + i % 2}", held)
                assert answer == "HELLO"  # in, in its own address's oldest slot
            assert (slots.evicted, len(slots)) == (12, 5)
            assert not agent[1][0].at_eof()  # the agent's attempt is still held
            again, _ = await _park(port, creds.code, "127.0.3.1", held)
            assert (again, slots.evicted) == ("HELLO", 13)
            assert await asyncio.wait_for(agent[1][0].read(), 10) == b""  # its own, dropped

    run(main())
