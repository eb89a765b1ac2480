"""A session that is gone, through a relay: its host program stopped (killed)
or its user ended it while the agent was away. The agent's viewer kept
reconnecting for its whole resume budget (60 s), told "no such session" each
time, as it is while a restarted relay waits for its hosts to register again.
The relay knows the difference: the host's registration ended by a close
(relay/sessions.py EndedSessions). Real relay, real sockets; the killed host
is a real process. A relay restart still resumes: test_resume_relay.py."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator

import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.errors import AccessRefusedError
from screencodec.transport import VIEW, Host, Viewer, allow
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import RefuseCode
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import connect_via_relay, host_via_relay
from screencodec.transport.connect.reconnect import reconnect
from screencodec.transport.connect.via_relay import RelayRegistration
from screencodec.transport.relay import Relay
from screencodec.transport.relay.sessions import EndedSessions
from screencodec.transport.session.consent import ConsentCallback, ConsentRequest
from screencodec.transport.session.permissions import Grant
from transport.helpers import LinkProxy, ended_lost

from .cluster import RedisServer, relays, run, wait_for

#: A host program registered at the relay on port argv[1]: prints its code and
#: password, then serves until it is killed.
_HOST_PROGRAM = """
import asyncio, sys
from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.transport import Host, allow
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import host_via_relay

async def main():
    host = Host(SyntheticDesktop(160, 120, scenario="typing", seed=1), consent=allow())
    creds = SessionCredentials()
    reg = await host_via_relay("127.0.0.1", int(sys.argv[1]), creds, host.serve)
    await reg.wait_registered(10)
    print(creds.code, creds.password, flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""
#: Less than the 60 s a viewer may reconnect for: the old relay's answer,
#: "no such session", would still come then.
_WITHIN = 20.0


async def _watching(port: int, code: str, password: str) -> tuple[Viewer, asyncio.Task[str]]:
    viewer = Viewer(await connect_via_relay("127.0.0.1", port, code, password), who="Alice")
    await viewer.start(VIEW)
    task = asyncio.ensure_future(viewer.run())
    await wait_for(lambda: viewer.resume_ticket is not None and viewer.decoded >= 1)
    return viewer, task


@contextlib.asynccontextmanager
async def _hosted(relay: Relay, seed: int, consent: ConsentCallback | None = None,
                  ) -> AsyncIterator[tuple[Host, SessionCredentials, RelayRegistration,
                                           LinkProxy]]:  # fmt: skip
    """A host registered at ``relay`` (its code takes back a cut at once),
    and a proxy in front of the relay for the agent's connections."""
    host = Host(SyntheticDesktop(160, 120, scenario="typing", seed=seed),
                consent=consent or allow())  # fmt: skip
    creds = SessionCredentials()

    async def serve(channel: SecureChannel) -> None:
        await host.serve(channel)

    reg = await host_via_relay("127.0.0.1", relay.port, creds, serve, backoff_max=0.3)
    proxy = LinkProxy(relay.port)
    await proxy.start()
    try:
        await reg.wait_registered(5)
        yield host, creds, reg, proxy
    finally:
        await proxy.close()
        await reg.close()
        await host.close()


def test_a_host_program_killed_under_a_session_is_given_up_on() -> None:
    """Measured before: the viewer gave up after 60.0 s (its whole budget,
    UNKNOWN_SESSION each time); after: 3.6-4.2 s (the relay's 3 s grace for
    a host that closes its control connection to open another, then the
    viewer's next attempt), SESSION_ENDED."""

    async def main() -> None:
        async with Relay() as relay:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-c", _HOST_PROGRAM, str(relay.port),
                stdout=asyncio.subprocess.PIPE)
            try:
                assert proc.stdout is not None
                line = await asyncio.wait_for(proc.stdout.readline(), 30)
                code, password = line.decode().split()
                viewer, task = await _watching(relay.port, code, password)
                proc.send_signal(signal.SIGKILL)  # its machine closes its sockets
                await proc.wait()
                await ended_lost(viewer, task)
                with pytest.raises(AccessRefusedError) as refused:
                    await reconnect(lambda: connect_via_relay("127.0.0.1", relay.port, code,
                                                              password), within=_WITHIN)
                assert refused.value.code == RefuseCode.SESSION_ENDED
                assert "stopped" in str(refused.value)
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()

    run(main(), 60)


