"""relay46 (stop 45 left it): a host registration reset as the relay answered
it, the reset arriving after the relay's last look (relay44's check after
the claim) and its RELAY_OK written to a dead connection.

The host is registered at relay B. An attempt of its own at relay A (the
host's race gives up on a relay that has not answered within FIRST_ANSWER,
with a reset) is answered RELAY_OK just as it gives up: the reset reaches A
after A's last check, a round trip after its RELAY_OK (here: read, then
reset at once). A's claim was a move (the same verifier), naming A.

Found (main): A took the reset for a lost line the host may come back on:
the claim named A, which holds nothing, until B's next heartbeat
(claim_ttl / 3: 8 of 8 samples below), viewers dialling A were told
UNKNOWN_SESSION, not sent to B (8 of 8), and at that heartbeat B found its
claim someone else's and cut its host.
Expected: a registration reset before the host said a word and within a
round trip's doubt of its RELAY_OK gives the claim back (as one reset
during its claim does); viewers at A are redirected to B; B's host is not
cut.

Real ``screencodec relay`` processes sharing a real redis-server, a real host
registration at B, real sockets on loopback.
"""

from __future__ import annotations

import asyncio
import socket
import struct

from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import FrameType, read_frame
from screencodec.transport.connect import host_via_relay
from screencodec.transport.relay.protocol import ROLE_HOST_CONTROL, encode_open

from .cluster import RedisServer, RelayProcess, run, wait_for
from .test_failover42_host_moves import FAST
from .test_review43_stopped_relay_wakes import _claim, _samples


def test_relay46_a_registration_reset_as_it_was_answered_gives_the_code_back(
    redis_server: RedisServer,
) -> None:
    # claim_ttl 30: B renews every 10 s, so the window (up to B's next
    # heartbeat) is seen by the samples below.
    first, second = RelayProcess(redis_server, 30.0), RelayProcess(redis_server, 30.0)
    a, b = f"127.0.0.1:{first.port}", f"127.0.0.1:{second.port}"
    try:

        async def main() -> tuple[list[str], list[str], int]:
            creds = SessionCredentials()
            reg = await host_via_relay(
                "127.0.0.1", second.port, creds, lambda ch: None, timeouts=FAST
            )
            try:
                await reg.wait_registered(10)
                assert _claim(redis_server, creds.code).endswith(b)
                registered = reg.registrations
                reader, writer = await asyncio.open_connection("127.0.0.1", first.port)
                writer.write(encode_open(ROLE_HOST_CONTROL, creds.code, reg._secret))
                ftype, _ = await asyncio.wait_for(read_frame(reader, 1024), 10)
                assert ftype == FrameType.RELAY_OK
                # Reset (RST, not FIN): the host's race giving up on A.
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
                await wait_for(lambda: "unregistered" in first.output(), 10)
                # 4 s, inside B's 10 s heartbeat
                held, answers = await _samples(redis_server, first.port, creds.code, 8)
                claims = [c.rsplit(" ", 1)[-1] for c in held]
                assert reg.relay_port == second.port and reg.state == "registered"
                return claims, answers, reg.registrations - registered
            finally:
                await reg.close()

        claims, answers, again = run(main(), 90)
        assert claims == [b] * len(claims), (a, answers)
        assert set(answers) == {"RELAY_REDIRECT"}, answers
        assert again == 0  # B's host was not cut (and registered again)
        log = first.output()
        assert 'why="gone as it was answered"' in log, log[-2000:]
        assert "unexpected error" not in log, log
        assert "Traceback" not in log, log
    finally:
        for relay in (first, second):
            if relay.proc.poll() is None:
                relay.kill()
