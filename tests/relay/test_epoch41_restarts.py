"""epoch41: the recovering grace against every order in which a relay
cluster and its Redis may (re)start, by someone who knows only a live
host's session code (the standard: nobody who merely knows a code can lock
the real agent out).

``screencodec:epoch`` holds a random token; a relay starting that finds
none starts the grace itself (a new cluster's Redis and a flushed one look
alike), and a relay finding another token than it knew starts it too.
Outcomes (real redis-server, real relays and hosts on loopback, the
stranger from 127.0.0.2):

* a new cluster: the first relay refuses registrations BUSY "session
  directory recovering" for ``claim_ttl``, and says so at start (the CLI's
  listening line); a relay started after that waits for nothing;
* every relay restarted at once, Redis kept: no grace, the host takes its
  code back with its secret, the stranger is refused CODE_IN_USE;
* Redis restarted with persistence (AOF, every write synced): the claim is
  back, the stranger is refused CODE_IN_USE at once; a new code waits the
  grace (BUSY), since a Redis restarted from an RDB snapshot looks the same;
* Redis restarted from an RDB snapshot taken before the host registered
  (found: the epoch the relays knew, no grace, the stranger's registration
  RELAY_OK, the host cut at its relay's next beat): another redis-server
  process (INFO's run_id) than the keys were written under starts the
  grace; the stranger is refused, the host keeps its code;
* a relay down during a flush and started again: it takes the epoch the
  others re-created, and the grace they started; the stranger at it is
  refused, the host keeps its code;
* an epoch re-created without a grace (a relay before epoch41 started on a
  flushed Redis: its ``SET NX epoch 1``) is another token than the relays
  knew: the next claim starts the grace.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from free_port import free_port
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import RefuseCode
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.connect import host_via_relay
from screencodec.transport.connect.via_relay import RelayRegistration
from screencodec.transport.relay import Relay, RelayLimits
from screencodec.transport.relay.directory import ClaimResult
from screencodec.transport.relay.protocol import claim_verifier
from screencodec.transport.relay.redis_directory import RedisDirectory

from .cluster import RedisServer, RelayProcess, beats, run, wait_for
from .test_attack40_redis_loss import _kept, _register_as_stranger

FAST = Timeouts(handshake=5.0, idle=None, keepalive=None, max_duration=None)
BUSY = (RefuseCode.BUSY, b"session directory recovering")


@pytest.fixture
def aof_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server that keeps every write (AOF, fsync always), already a
    cluster's (its epoch set)."""
    server = RedisServer()
    server.options = ["--appendonly", "yes", "--appendfsync", "always", "--dir", str(tmp_path)]
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _relay(redis: RedisServer, limits: RelayLimits, port: int = 0) -> Relay:
    return Relay("127.0.0.1", port or free_port(), limits=limits,
                 directory=RedisDirectory(redis.url, timeout=1.0))


async def _stop(*relays: Relay) -> None:
    for relay in relays:
        await relay.close()
        await relay.directory.close()
    for writer in _kept:
        writer.close()
    _kept.clear()


async def _started(redis: RedisServer, limits: RelayLimits) -> tuple[Relay, Relay]:
    """Two relays of one cluster, listening."""
    a, b = _relay(redis, limits), _relay(redis, limits)
    await a.start()
    await b.start()
    return a, b


async def _host_at(port: int) -> tuple[SessionCredentials, RelayRegistration]:
    """A host registering at the relay on ``port`` (its registration not
    yet waited for), retrying fast."""
    creds = SessionCredentials()
    reg = await host_via_relay("127.0.0.1", port, creds, lambda ch: None,
                               timeouts=FAST, ping_interval=0.5, backoff_max=0.3)
    return creds, reg


