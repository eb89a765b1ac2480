"""The X11 pointer through XFixes (python-xlib), kept apart so that importing
screencodec never imports Xlib: :class:`~screencodec.capture.ScreenSource`
loads this module on the first ``cursor()`` call only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import CaptureError

__all__ = ["XFixesCursor", "open_display"]


def open_display(display: str | None, purpose: str) -> Any:
    """A python-xlib connection to ``display``, or CaptureError (Xlib missing,
    no such display); ``purpose`` ends the error message."""
    try:
        from Xlib import display as xdisplay
    except ImportError as exc:
        msg = "python-xlib is not installed (pip install screencodec[x11])"
        raise CaptureError(msg) from exc
    try:
        return xdisplay.Display(display)
    except Exception as exc:  # Xlib raises its own hierarchy, or OSError
        msg = f"cannot open X display {display!r} for {purpose}: {exc}"
        raise CaptureError(msg) from exc


class XFixesCursor:
    """A connection that reads the pointer's position and image.

    Raises :class:`CaptureError` when Xlib is missing, the display cannot be
    opened, or the server lacks XFixes; :meth:`query` may raise any Xlib error
    (the caller turns failures into "no cursor").
    """

    def __init__(self, display: str | None = None, /) -> None:
        self._display = open_display(display, "the cursor")
        if not self._display.has_extension("XFIXES"):
            self._display.close()
            msg = "the X server has no XFIXES extension"
            raise CaptureError(msg)
        # XFixes requires the client to announce the version it speaks first.
        self._display.xfixes_query_version()
        self._root = self._display.screen().root
        self._serial = -1
        self._shape: npt.NDArray[np.uint8] | None = None
        self._hot = (0, 0)

    def query(self) -> tuple[int, int, npt.NDArray[np.uint8], tuple[int, int]]:
        """``(x, y, shape, hotspot)``: root-window position of the pointer, its
        image as (h, w, 4) BGRA with straight alpha, and the hotspot (x, y)."""
        reply = self._display.xfixes_get_cursor_image(self._root)
        if reply.cursor_serial != self._serial or self._shape is None:
            # The image only changes with the serial: convert once per shape.
            self._shape = _straight_bgra(reply.cursor_image, reply.width, reply.height)
            self._hot = (int(reply.xhot), int(reply.yhot))
            self._serial = reply.cursor_serial
        return int(reply.x), int(reply.y), self._shape, self._hot

    def close(self) -> None:
        self._display.close()


def _straight_bgra(argb: list[int], width: int, height: int) -> npt.NDArray[np.uint8]:
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
