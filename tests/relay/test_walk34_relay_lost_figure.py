"""walk34: what an agent reconnecting is told of a host whose connection to
the relay was lost, "the host has not been heard from for N s (its
connection to the relay was lost)", counted from the host's last ping, not
from the loss: a host pings every 10 s, so N was up to 10 s more than the
time since its link failed (walked: "4 s" a moment after the cut). Expected:
a connection that broke (a reset) counts from the break, the last the relay
heard of it; one that went silent still counts from its last ping (the
relay learns of it only at ``control_idle_timeout``).

Real relay, host and agent, real sockets on loopback; the host pings at
the default interval (10 s) and its link fails 3 s after its last frame."""

from __future__ import annotations

import asyncio
import re

from screencodec.errors import AccessRefusedError
from screencodec.transport.channel.framing import RefuseCode
from screencodec.transport.relay import Relay

from .cluster import run, wait_for
from .test_attack4_host_link_down import watched

_SILENT = re.compile(r"the host has not been heard from for (\d+) s \(its connection to the "
                     r"relay was lost\)")  # fmt: skip


def test_walk34_the_figure_counts_from_the_loss_not_from_the_last_ping() -> None:
    async def main() -> None:
        async with Relay() as relay, watched(relay.port, 43, ping_interval=10.0) as session:
            loop = asyncio.get_running_loop()
            await asyncio.sleep(3.0)  # the host's last frame (its registration) is 3 s old
            session.proxy.refusing = True  # the host's link fails (a reset), stays down
            session.proxy.cut()
            cut = loop.time()
            await session.lost()
            await wait_for(lambda: not relay.sessions)
            told: list[tuple[BaseException, float]] = []

            async def mend(error: BaseException) -> None:
                told.append((error, loop.time() - cut))
                session.proxy.refusing = False

            await session.resumes(relay.port, mend)
            refused, since = told[0]
            assert isinstance(refused, AccessRefusedError)
            assert refused.code == RefuseCode.UNKNOWN_SESSION
            found = _SILENT.search(str(refused))
            assert found is not None, str(refused)
            # Found: 3 s more than since the cut ("4 s" 1.2 s after it).
            assert int(found.group(1)) <= round(since), (str(refused), since)

    run(main(), 60)
