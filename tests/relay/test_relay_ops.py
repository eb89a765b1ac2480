"""Operating a relay: drain, metrics, logs without secrets, clear CLI errors,
and clear errors for a host pointed at the wrong place."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from prometheus_client import generate_latest

from screencodec.errors import ProtocolError, SessionClosedError, TransportError
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import AccessRefusedError
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import connect_via_relay, host_via_relay
from screencodec.transport.relay import Relay, RelayLimits

from .cluster import RedisServer, free_port, run, wait_for

FAST = Timeouts(handshake=5.0, idle=None, keepalive=None, max_duration=None)


async def _pair(relay: Relay, creds: SessionCredentials, accepted: asyncio.Queue[SecureChannel],
                ) -> tuple[SecureChannel, SecureChannel]:
    viewer = await connect_via_relay("127.0.0.1", relay.port, creds.code, creds.password,
                                     timeouts=FAST)
    return viewer, await asyncio.wait_for(accepted.get(), 5)


def test_drain_stops_accepting_and_lets_live_pairs_finish() -> None:
    async def main() -> None:
        creds = SessionCredentials()
        accepted: asyncio.Queue[SecureChannel] = asyncio.Queue()
        async with Relay() as relay, await host_via_relay(
                "127.0.0.1", relay.port, creds, accepted.put_nowait, timeouts=FAST,
                ping_interval=0.3, backoff_max=0.3) as reg:
            await reg.wait_registered(5)
            viewer, host = await _pair(relay, creds, accepted)
            drain = asyncio.ensure_future(relay.drain(30.0))
            await wait_for(lambda: relay.draining)
            with pytest.raises(ConnectionRefusedError):  # no longer listening
                await asyncio.open_connection("127.0.0.1", relay.port)
            assert not relay.sessions  # the host was handed back to the cluster
            await viewer.send(b"still forwarded while draining")
            assert await host.recv() == b"still forwarded while draining"
            assert not drain.done()
            await viewer.close()
            await host.close()
            await asyncio.wait_for(drain, 5)  # done when the last pair ended

    run(main())


def test_drain_deadline_cuts_what_is_left() -> None:
    async def main() -> None:
        creds = SessionCredentials()
        accepted: asyncio.Queue[SecureChannel] = asyncio.Queue()
        async with Relay() as relay, await host_via_relay(
                "127.0.0.1", relay.port, creds, accepted.put_nowait, timeouts=FAST) as reg:
            await reg.wait_registered(5)
            viewer, host = await _pair(relay, creds, accepted)
            await relay.drain(0.2)
            with pytest.raises(SessionClosedError):
                await asyncio.wait_for(viewer.recv(), 5)
            await host.close()

    run(main())


def test_a_relay_closed_after_a_drain_logs_no_traceback() -> None:
    """`screencodec relay` drains, then closes: a pair still open when the
    deadline cut it must not end in asyncio's "Exception in callback ...
    CancelledError" tracebacks (what Ctrl-C on a relay printed, twice)."""
    errors: list[dict[str, object]] = []

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _loop, ctx: errors.append(ctx))
        creds = SessionCredentials()
        accepted: asyncio.Queue[SecureChannel] = asyncio.Queue()
        relay = Relay()
        await relay.start()
        async with await host_via_relay(
                "127.0.0.1", relay.port, creds, accepted.put_nowait, timeouts=FAST) as reg:
            await reg.wait_registered(5)
            viewer, host = await _pair(relay, creds, accepted)
            await viewer.send(b"spliced")
            assert await host.recv() == b"spliced"
            await relay.drain(0.2)
            await relay.close()
            await asyncio.sleep(0)  # the handlers' done callbacks run
            await viewer.close()
            await host.close()

    run(main())
    assert not errors, [str(ctx.get("exception") or ctx.get("message")) for ctx in errors]


def test_metrics_count_sessions_pairs_bytes_refusals_and_directory_latency() -> None:
    async def main() -> bytes:
        creds = SessionCredentials()
        accepted: asyncio.Queue[SecureChannel] = asyncio.Queue()
        async with Relay() as relay, await host_via_relay(
                "127.0.0.1", relay.port, creds, accepted.put_nowait, timeouts=FAST) as reg:
            await reg.wait_registered(5)
            viewer, host = await _pair(relay, creds, accepted)
            await viewer.send(bytes(100_000))
            assert await host.recv() == bytes(100_000)
            with pytest.raises(AccessRefusedError):
                await connect_via_relay("127.0.0.1", relay.port, "000000000", "abcdefgh",
                                        timeouts=FAST)
            await viewer.close()
            await host.close()
            await wait_for(lambda: relay.pairs == 0)
            return bytes(generate_latest(relay.metrics.registry))

    text = run(main()).decode()
    assert "screencodec_relay_sessions 1.0" in text
    assert "screencodec_relay_pairings_total 1.0" in text
    assert "screencodec_relay_pairs 0.0" in text
    assert 'screencodec_relay_refusals_total{reason="UNKNOWN_SESSION"} 1.0' in text
    forwarded = next(float(line.split()[1]) for line in text.splitlines()
                     if line.startswith("screencodec_relay_forwarded_bytes_total"))
    assert forwarded > 100_000
    assert 'screencodec_relay_directory_seconds_count{op="claim"} 1.0' in text


