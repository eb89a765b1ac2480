"""Several relays sharing one real Redis: routing, a relay killed, Redis
restarted, limits shared across relays."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import (
    AccessRefusedError,
    FrameType,
    RefuseCode,
    read_frame,
)
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import connect_via_relay, host_via_relay
from screencodec.transport.relay import ROLE_HOST_CONTROL, RelayLimits, encode_open
from screencodec.transport.relay.redis_directory import RedisDirectory

from .cluster import RedisServer, RelayProcess, relays, run, wait_for

FAST = Timeouts(handshake=5.0, idle=None, keepalive=None, max_duration=None)


async def _exchange_bit_exact(viewer: SecureChannel, host: SecureChannel) -> None:
    for i in range(8):
        up, down = os.urandom(50_000 + i), os.urandom(70_000 + i)
        await viewer.send(up)
        await host.send(down)
        assert await host.recv() == up
        assert await viewer.recv() == down


async def _squat(port: int, code: str) -> int:
    """One registration attempt of ``code`` with a fresh secret, from another
    address; returns the relay's answer (a frame type, or a refusal code)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port,
                                                   local_addr=("127.0.0.2", 0))
    try:
        writer.write(encode_open(ROLE_HOST_CONTROL, code, os.urandom(16)))
        ftype, body = await read_frame(reader, 1024)
        return body[0] if ftype == FrameType.REFUSE else ftype
    finally:
        writer.close()


def test_viewer_at_another_relay_is_redirected_and_the_session_is_bit_exact(
        redis_server: RedisServer) -> None:
    async def main() -> None:
        async with relays(redis_server, 3) as (a, b, c):
            creds = SessionCredentials()
            accepted: asyncio.Queue[SecureChannel] = asyncio.Queue()
            async with await host_via_relay("127.0.0.1", a.port, creds, accepted.put_nowait,
                                            timeouts=FAST, ping_interval=0.5) as reg:
                await reg.wait_registered(5)
                viewer = await connect_via_relay("127.0.0.1", b.port, creds.code,
                                                 creds.password, timeouts=FAST)
                host = await asyncio.wait_for(accepted.get(), 5)
                await _exchange_bit_exact(viewer, host)
                # The viewer says where it ended up (the CLI prints this).
                assert viewer.peer == (
                    f"relay 127.0.0.1:{a.port} (redirected from 127.0.0.1:{b.port})")
                assert (a.stats.paired, b.stats.paired, c.stats.paired) == (1, 0, 0)
                assert b.stats.redirected == 1
                assert a.sessions == {creds.code} and not b.sessions and not c.sessions
                await viewer.close()
                await host.close()

    run(main())


def test_relay_killed_host_reclaims_elsewhere_and_nobody_else_can_meanwhile(
        redis_server: RedisServer) -> None:
    ttl = 4.0
    killed = RelayProcess(redis_server, claim_ttl=ttl)

    async def main() -> None:
        limits = RelayLimits(claim_ttl=ttl, registrations_per_minute=1000)
        async with relays(redis_server, 2, limits) as (b, c):
            creds = SessionCredentials()
            accepted: asyncio.Queue[SecureChannel] = asyncio.Queue()
            reg = await host_via_relay("127.0.0.1", killed.port, creds, accepted.put_nowait,
                                       timeouts=FAST, ping_interval=0.3, backoff_max=0.3,
                                       alternates=[("127.0.0.1", b.port), ("127.0.0.1", c.port)])
            async with reg:
                await reg.wait_registered(5)
                viewer = await connect_via_relay("127.0.0.1", c.port, creds.code,
                                                 creds.password, timeouts=FAST)
                host = await asyncio.wait_for(accepted.get(), 5)
                await _exchange_bit_exact(viewer, host)

                killed.kill()  # SIGKILL: no goodbye, the claim stays in Redis
                t0 = time.monotonic()
                answers = []
                while reg.registrations < 2:  # squat on both survivors until it is back
                    for relay in (b, c):
                        answers.append(await _squat(relay.port, creds.code))
                reclaimed_after = time.monotonic() - t0
                answers += [await _squat(r.port, creds.code) for r in (b, c)]
                assert set(answers) == {RefuseCode.CODE_IN_USE}, answers
                assert reclaimed_after < ttl
                assert b.stats.reclaims + c.stats.reclaims == 1
                assert b.stats.registrations + c.stats.registrations == 1

                # The old viewer's stream died with the relay; it reconnects
                # through whichever relay and is routed to the new holder.
                await viewer.close()
                await host.close()
                for entry in (b, c):
                    viewer = await connect_via_relay("127.0.0.1", entry.port, creds.code,
                                                     creds.password, timeouts=FAST)
                    host = await asyncio.wait_for(accepted.get(), 5)
                    await _exchange_bit_exact(viewer, host)
                    await viewer.close()
                    await host.close()

    try:
        run(main())
    finally:
        if killed.proc.poll() is None:
            killed.kill()


