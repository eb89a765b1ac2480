"""Small geometry types shared by every stage of the pipeline."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Monitor", "Rect"]


@dataclass(frozen=True, slots=True)
class Rect:
    """An axis-aligned rectangle in pixels: ``x, y`` top-left, ``w, h`` size."""

    x: int
    y: int
    w: int
    h: int

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h

    @property
    def area(self) -> int:
        return self.w * self.h

    def is_empty(self) -> bool:
        return self.w <= 0 or self.h <= 0

    def contains(self, other: Rect, /) -> bool:
        return (
            self.x <= other.x
            and self.y <= other.y
            and other.right <= self.right
            and other.bottom <= self.bottom
        )

    def intersection(self, other: Rect, /) -> Rect:
        """The overlap of the two, or an empty rect at (0, 0)."""
        x0, y0 = max(self.x, other.x), max(self.y, other.y)
        x1, y1 = min(self.right, other.right), min(self.bottom, other.bottom)
        if x1 <= x0 or y1 <= y0:
            return Rect(0, 0, 0, 0)
        return Rect(x0, y0, x1 - x0, y1 - y0)

    def union(self, other: Rect, /) -> Rect:
        """The bounding box of the two."""
        x0, y0 = min(self.x, other.x), min(self.y, other.y)
        x1, y1 = max(self.right, other.right), max(self.bottom, other.bottom)
        return Rect(x0, y0, x1 - x0, y1 - y0)

    def slices(self) -> tuple[slice, slice]:
        """``(rows, cols)`` to index an (H, W, ...) array with."""
        return slice(self.y, self.bottom), slice(self.x, self.right)


@dataclass(frozen=True, slots=True)
class Monitor:
    """A screen (or a region of one) that a frame source can grab."""

    index: int
    left: int
    top: int
    width: int
    height: int
    primary: bool = False

    @property
    def rect(self) -> Rect:
        return Rect(self.left, self.top, self.width, self.height)
