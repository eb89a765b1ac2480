"""Where the X server drew: XDamage on the root window (python-xlib), kept
apart so that importing screencodec never imports Xlib.
:class:`~screencodec.capture.ScreenSource` loads this module on the first
``grab_hinted()`` call only.

The tracker reports damage at level NonEmpty (one event when the damage goes
from empty to not empty, which is drained and ignored); :meth:`XDamageTracker.take`
moves what accumulated into a server-side XFixes region (``DamageSubtract``)
and reads it back (``XFixesFetchRegion``): one round trip. python-xlib's
XFixes module lacks the region requests, so the three this needs are
defined here from the XFixes protocol (CreateRegion 5, DestroyRegion 10,
FetchRegion 19).
"""

from __future__ import annotations

import functools
from types import SimpleNamespace

import numpy as np
import numpy.typing as npt

from ..errors import CaptureError
from .x11cursor import open_display

__all__ = ["MAX_RECTS", "XDamageTracker", "parse_region"]

#: A region of more rectangles than this is reported as its extents (one rect).
MAX_RECTS = 4096

Rects = npt.NDArray[np.int32]

# An X RECTANGLE on the wire, in the client's byte order (python-xlib
# announces the machine's own): INT16 x, y; CARD16 width, height.
_RECTANGLE = np.dtype([("x", "=i2"), ("y", "=i2"), ("w", "=u2"), ("h", "=u2")])


def parse_region(
    data: bytes, extents: tuple[int, int, int, int], *, limit: int = MAX_RECTS
) -> Rects | None:
    """A FetchRegion reply's rectangle list -> (n, 4) int32 (x, y, w, h).

    ``extents`` is the reply's bounding box. None when the reply does not
    hold together (a list that is not whole rectangles, an extent of negative
    size, a rectangle outside the extents); the extents alone when it has more
    than ``limit`` rectangles. Empty rectangles are dropped.
    """
    ex, ey, ew, eh = (int(v) for v in extents)
    if ew < 0 or eh < 0 or len(data) % _RECTANGLE.itemsize:
        return None
    n = len(data) // _RECTANGLE.itemsize
    if n > limit:
        if ew == 0 or eh == 0:
            return None  # that many rectangles in nothing
        return np.array([[ex, ey, ew, eh]], np.int32)
    raw = np.frombuffer(data, _RECTANGLE, count=n)
    rects = np.empty((n, 4), np.int32)
    rects[:, 0] = raw["x"]
    rects[:, 1] = raw["y"]
    rects[:, 2] = raw["w"]
    rects[:, 3] = raw["h"]
    rects = rects[(rects[:, 2] > 0) & (rects[:, 3] > 0)]
    if len(rects):
        inside = (
            (rects[:, 0] >= ex)
            & (rects[:, 1] >= ey)
            & (rects[:, 0] + rects[:, 2] <= ex + ew)
            & (rects[:, 1] + rects[:, 3] <= ey + eh)
        )
        if not inside.all():
            return None
    return rects


@functools.cache
def _protocol() -> SimpleNamespace:
    """The XFixes region requests, built on python-xlib's own structures."""
    from Xlib.protocol import rq, structs

    class CreateRegion(rq.Request):  # type: ignore[misc]
        _request = rq.Struct(
            rq.Card8("opcode"),
            rq.Opcode(5),
            rq.RequestLength(),
            rq.Card32("region"),
            rq.List("rectangles", structs.Rectangle),
        )

    class DestroyRegion(rq.Request):  # type: ignore[misc]
        _request = rq.Struct(
            rq.Card8("opcode"), rq.Opcode(10), rq.RequestLength(), rq.Card32("region")
        )

    class FetchRegion(rq.ReplyRequest):  # type: ignore[misc]
        _request = rq.Struct(
            rq.Card8("opcode"), rq.Opcode(19), rq.RequestLength(), rq.Card32("region")
        )
        _reply = rq.Struct(
            rq.ReplyCode(),
            rq.Pad(1),
            rq.Card16("sequence_number"),
            rq.ReplyLength(),
            rq.Object("extents", structs.Rectangle),
            rq.Pad(16),
            rq.Binary("data"),  # no length field: the rest of the reply
        )

    return SimpleNamespace(
        CreateRegion=CreateRegion, DestroyRegion=DestroyRegion, FetchRegion=FetchRegion
    )


class XDamageTracker:
    """Damage on the root window of ``display``, on a connection of its own.

    Raises :class:`CaptureError` when Xlib is missing, the display cannot be
    opened or the server lacks DAMAGE or XFIXES; :meth:`take` may raise any
    Xlib error (the caller turns failures into "no hints").
    """

    def __init__(self, display: str | None = None, /) -> None:
        self._display = open_display(display, "damage")
        try:
            from Xlib import X
            from Xlib.ext import damage

            d = self._display
            for ext in ("DAMAGE", "XFIXES"):
                if not d.has_extension(ext):
                    msg = f"the X server has no {ext} extension"
                    raise CaptureError(msg)
            # Both extensions require the client to announce its version first.
            d.xfixes_query_version()
            d.damage_query_version()
            self._proto = _protocol()
            self._xfixes = d.display.get_extension_major("XFIXES")
            self._region = d.display.allocate_resource_id()
            self._proto.CreateRegion(
                display=d.display, opcode=self._xfixes, region=self._region, rectangles=[]
            )
            root = d.screen().root
            self._damage = root.damage_create(damage.DamageReportNonEmpty)
            self._none = X.NONE
            d.sync()  # errors (BadMatch, BadAlloc) surface here, not at the first take
        except CaptureError:
            self._display.close()
            raise
        except Exception as exc:
            self._display.close()
            msg = f"cannot track damage on X display {display!r}: {exc}"
            raise CaptureError(msg) from exc

    def take(self) -> Rects | None:
        """The rectangles (root coordinates, (n, 4) int32 x, y, w, h) drawn
        since the last take (or since the tracker was made), and forget them.
        None when the server's reply does not hold together."""
        d = self._display
        d.damage_subtract(self._damage, self._none, self._region)
        reply = self._proto.FetchRegion(display=d.display, opcode=self._xfixes, region=self._region)
        e = reply.extents
        rects = parse_region(reply.data, (e.x, e.y, e.width, e.height))
        # The NonEmpty notifications that came before the reply: nothing to
        # learn from them; dropped so that the queue does not grow (this
        # connection is only used by the thread that takes).
        d.display.event_queue.clear()
        return rects

    def close(self) -> None:
        """Free the damage object and the region, and close the connection
        (closing alone frees them too: this is for a server that stays)."""
        d = self._display
        try:
            d.damage_destroy(self._damage)
            self._proto.DestroyRegion(display=d.display, opcode=self._xfixes, region=self._region)
        finally:
            d.close()
