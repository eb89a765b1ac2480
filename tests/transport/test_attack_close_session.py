"""Attacks on the orderly close at session level: the goodbye must win.

A real Host and Viewer over loopback sockets (sealed channels, orderly
close). The viewer says bye while the host streams a screen that changes
every frame; the host ends the session while the viewer sends input as
fast as it can. Each side that is told goodbye must report that goodbye as
the reason, every time (20 of 20 runs per event loop): not a cut line.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.errors import ConsentDeniedError, SessionClosedError
from screencodec.transport import CONTROL, VIEW, Grant, Host, HostConfig, Viewer, allow
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import (
    connect_direct,
    connect_via_relay,
    host_via_relay,
    listen_direct,
)
from screencodec.transport.input import RecordingInjector
from screencodec.transport.relay import Relay, RelayLimits
from screencodec.transport.session.consent import ConsentCallback

from .secure_fixtures import FAST, both_loops, run

RUNS = 20
SIZE = (160, 120)
SCENARIO = "typing"


@asynccontextmanager
async def hosting(
    relayed: bool = False, consent: ConsentCallback | None = None,
) -> AsyncIterator[tuple[Host, asyncio.Queue[asyncio.Task[str]], str, int]]:
    """A host streaming a screen that changes every frame, listening on
    loopback (or through a relay); yields (host, its sessions as serve
    tasks, "code password", the port a viewer dials)."""
    creds = SessionCredentials()
    screen = SyntheticDesktop(*SIZE, scenario=SCENARIO, seed=3)
    host = Host(screen, consent=consent or allow(), injector=RecordingInjector(),
                config=HostConfig(stats_period=0.05))
    serving: asyncio.Queue[asyncio.Task[str]] = asyncio.Queue()

    def serve(channel: SecureChannel) -> None:
        serving.put_nowait(asyncio.ensure_future(host.serve(channel)))

    secret = f"{creds.code} {creds.password}"
    try:
        if relayed:
            async with Relay(limits=RelayLimits(joins_per_minute=10_000)) as relay:
                reg = await host_via_relay("127.0.0.1", relay.port, creds, serve, timeouts=FAST,
                                           attempts_per_minute=10_000, ping_interval=0.5,
                                           backoff_max=0.5)
                try:
                    await reg.wait_registered(5)
                    yield host, serving, secret, -relay.port
                finally:
                    await reg.close()
        else:
            listener = await listen_direct("127.0.0.1", 0, creds, serve, timeouts=FAST,
                                           attempts_per_minute=10_000)
            try:
                yield host, serving, secret, listener.port
            finally:
                await listener.close()
    finally:
        await host.close()


async def join(port: int, secret: str, level: object = VIEW) -> Viewer:
    """A viewer started on the host at ``port`` (negative: a relay's port)."""
    code, password = secret.split(" ", 1)
    if port < 0:
        channel = await connect_via_relay("127.0.0.1", -port, code, password, timeouts=FAST)
    else:
        channel = await connect_direct("127.0.0.1", port, code, password, timeouts=FAST)
    viewer = Viewer(channel, who="agent")
    await viewer.start(level)  # type: ignore[arg-type]
    return viewer


async def streaming(viewer: Viewer, updates: int) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + 5
    while viewer.decoded < updates:
        assert loop.time() < end, "the host is not streaming"
        await asyncio.sleep(0.005)


async def viewer_says_bye(relayed: bool) -> None:
    """RUNS sessions, each ended by the viewer's bye while the host streams."""
    async with hosting(relayed) as (_host, serving, secret, port):
        reasons = []
        for _ in range(RUNS):
            viewer = await join(port, secret)
            serve = await asyncio.wait_for(serving.get(), 5)
            running = asyncio.ensure_future(viewer.run())
            await streaming(viewer, 1)  # and more are coming: it changes every frame
            await asyncio.wait_for(viewer.bye("off now"), 5)
            reasons.append(await asyncio.wait_for(serve, 5))
            await asyncio.wait_for(running, 5)
        assert reasons == ["viewer said bye: off now"] * RUNS


async def fidget(viewer: Viewer, moved: asyncio.Event) -> None:
    """Move the pointer as fast as the viewer sends, until the session ends."""
    x = 0
    try:
        while True:
            x = (x + 7) % 160
            await viewer.pointer_move(x, 60)
            moved.set()
            await asyncio.sleep(0)
    except SessionClosedError:
        return


async def host_ends_during_input(relayed: bool) -> None:
    """RUNS sessions, each ended by the host while the viewer sends input."""
    async with hosting(relayed) as (host, serving, secret, port):
        reasons = []
        for i in range(RUNS):
            viewer = await join(port, secret, VIEW | CONTROL)
            serve = await asyncio.wait_for(serving.get(), 5)
            running = asyncio.ensure_future(viewer.run())
            await streaming(viewer, 1)
            moved = asyncio.Event()
            typing = asyncio.ensure_future(fidget(viewer, moved))
            await moved.wait()
            await asyncio.wait_for(host.disconnect(reason=f"home time {i}"), 5)
            reasons.append(await asyncio.wait_for(running, 5))
            ended, _ = await asyncio.wait_for(asyncio.gather(serve, typing), 5)
            # The host's own account is its reason, not "viewer gone: closed locally".
            assert ended == f"ended by the host: home time {i}"
        assert reasons == [f"host said bye: home time {i}" for i in range(RUNS)]


@both_loops
def test_the_host_hears_viewer_said_bye_while_it_streams_every_time(loop_kind: str) -> None:
    run(viewer_says_bye(relayed=False), loop_kind=loop_kind, timeout=60)


@both_loops
def test_the_viewer_hears_host_said_bye_while_it_sends_input_every_time(loop_kind: str) -> None:
    run(host_ends_during_input(relayed=False), loop_kind=loop_kind, timeout=60)


@both_loops
def test_a_host_ending_several_sessions_at_once_says_bye_to_each(loop_kind: str) -> None:
    async def main() -> None:
        async with hosting() as (host, serving, secret, port):
            viewers = [await join(port, secret) for _ in range(4)]
            serves = [await asyncio.wait_for(serving.get(), 5) for _ in viewers]
            runs = [asyncio.ensure_future(v.run()) for v in viewers]
            for v in viewers:
                await streaming(v, 1)
            loop = asyncio.get_running_loop()
            start = loop.time()
            await asyncio.wait_for(host.disconnect(reason="closing time"), 5)
            assert loop.time() - start <= (FAST.linger or 0) + 1.0
            reasons = await asyncio.wait_for(asyncio.gather(*runs), 5)
            assert reasons == ["host said bye: closing time"] * 4
            await asyncio.wait_for(asyncio.gather(*serves), 5)

    run(main(), loop_kind=loop_kind, timeout=30)


@both_loops
def test_a_host_ending_a_session_awaiting_consent_tells_the_viewer_why(loop_kind: str) -> None:
    async def never(request: object) -> Grant:
        await asyncio.sleep(3600)
        raise AssertionError

    async def main() -> None:
        async with hosting(consent=never) as (host, serving, secret, port):
            for i in range(5):
                starting = asyncio.ensure_future(join(port, secret))
                serve = await asyncio.wait_for(serving.get(), 5)
                await until_asked(host)
                await asyncio.wait_for(host.disconnect(reason=f"not now {i}"), 5)
                why = rf"before its user answered \(not now {i}\)"
                with pytest.raises(ConsentDeniedError, match=why):
                    await asyncio.wait_for(starting, 5)
                await asyncio.wait_for(serve, 5)

    run(main(), loop_kind=loop_kind, timeout=30)


async def until_asked(host: Host) -> None:
    """Until the host's session is waiting for its user's answer."""
    loop = asyncio.get_running_loop()
    end = loop.time() + 5
    while not host._runtime.serving or not any(
            link.who for link in host._runtime.serving):
        assert loop.time() < end, "the host never asked"
        await asyncio.sleep(0.005)
