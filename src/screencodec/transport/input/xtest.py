"""X11 injection through the XTEST extension, and a watcher for local pointer use.

:class:`XTestInjector` owns one Xlib display connection (Xlib is not thread
safe: use an injector from one thread, the event loop's). It remembers which
buttons and keycodes it pressed so ``release_all`` can undo them.

:class:`LocalPointerWatcher` polls ``query_pointer`` and calls a callback when
the pointer moved to somewhere the injector did not put it: that is the local
user's hand on the mouse, and local input wins.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from screencodec.errors import CaptureError
from screencodec.transport.input.base import InputInjector

__all__ = ["LocalPointerWatcher", "XTestInjector"]


def _open_display(name: str | None) -> Any:
    try:
        from Xlib import display as xdisplay
        from Xlib.error import DisplayError
    except ImportError as exc:  # pragma: no cover - declared in the x11 extra
        raise CaptureError("python-xlib is not installed (pip install screencodec[x11])") from exc
    try:
        disp = xdisplay.Display(name)
    except (DisplayError, OSError) as exc:
        raise CaptureError(f"cannot open X display {name!r}: {exc}") from exc
    if not disp.has_extension("XTEST"):
        disp.close()
        raise CaptureError("the X server has no XTEST extension")
    return disp


class XTestInjector(InputInjector):
    def __init__(self, display: str | None = None) -> None:
        from Xlib import X
        from Xlib.ext import xtest

        self._X = X
        self._fake = xtest.fake_input
        self._disp = _open_display(display)
        self._root = self._disp.screen().root
        self._buttons: set[int] = set()
        self._keys: set[int] = set()
        self.last_position: tuple[int, int] | None = None

    def pointer_move(self, x: int, y: int) -> None:
        scr = self._disp.screen()
        x = max(0, min(x, scr.width_in_pixels - 1))
        y = max(0, min(y, scr.height_in_pixels - 1))
        self._fake(self._disp, self._X.MotionNotify, x=x, y=y, root=self._root)
        self._disp.sync()
        self.last_position = (x, y)

    def button(self, button: int, down: bool) -> None:
        self._fake(self._disp, self._X.ButtonPress if down else self._X.ButtonRelease, button)
        (self._buttons.add if down else self._buttons.discard)(button)
        self._disp.sync()

    def wheel(self, dx: int, dy: int) -> None:
        # X has no wheel events: buttons 4/5 (vertical) and 6/7 (horizontal) clicks.
        for count, neg, pos in ((dy, 4, 5), (dx, 6, 7)):
            b = pos if count > 0 else neg
            for _ in range(abs(count)):
                self._fake(self._disp, self._X.ButtonPress, b)
                self._fake(self._disp, self._X.ButtonRelease, b)
        self._disp.sync()

    def key(self, keysym: int, down: bool, text: str = "") -> None:
        keycode = self._disp.keysym_to_keycode(keysym)
        if not keycode:
            return  # not on this keyboard map; typing it would need a remap
        self._fake(self._disp, self._X.KeyPress if down else self._X.KeyRelease, keycode)
        (self._keys.add if down else self._keys.discard)(keycode)
        self._disp.sync()

    def release_all(self) -> None:
        for b in sorted(self._buttons):
            self._fake(self._disp, self._X.ButtonRelease, b)
        for k in sorted(self._keys):
            self._fake(self._disp, self._X.KeyRelease, k)
        self._buttons.clear()
        self._keys.clear()
        self._disp.sync()

    def query_pointer(self) -> tuple[int, int]:
        reply = self._root.query_pointer()
        return int(reply.root_x), int(reply.root_y)

    def close(self) -> None:
        if self._disp is not None:
            self._disp.close()
            self._disp = None


class LocalPointerWatcher:
    """Poll the pointer every ``period`` s; call ``on_local`` when it moved by itself.

    A position equal to the injector's last injected one is ours, not the user's.
    Run with ``task = asyncio.create_task(watcher.run())``; cancel to stop.
    """

    def __init__(
        self,
        on_local: Callable[[], None],
        injector: XTestInjector | None = None,
        display: str | None = None,
        period: float = 0.05,
    ) -> None:
        self._on_local = on_local
        self._injector = injector
        self._disp = _open_display(display)
        self._period = period

    async def run(self) -> None:
        root = self._disp.screen().root
        last: tuple[int, int] | None = None
        try:
            while True:
                reply = root.query_pointer()
                pos = (int(reply.root_x), int(reply.root_y))
                ours = self._injector is not None and self._injector.last_position == pos
                if last is not None and pos != last and not ours:
                    self._on_local()
                last = pos
                await asyncio.sleep(self._period)
        finally:
            self._disp.close()
