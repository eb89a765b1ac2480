"""The relay's forwarding and its behaviour under load, measured in the same run.

* **Forwarding**: one viewer->host stream through the relay (a separate
  process, after a frame-level handshake so it reaches its raw splice) against
  a plain asyncio TCP splice (``reader.read`` / ``writer.write`` / ``drain``,
  also a separate process) moving the same bytes between the same kind of
  sockets, alternating. Reported: Gbit/s of each and the proxy process's CPU
  seconds per Gbit (``/proc/PID/stat``), and their ratios.
* **Load**: 3 relays + 1 Redis (real processes); 1,000 registered idle hosts
  and 50 pairs streaming at once, each viewer entering at another relay than
  its host's (so every pair is redirected), each stream checked bit for bit.
  Reported: time to register, time to stream, relay RSS and CPU, directory
  latency (mean per operation, from each relay's /metrics).

Run with ``pytest benchmarks/test_bench_relay.py -s``; both are bounded in
time (asserted), not judged on speed.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import select
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from screencodec.transport.channel.framing import FrameType, encode_frame, read_frame
from screencodec.transport.connect.via_relay import open_relay
from screencodec.transport.relay import (
    ROLE_HOST_CONTROL,
    ROLE_HOST_DATA,
    ROLE_VIEWER,
    encode_open,
)

TICK = os.sysconf("SC_CLK_TCK")
REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"
LOOP = os.environ.get("SCREENCODEC_BENCH_LOOP", "asyncio")

RELAY_PROC = """
import asyncio, sys
from screencodec.transport.relay import Relay, RelayLimits
from screencodec.transport.relay.backends import open_directory
BIG = 10**6
async def main():
    limits = RelayLimits(registrations_per_minute=BIG, joins_per_minute=BIG,
                         guesses_per_session_per_minute=BIG, max_connections=BIG,
                         max_connections_per_address=BIG, max_pending_per_address=BIG,
                         max_handshaking_per_session=BIG, control_idle_timeout=600)
    url = sys.argv[2] if sys.argv[2] != "-" else None
    relay = Relay("127.0.0.1", int(sys.argv[1]), limits=limits,
                  directory=open_directory(url), advertise=f"127.0.0.1:{sys.argv[1]}")
    await relay.start()
    if sys.argv[3] != "-":
        relay.metrics.serve(int(sys.argv[3]), "127.0.0.1")
    print("ready", flush=True)
    await asyncio.Event().wait()
if sys.argv[4] == "uvloop":
    import uvloop
    uvloop.run(main())
else:
    asyncio.run(main())
"""

SPLICE_PROC = """
import asyncio, sys
async def pump(r, w):
    try:
        while data := await r.read(65536):
            w.write(data)
            await w.drain()
    finally:
        w.close()
async def handle(r, w):
    ur, uw = await asyncio.open_connection("127.0.0.1", int(sys.argv[2]))
    await asyncio.gather(pump(r, uw), pump(ur, w), return_exceptions=True)
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]))
    print("ready", flush=True)
    await server.serve_forever()
asyncio.run(main())
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spawn(args: list[str], ready: bytes, timeout: float = 20) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    seen = b""
    end = time.monotonic() + timeout
    while ready not in seen:
        left = end - time.monotonic()
        if left <= 0 or proc.poll() is not None:
            proc.kill()
            raise RuntimeError(f"{args[:3]} did not start: {seen[-500:]!r}")
        if select.select([proc.stdout], [], [], min(left, 0.2))[0]:
            seen += os.read(proc.stdout.fileno(), 4096)
    return proc


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.kill()
    proc.wait(5)
    if proc.stdout is not None:
        proc.stdout.close()


def _cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


# -- blocking helpers for the forwarding measurement --------------------------

def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return bytes(buf)


def _recv_frame(sock: socket.socket) -> tuple[int, bytes]:
    header = _recv_exact(sock, 5)
    length, ftype = int.from_bytes(header[:4], "big"), header[4]
    return ftype, _recv_exact(sock, length - 1)


_HANDSHAKE = [FrameType.HELLO, FrameType.PAKE, FrameType.CONFIRM]


