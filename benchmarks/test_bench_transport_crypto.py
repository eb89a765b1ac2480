"""The sealed transport against its floors, measured in the same run.

* record seal+open against a bare ChaCha20-Poly1305 encrypt+decrypt
  (``cryptography``) of the same sizes: what record framing, nonces and
  associated data add to the AEAD itself;
* round trips (direct, through the relay) against a raw TCP echo of the same
  bytes on the same event loop: what sealing and the channel add to the socket;
* the handshake (TCP connect + hello + SPAKE2 + key confirmation) against a
  bare TCP connect and close.

Each ratio is taken from calls alternating with its baseline (so load from
other processes hits both alike) and stored in ``extra_info``; a table is
printed at the end. Run with ``pytest benchmarks/test_bench_transport_crypto.py``.
The async cases keep one event loop for the whole module so each round
measures the operation, not loop start-up.
"""

from __future__ import annotations

import asyncio
import statistics
import struct
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from _report import write_lines
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
RATIOS: dict[str, tuple[float, float, float]] = {}  # case -> (ours s, baseline s, ratio)


def interleaved(
    ours: Callable[[], object], base: Callable[[], object], rounds: int, *, stat: str = "min"
) -> tuple[float, float]:
    """Times of ``ours`` and ``base`` from alternating calls: the best (CPU-bound
    work) or the median (anything with a socket in it)."""
    a: list[float] = []
    b: list[float] = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        base()
        t1 = time.perf_counter()
        ours()
        t2 = time.perf_counter()
        b.append(t1 - t0)
        a.append(t2 - t1)
    pick = min if stat == "min" else statistics.median
    return pick(a), pick(b)


def record(benchmark: Any, case: str, baseline: str, times: tuple[float, float]) -> None:
    ours, base = times
    benchmark.extra_info[f"x_{baseline}"] = round(ours / base, 3)
    benchmark.extra_info[f"{baseline}_us"] = round(base * 1e6, 1)
    RATIOS[f"{case} / {baseline}"] = (ours, base, ours / base)


