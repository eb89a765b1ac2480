"""endleft35: a session ended from code running inside it, and a
disconnect during a take-over.

* ``Host.close`` from an extension handler (its session's receive loop)
  waited for its own session, which ends only once the handler returns:
  the full wait (5 s), then it closed the capture hub while that session
  still ran. It ends the others, waits for them, and releases the rest
  once its own session has ended.
* A consent callback that calls ``disconnect`` on its own session was
  cancelled by that session's cleanup: the code after its ``await`` never
  ran. Its await returns; the session ends after the callback returned.
* ``Host.disconnect`` while a second connection of the agent takes the
  session over (``SessionEnded.moved``): the moved link's end said "ended
  by the host: ...", not that it moved.

Real Host and Viewers, sealed channels over loopback TCP; a slow cleanup
is the encoder's shutdown held in its worker thread (test_review34_races)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.errors import ScreencodecError
from screencodec.transport import CONTROL, VIEW, Grant, Host, RecordingInjector, Viewer
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session.events import SessionEnded
from screencodec.transport.session.permissions import ConsentRequest
from screencodec.transport.session.resume import MOVED

from .helpers import ended_lost, run, until
from .secure_fixtures import FAST
from .test_chatack_session import _link
from .test_resume import _granted, _Setup
from .test_review34_races import _slow_shutdown


class _Host:
    """A host on a loopback listener whose consent is ``consent``; viewers
    join with :meth:`join`."""

    def __init__(self, consent: Any) -> None:
        self.creds = SessionCredentials()
        self.host = Host(SyntheticDesktop(160, 120, scenario="idle", seed=1), consent=consent,
                         injector=RecordingInjector())  # fmt: skip
        self.ended: list[SessionEnded] = []

    async def __aenter__(self) -> _Host:
        self.listener = await listen_direct("127.0.0.1", 0, self.creds, self.host.serve,
                                            timeouts=FAST)  # fmt: skip
        events = self.host.events()

        async def note() -> None:
            async for ev in events:
                if isinstance(ev, SessionEnded):
                    self.ended.append(ev)

        self._noting = asyncio.ensure_future(note())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.listener.close()
        await self.host.close()
        self._noting.cancel()

    async def viewer(self, who: str) -> Viewer:
        channel = await connect_direct("127.0.0.1", self.listener.port, self.creds.code,
                                       self.creds.password, timeouts=FAST)  # fmt: skip
        return Viewer(channel, who=who)


async def _yes(request: ConsentRequest) -> Grant:
    return Grant(request.level)


def test_close_from_an_extension_handler_ends_the_others_and_not_the_hub_under_itself() -> None:
    async def main() -> tuple[float, list[str], list[int], list[int]]:
        async with _Host(_yes) as h:
            alice, bob = await h.viewer("Alice"), await h.viewer("Bob")
            await alice.start(VIEW)
            await bob.start(VIEW)
            runs = [asyncio.ensure_future(v.run()) for v in (alice, bob)]
            await until(lambda: alice.decoded >= 1 and bob.decoded >= 1, 10, "both watching")
            serving_at_hub_close: list[int] = []
            runtime = h.host._runtime
            hub_close = runtime.hub.close

            def closing() -> None:
                serving_at_hub_close.append(len(runtime.serving))
                hub_close()

            runtime.hub.close = closing  # type: ignore[method-assign]
            took: list[float] = []
            others_left: list[int] = []

            async def hang_up(_peer: str, _: bytes) -> bytes | None:
                began = time.monotonic()
                await h.host.close()
                took.append(time.monotonic() - began)
                others_left.append(len([x for x in runtime.serving if x.who == "Bob"]))
                return None

            h.host.register_channel("hangup", hang_up)
            await alice.send_extension("hangup", b"")
            reasons = await asyncio.wait_for(asyncio.gather(*runs), 15)
            await until(lambda: bool(took), 10, "the handler's close returned")
            await until(lambda: bool(serving_at_hub_close), 10, "the hub closed")
            return took[0], reasons, others_left, serving_at_hub_close

    took, reasons, others_left, at_hub_close = run(main(), 40)
    assert reasons == ["host said bye: host ended"] * 2, reasons
    assert took < 4.0, took  # found: 5.0 s (its own session waited for); 4: a loaded machine
    assert others_left == [0], others_left  # Bob's session over before close returned
    # Found: [1], the hub closed under the handler's own session.
    assert at_hub_close[0] == 0, at_hub_close


@pytest.mark.parametrize("question", ["first", "upgrade"])
def test_a_consent_callback_ending_its_own_session_returns_from_its_await(question: str) -> None:
    async def main() -> tuple[list[float], str]:
        after: list[float] = []
        holder: list[Host] = []

        async def consent(request: ConsentRequest) -> Grant:
            if request.upgrade == (question == "upgrade"):
                began = time.monotonic()
                await holder[0].disconnect(request.peer, reason="not today")
                after.append(time.monotonic() - began)
                return Grant.deny()
            return Grant(request.level)

        async with _Host(consent) as h:
            holder.append(h.host)
            viewer = await h.viewer("Alice")
            if question == "first":
                try:
                    await viewer.start(VIEW)
                    reason = await asyncio.wait_for(viewer.run(), 10)
                except ScreencodecError as exc:
                    reason = f"refused: {exc}"
            else:
                await viewer.start(VIEW)
                running = asyncio.ensure_future(viewer.run())
                asking = asyncio.ensure_future(viewer.request(CONTROL, timeout=10))
                reason = await asyncio.wait_for(running, 10)
                await asyncio.gather(asking, return_exceptions=True)
            await until(lambda: bool(h.ended), 10, "the session's end")
            # The code after the callback's await ran (found: never, cancelled).
            await until(lambda: bool(after), 3, "the callback's disconnect returned")
            return after, reason

    after, reason = run(main(), 40)
    assert after[0] < 4.0, after  # not the 5 s wait for its own session (a loaded machine)
    assert "not today" in reason, reason


def test_disconnect_during_a_take_over_keeps_the_moved_links_reason() -> None:
    async def main() -> list[SessionEnded]:
        async with _Setup(resume_window=60.0) as s:
            viewer, task = await s.join(VIEW)
            ticket = await _granted(viewer)
            old = _link(s)
            hold, entered = threading.Event(), threading.Event()
            _slow_shutdown(old, hold, entered)
            s.proxy.abandon()  # the agent's side died; the host's is open and silent
            await ended_lost(viewer, task)
            taking = asyncio.ensure_future(s.join(VIEW, resume=ticket))
            try:
                # The old link ended by the take-over, its cleanup under way.
                await until(entered.is_set, 10, "the old link's cleanup under way")
                assert old.moved
                ending = asyncio.ensure_future(s.host.disconnect(reason="done for today"))
                await asyncio.sleep(0)
            finally:
                hold.set()
            await asyncio.wait_for(ending, 15)
            joined = (await asyncio.gather(taking, return_exceptions=True))[0]
            if isinstance(joined, tuple):
                await asyncio.wait_for(asyncio.gather(joined[1], return_exceptions=True), 10)
            ends: list[SessionEnded] = []
            while len(ends) < 2:
                ev = await s.event(SessionEnded)
                assert isinstance(ev, SessionEnded)
                ends.append(ev)
            return ends

    ends = run(main(), 40)
    moved = [e for e in ends if e.moved]
    assert len(moved) == 1, ends
    # Found: 'ended by the host: done for today'.
    assert moved[0].reason == MOVED, moved
    (new,) = [e for e in ends if not e.moved]
    assert new.reason == "ended by the host: done for today", new