def test_a_new_cluster_waits_claim_ttl_once_and_its_relay_says_so(
        new_redis: RedisServer) -> None:
    first = RelayProcess(new_redis, claim_ttl=3.0)
    later = None
    try:
        assert ("; new registrations wait 3 s: the session directory is recovering (a new "
                "cluster, or Redis restarted or lost its keys)") in first.line
        assert run(_register_as_stranger(first.port, "123123123"), 10) == BUSY

        async def host_registers() -> None:
            creds = SessionCredentials()
            async with await host_via_relay("127.0.0.1", first.port, creds, lambda ch: None,
                                            timeouts=FAST, backoff_max=0.3) as reg:
                # Refused BUSY at first (wait_registered would raise it: the
                # first answer), registered by its retries once the grace is over.
                await wait_for(lambda: reg.registrations == 1, 10)

        run(host_registers(), 20)
        later = RelayProcess(new_redis, claim_ttl=3.0)
        assert "new registrations wait" not in later.line, later.line
    finally:
        first.kill()
        if later is not None:
            later.kill()


def test_every_relay_restarted_at_once_with_redis_kept_the_host_takes_its_code_back(
        redis_server: RedisServer) -> None:
    limits = RelayLimits(claim_ttl=6.0)

    async def main() -> None:
        a, b = await _started(redis_server, limits)
        creds, reg = await _host_at(a.port)
        try:
            await reg.wait_registered(5)
            await _stop(a, b)  # a deploy: every relay at once; the claims stay
            a, b = _relay(redis_server, limits, a.port), _relay(redis_server, limits, b.port)
            await a.start()
            await b.start()
            assert a.recovering_at_start == b.recovering_at_start == 0.0
            await wait_for(lambda: reg.registrations == 2, 10)  # its secret: the code back
            assert await _register_as_stranger(b.port, creds.code) == (
                RefuseCode.CODE_IN_USE, b"session code in use")
            assert a.sessions == {creds.code}
        finally:
            await reg.close()
            await _stop(a, b)

    run(main(), 40)


def test_redis_restarted_with_every_write_kept_keeps_the_code_and_starts_the_grace(
        aof_redis: RedisServer) -> None:
    limits = RelayLimits(claim_ttl=6.0)

    async def main() -> None:
        a, b = await _started(aof_redis, limits)
        creds, reg = await _host_at(a.port)
        try:
            await reg.wait_registered(5)
            aof_redis.stop()  # SIGKILL: what the AOF holds comes back
            aof_redis.start(epoch=False)
            assert await _register_as_stranger(b.port, creds.code) == (
                RefuseCode.CODE_IN_USE, b"session code in use")
            # The relays cannot tell a Redis that kept every write from one
            # restored from an older snapshot: the grace, for a new code.
            assert await _register_as_stranger(b.port, "321321321") == BUSY
            beat = beats(a)  # its beats from now on: after the stranger's try
            await wait_for(lambda: bool(beat), limits.claim_ttl + 10)  # a beat of a's
            assert beat[0] == set()  # the host's claim kept, not lost
            assert reg.state == "registered" and reg.registrations == 1
            assert a.sessions == {creds.code}
        finally:
            await reg.close()
            await _stop(a, b)

    run(main(), 40)


def test_a_relay_down_during_a_flush_takes_the_epoch_and_grace_the_others_made(
        redis_server: RedisServer) -> None:
    limits = RelayLimits(claim_ttl=6.0)

    async def main() -> None:
        a, c = await _started(redis_server, limits)
        creds, reg = await _host_at(a.port)
        probe = aioredis.Redis.from_url(redis_server.url)
        try:
            await reg.wait_registered(5)
            await _stop(c)
            await probe.flushall()

            async def epoch_back() -> bool:
                return bool(await probe.exists("screencodec:epoch"))

            await wait_for(epoch_back, limits.claim_ttl)  # a's next beat
            c = _relay(redis_server, limits, c.port)
            await c.start()
            assert 0.0 < c.recovering_at_start <= limits.claim_ttl
            assert (await _register_as_stranger(c.port, creds.code))[0] in (
                RefuseCode.BUSY, RefuseCode.CODE_IN_USE)
            await asyncio.sleep(c.recovering_at_start + 0.2)  # the grace is over
            assert await _register_as_stranger(c.port, creds.code) == (
                RefuseCode.CODE_IN_USE, b"session code in use")
            assert reg.state == "registered" and reg.registrations == 1
            assert a.sessions == {creds.code}
        finally:
            await probe.aclose()
            await reg.close()
            await _stop(a, c)

    run(main(), 40)


