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

import redis

from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect.via_relay import reset_stream
from screencodec.transport.relay import ROLE_HOST_CONTROL, ROLE_VIEWER
from screencodec.transport.relay.protocol import encode_open

from .cluster import RedisServer, registered_host, run, two_relays, wait_for
from .test_failover42_host_moves import FAST, _answer


def _claim(redis_server: RedisServer, code: str) -> str:
    client = redis.Redis.from_url(redis_server.url)
    try:
        held = client.get(f"screencodec:claim:{code}")
    finally:
        client.close()
    return "" if held is None else held.decode()


async def _samples(
    redis_server: RedisServer, port: int, code: str, n: int
) -> tuple[list[str], list[str]]:
    """``n`` samples 0.5 s apart of the code's claim in Redis and of what the
    relay at ``port`` answers a viewer dialling the code."""
    claims: list[str] = []
    answers: list[str] = []
    for _ in range(n):
        claims.append(_claim(redis_server, code))
        answers.append(await _answer(port, "127.0.0.1", ROLE_VIEWER, code, bytes(16)))
        await asyncio.sleep(0.5)
    return claims, answers


def test_review43_a_stopped_relay_that_wakes_does_not_take_the_host_back(
    redis_server: RedisServer,
) -> None:
    with two_relays(redis_server, 6.0) as (first, second):
        a, b = f"127.0.0.1:{first.port}", f"127.0.0.1:{second.port}"

        async def main() -> tuple[list[str], list[str]]:
            creds = SessionCredentials()
            # Pinging every 2 s: silent after 6 s (the default's 10 s: 30 s).
            async with registered_host(first.port, creds, FAST) as reg:
                await wait_for(lambda: b in [f"{h}:{p}" for h, p in reg.addresses], 10)
                assert _claim(redis_server, creds.code).endswith(a)
                first.freeze()
                await wait_for(
                    lambda: reg.relay_port == second.port and reg.state == "registered", 40
                )
                await wait_for(lambda: _claim(redis_server, creds.code).endswith(b), 20)
                # The host's attempt at A given up on while A was stopped, as
                # relay_race leaves one: sent, then reset, waiting in A's
                # accept queue. Made here: the host now dials the relay that
                # went silent last (relay43's Shunned), B answers first, and
                # A was never dialled (fixture45: the test passed with the
                # relay's check removed).
                _, abandoned = await asyncio.open_connection("127.0.0.1", first.port)
                abandoned.write(encode_open(ROLE_HOST_CONTROL, creds.code, reg._secret))
                await abandoned.drain()
                reset_stream(abandoned)
                # asyncio's abort closes the socket (sends the RST) on the
                # loop's next turn: A, woken first, had read the open before
                # the reset on a loaded machine (CI: "gone during its claim").
                await abandoned.wait_closed()
                first.thaw()
                # 8 s: past a heartbeat of A's (claim_ttl / 3)
                held, answers = await _samples(redis_server, first.port, creds.code, 16)
                claims = [c.rsplit("|", 1)[-1][-20:] for c in held]
                assert reg.relay_port == second.port and reg.state == "registered"
                return claims, answers

        claims, answers = run(main(), 120)
        log = first.output()
        assert 'why="gone before it was read"' in log, log[-2000:]
        assert "Traceback" not in log, log[-4000:]  # lead45: a pong written after a reset
        assert all(c.endswith(b) for c in claims), claims
        assert set(answers) <= {"RELAY_REDIRECT", "RELAY_OK"}, answers
        assert "RELAY_OK" not in answers, answers  # no pairing with a host A lost
