"""The X11 pointer through XFixes (python-xlib), kept apart so that importing
screencodec never imports Xlib: :class:`~screencodec.capture.ScreenSource`
loads this module on the first ``cursor()`` call only.
"""

from __future__ import annotations

import struct

import numpy as np
import numpy.typing as npt

from ..errors import CaptureError
from .x11wire import REPLY_TIMEOUT, XWire, close_display, open_display, readable, seq_after

__all__ = ["XFixesCursor"]


class XFixesCursor:
    """A connection that reads the pointer's position and image.

    Raises :class:`CaptureError` when Xlib is missing, the display cannot be
    opened, or the server lacks XFixes; :meth:`query` may raise any Xlib error,
    or ConnectionError/OSError (the caller turns failures into "no cursor").

    The image is read only when it may have changed: the connection selects
    XFixes DisplayCursorNotify on the root window (the server sends one
    whenever the displayed cursor changes, a pointer entering a window of
    another cursor included), and a poll reads the position alone (core
    QueryPointer, a 32-byte reply) unless such an event came after the last
    image was read. Read every poll, GetCursorImage's reply (thousands of
    CARD32 for a themed cursor) parsed in pure Python by python-xlib was the
    largest part of an idle host's CPU at 60 polls a second. As in
    ``x11damage.py``, python-xlib opens the connection; the two requests are
    then fixed bytes written to its socket and their replies read by
    ``x11wire.XWire``, which notes the events.
    """

    def __init__(self, display: str | None = None, /) -> None:
        self._display = open_display(display, "the cursor")
        try:
            from Xlib.ext import xfixes


            d = self._display
            if not d.has_extension("XFIXES"):
                msg = "the X server has no XFIXES extension"
                raise CaptureError(msg)
            # XFixes requires the client to announce the version it speaks first.
            d.xfixes_query_version()
            root = d.screen().root
            d.xfixes_select_cursor_input(root, xfixes.XFixesDisplayCursorNotifyMask)
            d.sync()  # errors surface here, not at the first query
            # From here on the connection is ours: python-xlib sends nothing more.
            self._wire = XWire(d.display.socket, d.display.request_serial)
            # QueryPointer(window root); XFixesGetCursorImage.
            self._where = struct.pack("=BBHI", 38, 0, 2, root.id)
            self._image = struct.pack("=BBH", d.display.get_extension_major("XFIXES"), 4, 1)
        except CaptureError:
            close_display(self._display)
            raise
        except Exception as exc:
            close_display(self._display)
            msg = f"cannot read the pointer on X display {display!r}: {exc}"
            raise CaptureError(msg) from exc
        self._fetched = -1  # serial of the last GetCursorImage: none yet
        self._asked: int | None = None  # serial of the request not yet answered
        self._shape: npt.NDArray[np.uint8] | None = None
        self._hot = (0, 0)
        #: Images read from the server (one per shape change, and the first).
        self.image_reads = 0

    def fileno(self) -> int:
        return int(self._wire.sock.fileno())

    def query(self) -> tuple[int, int, npt.NDArray[np.uint8], tuple[int, int]]:
        """``(x, y, shape, hotspot)``: root-window position of the pointer, its
        image as (h, w, 4) BGRA with straight alpha, and the hotspot (x, y).
        Waits for the answer (:meth:`ask`, then :meth:`answer` until it is in)."""
        self.ask()
        while True:
            try:
                return self.answer()
            except BlockingIOError:
                if not readable(self.fileno(), REPLY_TIMEOUT):
                    raise TimeoutError("the X server did not answer") from None

    def ask(self) -> None:
        """Send the question of the next :meth:`answer` (never waits): the
        position, or the image with it the first time. Again before that
        answer was taken, nothing."""
        if self._asked is None:
            if self._shape is None:
                self._asked = self._fetched = self._wire.send(self._image, 1)
            else:
                self._asked = self._wire.send(self._where, 1)

    def answer(self) -> tuple[int, int, npt.NDArray[np.uint8], tuple[int, int]]:
        """What :meth:`query` returns, for the question :meth:`ask` sent, read
        without waiting: BlockingIOError while it is not all in (also when the
        shape changed: the image is asked for then, and comes next)."""
        w = self._wire
        asked = self._asked
        if asked is None:
            raise BlockingIOError("nothing was asked")
        reply = w.take(asked)
        if reply is None:
            raise BlockingIOError("the answer is not all in")
        if asked != self._fetched:
            # The position; events sent before its reply were noted on the way.
            seq = w.event_seq
            if seq is None or not seq_after(seq, self._fetched):
                self._asked = None
                x, y = struct.unpack_from("=hh", reply, 16)
                assert self._shape is not None
                return x, y, self._shape, self._hot
            # The shape changed since the last image was read (an event made
            # after that request was done): read it, and with it the position.
            self._asked = self._fetched = w.send(self._image, 1)
            raise BlockingIOError("the new shape is not in yet")
        self._asked = None
        x, y, width, height, xhot, yhot = struct.unpack_from("=hhHHHH", reply, 8)
        if len(reply) < 32 + 4 * width * height:
            raise ConnectionError("a cursor image shorter than its size")
        words = np.frombuffer(reply, "=u4", width * height, 32)
        self._shape = _straight_bgra(words, width, height)
        self._hot = (xhot, yhot)
        self.image_reads += 1
        return x, y, self._shape, self._hot

    def close(self) -> None:
        """Close the connection: quiet, and its socket closed, also once the
        server is gone (python-xlib's close alone raised first); again, nothing."""
        close_display(self._display)


def _straight_bgra(argb: npt.ArrayLike, width: int, height: int) -> npt.NDArray[np.uint8]:
    """XFixes' premultiplied 32-bit ARGB words -> (h, w, 4) BGRA, straight alpha.

    A little-endian ARGB word lies in memory as B, G, R, A, so the bytes already
    are BGRA once the words are stored as little-endian uint32.
    """
    words = np.asarray(argb, dtype="<u4")[: width * height]
    bgra: npt.NDArray[np.uint8] = words.view(np.uint8).reshape(height, width, 4).copy()
    alpha = bgra[..., 3:4].astype(np.uint16)
    colour = bgra[..., :3].astype(np.uint16)
    # Un-premultiply with rounding; fully transparent pixels stay 0.
    safe = np.maximum(alpha, 1)
    straight = np.where(alpha > 0, np.minimum((colour * 255 + safe // 2) // safe, 255), 0)
    bgra[..., :3] = straight.astype(np.uint8)
    bgra.flags.writeable = False
    return bgra
