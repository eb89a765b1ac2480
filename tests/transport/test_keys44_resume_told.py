"""keys44: a silent release's words kept for a resumed session are not lost
with the resumed link.

Found (reasoned in review44): the link that took the session up cleared the
parked words before sending them, and its new ticket's entry had none, so a
resumed link lost before its agent had the notice lost the words for good.
Expected: kept until the agent is heard after they were sent; a link lost
before that parks them again, and the next one says them.

A real Xvfb and XTestInjector, a real Host and Viewers on loopback (as
input44's resume test): the first link silent both ways until lost; the
second takes the session up and is cut (reset) as soon as it has the grant,
before it reads on; the third takes it up again.
"""

from __future__ import annotations

import asyncio

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.capture.xvfb import private_xvfb
from screencodec.transport import CONTROL, VIEW, Host, HostConfig, Viewer, allow
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.input.xtest import XTestInjector
from screencodec.transport.session import messages as m
from screencodec.transport.session.events import StatsUpdated
from screencodec.transport.session.held_silence import HELD_SILENCE

from .secure_fixtures import run
from .test_input44_two_agents import CTRL, _viewer


def _told(viewer: Viewer) -> list[str]:
    return [n.text for n in viewer.notices if n.code == m.Notice.HELD_RELEASED]


def test_a_resumed_link_lost_before_its_agent_read_the_words_parks_them_again() -> None:
    with private_xvfb(320, 240) as display:

        async def main() -> tuple[list[str], list[str], list[str]]:
            host = Host(SyntheticDesktop(160, 120, scenario="idle", seed=1), consent=allow(),
                        injector=XTestInjector(display), config=HostConfig())  # fmt: skip
            creds = SessionCredentials()
            serves: list[asyncio.Task[str]] = []
            listener = await listen_direct(
                "127.0.0.1", 0, creds, lambda ch: serves.append(
                    asyncio.ensure_future(host.serve(ch))), timeouts=Timeouts())  # fmt: skip
            evs = host.events()
            seen: list[object] = []

            async def collect() -> None:
                async for ev in evs:  # what the host said of the links, if it fails
                    if not isinstance(ev, StatsUpdated):
                        seen.append(ev)

            a = await _viewer(listener.port, creds)
            running = [asyncio.ensure_future(collect()), asyncio.ensure_future(a.run())]
            loop = asyncio.get_running_loop()

            async def back(ticket: object) -> Viewer:
                channel = await connect_direct("127.0.0.1", listener.port, creds.code,
                                               creds.password, timeouts=Timeouts())  # fmt: skip
                viewer = Viewer(channel, resume=ticket)  # type: ignore[arg-type]
                await viewer.start(VIEW | CONTROL)
                return viewer

            try:
                while a.resume_ticket is None:
                    await asyncio.sleep(0.05)
                await asyncio.sleep(1.5)  # past the grant's in-flight window
                assert await a.key(CTRL, True)
                link = next(iter(host._runtime.serving))
                while ("key", CTRL) not in link.gate.holding:
                    await asyncio.sleep(0.05)
                start = loop.time()
                link.channel.transport.pause_reading()
                a.channel.transport.pause_reading()
                while not serves[0].done():  # let go of at 4 s, lost at 15 s (cold)
                    assert loop.time() - start < 30
                    await asyncio.sleep(0.1)
                first = _told(a)
                a.channel.transport.abort()
                second = await back(a.resume_ticket)
                second.channel.transport.abort()  # cut once it has the grant
                cut = _told(second)
                while len(serves) < 2 or not serves[1].done():
                    assert loop.time() - start < 40
                    await asyncio.sleep(0.05)
                third = await back(second.resume_ticket)
                running.append(asyncio.ensure_future(third.run()))
                while not _told(third):
                    assert loop.time() - start < 45, f"the third link was not told {seen}"
                    await asyncio.sleep(0.05)
                await asyncio.sleep(0.5)
                return first, cut, _told(third)
            finally:
                for task in running:
                    task.cancel()
                await asyncio.gather(*running, return_exceptions=True)
                await host.close()
                await listener.close()
                for task in serves:
                    task.cancel()
                await asyncio.gather(*serves, return_exceptions=True)

        first, cut, third = run(main(), timeout=90)
    assert first == [], first  # it read nothing on the silent link
    assert cut == [], cut  # nor the cut one
    assert third == [
        "the host let go of the 1 key you held down: nothing came from you for"
        f" {HELD_SILENCE:g} s (your link went silent); press again what you need"
    ], third
