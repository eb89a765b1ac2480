"""Where the X server drew: XDamage on the root window (python-xlib), kept
apart so that importing screencodec never imports Xlib.
:class:`~screencodec.capture.ScreenSource` loads this module on the first
``grab_hinted()`` call only.

The tracker reports damage at level NonEmpty: the server sends one event
when the damage goes from empty to not empty. :meth:`XDamageTracker.take`
moves what accumulated into a server-side XFixes region (``DamageSubtract``)
and reads it back (``XFixesFetchRegion``): one round trip, and none at all
while no event says something was drawn since the last subtract (an idle
screen costs one non-blocking read).

python-xlib opens the connection (authentication, extension opcodes,
versions) and creates the region (XFixes CreateRegion, request 5, defined
here with python-xlib's ``rq``: its XFixes module lacks the region
requests). After that the connection is this module's alone: the take's two
requests are fixed bytes written to its socket, and the reply and events
are read from it by :class:`XWire` (python-xlib's request and reply
machinery cost 0.35 ms of CPU per take; xcffib's 1.9-2.8 times the raw
exchange's 0.05-0.15 ms: figures in docs/capture.md). Every reply is
checked before it is trusted: its size is bounded, and its rectangles must
lie inside the extents it gives.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import CaptureError
from .x11wire import MAX_REPLY_BYTES, XWire, close_display, open_display, readable, seq_after

__all__ = ["MAX_RECTS", "MAX_REPLY_BYTES", "XDamageTracker", "parse_region"]

#: A region of more rectangles than this is reported as its extents (one rect).
MAX_RECTS = 4096

Rects = npt.NDArray[np.int32]

#: Regions of up to this many rectangles are parsed without NumPy.
_SMALL = 32
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
    if n <= _SMALL:
        # Plain Python: a handful of NumPy calls on a few rows costs more.
        rows = [r for r in struct.iter_unpack("=hhHH", data) if r[2] and r[3]]
        for x, y, w, h in rows:
            if x < ex or y < ey or x + w > ex + ew or y + h > ey + eh:
                return None
        return np.array(rows, np.int32).reshape(-1, 4)
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


class XDamageTracker:
    """Damage on the root window of ``display``, on a connection of its own.

    Raises :class:`CaptureError` when Xlib is missing, the display cannot be
    opened or the server lacks DAMAGE or XFIXES; :meth:`take` raises
    ConnectionError or OSError when the connection fails or the server's
    answer does not hold together (the caller turns failures into "no hints").
    """

    def __init__(self, display: str | None = None, /) -> None:
        self._display = open_display(display, "damage")
        try:
            from Xlib.ext import damage
            from Xlib.protocol import rq, structs

            d = self._display
            for ext in ("DAMAGE", "XFIXES"):
                if not d.has_extension(ext):
                    msg = f"the X server has no {ext} extension"
                    raise CaptureError(msg)
            # Both extensions require the client to announce its version first.
            d.xfixes_query_version()
            d.damage_query_version()

            class CreateRegion(rq.Request):  # type: ignore[misc]
                _request = rq.Struct(
                    rq.Card8("opcode"),
                    rq.Opcode(5),
                    rq.RequestLength(),
                    rq.Card32("region"),
                    rq.List("rectangles", structs.Rectangle),
                )

            xfixes = d.display.get_extension_major("XFIXES")
            region = d.display.allocate_resource_id()
            CreateRegion(display=d.display, opcode=xfixes, region=region, rectangles=[])
            dmg = d.screen().root.damage_create(damage.DamageReportNonEmpty)
            d.sync()  # errors (BadMatch, BadAlloc) surface here, not at the first take
            # From here on the connection is ours: python-xlib sends nothing more.
            self._wire = XWire(d.display.socket, d.display.request_serial)
            major = d.display.get_extension_major("DAMAGE")
            # DamageSubtract(damage, repair None, parts region); FetchRegion(region).
            self._take = struct.pack("=BBHIII", major, 3, 4, dmg, 0, region) + struct.pack(
                "=BBHI", xfixes, 19, 2, region
            )
            self._subtracted = -1  # serial of the last DamageSubtract: none yet
        except CaptureError:
            close_display(self._display)
            raise
        except Exception as exc:
            close_display(self._display)
            msg = f"cannot track damage on X display {display!r}: {exc}"
            raise CaptureError(msg) from exc

    def take(self) -> Rects | None:
        """The rectangles (root coordinates, (n, 4) int32 x, y, w, h) drawn
        since the last take (or since the tracker was made), and forget them.
        None when the reply's rectangles do not hold together."""
        w = self._wire
        w.poll()
        if self._subtracted >= 0 and (
            w.event_seq is None or not seq_after(w.event_seq, self._subtracted)
        ):
            # No DamageNotify since the last subtract was done: still empty.
            return np.zeros((0, 4), np.int32)
        fetch = w.send(self._take, 2)
        self._subtracted = (fetch - 1) & 0xFFFF
        return _region_reply(w.reply(fetch))

    def pending(self) -> bool:
        """Whether the next :meth:`take` may find damage, without reading:
        bytes not yet parsed (in the buffer or the socket: a DamageNotify,
        say), or an event noted after the last subtract. False means the
        server has reported no drawing since the last take's subtract (at
        level NonEmpty its first drawing after it sends an event). Only
        reads this tracker's state: safe beside a take on another thread
        (at worst True, or False for one take under way, which the caller
        then sees as a new grab)."""
        w = self._wire
        seq = w.event_seq
        if self._subtracted < 0 or w._buf or (seq is not None and seq_after(seq, self._subtracted)):
            return True
        return readable(w.sock.fileno(), 0)

    def close(self) -> None:
        """Close the connection (the server frees the damage and the region);
        quiet, and its socket closed, also once the server is gone (ends53);
        again, nothing."""
        close_display(self._display)


def _region_reply(reply: bytes) -> Rects | None:
    """A whole FetchRegion reply -> its rectangles (:func:`parse_region`)."""
    if len(reply) < 32:
        return None
    extents: Any = struct.unpack_from("=hhHH", reply, 8)
    return parse_region(reply[32:], extents)
