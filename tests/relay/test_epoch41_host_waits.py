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

import subprocess
import time

from transport.test_cli import CLI, ENV, stop

from .cluster import RedisServer, RelayProcess


def test_a_host_started_while_the_directory_recovers_waits_and_registers(
        new_redis: RedisServer) -> None:
    # A grace of 6 s, not 2: the host's start (its imports, its connect)
    # must come within it, and took seconds on a loaded machine (flake41).
    relay = RelayProcess(new_redis, claim_ttl=6.0)
    host = None
    try:
        assert "new registrations wait 6 s" in relay.line
        host = subprocess.Popen(
            [*CLI, "host", "--relay", f"127.0.0.1:{relay.port}", "--source", "synthetic",
             "--size", "320x240", "--control", "none", "--once"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, env=ENV)  # fmt: skip
        assert host.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 30
        while not any(line.startswith("Password:") for line in lines):
            assert time.monotonic() < deadline, lines
            line = host.stdout.readline()
            assert line, f"host exited ({host.wait()}): {lines}"
            lines.append(line)
        text = "".join(lines)
        assert ("(the relay's session directory is recovering (a new relay cluster, or its"
                " Redis restarted or lost its keys): waiting to register)\n") in text
        assert "Session code:" in text and "cannot register" not in text
    finally:
        if host is not None:
            stop(host)
        relay.kill()
