"""The framing every transport connection uses, and the refusal codes.

A frame is ``[u32 big-endian length][u8 type][body]`` where length counts the
type byte and the body. The same framing carries the hello, the SPAKE2 and
confirmation messages, the sealed records and the relay's own control
messages, so a relay can check every frame's length while forwarding it
without being able to read the sealed ones.

Reading is strict: the length is checked against the caller's limit before a
byte of the body is read (no allocation an attacker controls), EOF between
frames is a clean close, EOF inside a frame is a protocol error.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
from enum import IntEnum

from screencodec.errors import (
    AccessRefusedError,
    ProtocolError,
    RefuseCode,
    ScreencodecError,
    SessionClosedError,
    TransportError,
)
from screencodec.transport.aio import wait_for
from screencodec.transport.channel.display import safe_text

__all__ = [
    "HEADER",
    "MAGIC",
    "PROTOCOL_VERSION",
    "AccessRefusedError",
    "FrameType",
    "RefuseCode",
    "TruncatedError",
    "close_writer",
    "encode_frame",
    "read_body",
    "read_frame",
    "read_header",
    "refusal_error",
    "salvage",
    "send_refusal",
    "stop_listening",
    "unread",
    "write_open",
]

MAGIC = b"SCDC"
PROTOCOL_VERSION = 1
HEADER = struct.Struct(">IB")


class FrameType(IntEnum):
    """What a frame carries. Record types are bound into the AEAD's associated data."""

    HELLO = 0x01
    PAKE = 0x02
    CONFIRM = 0x03
    REFUSE = 0x04
    RECORD_DATA = 0x10
    RECORD_KEEPALIVE = 0x11
    RECORD_CLOSE = 0x12
    RELAY_OPEN = 0x20
    RELAY_OK = 0x21
    RELAY_INCOMING = 0x22
    RELAY_PING = 0x23
    RELAY_PONG = 0x24


_PROTOCOL_CODES = {RefuseCode.MALFORMED, RefuseCode.BAD_VERSION}
_TRANSPORT_CODES = {RefuseCode.BUSY, RefuseCode.TIMEOUT}


def refusal_error(body: bytes) -> ScreencodecError:
    """The exception a REFUSE frame's body stands for."""
    if not body:
        return ProtocolError("peer refused without a reason")
    try:
        code = RefuseCode(body[0])
    except ValueError:
        return ProtocolError(f"peer refused with unknown code {body[0]}")
    # The peer chose it, and it ends up in exception messages that are shown.
    detail = safe_text(body[1:200].decode("utf-8", "replace"))
    if code in _PROTOCOL_CODES:
        return ProtocolError(f"peer refused: {code.name}: {detail}")
    if code in _TRANSPORT_CODES:
        return TransportError(f"peer refused: {code.name}: {detail}")
    return AccessRefusedError(code, detail)


def encode_frame(ftype: int, body: bytes = b"") -> bytes:
    return HEADER.pack(len(body) + 1, ftype) + body


class TruncatedError(ProtocolError):
    """The stream ended or broke inside a frame. In a handshake the peer is
    not speaking this protocol; on a sealed channel, whose peer proved the
    password, it is the line breaking (a reset mid-record), not a hostile
    frame: channel/sealed.py takes it for a lost link."""


async def read_header(reader: asyncio.StreamReader, max_body: int) -> tuple[int, int]:
    """Read a frame header; returns ``(type, body length)``.

    Raises SessionClosedError on EOF (or reset) before the first byte, and
    ProtocolError on EOF inside the header or a length over ``max_body``.
    Cancellation-safe: ``readexactly`` consumes nothing until it has it all.
    """
    try:
        header = await reader.readexactly(HEADER.size)
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise TruncatedError("stream truncated inside a frame header") from None
        raise SessionClosedError("the peer closed the connection") from None
    except OSError as exc:
        raise SessionClosedError(f"the connection broke: {exc}") from None
    length, ftype = HEADER.unpack(header)
    if length < 1 or length - 1 > max_body:
        if all(32 <= b < 127 or b in (9, 10, 13) for b in header):
            # Text where a length should be: an HTTP, SSH or SMTP server answered.
            shown = header.decode("ascii").strip()
            raise ProtocolError(
                f"the peer is not a screencodec host or relay (it sent text: {shown!r})"
            )
        raise ProtocolError(f"frame of {length} bytes exceeds the limit of {max_body + 1}")
    return ftype, length - 1


async def read_body(reader: asyncio.StreamReader, size: int) -> bytes:
    """Read a frame body of ``size`` bytes (cancellation-safe like read_header)."""
    try:
        return await reader.readexactly(size)
    except asyncio.IncompleteReadError:
        raise TruncatedError("stream truncated inside a frame") from None
    except OSError as exc:
        raise TruncatedError(f"the connection broke inside a frame: {exc}") from None


