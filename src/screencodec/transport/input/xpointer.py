"""The local pointer watcher's X connection, read on the event loop (ends53).

:class:`~.xtest.LocalPointerWatcher` asked ``query_pointer`` 20 times a
second through :class:`~.xwatch.PollingWatcher`: each poll a hop to the
watcher's thread and back, as the idle host's shown pointer was before
cursor52. An idle 1080p host with control granted cost 1-2 % of a core
more than one without (benchmarks/RESULTS.md "ends53"). :class:`XPointerQuery`
is that question as :class:`~screencodec.transport.session.pointer_read.LoopPointer`
reads the shown pointer: python-xlib opens the connection (XTEST checked, as
for the injector), then a fixed 12-byte QueryPointer is written to its
socket and the 32-byte reply read by :class:`~screencodec.capture.x11wire.XWire`,
on the loop, waited for in place up to a millisecond and by ``add_reader``
after that.
"""

from __future__ import annotations

import struct
from typing import Any

from screencodec.capture.base import CursorState, LoopCursor
from screencodec.capture.x11wire import XWire
from screencodec.transport.input.xdisplay import _close_display, _open_display

__all__ = ["XPointerQuery"]


class XPointerQuery(LoopCursor):
    """The pointer's root position on a connection of its own (a
    :class:`LoopCursor` without a shape). CaptureError at construction when
    the display cannot be opened or has no XTEST. ``display`` is the
    python-xlib connection (its socket is the one read)."""

    def __init__(self, display: str | None) -> None:
        self.display: Any = _open_display(display)
        d = self.display
        # From here on the connection is ours: python-xlib sends nothing more.
        self._wire = XWire(d.display.socket, d.display.request_serial)
        self._where = struct.pack("=BBHI", 38, 0, 2, d.screen().root.id)  # QueryPointer(root)
        self._asked: int | None = None  # the serial of the question not yet answered

    def fileno(self) -> int:
        return int(self._wire.sock.fileno())

    def ask(self) -> None:
        if self._asked is None:
            self._asked = self._wire.send(self._where, 1)

    def answer(self) -> CursorState:
        asked = self._asked
        if asked is None:
            raise BlockingIOError("nothing was asked")
        reply = self._wire.take(asked)
        if reply is None:
            raise BlockingIOError("the answer is not all in")
        self._asked = None
        x, y = struct.unpack_from("=hh", reply, 16)
        return CursorState(x, y)

    def close(self) -> None:
        """Quiet and idempotent, also once the server is gone: the socket
        is closed whatever python-xlib's close met."""
        _close_display(self.display)
