"""The session benchmark's arithmetic: pixel comparisons and display lag.

Kept apart from the session runner so that each definition can be read (and
tested) on its own. Pixel comparisons look at B, G, R only: the 4th byte is
padding (a capture leaves 0 or junk there, the decoder writes 255).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from screencodec.frames import Frame

from ..damage import any_change

__all__ = [
    "BesideExact",
    "Lags",
    "bgr_equal",
    "busy_within",
    "changed_frames",
    "cpu_on_path",
    "display_lags",
    "percentile",
    "psnr",
    "union",
]


def bgr_equal(a: Frame, b: Frame) -> bool:
    """Whether two (H, W, 4) frames show the same B, G, R everywhere: one pass
    in C, without the GIL and without temporaries (a probe calls it on the
    session's event loop, where fresh frame-sized memory can stall for tens
    of ms on a VM whose page faults are slow)."""
    if a.shape != b.shape:
        return False
    return not any_change(np.ascontiguousarray(a), np.ascontiguousarray(b))


class BesideExact:
    """Of ``(time, shown, source)`` samples added in time order: the time of
    the first from which every sample shows the *still* pixels exactly (B, G,
    R) - those equal in every sample's source: the text beside a film, not
    the film, a clock or a caret. Each sample leaves its differing pixels as
    bits (a 1080p frame: 260 kB), not its frames."""

    def __init__(self) -> None:
        self._first: Frame | None = None
        self._still: npt.NDArray[np.bool_] | None = None
        self._seen: list[tuple[float, npt.NDArray[np.uint8]]] = []

    def add(self, t: float, shown: Frame, source: Frame) -> None:
        src = source[..., :3]
        if self._first is None:
            self._first = src.copy()
            self._still = np.ones(src.shape[:2], np.bool_)
        else:
            assert self._still is not None
            self._still &= (src == self._first).all(axis=2)
        self._seen.append((t, np.packbits((shown[..., :3] != src).any(axis=2))))

    def at(self) -> float | None:
        """The time; None when the last sample is not exact there (or no
        pixel is still)."""
        if self._still is None or not self._still.any():
            return None
        still = np.packbits(self._still)
        found = None
        for t, diff in self._seen:
            found = None if (diff & still).any() else (t if found is None else found)
        return found


def psnr(a: Frame, b: Frame) -> float:
    """PSNR in dB of B, G, R (peak 255); ``inf`` when identical."""
    if a.shape != b.shape:
        raise ValueError(f"frames of different shapes: {a.shape} and {b.shape}")
    diff = a[..., :3].astype(np.int16) - b[..., :3].astype(np.int16)
    mse = float(np.mean(np.square(diff, dtype=np.int32), dtype=np.float64))
    return math.inf if mse == 0 else 10 * math.log10(255 * 255 / mse)


def changed_frames(frames: Iterable[Frame]) -> tuple[list[int], Frame | None]:
    """Indices ``i >= 1`` whose frame differs (B, G, R) from frame ``i - 1``,
    and a copy of the last frame. Frames are consumed in order, one at a time
    (a sequence may reuse its buffer)."""
    changed: list[int] = []
    prev: Frame | None = None
    for i, frame in enumerate(frames):
        if prev is not None and not bgr_equal(prev, frame):
            changed.append(i)
        if prev is None or prev.shape != frame.shape:
            prev = np.empty_like(frame)
        np.copyto(prev, frame)
    return changed, prev


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (linear interpolation); NaN for no values."""
    if not values:
        return math.nan
    return float(np.percentile(np.asarray(values, np.float64), q))


@dataclass(frozen=True, slots=True)
class Lags:
    """Display lag per changed source frame: ``lag[k]`` seconds for ``frames[k]``,
    first shown by the applied update at ``positions[k]`` (an index into the
    ``shown`` list given) at ``shown_at[k]``; ``unshown`` lists changed frames
    no applied update reached."""

    frames: list[int]
    lag: list[float]
    positions: list[int]
    shown_at: list[float]
    unshown: list[int]


def display_lags(
    changed: Sequence[int],
    became_current: Callable[[int], float],
    shown: Sequence[tuple[int, float]],
) -> Lags:
    """For each changed source frame ``i``: the time from when it became current
    at the source (``became_current(i)``) until the first applied update that
    carries frame ``i`` or a later one.

    ``shown`` is ``(source frame index, time applied)`` per applied update, in
    the order the viewer applied them, on the same clock as ``became_current``.
    """
    # The newest frame on screen only grows: a running maximum over the applied
    # updates, then one merge pass over both sorted lists.
    newest: list[tuple[int, int, float]] = []  # (newest frame, position in shown, time)
    best = -1
    for pos, (index, t) in enumerate(shown):
        if index > best:
            best = index
            newest.append((index, pos, t))
    out = Lags([], [], [], [], [])
    k = 0
    for i in sorted(changed):
        while k < len(newest) and newest[k][0] < i:
            k += 1
        if k == len(newest):
            out.unshown.append(i)
        else:
            _, pos, t = newest[k]
            out.frames.append(i)
            out.lag.append(t - became_current(i))
            out.positions.append(pos)
            out.shown_at.append(t)
    return out


def union(intervals: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """The union of ``(start, end)`` intervals: sorted, disjoint."""
    out: list[tuple[float, float]] = []
    for a, b in sorted(intervals):
        if b <= a:
            continue
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def busy_within(start: float, end: float, busy: Sequence[tuple[float, float]]) -> float:
    """Seconds of ``[start, end]`` that ``busy`` covers (sorted, disjoint
    intervals: :func:`union`'s)."""
    total = 0.0
    if end <= start:
        return total
    k = bisect.bisect_right(busy, start, key=lambda iv: iv[1])  # the first ending after start
    while k < len(busy) and busy[k][0] < end:
        total += min(busy[k][1], end) - max(busy[k][0], start)
        k += 1
    return total


def cpu_on_path(became: float, encoded: float, applied: float, *, arrival_at_least: float,
                host_busy: Sequence[tuple[float, float]],
                viewer_busy: Sequence[tuple[float, float]]) -> float:  # fmt: skip
    """Of one display lag (a frame that became current at ``became``, carried
    by an update whose encode ended at ``encoded`` and that was applied at
    ``applied``, wall clock): the seconds it waited on the CPU, not on the
    link or the flow control. Until its encode ended, those the host was busy
    (``host_busy``: every encode, its own and one still running when the
    frame came, and the event loop's stalls); from when its bytes could have
    arrived (``arrival_at_least``: its encode's end, the link's delay and its
    bytes' time at the link's rate) until it was applied, those the viewer
    was (``viewer_busy``: every decode, and the loop's stalls). Between the
    two nothing is counted: no second of the link's own arithmetic. Both as
    :func:`union` gives them. On an idle machine a few tens of ms; on a
    loaded one (2 cores, load 22-25) the encodes alone took 0.4-3 s of wall
    clock and were most of the lag (scroll43's Page Downs, flake48b)."""
    before = busy_within(became, encoded, host_busy)
    after = busy_within(max(arrival_at_least, encoded), applied, viewer_busy)
    return before + after
