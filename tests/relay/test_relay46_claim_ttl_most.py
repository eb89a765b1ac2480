"""relay46: how long a host's code stays taken once the relay that held it
died without giving it back (kill -9) and the host never came back.

Measured (relay46, two ``screencodec relay`` processes with --claim-ttl 200
and a real redis-server, a registration at A, A killed 1 s later, its host
gone): the code stayed taken 199.7 s, its claim renewed by nobody (the
other relay's heartbeats renew only its own); so, for any --claim-ttl, that
long: 1e9 s was taken, a code taken for good. Expected: a bound the docs
say (limits.CLAIM_TTL_MOST, 300 s: longer also outlasts what a host waits
for the grace after a Redis restart, registration.RECOVERING_MOST), a
longer --claim-ttl refused as a value typed wrong (usage, exit status 2),
and a dead relay's claim gone within its claim_ttl (checked here with a
short one, the other relay beating meanwhile).

Real commands and relay processes, a real redis-server.
"""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import sys
import time

import pytest
import redis

from screencodec.errors import ConfigError
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import FrameType, read_frame
from screencodec.transport.relay import Relay, RelayLimits
from screencodec.transport.relay.limits import CLAIM_TTL_MOST
from screencodec.transport.relay.protocol import ROLE_HOST_CONTROL, encode_open

from .cluster import RedisServer, RelayProcess, run
from .test_review40d_claim_ttl import refused_relay


def _relay(*extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "screencodec", "relay", "--listen", "0", "--bind", "127.0.0.1",
         *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip


@pytest.mark.parametrize("value", ["301", "1e9"])
def test_relay46_a_claim_ttl_over_the_most_is_refused(value: str) -> None:
    err = refused_relay(f"--claim-ttl={value}")
    assert (
        f"error: argument --claim-ttl: {float(value):g} is not a number of seconds from 1 to"
        f" {CLAIM_TTL_MOST:g}".encode()
    ) in err, err


def test_relay46_the_most_is_taken() -> None:
    proc = _relay(f"--claim-ttl={CLAIM_TTL_MOST:g}")
    try:
        assert proc.stdout is not None
        seen = b""
        deadline = time.monotonic() + 20
        while b"relay listening" not in seen and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            seen += line
        assert b"relay listening" in seen, (seen, proc.poll())
    finally:
        proc.kill()
        proc.communicate()


def test_relay46_an_embedder_s_longer_claim_ttl_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"^--claim-ttl: 301 s is longer than 300 s$"):
        Relay(limits=RelayLimits(claim_ttl=CLAIM_TTL_MOST + 1))


def test_relay46_a_killed_relay_s_claim_is_gone_within_its_claim_ttl(
    redis_server: RedisServer,
) -> None:
    ttl = 3.0
    first, second = RelayProcess(redis_server, ttl), RelayProcess(redis_server, ttl)
    client = redis.Redis.from_url(redis_server.url)
    try:
        code = SessionCredentials().code
        key = f"screencodec:claim:{code}"

        async def main() -> tuple[float, float]:
            reader, writer = await asyncio.open_connection("127.0.0.1", first.port)
            try:
                writer.write(encode_open(ROLE_HOST_CONTROL, code, secrets.token_bytes(16)))
                ftype, _ = await asyncio.wait_for(read_frame(reader, 1024), 10)
                assert ftype == FrameType.RELAY_OK
                await asyncio.sleep(1.5)  # past a heartbeat of A's (ttl / 3)
                assert client.get(key) is not None
                first.kill()  # no unclaim: its host's connection goes with it
                killed = time.monotonic()
                left = client.pttl(key) / 1000
                assert 0 < left <= ttl, left
                # Past what was left, the other relay beating meanwhile (every 1 s).
                while client.get(key) is not None and time.monotonic() - killed < left + 5:
                    await asyncio.sleep(0.1)
                return left, time.monotonic() - killed
            finally:
                writer.transport.abort()

        left, gone = run(main(), 30)
        assert client.get(key) is None, client.pttl(key)
        assert gone >= left - 0.5  # it was not dropped early either
    finally:
        client.close()
        for relay in (first, second):
            if relay.proc.poll() is None:
                relay.kill()
