"""relay43: an agent whose relay accepts and answers nothing (a relay
process stopped: SIGSTOP, hung) goes on to the other relays of its cluster
after a short first-answer wait, not after its whole 20 s pair timeout.

Found: connect_via_relay gave the relay it was given its whole
``pair_timeout`` (20 s) to answer before it tried the relays its pairing
knew; a reconnect spent a third of its 60 s on a hung relay each attempt.
Expected: after FIRST_ANSWER (3 s) with no answer it dials the next known
relay too, and the first to take it is kept (the silent one is left).

Real `screencodec relay` processes and redis-server; the silent relay is a
real relay process stopped with SIGSTOP (the kernel still accepts its
connections).
"""

from __future__ import annotations

import asyncio
import os
import signal

from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_via_relay, host_via_relay

from .cluster import RedisServer, RelayProcess, run
from .test_failover42_host_moves import FAST


def test_an_agent_passes_over_a_relay_that_accepts_and_stays_silent(
    redis_server: RedisServer,
) -> None:
    first, second = RelayProcess(redis_server, 15.0), RelayProcess(redis_server, 15.0)
    try:

        async def main() -> None:
            a, b = f"127.0.0.1:{first.port}", f"127.0.0.1:{second.port}"
            creds = SessionCredentials()
            reg = await host_via_relay(
                "127.0.0.1", second.port, creds, lambda ch: None, timeouts=FAST
            )
            try:
                await reg.wait_registered(10)
                # The agent given A is sent to B, where its host is: its
                # pairing knows B.
                channel = await connect_via_relay(
                    "127.0.0.1", first.port, creds.code, creds.password, timeouts=FAST
                )
                os.kill(first.proc.pid, signal.SIGSTOP)
                try:
                    # Within the pair timeout (20 s) it gave A before: the
                    # bound is what that agent cannot meet, not a speed.
                    again = await asyncio.wait_for(
                        connect_via_relay(
                            "127.0.0.1", first.port, creds.code, creds.password, timeouts=FAST
                        ),
                        15,
                    )
                    assert again.instead_of == (a, b)
                    assert again.resume_hold is not None and channel.resume_hold is not None
                    assert again.resume_hold.tag == channel.resume_hold.tag
                    await again.close()
                finally:
                    os.kill(first.proc.pid, signal.SIGCONT)
                await channel.close()
            finally:
                await reg.close()

        run(main(), 60)
    finally:
        for relay in (first, second):
            if relay.proc.poll() is None:
                relay.kill()
