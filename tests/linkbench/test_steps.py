"""A link that changes under a session (``screencodec bench --step``): the
proxy's rate really changes, in its own process, over real sockets; a
session's steps are made at their times and what followed is measured; and
after a step down the queue the old rate built drains."""

from __future__ import annotations

import asyncio
import contextlib
import math
import subprocess
import sys
import time

import pytest

from screencodec.capture.replay import synthetic_sequence
from screencodec.linkbench import ShapingProxy, parse_link
from screencodec.linkbench.isolated import ProxyProcess
from screencodec.linkbench.session import run_session
from screencodec.linkbench.steps import (
    LinkStep,
    after_steps,
    drop_and_recovery,
    parse_cross,
    parse_step,
)

MBIT = 1e6 / 8


def test_parse_step_and_cross() -> None:
    assert parse_step("5s:1M") == LinkStep(5.0, MBIT)
    assert parse_step("2.5s:500k") == LinkStep(2.5, 500e3 / 8)
    assert parse_cross("5s-12s") == (5.0, 12.0)
    for bad in ("5:1M", "5s", "5s:", "5s:unlimited", "s:1M", "5s:0M"):
        with pytest.raises(ValueError, match="5s:1M"):
            parse_step(bad)
    for bad in ("12s-5s", "5s", "5-12"):
        with pytest.raises(ValueError, match="5s-12s"):
            parse_cross(bad)


def test_after_steps_measures_the_drop_and_the_recovery() -> None:
    """A scripted session: changes every 0.1 s from 0 to 10 s; the link drops
    at 3 s and recovers at 6 s; lags 400 ms until 4.0 s, 100 ms after; the
    link delivers 100 kB/s, 20 kB/s during the drop, 50 then 100 kB/s after."""
    assert drop_and_recovery([(3.0, 20e3), (6.0, 100e3)], 100e3) == (3.0, 6.0)
    assert drop_and_recovery([(3.0, 200e3)], 100e3) == (None, None)  # a rise first
    changes = [(k / 10, 0.4 if 3.0 <= k / 10 < 4.0 else 0.1) for k in range(100)]
    deliveries, total = [], 0
    for k in range(1, 1001):
        t = k / 100
        total += int((100e3 if t <= 3 else 20e3 if t <= 6 else 50e3 if t <= 7 else 100e3) / 100)
        deliveries.append((t, total))
    out = after_steps(3.0, 6.0, changes, deliveries, [(2.0, 0.01), (3.5, 0.3), (5.0, 0.02)],
                      end=10.0)  # fmt: skip
    assert out["settle_s"] == pytest.approx(0.9)  # the change at 3.9 s lagged last
    assert out["lag_p95_5s_ms"] == pytest.approx(400)
    assert out["queue_peak_ms"] == pytest.approx(300)
    assert out["during_kbit_s"] == pytest.approx(160, rel=0.01)
    # 80 % of 100 kB/s over a 0.5 s window: reached once it holds 0.3 s of the fast rate
    assert out["regain_s"] is not None and 1.2 <= out["regain_s"] <= 1.35


