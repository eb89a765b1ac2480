"""The shaping proxy keeps its model: every byte, in order; a bounded queue; at
least the serialization time of the bytes sent and at least the configured
delay (lower bounds only: the model guarantees them, so they cannot flake)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from screencodec.linkbench import DirectionStats, Link, ShapingProxy, parse_link

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def run(coro: Awaitable[None], timeout: float = 20.0) -> None:
    async def main() -> None:
        await asyncio.wait_for(coro, timeout)

    asyncio.run(main())


@asynccontextmanager
async def through(link: Link, handler: Handler) -> AsyncIterator[ShapingProxy]:
    """A server running ``handler`` behind a proxy shaping ``link``."""
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    proxy = ShapingProxy(server.sockets[0].getsockname()[1], link)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()
        server.close()
        await server.wait_closed()


async def _read_all(reader: asyncio.StreamReader) -> bytes:
    chunks = []
    while chunk := await reader.read(1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def test_every_byte_in_order_both_ways_and_the_queue_stays_bounded() -> None:
    link = Link.symmetric(4e6 / 8 * 10, 0.004, queue=16 * 1024)  # 40 Mbit/s, small queue
    down, up = os.urandom(300_000), os.urandom(200_000)
    got: dict[str, bytes] = {}

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(down)
        writer.write_eof()
        got["up"] = await _read_all(reader)
        writer.close()

    async def main() -> None:
        async with through(link, handler) as proxy:
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            writer.write(up)
            writer.write_eof()
            got["down"] = await _read_all(reader)
            writer.close()
            while "up" not in got:  # the server reads until our EOF reached it
                await asyncio.sleep(0.01)
            for stats, sent in ((proxy.down, down), (proxy.up, up)):
                assert stats.bytes_in == stats.bytes_out == len(sent)
                # More was offered than the queue holds, and it never held more.
                assert link.queue // 2 < stats.max_queue <= link.queue
                assert stats.queued == 0
                assert stats.deliveries[-1][1] == len(sent)

    run(main())
    assert got["down"] == down
    assert got["up"] == up


@pytest.mark.parametrize("rate", [2e6 / 8, 8e6 / 8])
def test_n_bytes_take_at_least_n_over_the_rate_plus_the_delay(rate: float) -> None:
    link = Link.symmetric(rate, 0.03)
    n = int(rate * 0.25)
    data = os.urandom(n)
    received = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert await reader.readexactly(n) == data
        received.set()
        writer.close()

    async def main() -> None:
        async with through(link, handler) as proxy:
            _, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            t0 = time.monotonic()
            writer.write(data)
            await received.wait()
            elapsed = time.monotonic() - t0
            writer.close()
            assert elapsed >= n / rate + link.delay
            assert proxy.up.max_queue <= link.queue

    run(main())


def test_a_round_trip_takes_at_least_the_rtt() -> None:
    link = Link.symmetric(None, 0.08)

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(4096):
            writer.write(data)
        writer.close()

    async def main() -> None:
        async with through(link, echo) as proxy:
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            for _ in range(3):
                t0 = time.monotonic()
                writer.write(b"ping")
                assert await reader.readexactly(4) == b"ping"
                assert time.monotonic() - t0 >= link.rtt
            writer.close()
            assert proxy.down.max_queue == proxy.up.max_queue == 0  # unlimited: no queue

    run(main())


def test_an_unlimited_link_without_delay_relays() -> None:
    data = os.urandom(2_000_000)

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await _read_all(reader))
        writer.write_eof()
        writer.close()

    async def main() -> None:
        async with through(parse_link("unlimited"), echo) as proxy:
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            writer.write(data)
            writer.write_eof()
            assert await _read_all(reader) == data
            writer.close()

    run(main())


@pytest.mark.parametrize(
    ("text", "rate", "up", "rtt", "queue"),
    [
        ("4M,40ms", 500_000.0, 500_000.0, 0.04, 256 * 1024),
        ("1M,100ms", 125_000.0, 125_000.0, 0.1, 256 * 1024),
        ("500k/20M,0.02s,64K", 62_500.0, 2_500_000.0, 0.02, 64 * 1024),
        ("20Mbit,20", 2_500_000.0, 2_500_000.0, 0.02, 256 * 1024),
        ("unlimited", None, None, 0.0, 256 * 1024),
        ("unlimited,40ms", None, None, 0.04, 256 * 1024),
    ],
)
def test_parse_link(text: str, rate: float | None, up: float | None, rtt: float,
                    queue: int) -> None:  # fmt: skip
    link = parse_link(text)
    assert (link.rate, link.up_rate, link.queue) == (rate, up, queue)
    assert link.rtt == pytest.approx(rtt)
    assert link.name == text


@pytest.mark.parametrize("bad", ["", "4M", "fast,40ms", "4M,soon", "0M,40ms", "4M,40ms,1x,2"])
def test_parse_link_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match=r"bad|must be"):
        parse_link(bad)


def test_bytes_between_counts_deliveries_in_the_window() -> None:
    stats = DirectionStats(deliveries=[(1.0, 100), (2.0, 300), (3.0, 600)])
    assert stats.bytes_between(0.0, 10.0) == 600
    assert stats.bytes_between(1.0, 2.0) == 200
    assert stats.bytes_between(1.5, 2.5) == 200
    assert stats.bytes_between(3.5, 9.0) == 0


def test_an_unknown_workload_says_what_exists_and_a_missing_recording_how_to_make_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from screencodec.linkbench import workloads

    monkeypatch.setenv("SCREENCODEC_CORPUS", str(tmp_path))  # an empty corpus
    assert workloads.check_workload("typing") == "typing"
    with pytest.raises(ValueError, match="make corpus"):
        workloads.check_workload("corpus:window-drag")
    with pytest.raises(ValueError, match=r"unknown scenario 'tpying'.*typing"):
        workloads.check_workload("tpying")
