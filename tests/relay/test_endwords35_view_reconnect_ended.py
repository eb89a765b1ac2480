"""How ``screencodec view`` ends when, reconnecting through a relay
cluster after its link was lost, it learns that the session is over.

Found (walk35: two relays sharing a redis-server, the host killed with
SIGKILL, the agent's view reconnecting through the other relay): the last
line was "session ended: the connection was lost; could not reconnect:
that session has ended: ask the host's user for a new code and password",
exit status 5, whichever way the session had ended: a script could not
tell "the host ended it" from "lost", and the relay's own words (which
say which) were dropped.

Expected: a host whose program stopped (the relay saw its socket close
without a release) reads as a host reached directly whose program
stopped, status 5 (LOST); a host that ended the session (released its
registration: /end, SIGTERM) while the agent was away reads so, status 0
(ENDED). A first join refused as ended stays status 3 (docs/cli.md).

Real relays sharing a real redis-server, a real ``screencodec host``
process and a real ``screencodec view`` process, real sockets on
loopback. ``host_gone_after`` is 1 s (3 s by default) to keep each test
short.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
from collections.abc import AsyncIterator

from screencodec.transport.relay import Relay, RelayLimits
from screencodec.transport.relay.redis_directory import RedisDirectory
from transport.helpers import LinkProxy
from transport.test_cli import answer_when_asked, start_host, stop
from transport.test_view_cli_ux import read_until, viewer

from .cluster import RedisServer, free_port, run

_LIMITS = RelayLimits(host_gone_after=1.0)


@contextlib.asynccontextmanager
async def _cluster(redis: RedisServer) -> AsyncIterator[tuple[Relay, Relay, LinkProxy]]:
    """Relays A and B sharing ``redis``; A advertises itself to the cluster
    at a proxy in front of it, so that an agent sent there by B reaches A
    through a link the test can cut (the host, registered at A's own port,
    keeps its link)."""
    a_port = free_port()
    proxy = LinkProxy(a_port)
    await proxy.start()
    a = Relay("127.0.0.1", a_port, limits=_LIMITS, advertise=f"127.0.0.1:{proxy.port}",
              directory=RedisDirectory(redis.url, timeout=1.0))  # fmt: skip
    b = Relay("127.0.0.1", free_port(), limits=_LIMITS,
              directory=RedisDirectory(redis.url, timeout=1.0))  # fmt: skip
    try:
        await a.start()
        await b.start()
        yield a, b, proxy
    finally:
        for relay in (b, a):
            await relay.close()
            await relay.directory.close()
        await proxy.close()


@contextlib.asynccontextmanager
async def _agent_watching(
    redis: RedisServer,
) -> AsyncIterator[tuple[subprocess.Popen[str], subprocess.Popen[bytes], LinkProxy]]:
    """A ``screencodec host`` registered at relay A of :func:`_cluster`, and
    an agent's ``screencodec view`` that joined through B, let in and shown
    a picture: (host, view, the proxy in front of A). Both processes are
    stopped after, the relays then closed."""
    async with _cluster(redis) as (a, b, proxy):
        host, code, password, _ = await asyncio.to_thread(
            start_host, where=("--relay", f"127.0.0.1:{a.port}"))
        view = viewer("--relay", f"127.0.0.1:{b.port}", "--code", code,
                      "--password", password)  # fmt: skip
        try:
            await asyncio.to_thread(answer_when_asked, host)
            await asyncio.to_thread(read_until, view, "decoded")
            yield host, view, proxy
        finally:
            stop(view)
            stop(host)


def _ended(view: subprocess.Popen[bytes]) -> tuple[str, int]:
    """The view's last line and its exit status, once it has exited."""
    out, _ = view.communicate(timeout=30)
    return out.decode(errors="replace").strip().splitlines()[-1], view.returncode


def test_a_host_killed_under_the_session_reads_as_its_program_stopped(
        redis_server: RedisServer) -> None:  # fmt: skip
    async def main() -> tuple[str, int]:
        async with _agent_watching(redis_server) as (host, view, _proxy):
            host.send_signal(signal.SIGKILL)
            await asyncio.to_thread(host.wait, 10)
            return await asyncio.to_thread(_ended, view)

    line, status = run(main(), 60)
    # Found: "...; could not reconnect: that session has ended: ask the
    # host's user for a new code and password", status 5.
    assert line == ("session ended: the connection was lost, and the host no longer"
                    " answers (its program has stopped)"), line  # fmt: skip
    assert status == 5  # LOST


def test_a_host_that_ended_the_session_while_the_agent_was_away_reads_so(
        redis_server: RedisServer) -> None:  # fmt: skip
    async def main() -> tuple[str, int]:
        async with _agent_watching(redis_server) as (host, view, proxy):
            proxy.refusing = True  # the agent's link fails and stays down ...
            proxy.cut()
            await asyncio.to_thread(read_until, view, "reconnecting for up to")
            host.send_signal(signal.SIGTERM)  # ... while the host ends the session
            await asyncio.to_thread(host.wait, 10)
            proxy.refusing = False
            return await asyncio.to_thread(_ended, view)

    line, status = run(main(), 60)
    # Found: "...; could not reconnect: that session has ended: ask the
    # host's user for a new code and password", status 5.
    assert line == ("session ended: the connection was lost, and the host's user had"
                    " ended the session while you were away"), line  # fmt: skip
    assert status == 0  # ENDED
