"""XTEST injection and X11 capture for real, under a private Xvfb (required: fails
if missing). Every injected action is read back from the X server: the pointer
and its button mask (XQueryPointer), the keyboard (XQueryKeymap) and the exact
events delivered to a window of ours; capture is compared with an independent
XGetImage of a screen that an xterm and known rectangles were drawn on."""

from __future__ import annotations

import asyncio
import os
import select
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.capture.xvfb import private_xvfb
from screencodec.encoder import ScreenEncoder
from screencodec.geometry import Rect
from screencodec.transport import CONTROL, VIEW, Host, HostConfig, allow
from screencodec.transport.input.xtest import LocalPointerWatcher, XTestInjector

from .conftest import connected
from .helpers import run, until

SIZE = (800, 600)


@pytest.fixture(scope="module")
def xdisplay() -> Iterator[str]:
    # A black root: whatever is not black on screen, a test drew.
    with private_xvfb(*SIZE, args=["-br"]) as display:
        yield display


class InputWindow:
    """A full-screen, focused window of ours that records the button and key
    events the X server delivers to it, as ``("press"|"release", button)`` and
    ``("key down"|"key up", keycode)``."""

    def __init__(self, display: str) -> None:
        from Xlib import X
        from Xlib import display as xdisplay

        self._X = X
        self._names = {X.ButtonPress: "press", X.ButtonRelease: "release",
                       X.KeyPress: "key down", X.KeyRelease: "key up"}  # fmt: skip
        self.seen: list[tuple[str, int]] = []
        self.d: Any = xdisplay.Display(display)
        scr = self.d.screen()
        self.win: Any = scr.root.create_window(
            0, 0, scr.width_in_pixels, scr.height_in_pixels, 0, scr.root_depth,
            X.InputOutput, X.CopyFromParent,
            background_pixel=scr.black_pixel, override_redirect=True,
            event_mask=X.ButtonPressMask | X.ButtonReleaseMask | X.KeyPressMask
            | X.KeyReleaseMask | X.StructureNotifyMask,
        )  # fmt: skip
        self.win.map()
        self.d.sync()
        self._wait_for(X.MapNotify)
        self.win.set_input_focus(X.RevertToParent, X.CurrentTime)
        self.d.sync()

    def _next_event(self, deadline: float) -> Any:
        while not self.d.pending_events():
            left = deadline - time.monotonic()
            assert left > 0, "timed out waiting for an X event"
            select.select([self.d.fileno()], [], [], left)
        return self.d.next_event()

    def _wait_for(self, kind: int) -> None:
        deadline = time.monotonic() + 5
        while self._next_event(deadline).type != kind:
            pass

    def events(self, n: int) -> list[tuple[str, int]]:
        """The next ``n`` input events (waits up to 5 s for them)."""
        got: list[tuple[str, int]] = []
        deadline = time.monotonic() + 5
        while len(got) < n:
            ev = self._next_event(deadline)
            if ev.type in self._names:
                got.append((self._names[ev.type], int(ev.detail)))
        return got

    def poll(self) -> list[tuple[str, int]]:
        """Every input event delivered so far, accumulated (never blocks)."""
        while self.d.pending_events():
            ev = self.d.next_event()
            if ev.type in self._names:
                self.seen.append((self._names[ev.type], int(ev.detail)))
        return self.seen

    def buttons_down(self) -> set[int]:
        mask = int(self.d.screen().root.query_pointer().mask)
        return {b for b in range(1, 6) if mask & (1 << (7 + b))}  # Button1Mask = 1 << 8

    def keys_down(self) -> set[int]:
        keymap = self.d.query_keymap()  # 32 bytes, one bit per keycode
        return {i * 8 + bit for i, byte in enumerate(keymap) for bit in range(8) if byte >> bit & 1}

    def close(self) -> None:
        self.win.destroy()
        self.d.sync()
        self.d.close()