def test_logs_name_registrations_pairings_refusals_and_limits_but_no_secret(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="screencodec.relay")
    secrets_seen: list[str] = []

    async def main() -> None:
        creds = SessionCredentials()
        accepted: asyncio.Queue[SecureChannel] = asyncio.Queue()
        async with Relay(limits=RelayLimits(joins_per_minute=2)) as relay, await host_via_relay(
                "127.0.0.1", relay.port, creds, accepted.put_nowait, timeouts=FAST) as reg:
            await reg.wait_registered(5)
            secrets_seen.extend([creds.password, reg._secret.hex()])
            viewer, host = await _pair(relay, creds, accepted)
            await viewer.close()
            await host.close()
            for _ in range(2):
                with pytest.raises((AccessRefusedError, TransportError)):
                    await connect_via_relay("127.0.0.1", relay.port, "000000000", "abcdefgh",
                                            timeouts=FAST)

    run(main())
    text = caplog.text
    for event in ("event=registered", "event=paired", "event=pair_end",
                  "event=refused reason=UNKNOWN_SESSION", "event=refused reason=RATE_LIMITED"):
        assert event in text, event
    for secret in secrets_seen:
        assert secret not in text


def _cli(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "screencodec", *args],
                          capture_output=True, text=True, timeout=timeout, check=False)


def test_cli_relay_on_a_port_in_use_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _cli("relay", "--listen", str(port), "--bind", "127.0.0.1")
    assert done.returncode == 2
    assert done.stderr == (f"screencodec relay: cannot listen on 127.0.0.1:{port}: "
                           "address already in use\n")


def test_cli_relay_with_an_unreachable_directory_is_one_line() -> None:
    done = _cli("relay", "--listen", "0", "--directory", f"redis://127.0.0.1:{free_port()}/0")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "cannot reach the session directory" in done.stderr


def test_cli_relay_serves_metrics_and_drains_on_sigterm(redis_server: RedisServer) -> None:
    port, metrics = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "screencodec", "relay", "--listen", str(port),
         "--bind", "127.0.0.1", "--directory", redis_server.url, "--advertise",
         f"127.0.0.1:{port}", "--metrics-port", str(metrics), "--drain-timeout", "5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert "relay listening on" in proc.stdout.readline()
        body = urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics", timeout=5).read()
        assert b"screencodec_relay_sessions 0.0" in body
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0
        assert "draining" in out
        assert "event=drain_done" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_host_pointed_at_nothing_fails_fast_and_clearly() -> None:
    async def main() -> None:
        port = free_port()
        reg = await host_via_relay("127.0.0.1", port, SessionCredentials(), lambda ch: None,
                                   timeouts=FAST)
        try:
            t0 = time.monotonic()
            with pytest.raises(TransportError, match=f"cannot reach 127.0.0.1:{port}"):
                await reg.wait_registered(10)
            assert time.monotonic() - t0 < 2  # not the 10 s timeout
        finally:
            await reg.close()

    run(main())


def test_host_pointed_at_a_web_server_is_told_it_is_not_a_relay() -> None:
    async def main() -> None:
        async def http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(10)
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(http, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reg = await host_via_relay("127.0.0.1", port, SessionCredentials(), lambda ch: None,
                                   timeouts=FAST)
        try:
            with pytest.raises(ProtocolError, match="is not a screencodec relay"):
                await reg.wait_registered(10)
            with pytest.raises(ProtocolError, match="is not a screencodec relay"):
                await connect_via_relay("127.0.0.1", port, "123456789", "abcdefgh",
                                        timeouts=FAST)
        finally:
            await reg.close()
            server.close()
            await server.wait_closed()

    run(main())


def test_host_with_a_dead_first_relay_registers_at_the_next() -> None:
    async def main() -> None:
        async with Relay() as relay:
            reg = await host_via_relay("127.0.0.1", free_port(), SessionCredentials(),
                                       lambda ch: None, timeouts=FAST,
                                       alternates=[("127.0.0.1", relay.port)])
            try:
                await reg.wait_registered(5)
                assert (reg.relay_port, reg.registrations) == (relay.port, 1)
            finally:
                await reg.close()

    run(main())
