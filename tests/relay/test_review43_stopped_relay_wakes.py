"""review43 attack on relay43: the host's relay is stopped (SIGSTOP: a VM
paused, a process hung), the host moves to the other relay of its cluster,
then the stopped relay wakes (SIGCONT) still holding the registration it had
(its control connection, the claim it renewed last). Who wins, and for how
long does the claim name the relay that woke?

Found: the host's attempt at A, abandoned after FIRST_ANSWER (3 s) with a
reset while A was stopped, waited in A's accept queue; at the wake A read
its RELAY_OPEN, reclaimed the code (the same verifier: a host's move), and
dropped it at once (the connection reset): the claim named A, which holds
nothing, until B's next heartbeat, and viewers were told "no such session
code" meanwhile (claim_ttl 6: 2 of 16 samples 0.5 s apart, 3 of 3 runs).

Expected: the host stays registered at B; the claim names B from the host's
registration there on, and still once A woke and read its reset control
connection (A renews only what it holds, and its hold ended); a viewer that
dials A after the wake is redirected to B (or answered at B), never paired
with a host A no longer has.

Real ``screencodec relay`` processes sharing a real redis-server, a real host
registration, real sockets on loopback.
"""

from __future__ import annotations

import asyncio
import os
import signal

import redis

from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import host_via_relay
from screencodec.transport.relay import ROLE_VIEWER

from .cluster import RedisServer, RelayProcess, run, wait_for
from .test_failover42_host_moves import FAST, _answer


def _claim(redis_server: RedisServer, code: str) -> str:
    client = redis.Redis.from_url(redis_server.url)
    try:
        held = client.get(f"screencodec:claim:{code}")
    finally:
        client.close()
    return "" if held is None else held.decode()


def test_review43_a_stopped_relay_that_wakes_does_not_take_the_host_back(
    redis_server: RedisServer,
) -> None:
    first, second = RelayProcess(redis_server, 6.0), RelayProcess(redis_server, 6.0)
    a, b = f"127.0.0.1:{first.port}", f"127.0.0.1:{second.port}"
    stopped = False
    try:

        async def main() -> tuple[list[str], list[str]]:
            creds = SessionCredentials()
            # Pinging every 2 s: silent after 6 s (the default's 10 s: 30 s).
            reg = await host_via_relay(
                "127.0.0.1", first.port, creds, lambda ch: None, timeouts=FAST, ping_interval=2.0
            )
            try:
                await reg.wait_registered(10)
                await wait_for(lambda: b in [f"{h}:{p}" for h, p in reg.addresses], 10)
                assert _claim(redis_server, creds.code).endswith(a)
                nonlocal stopped
                os.kill(first.proc.pid, signal.SIGSTOP)
                stopped = True
                await wait_for(
                    lambda: reg.relay_port == second.port and reg.state == "registered", 40
                )
                await wait_for(lambda: _claim(redis_server, creds.code).endswith(b), 20)
                os.kill(first.proc.pid, signal.SIGCONT)
                stopped = False
                claims: list[str] = []
                answers: list[str] = []
                for _ in range(16):  # 8 s: past a heartbeat of A's (claim_ttl / 3)
                    claims.append(_claim(redis_server, creds.code).rsplit("|", 1)[-1][-20:])
                    answers.append(
                        await _answer(first.port, "127.0.0.1", ROLE_VIEWER, creds.code, bytes(16))
                    )
                    await asyncio.sleep(0.5)
                assert reg.relay_port == second.port and reg.state == "registered"
                return claims, answers
            finally:
                await reg.close()

        claims, answers = run(main(), 120)
        assert all(c.endswith(b) for c in claims), claims
        assert set(answers) <= {"RELAY_REDIRECT", "RELAY_OK"}, answers
        assert "RELAY_OK" not in answers, answers  # no pairing with a host A lost
    finally:
        if stopped:
            os.kill(first.proc.pid, signal.SIGCONT)
        for relay in (first, second):
            if relay.proc.poll() is None:
                relay.kill()
