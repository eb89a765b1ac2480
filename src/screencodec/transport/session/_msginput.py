"""Input messages, viewer -> host (re-exported by ``messages.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from screencodec.errors import ProtocolError
from screencodec.transport.session._binary import Reader, Writer
from screencodec.transport.session._msgbase import MessageBase, coord

__all__ = ["Button", "Key", "PointerMove", "Wheel"]


@dataclass(frozen=True, slots=True)
class PointerMove(MessageBase):
    """Pointer position in the pixels of the monitor the viewer is watching."""

    KIND: ClassVar[int] = 8
    x: int
    y: int

    def _pack(self, w: Writer) -> None:
        w.i32(self.x)
        w.i32(self.y)

    @classmethod
    def _unpack(cls, r: Reader) -> PointerMove:
        return cls(coord(r.i32()), coord(r.i32()))


@dataclass(frozen=True, slots=True)
class Button(MessageBase):
    """X button number (1 left, 2 middle, 3 right, 8/9 back/forward) down or up."""

    KIND: ClassVar[int] = 9
    button: int
    down: bool

    def _pack(self, w: Writer) -> None:
        w.u8(self.button)
        w.flag(self.down)

    @classmethod
    def _unpack(cls, r: Reader) -> Button:
        button = r.u8()
        if not 1 <= button <= 15:
            raise ProtocolError(f"button {button} out of range")
        return cls(button, r.flag())


@dataclass(frozen=True, slots=True)
class Wheel(MessageBase):
    """Scroll steps: positive ``dy`` scrolls down, positive ``dx`` right."""

    KIND: ClassVar[int] = 10
    dx: int
    dy: int

    def _pack(self, w: Writer) -> None:
        w.i16(self.dx)
        w.i16(self.dy)

    @classmethod
    def _unpack(cls, r: Reader) -> Wheel:
        dx, dy = r.i16(), r.i16()
        if abs(dx) > 100 or abs(dy) > 100:
            raise ProtocolError("wheel step out of range")
        return cls(dx, dy)


@dataclass(frozen=True, slots=True)
class Key(MessageBase):
    """An X keysym down or up, with the text it types (may be empty)."""

    KIND: ClassVar[int] = 11
    keysym: int
    down: bool
    text: str = ""

    def _pack(self, w: Writer) -> None:
        w.u32(self.keysym)
        w.flag(self.down)
        w.text(self.text, 64)

    @classmethod
    def _unpack(cls, r: Reader) -> Key:
        keysym = r.u32()
        if keysym > 0x1FFFFFFF:  # X keysyms are 29 bits
            raise ProtocolError(f"keysym {keysym:#x} out of range")
        return cls(keysym, r.flag(), r.text(64))
