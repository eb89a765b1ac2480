"""review40d: attack40's recovering grace after Redis lost its keys, when a
relay (re)starts before any heartbeat noticed the loss.

``Directory.begin`` sets ``epoch`` with ``SET NX`` (a new cluster's Redis:
no grace). A relay starting right after a FLUSHALL (or a Redis restart
without persistence: a relay restarted with it by a supervisor) therefore
re-creates the epoch, and no claim, renewal or announcement after it ever
sees the loss: the cluster never enters the grace. Found (real
redis-server, 2 relays, claim_ttl 9 s so the live host's relay beats every
3 s): a stranger registering the live host's code at the relay just
started is RELAY_OK, the host's relay finds its claim someone else's at its
next beat and cuts its host ("claim_lost") - the attack40 lockout, through
another door (3 of 3 runs: RELAY_OK, the host ``lost``, the code held at
the new relay). Expected: refused (BUSY recovering, or CODE_IN_USE), the
host keeps its code. Fixed (epoch41): a relay starting that finds no epoch
starts the grace itself (a relay cannot tell a new cluster's empty Redis
from a flushed one, so a new cluster waits ``claim_ttl`` once at its first
start: test_epoch41_fresh_start.py).
"""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from free_port import free_port
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import FrameType, RefuseCode, read_frame
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.connect import host_via_relay
from screencodec.transport.relay import ROLE_HOST_CONTROL, Relay, RelayLimits, encode_open
from screencodec.transport.relay.redis_directory import RedisDirectory

from .cluster import RedisServer, beats, relays, run, wait_for

FAST = Timeouts(handshake=5.0, idle=None, keepalive=None, max_duration=None)


def test_a_relay_started_right_after_a_flush_does_not_hand_out_a_live_hosts_code(
        redis_server: RedisServer) -> None:
    limits = RelayLimits(claim_ttl=9.0)

    async def main() -> None:
        async with relays(redis_server, 1, limits) as (a,):
            creds = SessionCredentials()
            async with await host_via_relay("127.0.0.1", a.port, creds, lambda ch: None,
                                            timeouts=FAST, ping_interval=0.5,
                                            backoff_max=0.3) as reg:
                await reg.wait_registered(5)
                flusher = aioredis.Redis.from_url(redis_server.url)
                await flusher.flushall()
                await flusher.aclose()
                b = Relay("127.0.0.1", free_port(), limits=limits,
                          directory=RedisDirectory(redis_server.url, timeout=1.0))
                await b.start()
                writer = None
                try:
                    reader, writer = await asyncio.open_connection(
                        "127.0.0.1", b.port, local_addr=("127.0.0.2", 0))
                    writer.write(encode_open(ROLE_HOST_CONTROL, creds.code, bytes(range(16))))
                    ftype, body = await read_frame(reader, 1024)
                    answer = body[0] if ftype == FrameType.REFUSE else ftype
                    assert answer in (RefuseCode.BUSY, RefuseCode.CODE_IN_USE), answer
                    beat = beats(a)  # its beats from now on: after the stranger's try
                    await wait_for(lambda: bool(beat), limits.claim_ttl + 10)  # a's beat
                    assert beat[0] == set()  # the host's claim made again, not lost
                    assert reg.state == "registered" and reg.registrations == 1
                    assert a.sessions == {creds.code}
                finally:
                    if writer is not None:
                        writer.close()
                    await b.close()
                    await b.directory.close()

    run(main(), timeout=40)