def test_redis_restart_relays_recover_and_renew_their_claims(
        redis_server: RedisServer) -> None:
    async def main() -> None:
        limits = RelayLimits(claim_ttl=1.5)
        async with relays(redis_server, 2, limits) as (a, b):
            creds = SessionCredentials()
            accepted: asyncio.Queue[SecureChannel] = asyncio.Queue()
            async with await host_via_relay("127.0.0.1", a.port, creds, accepted.put_nowait,
                                            timeouts=FAST, ping_interval=0.5) as reg:
                await reg.wait_registered(5)
                probe = RedisDirectory(redis_server.url, timeout=1.0)
                try:
                    redis_server.restart()  # every key is gone
                    assert await probe.locate(creds.code) is None
                    # a.'s next heartbeat puts the claim back
                    await wait_for(lambda: _holder_is(probe, creds.code, a.advertise))
                    viewer = await connect_via_relay("127.0.0.1", b.port, creds.code,
                                                     creds.password, timeouts=FAST)
                    host = await asyncio.wait_for(accepted.get(), 5)
                    await _exchange_bit_exact(viewer, host)
                    await viewer.close()
                    await host.close()
                    assert reg.registrations == 1  # the host never noticed
                    # and the restored claim is still the host's alone
                    assert await _squat(b.port, creds.code) == RefuseCode.CODE_IN_USE
                finally:
                    await probe.close()

    run(main())


async def _holder_is(directory: RedisDirectory, code: str, relay: str) -> bool:
    holder = await directory.locate(code)
    return holder is not None and holder.relay == relay


def test_guesses_spread_over_three_relays_hit_the_same_limit_as_on_one(
        redis_server: RedisServer) -> None:
    limits = RelayLimits(joins_per_minute=5)

    async def outcomes(ports: list[int]) -> list[str]:
        got = []
        for i in range(8):
            try:
                await connect_via_relay("127.0.0.1", ports[i % len(ports)], f"{i:09d}",
                                        "abcdefgh", timeouts=FAST)
            except AccessRefusedError as exc:
                got.append(exc.code.name)
        return got

    async def main() -> tuple[list[str], list[str]]:
        async with relays(redis_server, 3, limits) as cluster:
            spread = await outcomes([r.port for r in cluster])
        redis_server.restart()  # fresh counters
        async with relays(redis_server, 1, limits) as (one,):
            alone = await outcomes([one.port])
        return spread, alone

    spread, alone = run(main())
    assert spread == alone == ["UNKNOWN_SESSION"] * 5 + ["RATE_LIMITED"] * 3


def test_password_guesses_per_session_are_counted_across_relays(
        redis_server: RedisServer) -> None:
    async def main() -> None:
        limits = RelayLimits(guesses_per_session_per_minute=2)
        async with relays(redis_server, 3, limits) as cluster:
            creds = SessionCredentials()
            async with await host_via_relay("127.0.0.1", cluster[0].port, creds,
                                            lambda ch: None, timeouts=FAST) as reg:
                await reg.wait_registered(5)
                wrong = "".join("2" if ch != "2" else "3" for ch in creds.password)
                got = []
                for i, relay in enumerate(cluster):
                    # the relay counts a guess when its pair ends
                    await wait_for(lambda i=i: sum(r.stats.failed_handshakes
                                                   for r in cluster) == min(i, 2))
                    try:
                        await connect_via_relay("127.0.0.1", relay.port, creds.code, wrong,
                                                timeouts=FAST)
                    except AccessRefusedError as exc:
                        got.append(exc.code.name)
                    except Exception as exc:  # the host's verdict on a guess
                        got.append(type(exc).__name__)
                assert got == ["AuthenticationError", "AuthenticationError", "RATE_LIMITED"]
                assert creds.failed_attempts == 2

    run(main())


def test_unregistered_code_is_unknown_on_every_relay(redis_server: RedisServer) -> None:
    async def main() -> None:
        async with relays(redis_server, 2) as (a, b):
            for relay in (a, b):
                with pytest.raises(AccessRefusedError) as info:
                    await connect_via_relay("127.0.0.1", relay.port, "000000001", "abcdefgh",
                                            timeouts=FAST)
                assert info.value.code == RefuseCode.UNKNOWN_SESSION

    run(main())
