"""A host whose link was lost (a reset: no goodbye) at one relay of a
cluster: only that relay knew it. While the host's claim lived
(``claim_ttl``) the other relays sent the agent there; once it expired
they said "no such session code". Found: an agent that came back through
another relay then was told "no such session code" (and gave up with it,
"check the 9-digit code") where the first relay said "the host has not
been heard from for N s (its connection to the relay was lost)".
Expected: the relay that lost the host tells the cluster
(``Directory.lost``, kept for ``RelayLimits.lost_memory``, the host's
resume window), and every relay answers with the first one's words; the
mark is gone once the host holds its code again, and after
``lost_memory``.

Real relays sharing a real redis-server; a real host whose link (a proxy)
resets, a real agent; real sockets on loopback. ``claim_ttl`` is 2 s (15 s
by default) so that the claim expires within the test.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from screencodec.errors import AccessRefusedError
from screencodec.transport.channel.framing import RefuseCode
from screencodec.transport.connect import connect_via_relay
from screencodec.transport.relay import (
    Directory,
    MemoryDirectory,
    Relay,
    RelayLimits,
    claim_verifier,
)
from screencodec.transport.relay.protocol import pair_tag
from screencodec.transport.relay.redis_directory import RedisDirectory

from .cluster import RedisServer, relays, run, wait_for
from .test_attack4_host_link_down import Watched, watched

_SILENT = re.compile(r"UNKNOWN_SESSION: the host has not been heard from for (\d+) s \(its "
                     r"connection to the relay was lost\)")  # fmt: skip
_LIMITS = RelayLimits(claim_ttl=2.0)


async def _told(port: int, session: Watched) -> AccessRefusedError:
    """What the relay on ``port`` tells the agent (naming its pair tag)."""
    try:
        channel = await connect_via_relay("127.0.0.1", port, session.code, session.password)
    except AccessRefusedError as exc:
        return exc
    await channel.close()
    raise AssertionError(f"the relay on {port} paired the agent")


async def _lost_and_expired(session: Watched, first: Relay, second: Relay) -> None:
    """The host's link resets and stays down; the agent's link is lost with
    it; the host's claim expires."""
    session.proxy.refusing = True
    session.proxy.cut()
    await session.lost()
    await wait_for(lambda: not first.sessions)

    async def expired() -> bool:
        return await second.directory.locate(session.code) is None

    await wait_for(expired, 10)


def test_an_agent_back_through_another_relay_is_told_the_host_was_lost(
        redis_server: RedisServer) -> None:  # fmt: skip
    async def main() -> None:
        async with relays(redis_server, 2, _LIMITS) as (first, second), \
                watched(first.port, 51) as session:  # fmt: skip
            await _lost_and_expired(session, first, second)
            at_first = await _told(first.port, session)
            at_second = await _told(second.port, session)
            assert at_first.code == at_second.code == RefuseCode.UNKNOWN_SESSION
            said_first = _SILENT.fullmatch(str(at_first))
            assert said_first is not None, str(at_first)
            # Found: "UNKNOWN_SESSION: no such session code".
            said_second = _SILENT.fullmatch(str(at_second))
            assert said_second is not None, str(at_second)
            assert abs(int(said_first.group(1)) - int(said_second.group(1))) <= 1
            # A viewer naming no pair tag is told nothing of it.
            tag = pair_tag(claim_verifier(session.code, session.reg._secret))  # type: ignore[union-attr]
            assert await second.directory.silent_for(session.code, bytes(16)) is None
            assert await second.directory.silent_for(session.code, tag) is not None
            await session.resumes(second.port)  # the host back: it resumes unasked
            # The host holds its code again: no relay says it was lost.
            assert await second.directory.silent_for(session.code, tag) is None

    run(main(), 60)


def test_the_cluster_forgets_a_lost_host_after_lost_memory(redis_server: RedisServer) -> None:
    async def main() -> None:
        # Asked every 0.2 s: more joins than the default 20 a minute.
        limits = RelayLimits(claim_ttl=2.0, lost_memory=4.0, joins_per_minute=1000)
        async with relays(redis_server, 2, limits) as (first, second), \
                watched(first.port, 52) as session:  # fmt: skip
            loop = asyncio.get_running_loop()
            session.proxy.refusing = True
            session.proxy.cut()
            cut = loop.time()
            await _lost_and_expired(session, first, second)
            assert _SILENT.fullmatch(str(await _told(second.port, session)))
            while loop.time() - cut < limits.lost_memory - 0.5:  # kept until then
                assert _SILENT.fullmatch(str(await _told(second.port, session)))
                await asyncio.sleep(0.2)

            async def forgotten() -> bool:
                told = await _told(second.port, session)
                return str(told) == "UNKNOWN_SESSION: no such session code"

            await wait_for(forgotten, 5)
            assert loop.time() - cut < limits.lost_memory + 2.0

    run(main(), 60)


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_a_lost_mark_is_written_only_for_the_claim_at_that_relay_and_forgotten_when_it_is_back(
        backend: str, redis_server: RedisServer) -> None:  # fmt: skip
    """Directory.lost(..., relay=R), the contract the cluster's words rely
    on: nothing while the claim is another verifier's or names another
    relay (the host back elsewhere: the first relay's word comes late);
    written while it names R or after it expired, under the registration's
    pair tag (a viewer naming none, or another, reads nothing); a claim or
    renewal by that verifier, or its end, forgets it; another's does not."""

    async def main() -> None:
        d: Directory = (RedisDirectory(redis_server.url) if backend == "redis"
                        else MemoryDirectory())  # fmt: skip
        code = "000000031"
        mine, other = claim_verifier(code, b"a" * 16), claim_verifier(code, b"b" * 16)
        tag = pair_tag(mine)
        try:
            await d.begin(60.0)  # as a relay does at its start (attack40)
            await d.claim(code, mine, "r2:1", 60)  # the host came back at r2
            await d.lost(code, mine, 1.0, 60, relay="r1:1")
            assert await d.silent_for(code, tag) is None
            await d.release(code, mine)
            await d.claim(code, other, "r1:1", 60)  # someone else's claim at r1
            await d.lost(code, mine, 1.0, 60, relay="r1:1")
            assert await d.silent_for(code, tag) is None
            await d.release(code, other)
            await d.claim(code, mine, "r1:1", 60)
            await d.lost(code, mine, 2.0, 60, relay="r1:1")
            silent = await d.silent_for(code, tag)
            assert silent is not None and 2.0 <= silent < 3.0
            assert await d.silent_for(code, bytes(16)) is None  # names no registration
            assert await d.silent_for(code, pair_tag(other)) is None
            await d.claim("000000032", other, "r1:1", 60)
            await d.lost("000000032", other, 0.0, 60, relay="r1:1")  # the stranger's own
            assert await d.silent_for("000000032", pair_tag(other)) is not None
            await d.release(code, mine)  # the claim expired: still written
            await d.lost(code, mine, 0.0, 60, relay="r1:1")
            await d.claim(code, other, "r3:1", 60)  # another's claim forgets nothing
            assert await d.silent_for(code, tag) is not None
            await d.release(code, other)
            await d.claim(code, mine, "r3:1", 60)  # the host back: forgotten
            assert await d.silent_for(code, tag) is None
            await d.lost(code, mine, 0.0, 60, relay="r3:1")
            assert await d.renew({code: mine}, "r3:1", 60) == set()
            assert await d.silent_for(code, tag) is None
            await d.lost(code, mine, 0.0, 60, relay="r3:1")
            await d.end(code, mine, "stopped", 60)
            assert await d.silent_for(code, tag) is None
        finally:
            await d.close()

    run(main())
