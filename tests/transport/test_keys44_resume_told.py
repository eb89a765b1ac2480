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
from screencodec.transport import Host, HostConfig, Viewer, allow
from screencodec.transport.input.xtest import XTestInjector
from screencodec.transport.session import messages as m
from screencodec.transport.session.events import StatsUpdated
from screencodec.transport.session.held_silence import HELD_SILENCE

from .secure_fixtures import run, served
from .test_input44_two_agents import _held_then_lost


def _told(viewer: Viewer) -> list[str]:
    return [n.text for n in viewer.notices if n.code == m.Notice.HELD_RELEASED]


def test_a_resumed_link_lost_before_its_agent_read_the_words_parks_them_again() -> None:
    with private_xvfb(320, 240) as display:

        async def main() -> tuple[list[str], list[str], list[str]]:
            host = Host(SyntheticDesktop(160, 120, scenario="idle", seed=1), consent=allow(),
                        injector=XTestInjector(display), config=HostConfig())  # fmt: skip
            evs = host.events()
            seen: list[object] = []

            async def collect() -> None:
                async for ev in evs:  # what the host said of the links, if it fails
                    if not isinstance(ev, StatsUpdated):
                        seen.append(ev)

            async with served(host) as s:
                s.spawn(collect())
                a = await s.viewer()
                s.spawn(a.run())
                loop = asyncio.get_running_loop()
                start = await _held_then_lost(host, s, a)
                first = _told(a)
                a.channel.transport.abort()
                second = await s.viewer(resume=a.resume_ticket)
                second.channel.transport.abort()  # cut once it has the grant
                cut = _told(second)
                while len(s.serves) < 2 or not s.serves[1].done():
                    assert loop.time() - start < 40
                    await asyncio.sleep(0.05)
                third = await s.viewer(resume=second.resume_ticket)
                s.spawn(third.run())
                while not _told(third):
                    assert loop.time() - start < 45, f"the third link was not told {seen}"
                    await asyncio.sleep(0.05)
                await asyncio.sleep(0.5)
                return first, cut, _told(third)

        first, cut, third = run(main(), timeout=90)
    assert first == [], first  # it read nothing on the silent link
    assert cut == [], cut  # nor the cut one
    assert third == [
        "the host let go of the 1 key you held down: nothing came from you for"
        f" {HELD_SILENCE:g} s (your link went silent); press again what you need"
    ], third