def test_an_epoch_recreated_without_a_grace_is_another_token_and_starts_it(
        redis_server: RedisServer) -> None:
    async def main() -> None:
        d = RedisDirectory(redis_server.url)
        fresh = RedisServer()
        fresh.start(epoch=False)
        on_new = RedisDirectory(fresh.url)
        flusher = aioredis.Redis.from_url(redis_server.url)
        host, stranger = (claim_verifier("000000041", s * 16) for s in (b"a", b"b"))
        try:
            assert await d.begin(1.0) == 0.0  # a cluster's Redis (the fixture's epoch)
            assert 0.9 <= await on_new.begin(1.0) <= 1.0  # a new one: the grace
            assert await on_new.claim("000000041", host, "r1:1", 1.0) is ClaimResult.RECOVERING
            assert await d.claim("000000041", host, "r1:1", 1.0) is ClaimResult.NEW
            await flusher.flushall()
            await flusher.set("screencodec:epoch", "1", nx=True)  # a relay before epoch41
            assert await d.claim("000000042", stranger, "r2:1", 1.0) is ClaimResult.RECOVERING
            assert await d.renew({"000000041": host}, "r1:1", 1.0) == set()
            assert await d.claim("000000041", stranger, "r2:1", 1.0) is ClaimResult.IN_USE
            assert await flusher.get("screencodec:epoch") == b"1"  # taken, not replaced
        finally:
            await flusher.aclose()
            await d.close()
            await on_new.close()
            fresh.stop()

    run(main())


@pytest.fixture
def rdb_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server that keeps what its last RDB snapshot (SAVE) held."""
    server = RedisServer()
    server.options = ["--dir", str(tmp_path), "--dbfilename", "dump.rdb"]
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_redis_restarted_from_a_snapshot_older_than_a_claim_does_not_hand_out_the_code(
        rdb_redis: RedisServer) -> None:
    limits = RelayLimits(claim_ttl=9.0)

    async def main() -> None:
        a, b = await _started(rdb_redis, limits)
        saver = aioredis.Redis.from_url(rdb_redis.url)
        await saver.save()  # the snapshot: before the host registers
        await saver.aclose()
        creds, reg = await _host_at(a.port)
        try:
            await reg.wait_registered(5)
            rdb_redis.stop()  # SIGKILL: what the snapshot holds comes back
            rdb_redis.start(epoch=False)
            assert (await _register_as_stranger(b.port, creds.code))[0] in (
                RefuseCode.BUSY, RefuseCode.CODE_IN_USE)
            beat = beats(a)  # its beats from now on: after the stranger's try
            await wait_for(lambda: bool(beat), limits.claim_ttl + 10)  # a beat of a's
            assert beat[0] == set()  # the host's claim made again, not lost
            assert reg.state == "registered" and reg.registrations == 1
        finally:
            await reg.close()
            await _stop(a, b)

    run(main(), 40)


def test_a_directory_whose_begin_returns_nothing_still_starts_its_relay() -> None:
    """An embedder's Directory written when begin() returned None (before
    epoch41): the relay starts, waits for nothing, and registers a host."""
    from screencodec.transport.relay.directory import MemoryDirectory

    class Before(MemoryDirectory):
        async def begin(self, ttl: float) -> None:  # type: ignore[override]
            return None

    async def main() -> None:
        relay = Relay("127.0.0.1", free_port(), directory=Before())
        await relay.start()
        try:
            assert relay.recovering_at_start == 0.0
            answer = await _register_as_stranger(relay.port, "555444333")
            assert answer[0] not in (RefuseCode.BUSY, RefuseCode.CODE_IN_USE), answer
        finally:
            await _stop(relay)

    run(main())
