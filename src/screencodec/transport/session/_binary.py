"""Bounds-checked primitives for the session messages (big-endian, no padding).

Every read checks that the bytes are there before touching them and raises
:class:`~screencodec.errors.ProtocolError`; a decoder built from these can
therefore never read past its buffer nor accept a trailing byte.
"""

from __future__ import annotations

import struct

from screencodec.errors import ProtocolError

__all__ = ["Reader", "Writer"]

_U8 = struct.Struct(">B")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")


class Reader:
    """Consumes one message's payload from the front; ``finish`` rejects leftovers."""

    __slots__ = ("_buf", "_pos")

    def __init__(self, buf: bytes, pos: int = 0) -> None:
        self._buf = buf
        self._pos = pos

    def _take(self, st: struct.Struct) -> int:
        if self._pos + st.size > len(self._buf):
            raise ProtocolError("message truncated")
        (value,) = st.unpack_from(self._buf, self._pos)
        self._pos += st.size
        return int(value)

    def u8(self) -> int:
        return self._take(_U8)

    def u16(self) -> int:
        return self._take(_U16)

    def u32(self) -> int:
        return self._take(_U32)

    def u64(self) -> int:
        return self._take(_U64)

    def i16(self) -> int:
        return self._take(_I16)

    def i32(self) -> int:
        return self._take(_I32)

    def flag(self) -> bool:
        value = self.u8()
        if value > 1:
            raise ProtocolError(f"boolean field is {value}, not 0 or 1")
        return value == 1

    def raw(self, n: int) -> bytes:
        if n < 0 or self._pos + n > len(self._buf):
            raise ProtocolError("message truncated")
        out = self._buf[self._pos : self._pos + n]
        self._pos += n
        return out

    def blob(self, limit: int) -> bytes:
        """A u32 length then that many bytes; the length is checked before the copy."""
        n = self.u32()
        if n > limit:
            raise ProtocolError(f"field of {n} bytes exceeds the limit of {limit}")
        return self.raw(n)

    def text(self, limit: int) -> str:
        """A u16 byte length then strict UTF-8 (no NUL, which no field needs)."""
        n = self.u16()
        if n > limit:
            raise ProtocolError(f"text of {n} bytes exceeds the limit of {limit}")
        data = self.raw(n)
        try:
            value = data.decode("utf-8", errors="strict")
        except UnicodeDecodeError as exc:
            raise ProtocolError("text is not valid UTF-8") from exc
        if "\x00" in value:
            raise ProtocolError("text contains NUL")
        return value

    def rest(self) -> bytes:
        out = self._buf[self._pos :]
        self._pos = len(self._buf)
        return out

    def finish(self) -> None:
        if self._pos != len(self._buf):
            raise ProtocolError(f"{len(self._buf) - self._pos} trailing bytes after message")


class Writer:
    """Builds a message; the limits mirror the reader's so we never emit what we reject."""

    __slots__ = ("_parts",)

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def u8(self, v: int) -> None:
        self._parts.append(_U8.pack(v))

    def u16(self, v: int) -> None:
        self._parts.append(_U16.pack(v))

    def u32(self, v: int) -> None:
        self._parts.append(_U32.pack(v))

    def u64(self, v: int) -> None:
        self._parts.append(_U64.pack(v))

    def i16(self, v: int) -> None:
        self._parts.append(_I16.pack(v))

    def i32(self, v: int) -> None:
        self._parts.append(_I32.pack(v))

    def flag(self, v: bool) -> None:
        self.u8(1 if v else 0)

    def raw(self, data: bytes) -> None:
        self._parts.append(bytes(data))

    def blob(self, data: bytes, limit: int) -> None:
        if len(data) > limit:
            raise ValueError(f"field of {len(data)} bytes exceeds the limit of {limit}")
        self.u32(len(data))
        self._parts.append(bytes(data))

    def text(self, value: str, limit: int) -> None:
        data = value.encode("utf-8")
        if len(data) > limit or "\x00" in value:
            raise ValueError(f"text of {len(data)} bytes exceeds {limit} or holds NUL")
        self.u16(len(data))
        self._parts.append(data)

    def getvalue(self) -> bytes:
        return b"".join(self._parts)