def test_xtest_actions_reach_the_server(xdisplay: str) -> None:
    window = InputWindow(xdisplay)
    inj = XTestInjector(xdisplay)
    try:
        inj.pointer_move(123, 45)
        assert inj.query_pointer() == (123, 45)
        inj.pointer_move(5000, -3)  # clamped to the screen
        assert inj.query_pointer() == (799, 0)

        inj.button(1, True)
        inj.button(3, True)
        assert window.events(2) == [("press", 1), ("press", 3)]
        assert window.buttons_down() == {1, 3}
        inj.button(3, False)
        assert window.events(1) == [("release", 3)]
        inj.release_all()  # what is still held: button 1
        assert window.events(1) == [("release", 1)]
        assert window.buttons_down() == set()

        inj.wheel(0, 2)  # down: button 5, clicked twice
        inj.wheel(0, -1)  # up: button 4
        inj.wheel(1, 0)  # right: 7
        inj.wheel(-1, 0)  # left: 6
        clicks = [b for kind, b in window.events(10) if kind == "press"]
        assert clicks == [5, 5, 4, 7, 6]
        assert window.buttons_down() == set()

        a = window.d.keysym_to_keycode(0x61)
        shift = window.d.keysym_to_keycode(0xFFE1)
        assert a and shift
        inj.key(0x61, True, "a")
        assert window.events(1) == [("key down", a)]
        assert a in window.keys_down()
        inj.key(0x61, False, "a")
        assert window.events(1) == [("key up", a)]
        assert a not in window.keys_down()
        inj.key(0x10FFFF, True)  # no keycode for it on this map: nothing is sent
        inj.key(0xFFE1, True)  # then Shift: the next event is Shift's own
        assert window.events(1) == [("key down", shift)]
        inj.key(0x41, True, "A")  # what a browser sends for the A key with Shift held
        assert window.events(1) == [("key down", a)]
        assert {a, shift} <= window.keys_down()
        inj.release_all()  # no stuck keys
        assert sorted(window.events(2)) == sorted([("key up", a), ("key up", shift)])
        assert not {a, shift} & window.keys_down()
    finally:
        inj.close()
        window.close()


def test_remote_input_reaches_the_x_server(xdisplay: str) -> None:
    """Viewer -> host -> XTEST -> X: the events a window receives are exactly
    the viewer's, and a revoke releases what the viewer held down."""
    window = InputWindow(xdisplay)
    a = window.d.keysym_to_keycode(0x61)

    async def main() -> None:
        inj = XTestInjector(xdisplay)
        host = Host(SyntheticDesktop(320, 240, scenario="idle"), consent=allow(), injector=inj)
        try:
            async with connected(host, level=VIEW | CONTROL) as (viewer, _, _):
                await viewer.pointer_move(100, 100)
                await viewer.button(1, True)
                await viewer.button(1, False)
                await viewer.wheel(0, 1)
                await viewer.key(0x61, True, "a")
                await viewer.key(0x61, False, "a")
                expected = [("press", 1), ("release", 1), ("press", 5), ("release", 5),
                            ("key down", a), ("key up", a)]  # fmt: skip
                await until(lambda: len(window.poll()) >= len(expected), 5, "the events")
                assert window.poll() == expected
                # Held down when control is revoked: released, nothing left stuck.
                await viewer.button(3, True)
                await viewer.key(0x61, True, "a")
                await until(lambda: len(window.poll()) >= len(expected) + 2, 5, "held")
                assert window.buttons_down() == {3} and a in window.keys_down()
                await host.revoke(CONTROL)
                await until(lambda: len(window.poll()) >= len(expected) + 4, 5, "released")
                assert sorted(window.poll()[-2:]) == sorted([("release", 3), ("key up", a)])
                assert window.buttons_down() == set() and a not in window.keys_down()
        finally:
            inj.close()

    try:
        run(main())
    finally:
        window.close()


def test_remote_control_moves_the_real_pointer(xdisplay: str) -> None:
    async def main() -> None:
        inj = XTestInjector(xdisplay)
        # The screen's content does not matter here, only the input path.
        host = Host(
            SyntheticDesktop(320, 240, scenario="idle"),
            consent=allow(),
            injector=inj,
            config=HostConfig(local_input_pause=0.5),
        )
        local: list[int] = []

        def on_local() -> None:
            local.append(1)
            host.local_input_activity()

        watcher = LocalPointerWatcher(on_local, inj, xdisplay, period=0.02)
        wtask = asyncio.ensure_future(watcher.run())
        try:
            await asyncio.sleep(0.1)  # polling
            # ends53: polled on this loop, not through a thread of its own
            # (a hop each poll cost an idle host with control granted 1-2 %
            # of a core).
            assert "x-watcher" not in {t.name for t in threading.enumerate()}
            reads = watcher.pointer  # its polls' answers: .reads
            async with connected(host, level=VIEW | CONTROL) as (viewer, _, _):
                await viewer.pointer_move(200, 100)  # monitor 1 starts at (0, 0)
                await until(lambda: inj.query_pointer() == (200, 100), 5)
                polls = reads.reads
                # The watcher looked again after our move: it was not "local input".
                await until(lambda: reads.reads >= polls + 2, 5, "two more polls")
                assert local == []
                # The local user moves the mouse (another X client): remote input pauses.
                subprocess.run(
                    ["xdotool", "mousemove", "10", "10"],
                    check=True,
                    env={**os.environ, "DISPLAY": xdisplay},
                )
                await until(lambda: local != [], 5, "watcher saw the local move")
                await viewer.pointer_move(300, 200)
                link = next(iter(host._runtime.links))
                await until(lambda: link.gate.dropped_local >= 1, 5)
                assert inj.query_pointer() == (10, 10)
        finally:
            wtask.cancel()
            await asyncio.gather(wtask, return_exceptions=True)
            inj.close()

    run(main())


