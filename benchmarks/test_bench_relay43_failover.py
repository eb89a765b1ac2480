"""relay43: how long a host whose relay is killed (kill -9) takes to be
registered at the live relay of its cluster, with N dead relays listed
before it (members of the directory that nothing answers at: relays killed
within their claim_ttl leave that).

Real processes: a redis-server, two ``screencodec relay`` processes (A, B);
the host is a ``host_via_relay`` registration in this process, given A,
with the CLI's backoff (10 s at most). The dead members are written into the
directory as a relay announces itself, named so that they sort before B
(members are listed by name). Reported: seconds from the kill to the host
registered at B, per run. Run with
``pytest benchmarks/test_bench_relay43_failover.py -s`` (and with
PYTHONPATH naming another tree's src for a before/after).
"""

from __future__ import annotations

import asyncio
import os
import select
import shutil
import socket
import subprocess
import sys
import time

import pytest
import redis

from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.connect import host_via_relay

REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"
RUNS = int(os.environ.get("RELAY43_RUNS", "3"))


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _until(proc: subprocess.Popen[bytes], needle: bytes) -> None:
    assert proc.stdout is not None
    seen, end = b"", time.monotonic() + 20
    while needle not in seen:
        assert time.monotonic() < end and proc.poll() is None, seen
        if select.select([proc.stdout], [], [], 0.2)[0]:
            seen += os.read(proc.stdout.fileno(), 4096)


def _relay(url: str) -> tuple[subprocess.Popen[bytes], int]:
    port = _port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "screencodec", "relay", "--listen", str(port), "--bind",
         "127.0.0.1", "--directory", url, "--advertise", f"127.0.0.1:{port}", "--claim-ttl",
         "15"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    _until(proc, b"relay listening")
    return proc, port


def _once(dead: int) -> float:
    if not os.path.exists(REDIS):
        pytest.skip("redis-server is not installed")
    rport = _port()
    server = subprocess.Popen(
        [REDIS, "--port", str(rport), "--bind", "127.0.0.1", "--save", "", "--appendonly",
         "no"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    procs = [server]
    try:
        _until(server, b"Ready to accept connections")
        url = f"redis://127.0.0.1:{rport}/0"
        client = redis.Redis.from_url(url)
        client.set("screencodec:epoch", "new-cluster", nx=True)
        seconds, micros = client.time()
        until = seconds * 1000 + micros // 1000 + 600_000
        names = [f"127.0.0.1{i}:{_port()}" for i in range(dead)]  # sort before 127.0.0.1:
        client.zadd("screencodec:members", dict.fromkeys(names, until))
        client.close()
        (a, a_port), (b, b_port) = _relay(url), _relay(url)
        procs += [a, b]

        async def main() -> float:
            timeouts = Timeouts(handshake=5.0, idle=None, keepalive=None, max_duration=None)
            reg = await host_via_relay("127.0.0.1", a_port, SessionCredentials(),
                                       lambda ch: None, timeouts=timeouts)  # fmt: skip
            try:
                await reg.wait_registered(10)
                assert len(reg.addresses) == dead + 2, reg.addresses
                killed = time.monotonic()
                a.kill()
                while not (reg.relay_port == b_port and reg.state == "registered"):
                    await asyncio.sleep(0.005)
                    assert time.monotonic() - killed < 120
                return time.monotonic() - killed
            finally:
                await reg.close()

        return asyncio.run(main())
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(5)
            if proc.stdout is not None:
                proc.stdout.close()


@pytest.mark.parametrize("dead", [1, 4, 9])
def test_host_registered_elsewhere_after_kill(dead: int) -> None:
    took = [_once(dead) for _ in range(RUNS)]
    print(f"\nrelay43 dead={dead}: " + ", ".join(f"{t:.2f}" for t in took) + " s")


def _agent_once() -> float:
    """Seconds an agent reconnecting through relay A (stopped with SIGSTOP:
    it accepts and answers nothing) takes to be paired through B, where
    its host is, which its pairing knows."""
    import signal

    from screencodec.transport.connect import connect_via_relay

    rport = _port()
    server = subprocess.Popen(
        [REDIS, "--port", str(rport), "--bind", "127.0.0.1", "--save", "", "--appendonly",
         "no"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    procs = [server]
    try:
        _until(server, b"Ready to accept connections")
        url = f"redis://127.0.0.1:{rport}/0"
        client = redis.Redis.from_url(url)
        client.set("screencodec:epoch", "new-cluster", nx=True)
        client.close()
        (a, a_port), (b, b_port) = _relay(url), _relay(url)
        procs += [a, b]

        async def main() -> float:
            timeouts = Timeouts(handshake=5.0, idle=None, keepalive=None, max_duration=None)
            creds = SessionCredentials()
            reg = await host_via_relay("127.0.0.1", b_port, creds, lambda ch: None,
                                       timeouts=timeouts)  # fmt: skip
            try:
                await reg.wait_registered(10)
                first = await connect_via_relay("127.0.0.1", a_port, creds.code,
                                                creds.password, timeouts=timeouts)  # fmt: skip
                a.send_signal(signal.SIGSTOP)
                start = time.monotonic()
                again = await connect_via_relay("127.0.0.1", a_port, creds.code,
                                                creds.password, timeouts=timeouts)  # fmt: skip
                took = time.monotonic() - start
                await again.close()
                await first.close()
                return took
            finally:
                await reg.close()

        return asyncio.run(main())
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(5)
            if proc.stdout is not None:
                proc.stdout.close()


def test_agent_past_a_stopped_relay() -> None:
    took = [_agent_once() for _ in range(RUNS)]
    print("\nrelay43 agent past a stopped relay: " + ", ".join(f"{t:.2f}" for t in took) + " s")
