"""relay42: joins at a relay whose claims Redis lost (a FLUSHALL, a Redis
restart without persistence), whose host's data connection a balancer
sends to another relay, started right after the loss.

Join ids carry a MAC under the cluster's key (attack40), and a relay that
does not hold a code redirects a host's data connection only for an id it
can verify, to the relay the code's claim names. After the loss the
running relay A keeps its hosts, but their claims are gone from Redis until
its next heartbeat re-makes them, and it makes join ids under the key Redis
lost; a relay B started meanwhile made a new key, which A takes at that
heartbeat. Found (2 real ``screencodec relay`` processes, redis-server,
default claim_ttl 15 s; a viewer joining at A every 0.1 s and its host's
data connection sent to B; 5 runs): in 4 runs every such data connection
was refused "no such pending viewer" (its viewer's join then times out,
15 s) for 1.1-4.7 s after B started, until A's heartbeat; every refusal
came while the claim was gone, so the key alone was never the cause.
Expected, and now: the first join at A after the loss notices it (its
attempt count reads the epoch) and waits for A's claims and key to be
made again (one round trip), so its host's data connection is redirected
from B to A at once.

claim_ttl 60 s: A's next heartbeat comes 20 s after its start, well after
the test. The attack40 rule holds meanwhile: a made-up id is refused alike
for the live code and a free one.
"""

from __future__ import annotations

import asyncio

import redis
import redis.asyncio as aioredis

from screencodec.transport.channel.framing import FrameType, RefuseCode, read_frame
from screencodec.transport.relay import (
    ROLE_HOST_CONTROL,
    ROLE_VIEWER,
    RelayLimits,
    encode_open,
)
from screencodec.transport.relay.protocol import RELAY_REDIRECT

from .cluster import RedisServer, RelayProcess, beats, relays, run, wait_for
from .test_review40d_join_id_replay import UNKNOWN, _as_data, _open

#: What a viewer of a code nobody holds is told while the grace runs (relay43).
NOT_BACK = (b"the session directory is recovering: this code's host may not have registered"
            b" again yet")


def test_a_join_after_redis_lost_its_keys_pairs_through_a_relay_started_since(
        redis_server: RedisServer) -> None:
    a = RelayProcess(redis_server, claim_ttl=60.0)
    b = None
    try:
        code = "424242424"

        async def main() -> None:
            nonlocal b
            control = await _open(a.port, ROLE_HOST_CONTROL, code, bytes([4]) * 16)
            opened = [control]
            try:
                assert (await read_frame(control[0], 1024))[0] == FrameType.RELAY_OK
                redis.Redis.from_url(redis_server.url).flushall()
                b = RelayProcess(redis_server, claim_ttl=60.0)
                to_a = (RELAY_REDIRECT, f"127.0.0.1:{a.port}".encode())
                for i in range(3):
                    opened.append(await _open(a.port, ROLE_VIEWER, code, bytes(16)))
                    ftype, body = await read_frame(control[0], 1024)
                    assert ftype == FrameType.RELAY_INCOMING
                    # The host's data connection, sent to B by a balancer.
                    assert await _as_data(b.port, code, body[:16]) == to_a, i
                # A made-up id: refused alike for the live code and a free one.
                assert await _as_data(b.port, code, bytes([3]) * 16) == UNKNOWN
                assert await _as_data(b.port, "111111111", bytes([3]) * 16) == UNKNOWN
            finally:
                for _, writer in opened:
                    writer.close()
                await asyncio.sleep(0)

        run(main())
    finally:
        a.kill()
        if b is not None:
            b.kill()