class RootPainter:
    """Draws solid rectangles on the root window and reads it back through
    plain XGetImage (BGRX): a path independent of our capture code."""

    def __init__(self, display: str) -> None:
        from Xlib import X
        from Xlib import display as xdisplay

        self._X = X
        self.d: Any = xdisplay.Display(display)
        self.root: Any = self.d.screen().root
        self._gc: Any = self.root.create_gc(subwindow_mode=X.IncludeInferiors)

    def fill(self, rect: Rect, rgb: tuple[int, int, int]) -> None:
        r, g, b = rgb
        self._gc.change(foreground=(r << 16) | (g << 8) | b)  # 24-bit TrueColor
        self.root.fill_rectangle(self._gc, rect.x, rect.y, rect.w, rect.h)
        self.d.sync()

    def xgetimage(self) -> np.ndarray[Any, np.dtype[np.uint8]]:
        raw = self.root.get_image(0, 0, SIZE[0], SIZE[1], self._X.ZPixmap, 0xFFFFFFFF).data
        return np.frombuffer(raw, np.uint8).reshape(SIZE[1], SIZE[0], 4)

    def close(self) -> None:
        self.fill(Rect(0, 0, *SIZE), (0, 0, 0))
        self.d.close()


def test_real_screen_capture_streams_bit_exact(xdisplay: str, tmp_path: Path) -> None:
    from screencodec.capture import ScreenSource

    painter = RootPainter(xdisplay)
    # Known pixels: three solid rectangles on the (black) root.
    rects = {
        Rect(600, 380, 120, 40): (255, 0, 0),
        Rect(600, 440, 120, 40): (0, 200, 0),
        Rect(40, 500, 300, 60): (30, 60, 250),
    }
    for rect, rgb in rects.items():
        painter.fill(rect, rgb)
    # Real content that changes, then stops: an xterm printing lines.
    # It prints once the viewer holds its first picture: printed before the
    # session began (a slow start under load, fresh143) the xterm left no
    # update after the keyframe to be hinted.
    go, marker = tmp_path / "go", tmp_path / "printed"
    script = (f"while [ ! -e {go} ]; do sleep 0.02; done;"
              f" for i in $(seq 1 20); do echo line $i of the build log; sleep 0.02; done;"
              f" touch {marker}; sleep 60")  # fmt: skip
    term = subprocess.Popen(
        ["xterm", "-geometry", "80x24+10+10", "-e", "sh", "-c", script],
        env={**os.environ, "DISPLAY": xdisplay},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    async def main() -> None:
        host = Host(lambda i: ScreenSource(i, display=xdisplay), consent=allow())
        async with connected(host) as (viewer, _, _):
            await until(lambda: viewer.decoded >= 1, 10)
            go.touch()
            assert [m.index for m in viewer.monitors][:2] == [0, 1]
            await until(marker.exists, 10, "the xterm printed its last line")
            await until(lambda: viewer.decoded >= 3, 10, "the printing reached the viewer")
            # Once the xterm is still, the viewer holds what X itself returns.
            await until(lambda: _bgr(viewer.framebuffer) == _bgr(painter.xgetimage()), 10)
            fb = viewer.framebuffer
            assert fb is not None and fb.shape[:2] == (SIZE[1], SIZE[0])
            for rect, (r, g, b) in rects.items():
                area = fb[rect.y : rect.y + rect.h, rect.x : rect.x + rect.w, :3]
                assert (area == (b, g, r)).all(), rect
            # The xterm is there, with text on it: its window is not one colour,
            # and the black root around it is black.
            term_area = fb[10:300, 10:400, :3].reshape(-1, 3)
            assert len(np.unique(term_area, axis=0)) >= 2
            assert not fb[580:600, 760:800, :3].any()
            # mss's grabs are fresh buffers given up to the encoder, but it
            # does not keep one whose update compared only the hinted rows
            # (as its reference, or under a rate as the last-frame shadow):
            # a change drawn between the damage's take and the grab is hinted
            # one update late, and a kept frame would already hold it
            # (tests/transport/test_hub_hints.py).
            (link,) = host._runtime.links
            enc = link.stream.encoder
            last = host._runtime.hub._screens[1].frame
            assert isinstance(enc, ScreenEncoder) and last is not None
            assert enc.last.compared_rows < SIZE[1]  # the update was hinted
            shadow = enc.quality.shadow if enc.quality is not None else None
            kept = np.shares_memory(enc.reference, last) or (
                shadow is not None and np.shares_memory(shadow, last)
            )
            assert not kept

    try:
        run(main())
    finally:
        term.kill()
        term.wait(5)
        painter.close()


def _bgr(frame: np.ndarray[Any, np.dtype[np.uint8]] | None) -> bytes | None:
    return None if frame is None else np.ascontiguousarray(frame[..., :3]).tobytes()
