"""A host whose machine resets its control connection to the relay (a crash
that leaves a RST, a NAT mapping dropped) or goes silent (power lost): the
relay cannot tell that from a Wi-Fi blip, after which the session must
still resume (a host whose relay went silent resets its connection itself:
test_attack4_host_link_down), so the agent retries for its whole budget
(60 s; measured: 60.0 s, "no such session code" at every attempt). Found:
nothing told the agent what it waits for. Expected: a viewer naming the
registration it was in (its pair tag) is told, with each UNKNOWN_SESSION
(retried), that its host's connection was lost and how long the host has
not been heard from; and it still resumes once the host is back.

Real relay, host and agent, real sockets on loopback.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from screencodec.errors import AccessRefusedError
from screencodec.transport.channel.framing import RefuseCode
from screencodec.transport.connect.via_relay import open_relay
from screencodec.transport.relay import ROLE_VIEWER, TOKEN_SIZE, Relay

from .cluster import run, wait_for
from .test_attack4_host_link_down import watched

_SILENT = re.compile(r"the host has not been heard from for (\d+) s")


def test_an_agent_is_told_how_long_its_host_has_not_been_heard_from() -> None:
    async def main() -> None:
        async with Relay() as relay, watched(relay.port, 41) as session:
            session.proxy.refusing = True  # the host's link fails (a reset), stays down
            session.proxy.cut()
            await session.lost()
            await wait_for(lambda: not relay.sessions)
            await asyncio.sleep(1.2)
            told: list[BaseException] = []

            async def mend(error: BaseException) -> None:
                told.append(error)
                # A viewer that names no registration learns nothing of it.
                # Held for the host within lost_hold of its loss (grace51), then
                # told as before: a viewer's 20 s, not 5, for its answer.
                with pytest.raises(AccessRefusedError) as tagless:
                    await open_relay("127.0.0.1", relay.port, ROLE_VIEWER, session.code,
                                     bytes(TOKEN_SIZE), timeout=20)  # fmt: skip
                told.append(tagless.value)
                session.proxy.refusing = False

            await session.resumes(relay.port, mend)
            refused = told[0]
            assert isinstance(refused, AccessRefusedError)
            assert refused.code == RefuseCode.UNKNOWN_SESSION  # retried
            found = _SILENT.search(str(refused))
            assert found is not None, str(refused)
            assert int(found.group(1)) >= 1
            assert str(told[1]) == "UNKNOWN_SESSION: no such session code"

    run(main(), 60)
