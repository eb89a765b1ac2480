"""review43 attack on relay43's staggered attempts (connect/relay_race.py):
a relay listed before the live one that accepts and trickles bytes (a
RELAY_OK a byte every 0.5 s, never a whole answer: a hostile or
broken relay, a middlebox).

Expected: the host's attempt there ends at FIRST_ANSWER (3 s, the whole
answer's bound, not a per-byte one), and it registers at the live relay;
the trickler is tried last afterwards (shunned), never waited on again
while the live one answers.

Real ``screencodec relay`` processes sharing a real redis-server, a real
host registration, the trickler a listener of the test's, real sockets on
loopback.
"""

from __future__ import annotations

import asyncio
import contextlib

from free_port import free_port
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import FrameType, encode_frame
from screencodec.transport.connect import host_via_relay

from .cluster import RedisServer, RelayProcess, run, wait_for
from .test_failover42_host_moves import FAST
from .test_relay43_host_finds_live import _list_dead


async def _trickler(host: str, served: list[int]) -> asyncio.Server:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        served.append(1)
        # A RELAY_OK's whole frame (its body the cluster list's length),
        # a byte at a time: the header, then the body, never all of it.
        frame = encode_frame(FrameType.RELAY_OK, bytes(200))
        with contextlib.suppress(Exception):
            for byte in frame:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.5)
        writer.close()

    return await asyncio.start_server(serve, host, 0)


def test_review43_a_trickling_relay_is_passed_over_within_first_answer(
    redis_server: RedisServer,
) -> None:
    first, second = RelayProcess(redis_server, 15.0), RelayProcess(redis_server, 15.0)
    try:

        async def main() -> tuple[float, int]:
            served: list[int] = []
            trickler = await _trickler("127.0.0.18", served)
            port = trickler.sockets[0].getsockname()[1]
            # Sorted before the live relays (members are listed by name).
            _list_dead(redis_server, [f"127.0.0.18:{port}", f"127.0.0.10:{free_port()}"])
            creds = SessionCredentials()
            reg = await host_via_relay(
                "127.0.0.1", first.port, creds, lambda ch: None, timeouts=FAST
            )
            try:
                await reg.wait_registered(10)
                assert ("127.0.0.18", port) in reg.addresses, reg.addresses
                loop = asyncio.get_running_loop()
                first.kill()
                began = loop.time()
                await wait_for(
                    lambda: reg.relay_port == second.port and reg.state == "registered", 20
                )
                return loop.time() - began, len(served)
            finally:
                await reg.close()
                trickler.close()
                await trickler.wait_closed()

        took, served = run(main(), 60)
        assert served >= 1  # it was tried (listed first), and passed over
        # FIRST_ANSWER and a backoff step or two, not the trickle's 100 s
        # (nor the handshake's 5 s a byte).
        assert 3.0 <= took < 3.0 + 6.0, took
    finally:
        for relay in (first, second):
            if relay.proc.poll() is None:
                relay.kill()
