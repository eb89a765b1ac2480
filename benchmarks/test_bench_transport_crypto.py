"""Sealed transport: record seal+open throughput, handshake time, loopback round trips.

Run with ``pytest benchmarks/test_bench_transport_crypto.py --benchmark-only``.
The async cases keep one event loop for the whole module so each round
measures the operation, not loop start-up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest

from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.crypto import (
    DIRECTION_HOST_TO_VIEWER,
    RecordOpener,
    RecordSealer,
    derive_session_keys,
)
from screencodec.transport.channel.framing import FrameType
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import (
    connect_direct,
    connect_via_relay,
    host_via_relay,
    listen_direct,
)
from screencodec.transport.relay import Relay

T = TypeVar("T")
QUIET = Timeouts(handshake=10, idle=None, keepalive=None)


@pytest.mark.parametrize("size", [64 * 1024, 1024 * 1024], ids=["64KiB", "1MiB"])
def test_seal_open_throughput(benchmark: Any, size: int) -> None:
    keys = derive_session_keys(b"k" * 32, b"t" * 32)
    sealer = RecordSealer(keys.host_to_viewer, DIRECTION_HOST_TO_VIEWER)
    opener = RecordOpener(bytearray(keys.host_to_viewer), DIRECTION_HOST_TO_VIEWER)
    message = bytes(size)

    def round_trip() -> bytes:
        return opener.open(FrameType.RECORD_DATA, sealer.seal(FrameType.RECORD_DATA, message))

    assert benchmark(round_trip) == message
    benchmark.extra_info["MB_per_s"] = round(size / benchmark.stats.stats.median / 1e6, 1)


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


def _runner(loop: asyncio.AbstractEventLoop) -> Callable[[Callable[[], Awaitable[T]]], T]:
    return lambda make: loop.run_until_complete(make())


async def _echo(channel: SecureChannel) -> None:
    try:
        while True:
            await channel.send(await channel.recv())
    except Exception:
        await channel.close()


def test_handshake_time(benchmark: Any, loop: asyncio.AbstractEventLoop) -> None:
    """TCP connect + hello + SPAKE2 + key confirmation on loopback, both sides."""
    run = _runner(loop)
    creds = SessionCredentials()
    listener = run(lambda: listen_direct("127.0.0.1", 0, creds, _echo, timeouts=QUIET,
                                         attempts_per_minute=10**9))

    async def connect_and_close() -> None:
        channel = await connect_direct("127.0.0.1", listener.port, creds.code, creds.password,
                                       timeouts=QUIET)
        await channel.close()

    benchmark.pedantic(lambda: run(connect_and_close), rounds=30, warmup_rounds=2)
    run(listener.close)


def test_round_trip_direct(benchmark: Any, loop: asyncio.AbstractEventLoop) -> None:
    run = _runner(loop)
    creds = SessionCredentials()
    listener = run(lambda: listen_direct("127.0.0.1", 0, creds, _echo, timeouts=QUIET))
    viewer = run(lambda: connect_direct("127.0.0.1", listener.port, creds.code, creds.password,
                                        timeouts=QUIET))

    async def ping() -> bytes:
        await viewer.send(b"ping")
        return await viewer.recv()

    assert benchmark(lambda: run(ping)) == b"ping"
    run(viewer.close)
    run(listener.close)


def test_round_trip_relay(benchmark: Any, loop: asyncio.AbstractEventLoop) -> None:
    run = _runner(loop)
    creds = SessionCredentials()
    relay = Relay()
    run(relay.start)
    reg = run(lambda: host_via_relay("127.0.0.1", relay.port, creds, _echo, timeouts=QUIET))
    run(lambda: reg.wait_registered(5))
    viewer = run(lambda: connect_via_relay("127.0.0.1", relay.port, creds.code, creds.password,
                                           timeouts=QUIET))

    async def ping() -> bytes:
        await viewer.send(b"ping")
        return await viewer.recv()

    assert benchmark(lambda: run(ping)) == b"ping"
    run(viewer.close)
    run(reg.close)
    run(relay.close)