def _relay_pair(port: int, code: str) -> tuple[socket.socket, socket.socket, socket.socket]:
    """(control, viewer, host data) through the relay, past a frame-level
    handshake (the relay only looks at frame types and lengths)."""
    control = socket.create_connection(("127.0.0.1", port))
    control.sendall(encode_open(ROLE_HOST_CONTROL, code, os.urandom(16)))
    assert _recv_frame(control)[0] == FrameType.RELAY_OK
    viewer = socket.create_connection(("127.0.0.1", port))
    viewer.sendall(encode_open(ROLE_VIEWER, code))
    ftype, body = _recv_frame(control)
    assert ftype == FrameType.RELAY_INCOMING
    host = socket.create_connection(("127.0.0.1", port))
    host.sendall(encode_open(ROLE_HOST_DATA, code, body[:16]))
    for sock in (viewer, host):
        assert _recv_frame(sock)[0] == FrameType.RELAY_OK
    for sock in (viewer, host):
        sock.sendall(b"".join(encode_frame(t, b"x" * 32) for t in _HANDSHAKE))
    for sock in (viewer, host):
        for t in _HANDSHAKE:
            assert _recv_frame(sock)[0] == t
    return control, viewer, host


def _splice_pair(port: int, sink: socket.socket) -> tuple[socket.socket, socket.socket]:
    sender = socket.create_connection(("127.0.0.1", port))
    receiver, _ = sink.accept()
    return sender, receiver


def _transfer(sender: socket.socket, receiver: socket.socket, total: int) -> float:
    """Seconds to move ``total`` bytes sender -> receiver (two threads)."""
    block = memoryview(bytes(1 << 20))
    buf = bytearray(1 << 20)
    got = [0]

    def receive() -> None:
        while got[0] < total:
            n = receiver.recv_into(buf)
            if not n:
                return
            got[0] += n

    t = threading.Thread(target=receive)
    t0 = time.perf_counter()
    t.start()
    sent = 0
    while sent < total:
        sender.sendall(block)
        sent += len(block)
    t.join()
    elapsed = time.perf_counter() - t0
    assert got[0] == total
    return elapsed


@pytest.fixture(scope="module")
def forwarders() -> Iterator[dict[str, Any]]:
    relay_port, splice_port = _free_port(), _free_port()
    sink = socket.socket()
    sink.bind(("127.0.0.1", 0))
    sink.listen()
    relay = _spawn([sys.executable, "-c", RELAY_PROC, str(relay_port), "-", "-", LOOP],
                   b"ready")
    splice = _spawn([sys.executable, "-c", SPLICE_PROC, str(splice_port),
                     str(sink.getsockname()[1])], b"ready")
    try:
        yield {"relay": (relay, relay_port), "splice": (splice, splice_port), "sink": sink}
    finally:
        _stop(relay)
        _stop(splice)
        sink.close()


def test_forwarding_throughput_and_cpu_against_a_plain_asyncio_splice(
        benchmark: Any, forwarders: dict[str, Any]) -> None:
    total = 256 << 20
    relay, relay_port = forwarders["relay"]
    splice, splice_port = forwarders["splice"]
    results: dict[str, list[tuple[float, float]]] = {"relay": [], "splice": []}

    def one(kind: str, i: int) -> None:
        if kind == "relay":
            control, sender, receiver = _relay_pair(relay_port, f"{i:09d}")
            proc = relay
        else:
            sender, receiver = _splice_pair(splice_port, forwarders["sink"])
            control, proc = None, splice
        cpu0 = _cpu(proc.pid)
        seconds = _transfer(sender, receiver, total)
        cpu = _cpu(proc.pid) - cpu0
        results[kind].append((seconds, cpu))
        for sock in (sender, receiver, control):
            if sock is not None:
                sock.close()

    rounds = iter(range(100))

    def alternate() -> None:
        i = next(rounds)
        one("splice", i)
        one("relay", i)

    benchmark.pedantic(alternate, rounds=3, iterations=1)
    gbit = total * 8 / 1e9

    def best(kind: str) -> tuple[float, float]:
        seconds = min(s for s, _ in results[kind])
        cpu_per_gbit = min(c for _, c in results[kind]) / gbit
        return gbit / seconds, cpu_per_gbit

    (r_rate, r_cpu), (s_rate, s_cpu) = best("relay"), best("splice")
    info = {"relay_gbit_s": round(r_rate, 2), "splice_gbit_s": round(s_rate, 2),
            "throughput_ratio": round(r_rate / s_rate, 2),
            "relay_cpu_s_per_gbit": round(r_cpu, 3), "splice_cpu_s_per_gbit": round(s_cpu, 3),
            "cpu_ratio": round(r_cpu / s_cpu, 2) if s_cpu else None, "loop": LOOP}
    benchmark.extra_info.update(info)
    print(f"\nrelay forwarding ({LOOP}): {info}")


# -- load --------------------------------------------------------------------

