"""Someone who knows only a session code, against a relay cluster whose Redis
loses its keys (a FLUSHALL, or a restart without persistence: docs/relay.md
says persistence is optional) while the host is connected and its session
live.

Every claim is gone; each relay re-creates those of its live hosts at its
next heartbeat (``claim_ttl / 3``). The attacker, connected to *another*
relay of the cluster, registers the code in that window: a new claim, since
nobody holds it. Found: the attacker's claim wins, the host's relay's next
renewal finds the code someone else's and cuts its host ("claim_lost"), the
host registering again is refused CODE_IN_USE and is ``lost`` (its user is
shown a new code), and the agent's join is paired with the attacker: a
connected host locked out of its own code by anyone who knew it and timed
a Redis restart (or just tried every second). Expected: while the relays
of the cluster may not have re-created their claims yet, a new claim is
refused BUSY "session directory recovering" (retried by a host: its
backoff), so the live host keeps its code and the agent gets in.

Real relays sharing a real redis-server, a real host registration and
agent on loopback; the attacker from 127.0.0.2. ``claim_ttl`` 3 s (a beat
every second) keeps it short; the defaults make the window 5 s.
"""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import FrameType, RefuseCode, read_frame
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import connect_via_relay, host_via_relay
from screencodec.transport.relay import ROLE_HOST_CONTROL, RelayLimits, encode_open

from .cluster import RedisServer, relays, run

FAST = Timeouts(handshake=5.0, idle=None, keepalive=None, max_duration=None)


async def _register_as_stranger(port: int, code: str) -> tuple[int, bytes]:
    """One registration of ``code`` under a secret of one's own, from
    127.0.0.2; (the relay's answer, its body), the connection left open
    when it was accepted (the attacker keeps the code)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port,
                                                   local_addr=("127.0.0.2", 0))
    writer.write(encode_open(ROLE_HOST_CONTROL, code, bytes(range(16))))
    ftype, body = await read_frame(reader, 1024)
    if ftype == FrameType.REFUSE:
        writer.close()
        # The words as every version reads them: bytes 1-199 (relay42 pads
        # a RECOVERING refusal's with spaces, then tells the grace left).
        return body[0], body[1:200].rstrip(b" ")
    _kept.append(writer)
    return ftype, b""


_kept: list[asyncio.StreamWriter] = []


@pytest.mark.parametrize("loss", ["flushall", "restart"])
def test_a_stranger_at_another_relay_cannot_take_a_live_hosts_code_after_redis_lost_its_keys(
        loss: str, redis_server: RedisServer) -> None:
    limits = RelayLimits(claim_ttl=3.0)

    async def main() -> None:
        async with relays(redis_server, 2, limits) as (a, b):
            creds = SessionCredentials()
            accepted: asyncio.Queue[SecureChannel] = asyncio.Queue()
            async with await host_via_relay("127.0.0.1", a.port, creds, accepted.put_nowait,
                                            timeouts=FAST, ping_interval=0.5,
                                            backoff_max=0.3) as reg:
                await reg.wait_registered(5)
                if loss == "flushall":
                    client = aioredis.Redis.from_url(redis_server.url)
                    await client.flushall()
                    await client.aclose()
                else:
                    redis_server.restart()
                answer, why = await _register_as_stranger(b.port, creds.code)
                try:
                    # Expected: refused, and (for BUSY) so until the host's claim is back.
                    assert answer in (RefuseCode.BUSY, RefuseCode.CODE_IN_USE), (answer, why)
                    await asyncio.sleep(2 * limits.claim_ttl / 3 + 0.5)  # two beats
                    again, _ = await _register_as_stranger(b.port, creds.code)
                    assert again == RefuseCode.CODE_IN_USE
                    assert reg.state == "registered" and reg.registrations == 1
                    assert a.sessions == {creds.code} and not b.sessions
                    viewer = await connect_via_relay("127.0.0.1", b.port, creds.code,
                                                     creds.password, timeouts=FAST)
                    host = await asyncio.wait_for(accepted.get(), 5)
                    await viewer.send(b"still mine")
                    assert await host.recv() == b"still mine"
                    await viewer.close()
                    await host.close()
                finally:
                    for writer in _kept:
                        writer.close()
                    _kept.clear()

    run(main(), timeout=40)


def test_the_directory_refuses_new_claims_for_a_claim_ttl_after_losing_its_keys(
        redis_server: RedisServer) -> None:
    """The contract under the above (RedisDirectory): a new cluster's
    claims are made at once; once Redis lost its keys (noticed by a claim,
    a renewal or an announcement), or no heartbeat (renewal, announcement)
    reached it for 2/3 of ``ttl`` while relays beat (a stall: claims may
    have expired unrenewed), a code nobody holds is refused RECOVERING for
    ``ttl``, a renewal re-creates its claim meanwhile, and that claim is
    the holder's (IN_USE to anyone else)."""
    from screencodec.transport.relay.directory import ClaimResult
    from screencodec.transport.relay.protocol import claim_verifier
    from screencodec.transport.relay.redis_directory import RedisDirectory

    async def main() -> None:
        d = RedisDirectory(redis_server.url)
        flusher = aioredis.Redis.from_url(redis_server.url)
        host, stranger = (claim_verifier("000000041", s * 16) for s in (b"a", b"b"))
        try:
            await d.begin(1.0)
            assert await d.claim("000000041", host, "r1:1", 1.0) is ClaimResult.NEW
            await flusher.flushall()
            assert await d.claim("000000041", stranger, "r2:1", 1.0) is ClaimResult.RECOVERING
            assert await d.renew({"000000041": host}, "r1:1", 1.0) == set()
            assert await d.claim("000000041", stranger, "r2:1", 1.0) is ClaimResult.IN_USE
            assert await d.claim("000000042", stranger, "r2:1", 1.0) is ClaimResult.RECOVERING
            for _ in range(4):  # the relays beat on; the grace is over: new claims again
                await asyncio.sleep(0.3)
                await d.announce("r1:1", 1.0)
            assert await d.claim("000000042", stranger, "r2:1", 1.0) is ClaimResult.NEW
            await flusher.flushall()  # a renewal notices the loss too
            assert await d.renew({"000000041": host}, "r1:1", 1.0) == set()
            assert await d.claim("000000043", stranger, "r2:1", 1.0) is ClaimResult.RECOVERING
            for _ in range(4):
                await asyncio.sleep(0.3)
                await d.announce("r1:1", 1.0)
            assert await d.claim("000000044", stranger, "r2:1", 1.0) is ClaimResult.NEW
            await asyncio.sleep(0.8)  # no heartbeat for longer than 2/3 of a claim's life
            assert await d.claim("000000045", stranger, "r2:1", 1.0) is ClaimResult.RECOVERING
        finally:
            await flusher.aclose()
            await d.close()

    run(main())
