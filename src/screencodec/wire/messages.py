"""Typed views of parsed messages.

Payloads are memoryviews into the caller's buffer: parsing copies nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from ..geometry import Rect
from .format import Op, UpdateFlags

__all__ = ["CursorPosition", "CursorShape", "OpView", "Update"]

_KEYFRAME = int(UpdateFlags.KEYFRAME)


class OpView(NamedTuple):
    """One rectangle op of an update: what to do to ``rect`` and its payload.

    A named tuple, not a frozen dataclass: one is made per op of every update
    (hundreds in a keyframe), and a tuple is made in half the time."""

    op: Op
    flags: int
    rect: Rect
    payload: memoryview


@dataclass(frozen=True, slots=True)
class Update:
    """One parsed screen update: its ``ops`` for a ``width`` x ``height``
    framebuffer, and the hash of the framebuffer after them, if sent."""

    sequence: int
    flags: UpdateFlags
    width: int
    height: int
    ops: tuple[OpView, ...]
    framebuffer_hash: int | None

    @property
    def keyframe(self) -> bool:
        # int(): an IntFlag's own & builds a new flag, ten times slower.
        return bool(int(self.flags) & _KEYFRAME)


@dataclass(frozen=True, slots=True)
class CursorShape:
    """A pointer image: ``width`` x ``height`` BGRA pixels, straight alpha."""

    shape_id: int
    width: int
    height: int
    hotspot_x: int
    hotspot_y: int
    pixels: memoryview


@dataclass(frozen=True, slots=True)
class CursorPosition:
    """Where the pointer is, which shape it has, and whether it is shown."""

    x: int
    y: int
    shape_id: int
    visible: bool