async def _join_from(port: int, code: str, source: str,
                     ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    writer.write(encode_open(ROLE_VIEWER, code, bytes(16)))
    return reader, writer


def test_a_crowd_of_joins_after_the_loss_makes_one_renewal_and_none_without_a_loss(
        redis_server: RedisServer) -> None:
    """The attack on the renewal a join now starts: 10 joins at once from 10
    addresses after a flush make one renewal (shared), which makes the
    claim again; 10 more make none, and nor do joins before any loss: a
    crowd cannot make a relay hammer Redis."""
    code = "525252525"

    async def main() -> None:
        async with relays(redis_server, 1, RelayLimits(claim_ttl=60.0)) as (a,):
            control = await _open(a.port, ROLE_HOST_CONTROL, code, bytes([5]) * 16)
            opened = [control]
            seen = beats(a)

            async def crowd(first: int) -> None:
                for i in range(10):
                    opened.append(await _join_from(a.port, code, f"127.0.5.{first + i}"))
                for _ in range(10):
                    assert (await read_frame(control[0], 1024))[0] == FrameType.RELAY_INCOMING

            try:
                assert (await read_frame(control[0], 1024))[0] == FrameType.RELAY_OK
                await crowd(1)
                assert seen == []  # no loss: no renewal
                operator = aioredis.Redis.from_url(redis_server.url)
                await operator.flushall()
                await crowd(11)
                # One renewal, shared, which lost no claim (a second at most:
                # a count Redis ran before the first renewal, whose answer on
                # another connection was read after it).
                assert seen in ([set()], [set(), set()]), seen
                assert await operator.exists(f"screencodec:claim:{code}") == 1
                after = len(seen)
                await crowd(21)
                assert len(seen) == after
                await operator.aclose()
            finally:
                for _, writer in opened:
                    writer.close()
                await asyncio.sleep(0)

    run(main())


async def _viewer_answer(port: int, code: str, source: str) -> tuple[int, bytes]:
    reader, writer = await _join_from(port, code, source)
    try:
        ftype, body = await asyncio.wait_for(read_frame(reader, 1024), 15)
        return (body[0], body[1:]) if ftype == FrameType.REFUSE else (ftype, body)
    finally:
        writer.close()


def test_a_viewer_at_another_relay_after_the_loss_is_redirected_not_told_no_such_code(
        redis_server: RedisServer) -> None:
    """Found (2 ``screencodec relay`` processes, claim_ttl 15 s, a viewer at
    the relay started right after a FLUSHALL every 0.1 s, none at the
    host's relay): "no such session code" for 2.5-4.3 s, in 4 of 4 runs,
    until the host's relay's heartbeat made its claim again: a new agent
    gives up on those words. Expected, and now: held (looking once a
    second) until a heartbeat has passed since the grace began, and
    redirected to the host's relay. A code nobody holds is told then that
    its host may not be back yet (relay43; "no such session code" before)."""
    a = RelayProcess(redis_server, claim_ttl=6.0)
    b = None
    try:
        code = "626262626"

        async def main() -> None:
            nonlocal b
            control = await _open(a.port, ROLE_HOST_CONTROL, code, bytes([6]) * 16)
            try:
                assert (await read_frame(control[0], 1024))[0] == FrameType.RELAY_OK
                redis.Redis.from_url(redis_server.url).flushall()
                b = RelayProcess(redis_server, claim_ttl=6.0)
                free = asyncio.ensure_future(_viewer_answer(b.port, "999999999", "127.0.6.2"))
                agent = await _viewer_answer(b.port, code, "127.0.6.1")
                assert agent == (RELAY_REDIRECT, f"127.0.0.1:{a.port}".encode())
                # relay43: while the grace runs, its words say so (a new
                # agent waits on them); "no such session code" after it.
                assert await free == (RefuseCode.UNKNOWN_SESSION, NOT_BACK)
            finally:
                control[1].close()
                await asyncio.sleep(0)

        run(main())
    finally:
        a.kill()
        if b is not None:
            b.kill()


def test_one_address_parks_at_most_four_viewers_while_claims_may_come(
        redis_server: RedisServer) -> None:
    """The attack on that hold: 8 viewers at once from one address, of
    codes nobody holds, while a grace has just begun: 4 held (looking once
    a second), the other 4 told at once that the code's host may not be
    back yet (relay43's words while a grace runs); then the 4 the same."""

    async def main() -> None:
        async with relays(redis_server, 1, RelayLimits(claim_ttl=12.0)) as (relay,):
            operator = aioredis.Redis.from_url(redis_server.url)
            await operator.set("screencodec:recovering", "1", px=12_000)  # just begun
            await operator.aclose()
            crowd = [asyncio.ensure_future(_viewer_answer(relay.port, f"88888888{i}",
                                                          "127.0.7.9"))
                     for i in range(8)]
            await wait_for(lambda: sum(f.done() for f in crowd) == 4, 4.0)
            assert relay._held == {"127.0.7.9": 4}
            answers = await asyncio.gather(*crowd)
            assert answers == [(RefuseCode.UNKNOWN_SESSION, NOT_BACK)] * 8  # relay43's words
            assert relay._held == {}

    run(main())