def test_the_proxy_process_changes_its_rate_on_real_sockets() -> None:
    """A server sends as fast as it can through the proxy (in its own
    process) at 8 Mbit/s; set to 1 Mbit/s, the proxy delivers at most that."""
    link = parse_link("8M,0ms")

    async def main() -> None:
        async def blast(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while True:
                    writer.write(bytes(1 << 16))
                    await writer.drain()
            except (ConnectionError, OSError):
                pass

        server = await asyncio.start_server(blast, "127.0.0.1", 0)
        proxy = ProxyProcess(server.sockets[0].getsockname()[1], link)
        await proxy.start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            reading = asyncio.ensure_future(_drain(reader))
            await asyncio.sleep(1.0)
            changed = time.perf_counter()
            await proxy.set_rate(MBIT)
            await asyncio.sleep(1.5)
            down, _ = await proxy.stats()
            reading.cancel()
            writer.close()
        finally:
            await proxy.close()
            server.close()
        fast = down.bytes_between(changed - 0.6, changed - 0.1) / 0.5
        slow = down.bytes_between(changed + 0.5, changed + 1.5) / 1.0
        assert fast >= 4 * MBIT  # it ran fast before ...
        assert slow <= 1.05 * MBIT  # ... and at the new rate after
        assert slow >= 0.5 * MBIT  # still moving

    asyncio.run(main())


async def _drain(reader: asyncio.StreamReader) -> None:
    while await reader.read(1 << 16):
        pass


def test_a_session_step_is_made_and_the_queue_drains_before_later_changes() -> None:
    """drag at 4M,40ms, the link set to 1 Mbit/s 2 s after the screen starts
    moving: the step is made then (in the proxy's process), the session
    delivers no more than the new rate, and the queue the old rate built
    drains: what the proxy reads from the host from 2 s after the step on
    waits under 250 ms in the bottleneck (its first byte's queueing delay),
    so a change shown then is not held behind seconds of old data."""
    link = parse_link("4M,40ms")
    frames = synthetic_sequence("drag", 960, 540, seconds=6.0, incremental=True)

    async def main() -> None:
        r = await asyncio.wait_for(
            run_session(frames, link, name="drag", steps=[LinkStep(2.0, MBIT)]), 120)
        moved = r.extra["steps"]
        [made] = moved["made"]
        assert 2.0 <= made["at_s"] < 2.5 and made["kbit_s"] == 1000
        assert moved["during_kbit_s"] is not None and moved["during_kbit_s"] <= 1050
        assert moved["settle_s"] is not None and not math.isnan(moved["lag_p95_5s_ms"])
        assert moved["queue_peak_ms"] is not None
        assert moved["queue_2s_ms"] is not None and moved["queue_2s_ms"] < 250
        assert moved["regain_s"] is None  # no recovery step
        assert r.unshown == 0

    asyncio.run(main())


def test_the_cli_says_steps_need_a_link() -> None:
    out = subprocess.run([sys.executable, "-m", "screencodec", "bench", "--step", "5s:1M"],
                         check=False, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert out.returncode != 0
    assert "--step and --cross need --link" in out.stderr
    out = subprocess.run([sys.executable, "-m", "screencodec", "bench", "--link", "4M,40ms",
                          "--step", "5:1M"],
                         check=False, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert out.returncode == 2
    assert "a step looks like 5s:1M" in out.stderr


def test_someone_elses_upload_fills_the_shared_queue_until_it_stops() -> None:
    """The proxy's upload (real TCP through the same bottleneck, counted
    apart) takes the idle link and keeps its queue full, as a bulk upload
    fills a modem's buffer: the host's next bytes wait behind it; once it
    stops, the queue drains and they no longer wait."""
    link = parse_link("8M,0ms,64K")

    async def main() -> None:
        async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await reader.read(1 << 16):
                    writer.write(data)
                    await writer.drain()
            writer.close()

        server = await asyncio.start_server(echo, "127.0.0.1", 0)
        proxy = ShapingProxy(server.sockets[0].getsockname()[1], link)
        await proxy.start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)

            async def ping() -> float:
                """The host's echo of 100 bytes: its wait in the link's queue."""
                before = len(proxy.down.queue_delays)
                writer.write(bytes(100))
                await reader.readexactly(100)
                return max(d for _, d in proxy.down.queue_delays[before:])

            quiet = await ping()
            await proxy.start_upload()
            await asyncio.sleep(1.0)
            busy = [await ping() for _ in range(3)]
            moved = proxy.upload.bytes_out
            await proxy.stop_upload()
            await asyncio.sleep(0.3)  # 64 KiB at 8 Mbit/s: 66 ms
            after = await ping()
            writer.close()
            await writer.wait_closed()
        finally:
            await proxy.close()
            server.close()
        assert quiet < 0.005
        assert min(busy) >= 0.04  # most of 64 KiB ahead (66 ms when full)
        assert moved >= 0.5 * MBIT  # it had the link (1 Mbit/s of 8 at least)
        assert proxy.down.bytes_out == 500  # five echoes: the upload is counted apart ...
        assert after < 0.005  # ... and gone: nothing waits ahead any more

    asyncio.run(main())
