"""epoch41: ``screencodec host --relay`` started while the relay's session
directory recovers: a new relay cluster's first ``claim_ttl`` (its first
relay found no epoch in Redis, test_epoch41_restarts.py), or the grace
after Redis lost its keys.

Found (a real redis-server without an epoch, a real ``screencodec relay
--claim-ttl 2`` and ``screencodec host --relay`` processes): the host
exited at once, status 2, "cannot register at the relay ...: peer refused:
BUSY: session directory recovering": the first user of a new cluster was
told to go away for what is a wait. Expected, and now: it says it waits
("the relay's session directory is recovering ..."), registers once the
grace is over (its backoff), and shows its code.
"""

from __future__ import annotations

import re
import subprocess
import time

import pytest

from transport.test_cli import CLI, ENV, stop

from .cluster import RedisServer, RelayProcess


def _host_waits(redis: RedisServer, claim_ttl: float, within: float) -> str:
    """A ``screencodec host --relay`` started on a relay of a new cluster
    (its first ``claim_ttl``, the grace): what it printed up to its
    password, in ``within`` seconds."""
    relay = RelayProcess(redis, claim_ttl=claim_ttl)
    host = None
    try:
        assert f"new registrations wait {claim_ttl:g} s" in relay.line
        host = subprocess.Popen(
            [*CLI, "host", "--relay", f"127.0.0.1:{relay.port}", "--source", "synthetic",
             "--size", "320x240", "--control", "none", "--once"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, env=ENV)  # fmt: skip
        assert host.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + within
        while not any(line.startswith("Password:") for line in lines):
            assert time.monotonic() < deadline, lines
            line = host.stdout.readline()
            assert line, f"host exited ({host.wait()}): {lines}"
            lines.append(line)
        return "".join(lines)
    finally:
        if host is not None:
            stop(host)
        relay.kill()


@pytest.mark.slow
def test_a_host_waits_out_a_grace_longer_than_a_minute(new_redis: RedisServer) -> None:
    """relay42. Found: the host waited a fixed 60 s, so a relay started with
    ``--claim-ttl 66`` (its new cluster's grace) sent it away ("cannot
    register at the relay ...: peer refused: BUSY: session directory
    recovering", status 2). Expected: it waits as long as the relay says
    (about 66 s, minus the host's start) and registers. ~70 s.

    Also epoch41's own host, told the grace in the relay's words (relay42)
    and registered after it: time53b made this the one test of the file (a
    second one waited out a grace of 6 s along the same path, ~10 s)."""
    text = _host_waits(new_redis, 66.0, 120)
    assert re.search(r"\(the relay's session directory is recovering \(a new relay"
                     r" cluster, or its Redis restarted or lost its keys\): waiting to"
                     r" register, about (5\d|6[0-6]) s\)\n", text), text
    assert "Session code:" in text and "cannot register" not in text
