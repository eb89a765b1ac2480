"""follow42: while the agent follows its host from a killed relay A to B, a
stranger at B who knows the code and the session password (the worst case)
and presents a ticket of its own making cannot take the session over: the
host's user is asked about it (and says no), and the agent, given A's
address, resumes through B with its ticket, not asked again.

A real Host and Viewer (session layer), two relay processes on a real
redis-server, real sockets on loopback.
"""

from __future__ import annotations

import asyncio
import secrets

import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.errors import ConsentDeniedError
from screencodec.transport import VIEW, Host, Viewer
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import connect_via_relay, host_via_relay
from screencodec.transport.input.recording import RecordingInjector
from screencodec.transport.session.consent import ConsentRequest
from screencodec.transport.session.events import SessionResumed
from screencodec.transport.session.permissions import Grant
from transport.helpers import ended_lost

from .cluster import RedisServer, RelayProcess, run, wait_for
from .test_failover42_host_moves import FAST


def test_a_stranger_at_the_other_relay_cannot_take_the_session_over(
        redis_server: RedisServer) -> None:  # fmt: skip
    first, second = RelayProcess(redis_server, 15.0), RelayProcess(redis_server, 15.0)
    try:
        async def main() -> None:
            asked: list[str] = []

            async def consent(request: ConsentRequest) -> Grant:
                asked.append(request.who)
                return Grant(request.level if request.who == "Alice" else 0)

            host = Host(SyntheticDesktop(160, 120, scenario="typing", seed=3), consent=consent,
                        injector=RecordingInjector())  # fmt: skip
            events = host.events()
            creds = SessionCredentials()

            async def serve(channel: SecureChannel) -> None:
                await host.serve(channel)

            reg = await host_via_relay("127.0.0.1", first.port, creds, serve, timeouts=FAST,
                                       backoff_max=1.0)  # fmt: skip
            try:
                await reg.wait_registered(10)
                ch = await connect_via_relay("127.0.0.1", first.port, creds.code,
                                             creds.password, timeouts=FAST)  # fmt: skip
                viewer = Viewer(ch, who="Alice")
                assert await viewer.start(VIEW) == VIEW
                task = asyncio.ensure_future(viewer.run())
                await wait_for(lambda: viewer.resume_ticket is not None and viewer.decoded >= 1)
                first.kill()
                await ended_lost(viewer, task)
                await wait_for(lambda: reg.relay_port == second.port
                               and reg.state == "registered", 20)
                # The stranger, at B, with the code, the password and a ticket
                # of its own: the host's user is asked, and says no.
                sch = await connect_via_relay("127.0.0.1", second.port, creds.code,
                                              creds.password, timeouts=FAST)  # fmt: skip
                stranger = Viewer(sch, who="Mallory", resume=secrets.token_bytes(32))
                with pytest.raises(ConsentDeniedError):
                    await stranger.start(VIEW)
                await sch.close()
                # The agent, given A, gets in through B with its ticket.
                ch2 = await connect_via_relay("127.0.0.1", first.port, creds.code,
                                              creds.password, timeouts=FAST)  # fmt: skip
                again = Viewer(ch2, who="Alice", resume=viewer.resume_ticket)
                assert await again.start(VIEW) == VIEW
                assert asked == ["Alice", "Mallory"]
                while not isinstance(ev := await asyncio.wait_for(anext(events), 5),
                                     SessionResumed):  # fmt: skip
                    pass
                assert ev.who == "Alice"
                await again.bye()
            finally:
                await reg.close()
                await host.close()

        run(main(), 60)
    finally:
        for relay in (first, second):
            if relay.proc.poll() is None:
                relay.kill()
