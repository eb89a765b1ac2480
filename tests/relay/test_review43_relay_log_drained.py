"""review43: tests/relay/cluster.RelayProcess reads its relay's output as it
comes. Found (relay43): the pipe was never read, so a relay that logged
64 KiB (one line a refused connection) stopped its loop mid-log and answered
nobody: a long hammering test met a frozen relay, not the behaviour it
asked about.

A real ``screencodec relay`` process and redis-server.
"""

from __future__ import annotations

import asyncio

from screencodec.transport.relay import ROLE_VIEWER

from .cluster import RedisServer, RelayProcess, run
from .test_failover42_host_moves import _answer

#: More log than a pipe holds (64 KiB on Linux).
PIPE_FULL = 96 * 1024


def test_a_relay_that_logged_past_a_pipe_still_answers(redis_server: RedisServer) -> None:
    """Refused viewers until the relay printed over 96 KiB. Expected: the
    next viewer is answered (UNKNOWN_SESSION or RATE_LIMITED: an answer,
    within 5 s); the output kept holds the listening line and refusals."""
    relay = RelayProcess(redis_server, 3.0)
    try:

        async def main() -> list[str]:
            said: list[str] = []
            i = 0
            while len(relay.output()) < PIPE_FULL and i < 4000:
                batch = [
                    _answer(relay.port, f"127.0.44.{1 + (i + j) % 200}", ROLE_VIEWER,
                            "434343436", bytes(16))
                    for j in range(20)
                ]  # fmt: skip
                said += await asyncio.gather(*batch)
                i += 20
            await asyncio.sleep(0.5)  # a frozen relay's last lines are in
            said.append(await _answer(relay.port, "127.0.44.250", ROLE_VIEWER,
                                      "434343436", bytes(16)))  # fmt: skip
            return said

        said = run(main(), 120)
        assert len(relay.output()) >= PIPE_FULL
        assert said[-1] in {"UNKNOWN_SESSION", "RATE_LIMITED"}, said[-40:]
        assert "relay listening" in relay.output()
        assert "event=refused" in relay.output()
    finally:
        relay.kill()
