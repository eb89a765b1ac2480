"""Real screens through python-mss (X11, Windows, macOS)."""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import sys
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import CaptureError
from ..geometry import Monitor, Rect
from .base import CursorState, FrameSource, Hint, LoopCursor

__all__ = ["BAND_GRID", "NOT_OPENED", "ROLL_GRABS", "ScreenSource", "list_monitors"]

#: How the error of a display that could not be opened begins (a display's
#: failure, not the monitor's asked for: cli/host_start.py tells them apart).
NOT_OPENED = "cannot open the screen on display "

#: Damage is read from the screen in full-width bands of rows on this grid.
BAND_GRID = 64
#: grab_hinted re-reads every row within this many grabs (its rolling band).
ROLL_GRABS = 16


def _open_mss(display: str | None) -> Any:
    """An mss instance; ``mss.MSS`` since 10.2 (``mss.mss`` warns there), else ``mss.mss``."""
    import mss

    factory = getattr(mss, "MSS", None) or mss.mss
    kwargs: dict[str, Any] = {}
    if display is not None:
        kwargs["display"] = display
    return factory(**kwargs)


def _mss_copies_each_grab() -> bool:
    """Whether mss returns every grab in a new buffer: read in mss 10's Linux
    backends (XGetImage and MIT-SHM both copy into a fresh bytearray);
    other versions and platforms are not assumed to."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        major = int(importlib.metadata.version("mss").split(".")[0])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return False
    return major >= 10


def _where(display: str | None) -> str:
    return repr(display if display is not None else os.environ.get("DISPLAY", "<unset>"))


class ScreenSource(FrameSource):
    """Frames of one monitor, or of a region of the virtual screen, via mss.

    ``monitor`` indexes :attr:`monitors` (0 is the bounding box of all screens,
    1.. each screen, as in mss). ``region``, when given, replaces it: a
    :class:`Rect` in virtual-screen coordinates that must lie inside
    ``monitors[0]``. ``display`` names the X display (default ``$DISPLAY``).
    ``partial_grabs``: :meth:`grab_hinted` reads only the rows that may have
    changed into a frame of the source's own (default), or grabs everything.

    Raises :class:`CaptureError` (also an ``OSError``) when the display cannot
    be opened, the monitor index is out of range or the region is outside.

    **Buffers**: :meth:`grab` wraps mss's own pixel buffer without copying.
    On Linux mss 10 (both its XGetImage and MIT-SHM paths) copies every grab
    into a new bytearray, so frames are ``fresh_buffers``: a host gives them
    up to its encoder instead of copying them. Elsewhere mss may reuse the
    buffer: copy a frame to keep it.

    Not thread-safe: one source per thread (as mss instances).
    """

    fresh_buffers = _mss_copies_each_grab()

    def __init__(
        self,
        monitor: int = 1,
        *,
        region: Rect | None = None,
        display: str | None = None,
        partial_grabs: bool = True,
    ) -> None:
        self._display = display
        self._partial = partial_grabs
        try:
            self._sct = _open_mss(display)
            raw = self._sct.monitors
        except Exception as exc:  # mss raises ScreenShotError subclasses, ctypes OSErrors
            msg = f"{NOT_OPENED}{_where(display)}: {exc}"
            raise CaptureError(msg) from exc
        self._monitors = [
            Monitor(
                i,
                int(m["left"]),
                int(m["top"]),
                int(m["width"]),
                int(m["height"]),
                primary=bool(m.get("is_primary", False)),
            )
            for i, m in enumerate(raw)
        ]
        self._closed = False
        self._cursor: Any = None  # an XFixesCursor, opened on first use
        self._cursor_failed = False
        self._loop_cursors: list[LoopCursor] = []  # loop_cursor()'s: closed by close() too
        self._damage: Any = None  # an XDamageTracker, opened on the first grab_hinted
        self._damage_failed = False
        self._hint_valid = False  # the last take belongs to a grab of this box
        self._frame: npt.NDArray[np.uint8] | None = None  # grab_hinted's own, while valid
        self._hinted_fresh = self.fresh_buffers
        self._roll = 0  # the rolling band grab_hinted reads next
        #: Rows the last :meth:`grab_hinted` read from the screen.
        self.rows_read = 0
        self._box = self._monitors[0].rect
        try:
            if region is not None:
                self.select_region(region)
            else:
                self.select_monitor(monitor)
        except CaptureError:
            self.close()
            raise

    @property
    def width(self) -> int:
        return self._box.w

    @property
    def height(self) -> int:
        return self._box.h

    @property
    def monitors(self) -> list[Monitor]:
        return list(self._monitors)

    @property
    def box(self) -> Rect:
        """The captured area in virtual-screen coordinates."""
        return self._box

    def select_monitor(self, index: int, /) -> None:
        """Capture monitor ``index`` from now on; the frame size may change."""
        if not 0 <= index < len(self._monitors):
            msg = (
                f"monitor {index} out of range: this display has monitors 0..."
                f"{len(self._monitors) - 1} (0 is all of them)"
            )
            raise CaptureError(msg)
        self._box = self._monitors[index].rect
        self._hint_valid = False

    def select_region(self, region: Rect, /) -> None:
        """Capture ``region`` (virtual-screen coordinates) from now on."""
        screen = self._monitors[0].rect
        if region.is_empty() or not screen.contains(region):
            msg = f"region {region} is empty or not inside the screen {screen}"
            raise CaptureError(msg)
        self._box = region
        self._hint_valid = False

    def grab(self) -> npt.NDArray[np.uint8]:
        """The selected area now, as an (H, W, 4) uint8 BGRX view of mss's buffer."""
        if self._closed:
            msg = "the screen source is closed"
            raise CaptureError(msg)
        b = self._box
        try:
            shot = self._sct.grab({"left": b.x, "top": b.y, "width": b.w, "height": b.h})
        except Exception as exc:
            raise _grab_failed(f"grabbing {b}", self._display, exc) from exc
        # ScreenShot exposes __array_interface__ over its bytearray: no copy.
        frame: npt.NDArray[np.uint8] = np.asarray(shot)
        return frame

    def grab_hinted(self) -> tuple[npt.NDArray[np.uint8], Hint | None]:
        """A frame and the X server's damage since the previous
        ``grab_hinted`` (XDamage on the root window, loaded lazily from
        ``capture/x11damage.py``), moved into the captured area's coordinates
        and clipped to it. The damage is taken *before* the grab: what is
        drawn in between shows in this frame and is hinted again with the next.

        **Partial grabs**: while damage is known the source keeps a persistent
        frame of its own and reads from the screen only the full-width row
        bands (on a :data:`BAND_GRID`-row grid) the damage touches, plus a
        rolling band of its own (1/:data:`ROLL_GRABS` of the rows, the next
        one each grab), which re-reads in :data:`ROLL_GRABS` grabs a change
        XDamage never reported. The hint is the damage and the rolling band.
        When the bands cover more than half of the rows, one full grab.
        The frame is the same array every time (``hinted_buffers_fresh`` is
        False): copy it to keep it. :attr:`rows_read` counts the rows read.

        ``partial_grabs=False``: every call grabs the whole area (a fresh
        buffer, as :meth:`grab`) and the hint is the damage alone.

        The first call, one after ``select_monitor``/``select_region`` or
        after a failed grab is a full grab with hint None; without XDamage
        (missing, or failed once: for good) every call is a :meth:`grab`
        (fresh buffers, as ``grab``) with hint None."""
        rects = self._take_damage()
        self.damage_found = None if rects is None else len(rects) > 0
        valid, self._hint_valid = self._hint_valid, False
        b = self._box
        frame = self._frame
        self._frame = None  # until this grab succeeds
        if rects is None or not valid or frame is None or not self._partial:
            full = self.grab()  # a failure here loses the damage taken: no hint next time
            self.rows_read = b.h
            self._hint_valid = rects is not None
            keep = rects is not None and self._partial  # this frame is kept and updated
            self._hinted_fresh = not keep and self.fresh_buffers
            if keep:
                self._frame = full = full if self.fresh_buffers else np.array(full, copy=True)
            hint = None if rects is None or not valid or self._partial else _clip(rects, b)
            return full, hint
        damage = _clip(rects, b)
        step = -(-b.h // ROLL_GRABS)
        r0 = min(b.h, self._roll * step)
        r1 = min(b.h, r0 + step)
        self._roll = (self._roll + 1) % ROLL_GRABS
        spans = _row_bands(damage, b.h, (r0, r1))
        read = sum(y1 - y0 for y0, y1 in spans)
        if 2 * read > b.h:
            frame = self.grab()
            if not self.fresh_buffers:
                frame = np.array(frame, copy=True)
            read = b.h
        else:
            for y0, y1 in spans:
                frame[y0:y1] = self._grab_rows(y0, y1)
        self.rows_read = read
        self._frame = frame
        self._hint_valid = True
        if r1 > r0:
            band = np.array([[0, r0, b.w, r1 - r0]], np.int32)
            damage = np.concatenate([damage, band]) if len(damage) else band
        return frame, damage

    @property
    def hinted_buffers_fresh(self) -> bool:
        """Whether the frame the last :meth:`grab_hinted` returned is a fresh
        buffer: False while partial grabs update the source's own frame."""
        return self._hinted_fresh

    def _grab_rows(self, y0: int, y1: int) -> npt.NDArray[np.uint8]:
        """Rows ``y0:y1`` of the captured area, read from the screen now."""
        b = self._box
        try:
            shot = self._sct.grab({"left": b.x, "top": b.y + y0, "width": b.w, "height": y1 - y0})
        except Exception as exc:
            raise _grab_failed(f"grabbing rows {y0}:{y1} of {b}", self._display, exc) from exc
        rows: npt.NDArray[np.uint8] = np.asarray(shot)
        return rows

    def _take_damage(self) -> Hint | None:
        """Root-window damage since the last take, or None (never raises)."""
        if self._closed or self._damage_failed:
            return None
        try:
            if self._damage is None:
                from .x11damage import XDamageTracker

                self._damage = XDamageTracker(self._display)
            rects: Hint | None = self._damage.take()
        except Exception:  # hints are optional: give up quietly, for good
            self._damage_failed = True
            self._close_damage()
            return None
        return rects

    def _close_damage(self) -> None:
        if self._damage is not None:
            with contextlib.suppress(Exception):  # closing a dead connection
                self._damage.close()
            self._damage = None

    def damage_pending(self) -> bool | None:
        """XDamage's answer (:meth:`FrameSource.damage_pending`): None until
        the first :meth:`grab_hinted` opened the tracker, or without XDamage;
        True when the next grab is a full one (after a switch or a failed
        grab). Called from the host's event loop beside grabs on a worker:
        it only reads, and a tracker closed meanwhile is "cannot tell"."""
        tracker = self._damage
        if self._closed or self._damage_failed or tracker is None:
            return None
        if not self._hint_valid:
            return True
        try:
            return bool(tracker.pending())
        except Exception:  # closed under us (ValueError, OSError): grab to find out
            return None

    def cursor(self) -> CursorState | None:
        """The pointer through XFixes, in coordinates of the captured area
        (``visible`` is False when it is outside); None when the platform or the
        server cannot tell. Never raises."""
        if self._closed or self._cursor_failed:
            return None
        try:
            if self._cursor is None:
                from .x11cursor import XFixesCursor

                self._cursor = XFixesCursor(self._display)
            x, y, shape, hot = self._cursor.query()
        except Exception:  # a cursor is optional: give up quietly, for good
            self._cursor_failed = True
            return None
        b = self._box
        inside = b.x <= x < b.right and b.y <= y < b.bottom
        return CursorState(x - b.x, y - b.y, shape=shape, hotspot=hot, visible=inside)

    def loop_cursor(self) -> LoopCursor | None:
        """The pointer of :meth:`cursor` on a connection of its own, read on
        an event loop (:class:`LoopCursor`), in coordinates of the area
        captured when each answer is taken; None where :meth:`cursor` gives
        up (no XFixes, no Xlib, the display cannot be opened). Blocks while
        it connects. None too in a subclass that changed :meth:`cursor`
        (its pointer is not this one)."""
        if self._closed or self._cursor_failed or type(self).cursor is not ScreenSource.cursor:
            return None
        try:
            from .x11cursor import XFixesCursor

            pointer = _ScreenPointer(XFixesCursor(self._display), self)
        except Exception:  # a cursor is optional
            return None
        # Closed with the source too, should its caller never close it (one
        # opened on a worker for a caller that had given up waiting).
        self._loop_cursors.append(pointer)
        return pointer

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._cursor is not None:
            with contextlib.suppress(Exception):  # closing a dead connection
                self._cursor.close()
            self._cursor = None
        for pointer in self._loop_cursors:
            pointer.close()
        self._loop_cursors.clear()
        self._close_damage()
        with contextlib.suppress(Exception):  # the X server died: mss raises XError
            self._sct.close()

    def __enter__(self) -> ScreenSource:
        return self

    def __repr__(self) -> str:
        return f"ScreenSource(region={self._box}, display={self._display!r})"


class _ScreenPointer(LoopCursor):
    """:meth:`ScreenSource.loop_cursor`'s: an XFixesCursor's answers in the
    coordinates of the source's area, as :meth:`ScreenSource.cursor` gives
    them (the area read when an answer is taken: a switch of monitor on a
    worker meanwhile is a reference swapped)."""

    def __init__(self, cursor: Any, source: ScreenSource) -> None:
        self._cursor = cursor
        self._source = source

    def fileno(self) -> int:
        return int(self._cursor.fileno())

    def ask(self) -> None:
        self._cursor.ask()

    def answer(self) -> CursorState:
        x, y, shape, hot = self._cursor.answer()
        b = self._source._box
        inside = b.x <= x < b.right and b.y <= y < b.bottom
        return CursorState(x - b.x, y - b.y, shape=shape, hotspot=hot, visible=inside)

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a dead connection
            self._cursor.close()


def _grab_failed(what: str, display: str | None, exc: Exception) -> CaptureError:
    """The error of a failed grab; with mss's reason when it gave one (its
    grab on a display whose server died raised a bare AssertionError)."""
    why = f": {exc}" if str(exc) else ""
    return CaptureError(f"{what} on display {_where(display)} failed{why}")


def _clip(rects: Hint, box: Rect) -> Hint:
    """Root-window rects -> rects of ``box``'s frame, clipped to it, empty ones dropped.
    (np.minimum/maximum: np.clip costs 20-50 us a call on arrays this small.)"""
    if not len(rects):
        return rects
    x0 = np.minimum(np.maximum(rects[:, 0], box.x), box.right)
    y0 = np.minimum(np.maximum(rects[:, 1], box.y), box.bottom)
    x1 = np.minimum(np.maximum(rects[:, 0] + rects[:, 2], box.x), box.right)
    y1 = np.minimum(np.maximum(rects[:, 1] + rects[:, 3], box.y), box.bottom)
    keep = (x1 > x0) & (y1 > y0)
    out: Hint = np.stack([x0 - box.x, y0 - box.y, x1 - x0, y1 - y0], axis=1)[keep]
    return out.astype(np.int32, copy=False)


def _row_bands(rects: Hint, height: int, extra: tuple[int, int]) -> list[tuple[int, int]]:
    """The rows to read, as sorted disjoint ``(y0, y1)`` spans: every
    :data:`BAND_GRID`-row band that ``rects`` (clipped, non-empty) touch,
    and the rows ``extra``, touching spans merged."""
    spans: list[tuple[int, int]] = []
    if len(rects) <= 32:
        for _, y, _, h in rects.tolist():
            end = -(-(y + h) // BAND_GRID) * BAND_GRID
            spans.append((y // BAND_GRID * BAND_GRID, min(height, end)))
    else:
        cells = -(-height // BAND_GRID)
        diff = np.zeros(cells + 1, np.int64)
        np.add.at(diff, rects[:, 1] // BAND_GRID, 1)
        np.add.at(diff, -(-(rects[:, 1] + rects[:, 3]) // BAND_GRID), -1)
        for c in np.flatnonzero(np.cumsum(diff[:-1])).tolist():
            spans.append((c * BAND_GRID, min(height, (c + 1) * BAND_GRID)))
    if extra[1] > extra[0]:
        spans.append(extra)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for y0, y1 in spans:
        if merged and y0 <= merged[-1][1]:
            if y1 > merged[-1][1]:
                merged[-1] = (merged[-1][0], y1)
        else:
            merged.append((y0, y1))
    return merged


def list_monitors(*, display: str | None = None) -> list[Monitor]:
    """The monitors of ``display`` (index 0 is all of them); CaptureError if none."""
    with ScreenSource(0, display=display) as src:
        return src.monitors
