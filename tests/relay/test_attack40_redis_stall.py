"""A cluster's Redis stalls (SIGSTOP for 10 s: a swapping machine, a long
fork for a snapshot, a paused VM) while a host is registered at one relay and
its agent, sent there by another, is in session.

What must hold: the live session goes on (forwarding needs no Redis), a
relay answers a newcomer within its directory timeout instead of hanging,
neither relay spins, and the host's claim outlives the stall (10 s, under
``claim_ttl`` 15 s): else, once Redis woke up, the code was free until the
relay's next beat, anyone who knew it could register it at another relay,
and the live host was cut for someone else's claim.

Found: the claim lapsed. A heartbeat spent its directory timeout (2 s) on
each of its three calls in turn (the log key, the member list, then the
renewal) and, failed, waited a whole period (5 s) before trying again: a
stall from 2 s after a renewal to 12 s after it left the claim's next
renewal at 16 s, a second after it expired. Fix (server.py, the heartbeat):
the renewal goes first, and a failed one is tried again a second later.

Real ``screencodec relay`` processes (the CLI's defaults: ``claim_ttl`` 15 s,
a 2 s directory timeout) sharing a real redis-server; a real host
registration and agent on loopback; the claim watched in Redis itself.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest
import redis.asyncio as aioredis

from screencodec.errors import TransportError
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import RefuseCode
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import connect_via_relay, host_via_relay

from .cluster import RedisServer, RelayProcess, run
from .test_attack40_redis_loss import _kept, _register_as_stranger

FAST = Timeouts(handshake=5.0, idle=None, keepalive=None, max_duration=None)
STALL = 10.0


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_a_ten_second_redis_stall_keeps_the_session_and_the_hosts_claim(
        redis_server: RedisServer) -> None:
    a = RelayProcess(redis_server, claim_ttl=15.0)
    b = RelayProcess(redis_server, claim_ttl=15.0)
    assert redis_server.proc is not None
    redis_pid = redis_server.proc.pid

    async def main() -> None:
        watch = aioredis.Redis.from_url(redis_server.url, socket_timeout=0.5)
        creds = SessionCredentials()
        accepted: asyncio.Queue[SecureChannel] = asyncio.Queue()
        stopped = False
        try:
            async with await host_via_relay("127.0.0.1", a.port, creds, accepted.put_nowait,
                                            timeouts=FAST, ping_interval=1.0) as reg:
                await reg.wait_registered(5)
                key = f"screencodec:claim:{creds.code}"
                viewer = await connect_via_relay("127.0.0.1", b.port, creds.code,
                                                 creds.password, timeouts=FAST)
                host = await asyncio.wait_for(accepted.get(), 5)
                # 2 s after the registration's claim (its last renewal) ...
                while await watch.pttl(key) > 13_000:
                    await asyncio.sleep(0.05)
                cpu = [_cpu_seconds(p.proc.pid) for p in (a, b)]
                os.kill(redis_pid, signal.SIGSTOP)
                stopped = True
                t0 = time.monotonic()
                # The session goes on; a newcomer is answered, not left hanging.
                for i in range(3):
                    await viewer.send(b"during %d" % i)
                    assert await host.recv() == b"during %d" % i
                with pytest.raises(TransportError, match="BUSY: session directory unavailable"):
                    await asyncio.wait_for(connect_via_relay(
                        "127.0.0.1", b.port, creds.code, creds.password, timeouts=FAST), 8)
                await asyncio.sleep(STALL - (time.monotonic() - t0))
                os.kill(redis_pid, signal.SIGCONT)
                stopped = False
                spent = [_cpu_seconds(p.proc.pid) - c for p, c in zip((a, b), cpu, strict=True)]
                assert max(spent) < 2.0, spent  # waited, not spun
                # ... and the claim never lapses: nobody may take the code.
                gaps = 0
                answers = set()
                end = time.monotonic() + 8.0
                while time.monotonic() < end:
                    if not await watch.exists(key):
                        gaps += 1
                        answers.add((await _register_as_stranger(b.port, creds.code))[0])
                    await asyncio.sleep(0.05)
                assert (gaps, answers) == (0, set())
                assert (await _register_as_stranger(b.port, creds.code))[0] == \
                    RefuseCode.CODE_IN_USE
                assert reg.state == "registered" and reg.registrations == 1
                await viewer.send(b"after")
                assert await host.recv() == b"after"
                await viewer.close()
                await host.close()
        finally:
            if stopped:
                os.kill(redis_pid, signal.SIGCONT)
            for writer in _kept:
                writer.close()
            _kept.clear()
            await watch.aclose()

    try:
        run(main(), timeout=60)
    finally:
        a.kill()
        b.kill()


def test_a_redis_stall_longer_than_claim_ttl_does_not_hand_a_live_code_to_a_stranger(
        redis_server: RedisServer) -> None:
    """Longer than a claim lives, the claim expires inside Redis. Found (3 of
    3 runs): at the wake the first claim won, a stranger registering the
    code at another relay at once (before the host's relay's renewal) was
    RELAY_OK, and the host's relay, finding its claim someone else's, cut
    its host (lost: CODE_IN_USE). Fix (redis_directory.py): every heartbeat
    (renewal, announcement) marks Redis ``heard`` for 2/3 of claim_ttl; a
    claim, renewal or announcement that finds it gone while relays beat
    starts the recovering grace, as a loss of keys does."""
    from screencodec.transport.relay import RelayLimits

    from .cluster import relays

    assert redis_server.proc is not None
    redis_pid = redis_server.proc.pid

    async def main() -> None:
        async with relays(redis_server, 2, RelayLimits(claim_ttl=3.0)) as (a, b):
            creds = SessionCredentials()
            async with await host_via_relay("127.0.0.1", a.port, creds, lambda ch: None,
                                            timeouts=FAST, ping_interval=0.5) as reg:
                await reg.wait_registered(5)
                os.kill(redis_pid, signal.SIGSTOP)
                try:
                    await asyncio.sleep(4.5)  # past the claim's 3 s
                finally:
                    os.kill(redis_pid, signal.SIGCONT)
                try:
                    answer, _ = await _register_as_stranger(b.port, creds.code)
                    assert answer in (RefuseCode.BUSY, RefuseCode.CODE_IN_USE), answer
                    await asyncio.sleep(2.0)
                    assert reg.state == "registered" and reg.registrations == 1
                finally:
                    for writer in _kept:
                        writer.close()
                    _kept.clear()

    run(main(), timeout=40)
