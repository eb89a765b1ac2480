"""relay42: an embedder's host registering while the relay's session
directory recovers (a new cluster's first ``claim_ttl``, a Redis that
restarted or lost its keys: test_epoch41_restarts.py).

Found (a real redis-server without an epoch, a relay with a Redis
directory): ``host_via_relay(...).wait_registered(10)`` raised the relay's
first refusal at once, "peer refused: BUSY: session directory recovering",
where ``screencodec host`` waits: an embedder's first customer after a Redis
restart was sent away. And the relay did not say how long the grace has
left, so the CLI waited a fixed 60 s (a relay with ``--claim-ttl`` over
~50 s sent its first customer away).

Expected, and now: the relay's refusal tells the grace left in a field
after its words, which a host before relay42 does not read (it still reads
exactly the words); ``wait_registered`` waits through the grace (its host
retries as it ends), up to ``recovering_most`` seconds, and then raises
``RelayRecoveringError`` saying so, while the registration goes on trying.
"""

from __future__ import annotations

import asyncio
import re

import pytest
import redis.asyncio as aioredis

from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import FrameType, read_frame, refusal_error
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.connect import host_via_relay
from screencodec.transport.connect.via_relay import RelayRecoveringError
from screencodec.transport.relay import ROLE_HOST_CONTROL, RelayLimits, encode_open
from screencodec.transport.relay.protocol import RECOVERING, parse_recovering

from .cluster import RedisServer, relays, run

FAST = Timeouts(handshake=5.0, idle=None, keepalive=None, max_duration=None)


def test_wait_registered_waits_through_a_new_clusters_grace(new_redis: RedisServer) -> None:
    async def main() -> None:
        async with relays(new_redis, 1, RelayLimits(claim_ttl=3.0)) as (relay,):
            assert relay.recovering_at_start > 0
            async with await host_via_relay("127.0.0.1", relay.port, SessionCredentials(),
                                            lambda ch: None, timeouts=FAST) as reg:
                await reg.wait_registered(10)
                assert reg.state == "registered"
                assert reg.registrations == 1
                assert isinstance(reg.last_error, RelayRecoveringError)  # it was refused first
                assert relay.sessions == {reg._acceptor.credentials.code}

    run(main())


def test_the_refusal_says_the_grace_left_and_an_older_host_reads_the_same_words(
        new_redis: RedisServer) -> None:
    async def main() -> None:
        async with relays(new_redis, 1, RelayLimits(claim_ttl=6.0)) as (relay,):
            reader, writer = await asyncio.open_connection("127.0.0.1", relay.port)
            try:
                writer.write(encode_open(ROLE_HOST_CONTROL, "123456789", bytes([5]) * 16))
                ftype, body = await read_frame(reader, 1024)
            finally:
                writer.close()
            assert ftype == FrameType.REFUSE
            # What every version reads (epoch41's CLI matched the end of it).
            assert str(refusal_error(body)) == f"peer refused: BUSY: {RECOVERING}"
            left = parse_recovering(body)
            assert left is not None
            assert 0 < left <= 6.0

    run(main())


def test_wait_registered_gives_up_on_a_grace_past_its_bound_with_a_clear_error(
        redis_server: RedisServer) -> None:
    async def main() -> None:
        async with relays(redis_server, 1, RelayLimits(claim_ttl=3.0)) as (relay,):
            operator = aioredis.Redis.from_url(redis_server.url)
            # A grace of 10 minutes: a cluster whose claim_ttl is that long.
            await operator.set("screencodec:recovering", "1", px=600_000)
            await operator.aclose()
            async with await host_via_relay("127.0.0.1", relay.port, SessionCredentials(),
                                            lambda ch: None, timeouts=FAST,
                                            backoff_max=0.5) as reg:
                with pytest.raises(RelayRecoveringError) as caught:
                    await reg.wait_registered(1, recovering_most=2.0)
                err = caught.value
                assert re.fullmatch(
                    rf"the relay 127\.0\.0\.1:{relay.port} still refuses registrations while"
                    r" its session directory recovers \(a new relay cluster, or its Redis"
                    r" restarted or lost its keys; it says for 59\d s more\): gave up waiting"
                    r" after 2 s; the registration keeps retrying", str(err)), str(err)
                assert err.left is not None and 590 < err.left <= 600
                assert err.waited >= 2.0  # recovering_most, not the 600 s told
                tries = relay.stats.refused["BUSY"]
                await asyncio.sleep(1.5)  # its backoff (0.5 s), not the grace told
                assert relay.stats.refused["BUSY"] > tries
                assert reg.state != "closed"

    run(main())
