"""review44: input44's bound on /type (view_typing.Sent, ON_THEIR_WAY),
attacked: a /stop racing the last character, and a link that stalls and
then flows again with no /stop.

The race: a real Host (RecordingInjector) and Viewer on loopback, the
/stop set the moment the last character is pressed (as a person's /stop
arrives between that and its bytes' acknowledgement). The stall: a real
Xvfb with an xterm running bash, ``screencodec host --control xtest`` and
``screencodec view`` on pseudo-terminals, type43's proxy (``Hold``).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.cli import view_typing
from screencodec.cli.view_typing import ON_THEIR_WAY, Sent, Typing, type_text
from screencodec.transport import Host, HostConfig, allow
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.input.recording import RecordingInjector

from .secure_fixtures import run, served
from .test_type43_view_typing import Hold, _all_up, _joined, _output, xterm_log
from .test_walk43_view_types import _bash_ran

__all__ = ["xterm_log"]  # the fixture, used by name

TEXT = "abcde"


class _StopAtLast(Sent):
    """A /stop that comes right as the last character is pressed: ``stop``
    is what /stop does (Typing.stop, or the event type_text watches)."""

    stop: Callable[[], object] = staticmethod(lambda: None)

    def press_done(self) -> None:
        super().press_done()
        if self.pressed == self.total:
            self.stop()


def test_a_stop_racing_the_last_character_never_says_stopped_with_nothing_left(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Found: the /type's last wait (for its bytes to leave) returned
    'stopped' whenever /stop was set, even when every character had left:
    '(typing stopped: 5 of 5 characters sent; the rest not typed)', a
    /type cut short that was not (and a /key after it not pressed).
    Expected: all left, it says 'sent 5 characters'; some still on their
    way, the stopped line counts them (M > 0). Either way a /key queued
    after it is not pressed: the /stop meant it too."""

    async def main() -> tuple[list[str], list[str]]:
        inj = RecordingInjector()
        host = Host(SyntheticDesktop(160, 120, scenario="idle", seed=1), consent=allow(),
                    injector=inj, config=HostConfig())  # fmt: skip
        async with served(host) as s:
            viewer = await s.viewer()
            s.spawn(viewer.run())
            said: list[str] = []
            await asyncio.sleep(1.5)  # past the grant's in-flight window
            for _ in range(5):
                stop = asyncio.Event()
                sent = _StopAtLast(viewer, len(TEXT))
                sent.stop = stop.set
                said.append(await type_text(viewer, TEXT, sent, stop))
            # The view's own: /type, /key Enter after it, then the /stop.
            typing = Typing()
            told: list[str] = []
            monkeypatch.setattr(view_typing, "tell", told.append)
            monkeypatch.setattr(view_typing, "Sent", _StopAtLast)
            monkeypatch.setattr(_StopAtLast, "stop", staticmethod(typing.stop))
            typing.start(viewer, TEXT)
            await typing.key(viewer, "Enter")
            while typing.running:
                await asyncio.sleep(0.02)
            return said, told

    said, told = run(main(), timeout=60)
    # The /stop meant the Enter queued after the /type too.
    assert told[-1] == "(not pressed: Enter: a /stop came before it)" or (
        told[-1] == "(not pressed: Enter: the /type before it was stopped)"
        and told[0].startswith("(typing stopped:")), told
    for line in said + told[:1]:
        stopped = re.fullmatch(r"\(typing stopped: (\d+) of 5 characters sent(; (\d+) more had"
                               r" not left this computer and may still be typed)?; the rest not"
                               r" typed\)", line)  # fmt: skip
        assert line == "sent 5 characters to the host's keyboard" or (
            stopped is not None and stopped[2] is not None and int(stopped[3]) > 0), said


def test_a_type_on_a_link_that_stalls_then_flows_goes_whole_and_says_so(
    xterm_log: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The link holds mid-/type (no /stop), then flows. Expected: no 'sent
    300' while it holds; once it flows, 'sent 300 characters' and the
    xterm gets exactly the 300, in one line."""
    display, log = xterm_log
    monkeypatch.setenv("DISPLAY", display)
    with _joined(display) as (proxy, view):
        proxy.hold()
        view.type("/type " + "g" * 300)
        time.sleep(4)
        assert "sent 300" not in view.text, view.text
        proxy.flow()
        view.wait_for(r"sent 300 characters to the host's keyboard\n", timeout=60)
        view.type("/key Enter")
        view.wait_for(r"pressed Enter on the host's keyboard\n")
        _bash_ran(log, ": command not found")
        typed = re.findall(r"bash: (g+): command not found", _output(log))
        assert [len(t) for t in typed] == [300], (typed, view.text)
        _all_up(display)


def test_a_type_whose_link_is_lost_does_not_count_what_went_down_with_it() -> None:
    """The link holds mid-/type (type43's proxy: what the agent sends is not
    read), 16 characters wait in this computer's buffers, then the link is
    lost: the viewer hears nothing more either and gives it up
    (``Timeouts.unanswered``, shortened to 3 s). Found: once the channel
    was closed its buffers read as empty (asyncio's cleared, the socket's
    send queue no longer asked), so 'sent' counted the 16 that went down
    with it: '(typing stopped: K+16 of 200 characters sent ...)'. Expected:
    what had left when the link went, no more.

    Not covered: a link that ends in a reset (a proxy that closes with our
    bytes unread): the kernel empties the send queue as the reset comes, a
    loop turn before the channel knows, and a /type that asks then still
    counts them (1 run of 2 here with the proxy closed instead)."""

    async def main() -> tuple[int, int, int]:
        host = Host(SyntheticDesktop(160, 120, scenario="idle", seed=1), consent=allow(),
                    injector=RecordingInjector(), config=HostConfig())  # fmt: skip
        async with served(host) as s:
            proxy = Hold(s.listener.port)
            viewer = await s.viewer(port=proxy.port, timeouts=Timeouts(unanswered=3.0, idle=6.0))
            running = asyncio.ensure_future(viewer.run())
            try:
                await asyncio.sleep(1.5)  # past the grant's in-flight window
                proxy.hold()
                sent = Sent(viewer, 200)
                typing = asyncio.ensure_future(type_text(viewer, "h" * 200, sent, asyncio.Event()))
                loop = asyncio.get_running_loop()
                end = loop.time() + 30
                while not (sent.full() and sent.left == sent.pressed - ON_THEIR_WAY):
                    assert loop.time() < end, (sent.pressed, sent.left)
                    await asyncio.sleep(0.05)
                await asyncio.sleep(1)  # the link holds: nothing more leaves
                before = sent.left
                viewer.channel.transport.pause_reading()  # nothing heard: the link is lost
                while not viewer.channel.closed:
                    assert loop.time() < end + 30
                    await asyncio.sleep(0.05)
                typing.cancel()
                await asyncio.gather(typing, return_exceptions=True)
                return before, sent.left, sent.pressed
            finally:  # the viewer's run ends before the proxy closes under it
                running.cancel()
                await asyncio.gather(running, return_exceptions=True)
                await asyncio.to_thread(proxy.close)

    before, after, pressed = run(main(), timeout=90)
    assert pressed - before == ON_THEIR_WAY, (before, after, pressed)
    assert after == before, (before, after, pressed)
