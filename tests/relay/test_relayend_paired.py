"""Two agents in one process (``via_relay._PAIRED``, the pair tags a
process's viewers name when they reconnect, is process-wide): each watches
a session of the same code, at two relays that share nothing (two
deployments; a code is 9 digits, so two sessions of one code are rare but
not impossible). Found: the tags were kept per code alone, so the second
agent's pairing replaced the first's tag; when the first agent's host
ended its session while that agent was away, the agent named the other
session's tag, was told UNKNOWN_SESSION and retried for its whole budget
(60 s) instead of being told at once that its session ended. (No lockout:
a wrong tag only loses the fast give-up; nobody can forge an end under a
tag without that registration's secret.) Expected: the tags are kept per
relay and code, and the agent's first attempt is told SESSION_ENDED.

Real relays, hosts and agents, real sockets on loopback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.errors import AccessRefusedError
from screencodec.transport import Host, allow
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import RefuseCode
from screencodec.transport.connect import RelayRegistration, connect_via_relay, host_via_relay
from screencodec.transport.connect.reconnect import reconnect
from screencodec.transport.relay import Relay
from transport.helpers import LinkProxy, ended_lost

from .cluster import run, wait_for
from .test_resume_rest_relay import _watching


@contextlib.asynccontextmanager
async def _hosting(relay: Relay, creds: SessionCredentials, seed: int,
                   ) -> AsyncIterator[RelayRegistration]:  # fmt: skip
    host = Host(SyntheticDesktop(160, 120, scenario="typing", seed=seed), consent=allow())
    reg = await host_via_relay("127.0.0.1", relay.port, creds, host.serve, backoff_max=0.3)
    try:
        await reg.wait_registered(5)
        yield reg
    finally:
        await reg.close()
        await host.close()


def test_two_agents_of_one_code_at_two_relays_keep_their_own_tags() -> None:
    async def main() -> None:
        first = SessionCredentials()
        second = SessionCredentials(first.code)  # the same code, another session
        code, password = first.code, first.password
        async with Relay() as relay1, Relay() as relay2, \
                _hosting(relay1, first, 31) as reg1, _hosting(relay2, second, 32):  # fmt: skip
            proxy = LinkProxy(relay1.port)  # the first agent's link
            await proxy.start()
            try:
                viewer1, task1 = await _watching(proxy.port, code, password)
                viewer2, task2 = await _watching(relay2.port, code, second.password)
                proxy.cut()
                await ended_lost(viewer1, task1)
                first.end()  # the first host's user ends its session
                await wait_for(lambda: reg1.state == "closed" and not relay1.sessions)
                attempts: list[int] = []
                with pytest.raises(AccessRefusedError) as refused:
                    await reconnect(lambda: connect_via_relay("127.0.0.1", proxy.port, code,
                                                              password),
                                    within=8, on_attempt=lambda n, e: attempts.append(n))
                assert refused.value.code == RefuseCode.SESSION_ENDED
                assert max(attempts) == 1
                await viewer2.bye()
                await asyncio.wait_for(task2, 10)
            finally:
                await proxy.close()

    run(main(), 60)