def unread(reader: asyncio.StreamReader) -> bytes:
    """The bytes ``reader`` holds that nobody has read yet, even once it
    raises: asyncio's StreamReader raises a reset before the bytes it got
    ahead of it (connection_lost sets the exception over its buffer), and
    a peer's last records, its orderly close, may be among them (close46:
    sealed.py reads them after our own write met the peer's reset). Empty
    where the reader keeps no such buffer."""
    buffer = getattr(reader, "_buffer", None)  # asyncio's, on every loop (uvloop's too)
    return bytes(buffer) if isinstance(buffer, (bytes, bytearray)) else b""


def salvage(writer: asyncio.StreamWriter) -> bytes:
    """What the kernel still holds for us on a connection whose transport
    is closing after a write failed (a reset): asyncio closes the socket at
    the loop's next turn, and what the peer sent last (its close record:
    close46, a loop that had not read it yet when it wrote twice) went with
    it. Returned, not fed to the reader: those bytes were never read, and a
    reader that took them would count them heard (a transport paused, as a
    silent link, heard a peer whose own close said it heard nothing:
    close46b). Best effort: nothing on a socket closed already."""
    sock = writer.get_extra_info("socket")
    chunks: list[bytes] = []
    with contextlib.suppress(OSError, ValueError, AttributeError, TypeError):
        fd = sock.fileno()
        if fd < 0:
            return b""
        # A duplicate of the descriptor: the transport's socket object is
        # asyncio's (uvloop's a stand-in without recv); this one closes alone.
        with socket.socket(fileno=os.dup(fd)) as dup:
            while data := dup.recv(1 << 16, socket.MSG_DONTWAIT):
                chunks.append(data)
    return b"".join(chunks)


async def read_frame(reader: asyncio.StreamReader, max_body: int) -> tuple[int, bytes]:
    """Read one frame; returns ``(type, body)``. Errors as in :func:`read_header`,
    and ProtocolError for EOF inside the body. Not cancellation-safe between
    header and body: for handshakes, which are abandoned whole on cancel."""
    ftype, size = await read_header(reader, max_body)
    return ftype, await read_body(reader, size)


async def close_writer(writer: asyncio.StreamWriter, timeout: float = 1.0) -> None:
    """Close a stream and wait (briefly) for it; never raises.

    A plain close waits until the send buffer is flushed, which a peer that
    stopped reading can delay forever; past ``timeout`` the connection is
    aborted instead, so no socket outlives its channel.
    """
    writer.close()
    # One waiter, never cancelled by a timeout: cancelling wait_closed() also
    # cancels the protocol's shared close future, and the next wait_closed()
    # then raised CancelledError out of a close that was not cancelled.
    closed = asyncio.ensure_future(writer.wait_closed())
    closed.add_done_callback(_consume)
    if not (await asyncio.wait({closed}, timeout=timeout))[0]:
        writer.transport.abort()
        await asyncio.wait({closed}, timeout=timeout)


async def stop_listening(server: asyncio.Server) -> None:
    """``server.close()``, without leaking a connection accepted just before.

    On Python 3.11 a connection the loop has accepted but not yet wrapped in a
    transport fails in ``Server._attach`` once the server is closed, and its
    socket is left open (a ResourceWarning at collection, a leaked descriptor
    until then). So the listening sockets stop accepting first, the loop
    finishes wrapping what it took (one turn: those tasks were queued before
    this one resumes), and only then does the server close; the caller cuts
    the connections that arrived meanwhile like any other.
    """
    loop = asyncio.get_running_loop()
    if isinstance(loop, asyncio.SelectorEventLoop):  # uvloop has no such gap
        for sock in server.sockets:
            loop.remove_reader(sock.fileno())
        await asyncio.sleep(0)
    server.close()


def _consume(task: asyncio.Future[None]) -> None:
    """Retrieve a finished waiter's outcome: the peer is gone either way."""
    if not task.cancelled():
        task.exception()


def write_open(writer: asyncio.StreamWriter | asyncio.WriteTransport, data: bytes) -> bool:
    """Write ``data`` unless ``writer``'s connection is closing (False then).
    asyncio drops a write to a closed transport; uvloop, the relay's loop,
    raises RuntimeError ("the handler is closed"): a peer that reset while
    the relay awaited its directory read as a relay bug (lead47)."""
    if writer.is_closing():
        return False
    writer.write(data)
    return True


async def send_refusal(writer: asyncio.StreamWriter, code: RefuseCode, detail: str, *,
                       body: bytes | None = None) -> None:
    """Best-effort REFUSE frame, then close. The peer may already be gone.
    ``body``: the whole REFUSE body instead, when it carries a field after
    the words (relay/protocol.encode_recovering)."""
    with contextlib.suppress(Exception):
        writer.write(encode_frame(FrameType.REFUSE,
                                  body or bytes([code]) + detail.encode()[:180]))
        await wait_for(writer.drain(), 1.0)
    await close_writer(writer)
