"""The choice of ``RelayLimits.host_gone_after`` (3 s) and ``ended_memory``
(120 s) for a host program that stopped (its machine closed the control
connection: a FIN) at one relay of a cluster, against what an agent
retrying through ANOTHER relay sees: pinned, not changed.

In the 3 s the claim stays (the host may register again, here or
elsewhere), so the other relay redirects the agent to the first, which
holds its join for the host until the 3 s are over (resume52; before, it
said "the host has not been heard from for N s", UNKNOWN_SESSION, and the
agent retried on its backoff), then tells it SESSION_ENDED ("the host's
program stopped") and the agent stops; the first relay drops the claim
and writes the end for the cluster, which every relay tells from then on.
The end is kept 120 s: longer than the agent's 60 s of retries counted
from its own loss, which came before the host stopped, so an agent
retrying anywhere in its window is told "ended", never "no such session
code". Measured with the defaults
(this test, twice): SESSION_ENDED 3.6-3.9 s after the FIN (the grace, then
the agent's backoff; 4 retries before it), the mark's life then 119 s,
the agent's window 56 s; resume52 (held at the first
relay through the grace, twice): 3.1 s, 0 retries before.

One gap in those 3 s, found and fixed: the first relay drained (SIGTERM, a
rolling restart) within the grace cancelled its word to the cluster, so
the end was never written; once the claim expired (15 s) the other relays
said "no such session code" for the rest of the agent's window. A drain
now waits for those words (at most the grace and a directory call).

Real relays sharing a real redis-server, a real host process SIGKILLed,
a real agent; real sockets on loopback; default limits.
"""

from __future__ import annotations

import asyncio
import signal
import sys

import pytest
import redis.asyncio as aioredis

from screencodec.errors import AccessRefusedError
from screencodec.transport.channel.framing import RefuseCode
from screencodec.transport.connect import connect_via_relay
from screencodec.transport.connect.reconnect import reconnect
from screencodec.transport.relay import RelayLimits
from transport.helpers import LinkProxy, ended_lost

from .cluster import RedisServer, relays, run, wait_for
from .test_resume_rest_relay import _HOST_PROGRAM, _watching

#: How long an agent retries (connect/reconnect, view's --reconnect-for).
_AGENT_RETRIES = 60.0


def test_an_agent_at_another_relay_is_told_ended_from_the_grace_to_past_its_window(
        redis_server: RedisServer) -> None:  # fmt: skip
    async def main() -> None:
        limits = RelayLimits()
        async with relays(redis_server, 2, limits) as (first, second):
            loop = asyncio.get_running_loop()
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-c", _HOST_PROGRAM, str(first.port),
                stdout=asyncio.subprocess.PIPE)
            proxy = LinkProxy(first.port)  # the agent's link
            await proxy.start()
            redis = aioredis.Redis.from_url(redis_server.url)
            try:
                assert proc.stdout is not None
                line = await asyncio.wait_for(proc.stdout.readline(), 30)
                code, password = line.decode().split()
                viewer, task = await _watching(proxy.port, code, password)
                proxy.refusing = True
                proxy.cut()  # the agent is away ...
                await ended_lost(viewer, task)
                away = loop.time()
                proc.send_signal(signal.SIGKILL)  # ... and its host's program stops
                await proc.wait()
                await wait_for(lambda: not first.sessions, 5)
                stopped = loop.time()
                told: list[tuple[float, BaseException]] = []
                with pytest.raises(AccessRefusedError) as refused:
                    await reconnect(lambda: connect_via_relay("127.0.0.1", second.port, code,
                                                              password),
                                    within=_AGENT_RETRIES,
                                    on_attempt=lambda n, e: e is None or told.append(
                                        (loop.time() - stopped, e)))
                ended_at = loop.time() - stopped
                assert refused.value.code == RefuseCode.SESSION_ENDED
                assert "the host's program stopped" in str(refused.value)
                # Within the grace: held at the first relay (resume52; before,
                # told its words and retried); never "no such session code".
                for _, error in told:
                    assert isinstance(error, AccessRefusedError)
                    assert error.code == RefuseCode.UNKNOWN_SESSION
                    assert "the host has not been heard from for" in str(error), str(error)
                assert limits.host_gone_after <= ended_at < limits.host_gone_after + 2.0
                # Then: kept past the end of the agent's retries.
                assert await second.directory.locate(code) is None  # no redirect to first
                left = await redis.pttl(f"screencodec:ended:{code}") / 1000
                window_left = _AGENT_RETRIES - (loop.time() - away)
                assert left > window_left + 30, (left, window_left)
                print(f"SESSION_ENDED {ended_at:.1f} s after the FIN, {len(told)} retries "
                      f"before; the mark's life then {left:.0f} s, the agent's window "
                      f"{window_left:.0f} s")
            finally:
                await redis.aclose()
                await proxy.close()
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()

    run(main(), 60)


def test_a_relay_drained_within_the_grace_still_tells_the_cluster_the_session_ended(
        redis_server: RedisServer) -> None:  # fmt: skip
    async def main() -> None:
        limits = RelayLimits(host_gone_after=1.0)
        async with relays(redis_server, 2, limits) as (first, second):
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-c", _HOST_PROGRAM, str(first.port),
                stdout=asyncio.subprocess.PIPE)
            try:
                assert proc.stdout is not None
                line = await asyncio.wait_for(proc.stdout.readline(), 30)
                code, _ = line.decode().split()
                proc.send_signal(signal.SIGKILL)  # the host's program stops (a FIN)
                await proc.wait()
                await wait_for(lambda: not first.sessions, 5)
                await first.drain(0.0)  # a rolling restart, within the grace
                await first.close()
                # Found: None (the word to the cluster was cancelled), and
                # "no such session code" once the claim expired.
                assert await second.directory.ended(code) == \
                    "the host's program stopped: this session has ended"  # fmt: skip
                assert await second.directory.locate(code) is None
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()

    run(main(), 60)
