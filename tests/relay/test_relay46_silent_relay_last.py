"""relay46: an agent whose session went silent through its relay (frozen:
SIGSTOP, a VM paused) reconnects through the other relays it knows first.

Found (stop 45, measured: ``host --relay A``, ``view --relay A``, A
stopped): the view, which learnt of the freeze by its own link's silence
(10 s), dialled A first anyway and spent FIRST_ANSWER (3 s) there before
B, where its host had moved meanwhile: back in the session 13.0-13.1 s
after the stop (6 runs), where 10.0-10.1 was possible.

Expected: the relay its session went silent through is dialled after the
others (via_relay._SILENT); with its host at B, the agent is paired through
B and never dials A. Told by the kernel: the frozen A accepts nothing, so a
connection to it waits in its listening socket's queue (/proc/net/tcp's
rx_queue of a listener), and that queue stays empty.

Real ``screencodec relay`` processes sharing a real redis-server, a real
host registration (pinging every 2 s: it moves to B 6 s after A froze) and
a real agent whose channel gives up after 2 s of silence, on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib

from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.channel.sealed import SILENCE
from screencodec.transport.connect import connect_via_relay

from .cluster import RedisServer, run, two_relays, wait_for
from .held_claims import agent_paired_at
from .test_failover42_host_moves import FAST

#: The agent's: its channel takes 2 s of silence for a lost link.
_AGENT = Timeouts(handshake=5.0, idle=2.0, keepalive=None, max_duration=None)


def _waiting(port: int) -> int:
    """Connections waiting in the accept queue of the listener on ``port``."""
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                return int(fields[4].split(":")[1], 16)
    raise AssertionError(f"nothing listens on {port}")


def test_relay46_the_relay_a_session_went_silent_through_is_dialled_last(
    redis_server: RedisServer,
) -> None:
    with two_relays(redis_server, 15.0) as (first, second):
        a, b = f"127.0.0.1:{first.port}", f"127.0.0.1:{second.port}"

        async def main() -> None:
            async with agent_paired_at(first, _AGENT) as (creds, reg, channel):
                assert _waiting(first.port) == 0
                first.freeze()
                reading = asyncio.ensure_future(channel.recv())
                await wait_for(lambda: channel.closed, 10)  # its own silence
                with contextlib.suppress(Exception):
                    await reading
                assert channel.broken and channel.close_reason.startswith(SILENCE)
                await wait_for(
                    lambda: reg.relay_port == second.port and reg.state == "registered", 20
                )
                again = await connect_via_relay(
                    "127.0.0.1", first.port, creds.code, creds.password, timeouts=FAST
                )
                try:
                    assert again.instead_of == (a, b)
                    assert _waiting(first.port) == 0  # A never dialled (main: 1)
                finally:
                    await again.close()
                first.thaw()

        run(main(), 90)