async def _ended_while_away(at: Relay, back_to: int, seed: int) -> None:
    """The agent's connection to the relay ``at`` drops; meanwhile the host's
    user ends the session (its code is released at ``at``). The agent's
    first attempt, through the relay on port ``back_to``, must be told the
    session ended."""
    async with _hosted(at, seed) as (_, creds, reg, proxy):
        code, password = creds.code, creds.password  # end() forgets them
        viewer, task = await _watching(proxy.port, code, password)
        proxy.cut()
        await ended_lost(viewer, task)
        creds.end()  # the host's user ended it: its registration closes
        await wait_for(lambda: reg.state == "closed" and not at.sessions, 10)
        attempts: list[int] = []
        with pytest.raises(AccessRefusedError) as refused:
            await reconnect(lambda: connect_via_relay("127.0.0.1", back_to, code, password),
                            within=_WITHIN, on_attempt=lambda n, e: attempts.append(n))
        assert refused.value.code == RefuseCode.SESSION_ENDED
        assert "ended" in str(refused.value) and max(attempts) == 1


def test_a_session_the_host_ended_while_the_agent_was_away_is_given_up_on_at_once() -> None:
    """At the same relay: it retried "no such session" for 60 s."""

    async def main() -> None:
        async with Relay() as relay:
            await _ended_while_away(relay, relay.port, 2)

    run(main(), 60)


def test_a_host_that_closes_its_control_connection_to_open_another_still_resumes() -> None:
    """A host closes its control connection itself in order (a FIN: after a
    protocol error from the relay, say; one that heard no PONG for three
    pings resets it, test_attack4_host_link_down) and registers again at
    once: the relay's grace covers that; the agent, whose link dropped
    meanwhile, resumes unasked."""

    async def main() -> None:
        asked: list[ConsentRequest] = []

        async def consent(request: ConsentRequest) -> Grant:
            asked.append(request)
            return Grant(request.level)

        async with Relay() as relay, _hosted(relay, 3, consent) as (_, creds, reg, proxy):
            viewer, task = await _watching(proxy.port, creds.code, creds.password)
            proxy.cut()
            await ended_lost(viewer, task)
            assert reg._control is not None
            reg._control.close()  # the host's own side, in order
            ch = await reconnect(lambda: connect_via_relay("127.0.0.1", proxy.port,
                                                           creds.code, creds.password),
                                 within=_WITHIN)  # fmt: skip
            assert reg.registrations == 2
            again = Viewer(ch, who="Alice", resume=viewer.resume_ticket)
            assert await again.start(VIEW) == VIEW and len(asked) == 1
            await again.bye()

    run(main(), 60)


def test_ended_sessions_are_told_after_the_grace_and_forgotten() -> None:
    now = [0.0]
    ended = EndedSessions(3.0, 120.0, 2, clock=lambda: now[0])
    ended.ended("111111111", "stopped", released=False)
    ended.ended("222222222", "ended", released=True)
    assert ended.why("111111111") is None and ended.why("222222222") == "ended"
    now[0] = 3.0
    assert ended.why("111111111") == "stopped"
    ended.registered("111111111")  # registered again: it goes on
    assert ended.why("111111111") is None
    ended.ended("333333333", "ended", released=True)
    ended.ended("444444444", "ended", released=True)  # at most 2: the oldest goes
    assert len(ended) == 2 and ended.why("222222222") is None
    now[0] = 200.0
    assert ended.why("333333333") is None and len(ended) == 1
    # A viewer that names the registration it was paired with hears only of
    # that one's end; one that names none, of any.
    ended.ended("555555555", "ended", released=True, tag=b"r" * 16)
    assert ended.why("555555555", b"s" * 16) is None
    assert ended.why("555555555", b"r" * 16) == ended.why("555555555") == "ended"


def test_a_session_ended_at_one_relay_is_told_ended_at_every_relay_of_its_cluster(
        redis_server: RedisServer) -> None:  # fmt: skip
    """Two relays share a directory (a real redis-server). The host is at the
    first; the agent's link drops and its host's user ends the session
    there. The agent reconnects through the second (a load balancer sends it
    anywhere): it was told "no such session" for its whole 60 s. Expected:
    its first attempt is told the session ended."""

    async def main() -> None:
        async with relays(redis_server, 2) as (first, second):
            await _ended_while_away(first, second.port, 4)

    run(main(), 60)