async def _register_idle(ports: list[int], n: int) -> list[asyncio.StreamWriter]:
    writers = []
    sem = asyncio.Semaphore(200)

    async def one(i: int) -> None:
        async with sem:
            reader, writer = await asyncio.open_connection("127.0.0.1", ports[i % len(ports)])
            writer.write(encode_open(ROLE_HOST_CONTROL, f"{100_000_000 + i:09d}",
                                     os.urandom(16)))
            writers.append(writer)
            ftype, body = await read_frame(reader, 1024)
            assert ftype == FrameType.RELAY_OK, body

    try:
        await asyncio.gather(*(one(i) for i in range(n)))
    except BaseException:
        for writer in writers:
            writer.close()
        raise
    return writers


async def _stream_pair(ports: list[int], i: int, size: int) -> None:
    code = f"{200_000_000 + i:09d}"
    home, entry = ports[i % 3], ports[(i + 1) % 3]
    c_reader, c_writer = await open_relay("127.0.0.1", home, ROLE_HOST_CONTROL, code,
                                          os.urandom(16), timeout=10)
    viewer_task = asyncio.ensure_future(
        open_relay("127.0.0.1", entry, ROLE_VIEWER, code, bytes(16), timeout=10))
    ftype, body = await read_frame(c_reader, 1024)
    assert ftype == FrameType.RELAY_INCOMING
    h_reader, h_writer = await open_relay("127.0.0.1", entry, ROLE_HOST_DATA, code, body[:16],
                                          timeout=10)  # redirected home as well
    v_reader, v_writer = await viewer_task
    for w in (v_writer, h_writer):
        w.write(b"".join(encode_frame(t, b"x" * 32) for t in _HANDSHAKE))
    for r in (v_reader, h_reader):
        for t in _HANDSHAKE:
            assert (await read_frame(r, 1024))[0] == t
    payload = os.urandom(size)

    async def send() -> None:
        for off in range(0, size, 1 << 16):
            h_writer.write(payload[off:off + (1 << 16)])
            await h_writer.drain()

    async def receive() -> bytes:
        return await v_reader.readexactly(size)

    _, got = await asyncio.gather(send(), receive())
    assert hashlib.sha256(got).digest() == hashlib.sha256(payload).digest()
    for w in (v_writer, h_writer, c_writer):
        w.close()


def _directory_means(metrics_port: int) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics",
                                  timeout=5).read().decode()
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("screencodec_relay_directory_seconds_sum"):
            sums[line.split('"')[1]] = float(line.split()[-1])
        elif line.startswith("screencodec_relay_directory_seconds_count"):
            counts[line.split('"')[1]] = float(line.split()[-1])
    return {op: sums[op] / counts[op] * 1e3 for op in counts if counts[op]}


def test_load_1000_idle_hosts_and_50_streaming_pairs_over_3_relays(benchmark: Any) -> None:
    if not os.path.exists(REDIS):
        pytest.skip("redis-server is not installed")
    redis_port = _free_port()
    redis = _spawn([REDIS, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no"], b"Ready to accept connections")
    url = f"redis://127.0.0.1:{redis_port}/0"
    ports = [_free_port() for _ in range(3)]
    metrics = [_free_port() for _ in range(3)]
    relays = [_spawn([sys.executable, "-c", RELAY_PROC, str(p), url, str(m), LOOP], b"ready")
              for p, m in zip(ports, metrics, strict=True)]
    figures: dict[str, Any] = {}
    try:
        rss0 = [_rss_mib(r.pid) for r in relays]
        cpu0 = [_cpu(r.pid) for r in relays]

        async def main() -> None:
            t0 = time.perf_counter()
            idle = await _register_idle(ports, 1000)
            figures["register_1000_s"] = round(time.perf_counter() - t0, 2)
            figures["rss_idle_mib"] = [round(_rss_mib(r.pid), 1) for r in relays]
            t1 = time.perf_counter()
            await asyncio.gather(*(_stream_pair(ports, i, 4 << 20) for i in range(50)))
            figures["stream_50x4MiB_s"] = round(time.perf_counter() - t1, 2)
            figures["total_s"] = round(time.perf_counter() - t0, 2)
            for w in idle:
                w.close()

        benchmark.pedantic(lambda: asyncio.run(asyncio.wait_for(main(), 120)), rounds=1,
                           iterations=1)
        figures["rss_start_mib"] = [round(v, 1) for v in rss0]
        figures["rss_end_mib"] = [round(_rss_mib(r.pid), 1) for r in relays]
        figures["relay_cpu_s"] = [round(_cpu(r.pid) - c, 2) for r, c in zip(relays, cpu0,
                                                                              strict=True)]
        figures["directory_ms"] = [{k: round(v, 3) for k, v in _directory_means(m).items()}
                                   for m in metrics]
        assert figures["total_s"] < 120
    finally:
        for proc in (*relays, redis):
            _stop(proc)
    benchmark.extra_info.update(figures)
    print(f"\nrelay load ({LOOP}): {figures}")
