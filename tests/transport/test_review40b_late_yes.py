"""review40b: a yes that lands in the loop steps after the agent's link
closed, before its open CONTROL question is withdrawn (odds40 left it:
"a y in the one or two loop steps after the channel closes").

The agent asked for CONTROL, the host's user has the question on screen,
the link breaks (a reset: lost, the session parked for the agent's
return) and the user's yes comes right after, before the link's cleanup
withdrew the question. Expected: it grants nothing. The session parked
holds what it held (VIEW): the agent coming back with its ticket and
asking VIEW and CONTROL gets VIEW, not CONTROL its user was never shown
as given to a live agent; the host's events say no PermissionChanged
with CONTROL.

Real Host and Viewer in this process, real sockets on loopback (a proxy
the test resets); the host user's answer an embedder's consent callback
that answers the moment the link's channel has closed."""

from __future__ import annotations

import asyncio

import pytest

from screencodec.transport import CONTROL, VIEW
from screencodec.transport.session.consent import ConsentRequest
from screencodec.transport.session.events import PermissionChanged, SessionEnded
from screencodec.transport.session.permissions import Grant

from .helpers import ended_lost, run, until
from .test_resume import _granted, _Setup


@pytest.mark.parametrize("steps", [0, 1, 2])
def test_a_yes_right_after_the_link_closed_grants_nothing(steps: int) -> None:
    async def main() -> None:
        async with _Setup() as s:
            closed_seen = asyncio.Event()

            async def consent(request: ConsentRequest) -> Grant:
                s.asked.append(request)
                if not request.upgrade:
                    return Grant(request.level)
                (link,) = s.host._runtime.serving
                while not link.channel.closed:  # the user reads the question...
                    await asyncio.sleep(0)
                closed_seen.set()
                for _ in range(steps):  # ...and types y as the link goes
                    await asyncio.sleep(0)
                return Grant(request.level)

            s.host._runtime.consent = consent
            viewer, task = await s.join(VIEW)
            ticket = await _granted(viewer)
            asking = asyncio.ensure_future(viewer.request(CONTROL))
            await until(lambda: len(s.asked) == 2, 10, "the CONTROL question")
            s.proxy.cut()
            await ended_lost(viewer, task)
            asking.cancel()
            await asyncio.gather(asking, return_exceptions=True)
            ended = await s.event(SessionEnded)
            assert isinstance(ended, SessionEnded) and ended.resumable == 60.0, ended
            assert closed_seen.is_set()
            again, task2 = await s.join(VIEW | CONTROL, resume=ticket)
            assert again.level == VIEW, again.level
            assert len(s.asked) == 2
            assert not any(isinstance(e, PermissionChanged) and CONTROL in e.level
                           for e in s.seen), s.seen  # fmt: skip
            await again.bye()
            await task2

    run(main(), 60)
