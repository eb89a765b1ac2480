"""Can a peer pump the relay's metrics' label cardinality (each new label
value is a new time series the operator's Prometheus stores for good)? A
relay process (the real CLI, a real redis-server directory) is fed, from 20
addresses, joins for 200 different codes, registrations, redirected joins,
host data connections with made-up join ids, and malformed opening frames.
Expected (held): the only labels are ``reason`` (a refusal code's name) and
``op`` (a directory call's name), from fixed sets; no code, address or
peer-sent text appears anywhere in the exposition, and the number of
series is the same after the flood as a fixed bound."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import urllib.request

from screencodec.transport.channel.framing import RefuseCode, read_frame
from screencodec.transport.relay import (
    ROLE_HOST_CONTROL,
    ROLE_HOST_DATA,
    ROLE_VIEWER,
    encode_open,
)

from .cluster import RedisServer, _wait_for_line, free_port, run

_OPS = {"begin", "claim", "renew", "release", "locate", "limit", "announce", "members", "end",
        "ended", "lost", "silent", "log_key", "recovering"}


async def _poke(port: int, source: str, payload: bytes) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    try:
        writer.write(payload)
        await asyncio.wait_for(read_frame(reader, 1024), 5)
    except Exception:
        pass
    finally:
        writer.close()


_CODES = [f"{700_000_000 + i * 7919:09d}" for i in range(200)]


async def _flood(port: int) -> None:
    for i in range(200):
        kind = i % 4
        # the joins from one address (past its limit: refused RATE_LIMITED)
        source = "127.0.3.1" if kind == 0 else f"127.0.3.{i % 20 + 1}"
        code = _CODES[i]
        payload = (encode_open(ROLE_VIEWER, code, bytes(16)) if kind == 0 else
                   encode_open(ROLE_HOST_CONTROL, code, bytes([i % 256]) * 16) if kind == 1 else
                   encode_open(ROLE_HOST_DATA, code, bytes([i % 256]) * 16) if kind == 2 else
                   b"SCRL" + bytes([i % 256]) * 40)
        await _poke(port, source, payload)


def test_peers_cannot_add_label_values_to_the_relays_metrics(
        redis_server: RedisServer) -> None:
    port, metrics = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "screencodec", "relay", "--listen", str(port), "--bind",
         "127.0.0.1", "--directory", redis_server.url, "--advertise", f"127.0.0.1:{port}",
         "--metrics-port", str(metrics)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        _wait_for_line(proc, b"relay listening", 20)
        run(_flood(port), timeout=120)
        text = urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics",
                                      timeout=5).read().decode()
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    series = [line for line in text.splitlines()
              if line.startswith("screencodec_") and "{" in line]
    labels = {(k, v) for line in series for k, v in re.findall(r'(\w+)="([^"]*)"', line)}
    reasons = {v for k, v in labels if k == "reason"}
    ops = {v for k, v in labels if k == "op"}
    assert {k for k, _ in labels} <= {"reason", "op", "le"}
    assert reasons and reasons <= {c.name for c in RefuseCode}
    assert ops and ops <= _OPS
    assert "RATE_LIMITED" in reasons  # the flood was refused, and counted by reason only
    assert "127.0.3." not in text
    assert not [c for c in _CODES if c in text]
    # A fixed bound: per op one histogram (its buckets, count, sum, created)
    # and one error counter; per refusal reason one counter (total, created).
    assert len(series) <= len(_OPS) * (11 + 4 + 2) + len(RefuseCode) * 2
