"""Learning of a copy on X11 without starting a process: XFixes tells a
client that asked (SelectSelectionInput) each time the CLIPBOARD selection
gets an owner, which is what a program does when its user copies. The
host's clipboard sync (transport/session/clipboard_host.py) waits here and
reads the clipboard (an ``xclip -o``) only after such an event, instead of
once a second (clipfix39). python-xlib is the ``x11`` extra's; without it,
or without XFixes, there is no watch and sync reads every second.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
from typing import Any

from screencodec.capture.x11wire import open_display
from screencodec.errors import ScreencodecError

__all__ = ["SelectionWatch"]


class SelectionWatch:
    """Owner changes of ``selection`` on X display ``display``.
    :class:`ScreencodecError` (or a CaptureError) when it cannot watch.
    One thread at a time calls :meth:`wait`; :meth:`close` may come from
    another, and ends a wait at once."""

    def __init__(self, display: str, selection: str = "CLIPBOARD") -> None:
        from Xlib import X
        from Xlib.ext import xfixes

        disp = open_display(display, "the clipboard's changes")
        try:
            if not disp.has_extension("XFIXES"):
                raise ScreencodecError("the X server has no XFIXES extension")
            disp.xfixes_query_version()
            window = disp.screen().root.create_window(0, 0, 1, 1, 0, X.CopyFromParent)
            mask = xfixes.XFixesSetSelectionOwnerNotifyMask
            disp.xfixes_select_selection_input(window, disp.intern_atom(selection), mask)
            disp.flush()
        except BaseException:
            disp.close()
            raise
        self._disp: Any = disp
        self._lock = threading.Lock()  # held by a wait, and by close
        self._wake_r, self._wake_w = os.pipe()

    def wait(self, timeout: float) -> bool:
        """True once the selection got an owner since the last call (at
        most ``timeout`` seconds); False on none, or once closed."""
        deadline = time.monotonic() + timeout
        with self._lock:
            disp = self._disp
            if disp is None:
                return False
            while True:
                changed = False
                while disp.pending_events():  # reads what the socket holds
                    disp.next_event()
                    changed = True  # the only events this connection asked for
                if changed:
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                ready, _, _ = select.select([disp.fileno(), self._wake_r], [], [], left)
                if self._wake_r in ready:
                    return False

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")  # a wait under way returns
        with self._lock:
            disp, self._disp = self._disp, None
            if disp is None:
                return
            with contextlib.suppress(Exception):  # Xlib's own errors: it is going anyway
                disp.close()
            os.close(self._wake_r)
            os.close(self._wake_w)
