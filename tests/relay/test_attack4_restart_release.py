"""Someone who knows only a session code, against one relay with its memory
directory (the default), across a relay restart (84e8916: a code whose
registration ended by RELAY_RELEASE is told SESSION_ENDED to viewers for
120 s).

A restart forgets every verifier: the first registration of a code wins
(docs/relay.md, "Relay restarts"). A squatter that keeps the code is a
known limit (the host is told its code is lost and shows a new one:
test_relay_attacks). Here the attacker does not keep it: it registers the
code before the host is back and releases it at once. The host then
registers its code again as if nothing happened, and its user sees nothing;
the agent, reconnecting to resume meanwhile, is told "the host ended this
session" and gives up. Expected: the agent retries and resumes unasked.

Fix (relay/protocol.pair_tag): the relay tells a viewer it pairs which
registration it is paired with (a hash of its claim's verifier, in
RELAY_OK), the viewer names it when it reconnects, and the relay says
SESSION_ENDED only of that registration's end (the same secret: the real
host's, at any relay of a cluster, across restarts); else UNKNOWN_SESSION,
retried. A viewer that names none hears of no end (test_relayend_forged_end).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import host_via_relay
from screencodec.transport.relay import Relay

from .cluster import run, wait_for
from .test_attack4_host_link_down import Watched, watched


@contextlib.asynccontextmanager
async def restarted(seed: int) -> AsyncIterator[tuple[Watched, Relay]]:
    """A watched session at a relay (memory directory) that restarts on the
    same port, every verifier forgotten, while the host's link refuses (the
    host a moment slower than an attacker): the session, whose agent has
    lost its link, and the relay started again."""
    relay = Relay()
    await relay.start()
    port = relay.port
    try:
        async with watched(port, seed) as session:
            session.proxy.refusing = True
            await relay.close()
            await session.lost()
            relay = Relay(port=port)
            await relay.start()
            yield session, relay
    finally:
        await relay.close()


def test_a_release_by_someone_with_the_code_after_a_relay_restart_does_not_end_the_session(
        ) -> None:  # fmt: skip
    async def main() -> None:
        async with restarted(11) as (session, relay):
            mine = SessionCredentials(session.code)
            squat = await host_via_relay("127.0.0.1", relay.port, mine, lambda ch: None,
                                         backoff_max=0.2)  # fmt: skip
            await squat.wait_registered(10)
            mine.end()  # RELAY_RELEASE
            await wait_for(lambda: squat.state == "closed" and not relay.sessions)
            await session.resumes(relay.port)
            assert session.reg is not None and session.reg.state == "registered"

    run(main(), 60)
