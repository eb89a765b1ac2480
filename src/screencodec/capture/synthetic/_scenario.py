"""What a scenario is, and the ground truth it reports about each frame."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from ...geometry import Rect
from ._desktop import Desktop

__all__ = ["Motion", "Scenario", "cumulative", "periodic_schedule"]

Array = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class Motion:
    """Pixels that moved between the previous frame and this one.

    The pixels inside ``src`` in the previous frame are, unchanged, at ``dst``
    (``src`` shifted by ``dx, dy``) in this frame. ``kind`` is ``"scroll"`` (the
    content of a fixed viewport shifted; ``src`` is the part of the viewport that
    stays visible) or ``"move"`` (a whole window moved).
    """

    kind: str
    src: Rect
    dx: int
    dy: int

    @property
    def dst(self) -> Rect:
        return Rect(self.src.x + self.dx, self.src.y + self.dy, self.src.w, self.src.h)


def periodic_schedule(
    pattern: npt.NDArray[np.int64], start: int = 0, /
) -> tuple[npt.NDArray[np.int64], int, int]:
    """Precompute a cumulative sum so that the running total after frame ``i`` of an
    endlessly repeated per-frame ``pattern`` is O(1): see :func:`cumulative`."""
    cum = np.cumsum(pattern)
    return cum, int(cum[-1]), start


def cumulative(sched: tuple[npt.NDArray[np.int64], int, int], index: int, /) -> int:
    """Sum of the repeated pattern over frames 0..index, plus the start value."""
    cum, total, start = sched
    period = len(cum)
    return start + (index // period) * total + int(cum[index % period])


class Scenario(abc.ABC):
    """One kind of desktop activity, rendered as a pure function of the frame index.

    A subclass builds its cached layers in ``__init__`` (``self.base`` is the full
    static screen), then :meth:`draw` composes frame ``index`` over a copy of
    ``base`` with NumPy slicing only. Because a frame depends on nothing but the
    index, sources can seek, and sequential and random access give identical
    frames.
    """

    name: ClassVar[str]
    #: One line for ``scenario_names`` users and the docs.
    summary: ClassVar[str]

    def __init__(self, desk: Desktop, rng: np.random.Generator, fps: float, /) -> None:
        self.desk = desk
        self.fps = fps
        self.base: Array = np.zeros((desk.height, desk.width, 4), np.uint8)
        #: Named regions of the screen tests and benchmarks may look at.
        self.layout: dict[str, Rect] = {"panel": desk.panel, "clock": desk.clock}
        w, h = desk.work.w, desk.work.h
        self._rest = (
            int(rng.integers(w // 4, max(w // 4 + 1, 3 * w // 4))),
            int(rng.integers(h // 4, max(h // 4 + 1, 3 * h // 4))),
        )

    def time(self, index: int, /) -> float:
        return index / self.fps

    @abc.abstractmethod
    def draw(self, out: Array, index: int, /) -> None:
        """Draw the moving parts of frame ``index`` onto ``out`` (a copy of ``base``)."""

    def changes(self, index: int, /) -> tuple[Motion | None, list[Rect]]:
        """What frame ``index`` changed against frame ``index - 1``: the motion, and
        rects that cover every changed pixel (may cover unchanged ones too).
        The panel clock is accounted for by the caller."""
        return None, []

    def opaque(self, index: int, /) -> Rect | None:
        """A rect that :meth:`draw` overwrites completely in frame ``index``: the
        source skips copying the base layer there (at 4K that copy is most of the
        cost of a frame)."""
        return None

    def pointer(self, index: int, /) -> tuple[int, int]:
        """Where the mouse pointer is in frame ``index``; at rest by default."""
        return self._rest