@pytest.fixture(scope="module", autouse=True)
def ratio_table(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if RATIOS:
        write_lines(request, [
            "transport: ours / same-run baseline (alternating calls)",
            *(f"  {case:44s} {ours * 1e6:9.1f} us / {base * 1e6:9.1f} us = {ratio:6.2f}x"
              for case, (ours, base, ratio) in RATIOS.items()),
        ])  # fmt: skip


@pytest.mark.parametrize("size", [1024, 64 * 1024, 1024 * 1024], ids=["1KiB", "64KiB", "1MiB"])
def test_seal_open_throughput(benchmark: Any, size: int) -> None:
    keys = derive_session_keys(b"k" * 32, b"t" * 32)
    sealer = RecordSealer(keys.host_to_viewer, DIRECTION_HOST_TO_VIEWER)
    opener = RecordOpener(bytearray(keys.host_to_viewer), DIRECTION_HOST_TO_VIEWER)
    message = bytes(size)

    def round_trip() -> bytes:
        return opener.open(FrameType.RECORD_DATA, sealer.seal(FrameType.RECORD_DATA, message))

    # The floor: the same AEAD, key size and message, a fresh 12-byte nonce and
    # a few bytes of associated data, with no record layer around it.
    aead = ChaCha20Poly1305(bytes(keys.host_to_viewer))
    ad = struct.pack(">BQ", FrameType.RECORD_DATA, 0)
    counter = iter(range(1 << 62))

    def bare() -> bytes:
        nonce = next(counter).to_bytes(12, "big")
        return aead.decrypt(nonce, aead.encrypt(nonce, message, ad), ad)

    assert benchmark(round_trip) == message
    assert bare() == message
    rounds = max(20, min(2000, int(0.5 / max(benchmark.stats.stats.min, 1e-7))))
    times = interleaved(round_trip, bare, rounds)
    record(benchmark, f"seal+open {size // 1024} KiB", "bare AEAD", times)
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


_LEN = struct.Struct(">I")


class RawEcho:
    """A length-prefixed TCP echo on loopback: the socket floor of a round trip."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    @staticmethod
    async def _serve(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            while True:
                (n,) = _LEN.unpack(await r.readexactly(4))
                w.write(_LEN.pack(n) + await r.readexactly(n))
                await w.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            w.close()

    async def start(self) -> RawEcho:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        return self

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def ping(self, data: bytes) -> bytes:
        assert self.reader is not None and self.writer is not None
        self.writer.write(_LEN.pack(len(data)) + data)
        await self.writer.drain()
        (n,) = _LEN.unpack(await self.reader.readexactly(4))
        return await self.reader.readexactly(n)

    async def connect_and_close(self) -> None:
        _, w = await asyncio.open_connection("127.0.0.1", self.port)
        w.close()
        await w.wait_closed()

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


def test_handshake_time(benchmark: Any, loop: asyncio.AbstractEventLoop) -> None:
    """TCP connect + hello + SPAKE2 + key confirmation on loopback, both sides,
    against a bare TCP connect + close."""
    run = _runner(loop)
    creds = SessionCredentials()
    listener = run(lambda: listen_direct("127.0.0.1", 0, creds, _echo, timeouts=QUIET,
                                         attempts_per_minute=10**9))  # fmt: skip
    raw = run(RawEcho().start)

    async def connect_and_close() -> None:
        channel = await connect_direct("127.0.0.1", listener.port, creds.code, creds.password,
                                       timeouts=QUIET)  # fmt: skip
        await channel.close()

    benchmark.pedantic(lambda: run(connect_and_close), rounds=30, warmup_rounds=2)
    times = interleaved(lambda: run(connect_and_close), lambda: run(raw.connect_and_close), 30,
                        stat="median")  # fmt: skip
    record(benchmark, "handshake", "TCP connect", times)
    run(raw.close)
    run(listener.close)


@pytest.mark.parametrize("size", [4, 64 * 1024], ids=["4B", "64KiB"])
def test_round_trip_direct(benchmark: Any, loop: asyncio.AbstractEventLoop, size: int) -> None:
    run = _runner(loop)
    creds = SessionCredentials()
    listener = run(lambda: listen_direct("127.0.0.1", 0, creds, _echo, timeouts=QUIET))
    viewer = run(lambda: connect_direct("127.0.0.1", listener.port, creds.code, creds.password,
                                        timeouts=QUIET))  # fmt: skip
    raw = run(RawEcho().start)
    data = bytes(range(256)) * (size // 256) or b"ping"

    async def ping() -> bytes:
        await viewer.send(data)
        return await viewer.recv()

    async def raw_ping() -> bytes:
        return await raw.ping(data)

    assert benchmark(lambda: run(ping)) == data
    assert run(raw_ping) == data
    times = interleaved(lambda: run(ping), lambda: run(raw_ping), 300, stat="median")
    record(benchmark, f"round trip direct {len(data)} B", "raw TCP echo", times)
    run(viewer.close)
    run(raw.close)
    run(listener.close)


def test_round_trip_relay(benchmark: Any, loop: asyncio.AbstractEventLoop) -> None:
    run = _runner(loop)
    creds = SessionCredentials()
    relay = Relay()
    run(relay.start)
    reg = run(lambda: host_via_relay("127.0.0.1", relay.port, creds, _echo, timeouts=QUIET))
    run(lambda: reg.wait_registered(5))
    viewer = run(lambda: connect_via_relay("127.0.0.1", relay.port, creds.code, creds.password,
                                           timeouts=QUIET))  # fmt: skip
    raw = run(RawEcho().start)

    async def ping() -> bytes:
        await viewer.send(b"ping")
        return await viewer.recv()

    async def raw_ping() -> bytes:
        return await raw.ping(b"ping")

    assert benchmark(lambda: run(ping)) == b"ping"
    # The baseline is one direct socket: the relay's second hop is part of "ours".
    times = interleaved(lambda: run(ping), lambda: run(raw_ping), 300, stat="median")
    record(benchmark, "round trip via relay 4 B", "raw TCP echo", times)
    run(viewer.close)
    run(raw.close)
    run(reg.close)
    run(relay.close)
