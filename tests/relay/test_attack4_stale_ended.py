"""Someone who knows only a session code, against a relay cluster sharing a
real redis-server (e000a95: a RELAY_RELEASE is kept in the directory as
``ended:<code>`` for 120 s, and every relay tells a viewer naming the code
that its session ended when no relay holds it).

A Redis restart without persistence loses every claim; each relay re-creates
its hosts' claims at its next heartbeat (docs/relay.md), with the renew
script, which does not forget an ``ended:<code>``. In that window the
attacker registers the code at the other relay (a new claim: nobody holds
it) and releases it at once: ``ended:<code>`` is written and the claim
freed, so the real host's relay re-creates its claim at the next beat and
nobody notices. The real session goes on. Then the host's link to its
relay drops for a moment (the agent's with it): the agent, reconnecting to
resume, is told by the host's own relay that the session ended (the stale
mark), and gives up. Expected: a live session's code is never told ended;
the agent retries and resumes once its host is back.

Fix (relay/redis_directory.py and directory.py, resume-rest's): a claim
re-created or renewed by the relay that holds the code's registration
deletes ``ended:<code>`` too (as a claim does), in MemoryDirectory.renew
as well (its contract: test_relay_directory.py). Since attack40 the attack
stops earlier: a directory that lost its keys refuses new claims until the
relays have re-created theirs, so the stranger never holds the code.
"""

from __future__ import annotations

from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import host_via_relay
from screencodec.transport.relay import RelayLimits

from .cluster import RedisServer, relays, run, wait_for
from .test_attack4_host_link_down import watched

#: Heartbeats every 10 s: the attacker is done well before the next one.
_LIMITS = RelayLimits(claim_ttl=30.0)


def test_a_release_by_someone_with_the_code_after_a_redis_restart_does_not_end_the_session(
        redis_server: RedisServer) -> None:  # fmt: skip
    async def main() -> None:
        async with relays(redis_server, 2, _LIMITS) as (home, other), \
                watched(home.port, 9) as session:  # fmt: skip
            code = session.code
            redis_server.restart()  # no persistence: every claim is gone
            # The attack: the code, registered and released at the other relay.
            # Since attack40 the registration is refused (BUSY "session
            # directory recovering", then CODE_IN_USE once the claim is back):
            # there is nothing to release (test_attack40_redis_loss.py).
            mine = SessionCredentials(code)
            squat = await host_via_relay("127.0.0.1", other.port, mine, lambda ch: None,
                                         backoff_max=2.0)  # fmt: skip
            await wait_for(lambda: squat.state == "lost", 30)
            assert squat.registrations == 0 and not other.sessions
            mine.end()
            await squat.close()

            async def reclaimed() -> bool:
                holder = await home.directory.locate(code)
                return holder is not None and holder.relay == home.advertise

            await wait_for(reclaimed, 20)  # the home relay's next heartbeat
            # Nothing of the attack reached the host or the agent.
            assert home.sessions and session.task is not None and not session.task.done()
            # The host's link drops for a moment; the agent's with it.
            session.proxy.refusing = True
            session.proxy.cut()
            await session.lost()
            await wait_for(lambda: not home.sessions)
            await session.resumes(home.port)

    run(main(), 90)
