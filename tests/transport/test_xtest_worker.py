"""The XTEST injector's worker thread: its callers never wait on the X server.

Another client grabs the X server (XGrabServer), so the injector's requests
are not served until it lets go: an injector calling Xlib from its caller's
thread would block there, and the host's event loop with it. Here the calls
return, the host's session keeps handling input, and everything reaches the
server, in order, once the grab ends. A safety timer ends the grab after
10 s, so the code before the worker thread fails instead of hanging.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.transport import CONTROL, VIEW, Host, allow
from screencodec.transport.input.xtest import XTestInjector

from .conftest import connected
from .helpers import run, until
from .test_xtest_typing import Typist, display_without_autorepeat, keysym

xdisplay = pytest.fixture(scope="module", name="xdisplay")(display_without_autorepeat)


class Grab:
    """Another client holding the X server; ``expired``: the safety timer
    ended the grab (the injector was stuck behind it that long)."""

    def __init__(self, display: str) -> None:
        from Xlib import display as xdisplay

        self._d: Any = xdisplay.Display(display)
        self._lock = threading.Lock()
        self.expired = False
        self._held = True
        self._d.grab_server()
        self._d.sync()
        self._timer = threading.Timer(10.0, self._expire)
        self._timer.start()

    def _expire(self) -> None:
        self.expired = True
        self.release()

    def release(self) -> None:
        with self._lock:
            if self._held:
                self._held = False
                self._d.ungrab_server()
                self._d.sync()

    def close(self) -> None:
        self._timer.cancel()
        self.release()
        self._d.close()


def returns_at_once(calls: Callable[[], None]) -> bool:
    """Run ``calls`` on a thread; whether they returned within 5 s."""
    done = threading.Event()

    def body() -> None:
        calls()
        done.set()

    threading.Thread(target=body, daemon=True).start()
    return done.wait(5)


def test_calls_return_while_the_server_is_held(xdisplay: str) -> None:
    t = Typist(xdisplay)
    inj = XTestInjector(xdisplay, max_queue=5)
    grab = Grab(xdisplay)
    try:
        letters = "abcdefghijk"

        def calls() -> None:
            inj.key(keysym("a"), True, "a")
            # The worker's round trip for this flush is stuck behind the grab
            # once it took the key: the next five wait on the queue, the rest
            # do not fit.
            assert not inj.flush(0)
            deadline = time.monotonic() + 5
            while inj.pending() and time.monotonic() < deadline:
                time.sleep(0.001)
            for ch in letters[1:]:
                inj.key(keysym(ch), True, ch)
            inj.pointer_move(10, 10)
            inj.pointer_move(20, 20)

        assert returns_at_once(calls)
        assert not grab.expired
        assert inj.dropped_events == 7 and inj.dropped_keys == 5  # g..k, both moves
        assert inj.last_position is None  # no move was queued
        grab.release()
        assert inj.flush(5)
        # In order; then the release the overflow queued let go of all of them.
        assert t.keys(6) == [keysym(ch) for ch in letters[:6]]
        assert t.keys_down() == set()
        assert inj.errors == 0
    finally:
        grab.close()
        inj.close()
        t.close()


def test_pointer_positions_on_their_way_are_ours(xdisplay: str) -> None:
    inj = XTestInjector(xdisplay)
    grab = Grab(xdisplay)
    try:

        def moves() -> None:
            inj.pointer_move(10, 10)
            inj.pointer_move(20, 900)

        assert returns_at_once(moves)
        # Not at the server yet: the pointer may be at either on the way.
        assert inj.last_position == (20, 599)  # clamped to the screen
        assert inj.owns_position((10, 10)) and inj.owns_position((20, 599))
        assert not inj.owns_position((30, 30))
        grab.release()
        assert inj.flush(5)
        assert inj.query_pointer() == (20, 599)
        assert inj.owns_position((20, 599)) and not inj.owns_position((10, 10))
    finally:
        grab.close()
        inj.close()


def test_a_session_keeps_going_while_the_server_is_held(xdisplay: str) -> None:
    """The host's event loop hands the agent's keys to the injector and goes
    on (here: the next keys) while the X server serves nobody else."""
    t = Typist(xdisplay)
    text = "héllo €"

    async def main() -> None:
        inj = XTestInjector(xdisplay)
        host = Host(SyntheticDesktop(320, 240, scenario="idle"), consent=allow(), injector=inj)
        grab = Grab(xdisplay)
        try:
            async with connected(host, level=VIEW | CONTROL) as (viewer, _, _):
                for ch in text:
                    await viewer.key(keysym(ch), True, ch)
                    await viewer.key(keysym(ch), False, "")
                link = next(iter(host._runtime.links))
                await until(lambda: link.gate.injected == 2 * len(text), 15, "the keys")
                assert not grab.expired  # handled while the server was held
                grab.release()
                assert inj.flush(5)
                # Read before close empties the spare keycodes (é, € on them).
                assert t.text(len(text)) == text
        finally:
            grab.close()
            inj.close()

    try:
        run(main())
        assert t.keys_down() == set()
    finally:
        t.close()
