"""relay46: an agent reconnecting while its relay is frozen (SIGSTOP: a VM
paused, a hung process) and the directory still names that relay: the other
relay redirects it there.

Found (stop 45, left open): the race (connect/relay_race.py) dialled the
frozen relay A, then after FIRST_ANSWER (3 s) relay B, which redirected it
to A (the claim named A: the host had not moved yet), and that redirect's
attempt waited its whole 20 s at A, as did the first: the agent's picture
stood still for 20 s and more after its host had moved to B.

Expected: a redirect to a relay that answers nothing within FIRST_ANSWER is
given up, and the relay that sent it is asked again (the directory's fresh
answer): once the host moved, B takes the agent, well inside the 20 s a
redirect's attempt waited before.

Real ``screencodec relay`` processes sharing a real redis-server, a real
host registration (pinging every 2 s: it takes A for silent after three
unanswered pings, 6 s, and moves to B) and a real agent on loopback.
"""

from __future__ import annotations

import asyncio

from screencodec.transport.connect import connect_via_relay
from screencodec.transport.connect.relay_race import FIRST_ANSWER

from .cluster import RedisServer, run, two_relays
from .held_claims import agent_paired_at
from .test_failover42_host_moves import FAST

#: What the agent waited before (a redirect's attempt at the frozen relay):
#: no answer could come sooner.
PAIR_TIMEOUT = 20.0


def test_relay46_a_redirect_to_a_frozen_relay_is_asked_again(
    redis_server: RedisServer,
) -> None:
    with two_relays(redis_server, 15.0) as (first, second):
        a, b = f"127.0.0.1:{first.port}", f"127.0.0.1:{second.port}"

        async def main() -> None:
            # The agent paired at A: its pairing knows B (RELAY_OK's list).
            async with agent_paired_at(first, FAST) as (creds, reg, channel):
                assert channel.resume_hold is not None
                assert ("127.0.0.1", second.port) in channel.resume_hold.cluster
                first.freeze()
                # At once: B (dialled after A's FIRST_ANSWER) still finds the
                # claim naming A, and redirects there, until the host moves.
                again = await asyncio.wait_for(
                    connect_via_relay(
                        "127.0.0.1", first.port, creds.code, creds.password, timeouts=FAST
                    ),
                    PAIR_TIMEOUT - 4,
                )
                assert reg.relay_port == second.port and reg.state == "registered"
                assert again.instead_of == (a, b)
                assert again.resume_hold is not None
                assert again.resume_hold.tag == channel.resume_hold.tag
                await again.close()
                first.thaw()
                await channel.close()

        run(main(), 90)
        # Redirected to A at least once, and B asked again no more than
        # once a FIRST_ANSWER within the attempt's 20 s (not a storm).
        redirects = second.output().count("event=redirect ")
        assert 1 <= redirects <= 1 + PAIR_TIMEOUT / FIRST_ANSWER, second.output()[-3000:]
