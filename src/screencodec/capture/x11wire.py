"""The X connection's byte stream, shared by the damage tracker
(``x11damage.py``) and the pointer (``x11cursor.py``): python-xlib opens
the connection (authentication, extensions); after that each module writes
its few fixed requests to the socket and reads the replies and events with
:class:`XWire`, without python-xlib's request machinery (its cost:
docs/capture.md). Kept apart so that those two modules do not import each
other, and importing screencodec never imports Xlib.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
from typing import Any

from ..errors import CaptureError

__all__ = [
    "MAX_REPLY_BYTES",
    "REPLY_TIMEOUT",
    "XWire",
    "close_display",
    "close_sockets_left",
    "open_display",
    "readable",
    "seq_after",
]

#: A reply longer than this (a region of a million rectangles) is refused.
MAX_REPLY_BYTES = 32 + 8 * (1 << 20)
#: How long a wait for the server's reply lasts (s).
REPLY_TIMEOUT = 10.0

_CHUNK = 65536  # bytes a socket read asks for


def open_display(display: str | None, purpose: str) -> Any:
    """A python-xlib connection to ``display``, or CaptureError (Xlib missing,
    no such display); ``purpose`` ends the error message."""
    try:
        from Xlib import display as xdisplay
    except ImportError as exc:
        msg = "python-xlib is not installed (pip install screencodec[x11])"
        raise CaptureError(msg) from exc
    try:
        return xdisplay.Display(display)
    except Exception as exc:  # Xlib raises its own hierarchy, or OSError
        close_sockets_left(exc)
        msg = f"cannot open X display {display!r} for {purpose}: {exc}"
        raise CaptureError(msg) from exc


def close_sockets_left(exc: BaseException) -> None:
    """Close the sockets python-xlib opened for a connection that failed
    (ends53). Its connect makes a socket and connects it, and on a refusal
    (the X server gone: its socket file still there, nobody listening)
    tries TCP as well, closing neither: two sockets a failed open, held by
    the error's frames until it is collected, then a ResourceWarning each
    (a display opened on a dead server; a host that outlives many display
    restarts holds descriptors meanwhile). Found in the frames of ``exc``
    and of the errors it was raised from or during."""
    seen: set[int] = set()
    err: BaseException | None = exc
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        tb = err.__traceback__
        while tb is not None:
            for value in list(tb.tb_frame.f_locals.values()):
                if isinstance(value, socket.socket):
                    value.close()
            tb = tb.tb_next
        err = err.__cause__ or err.__context__


def close_display(display: Any) -> None:
    """Close a python-xlib connection whatever its server's state, quietly
    (None: nothing to do); again, nothing. python-xlib's close flushes
    first, which raises on a connection whose server died, before it closes
    the socket: the socket is closed here whatever that close met (ends53:
    left to the garbage collector, a ResourceWarning, and a host outliving
    many display restarts collected descriptors). A connection that failed
    already is not closed through python-xlib: its close would raise the
    stored error again (the very object the read that met it raised) and add
    this close's frames to that error's traceback. The injector's
    connections (transport/input/xdisplay.py) close through this too."""
    if display is None:
        return
    from Xlib.error import ConnectionClosedError, XError

    conn = getattr(display, "display", None)  # python-xlib's protocol connection
    try:
        if getattr(conn, "socket_error", None) is None:
            with contextlib.suppress(ConnectionClosedError, XError, OSError):
                display.close()  # a server gone unnoticed: the flush before the close fails
    finally:
        sock = getattr(conn, "socket", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()  # idempotent


def readable(fd: int, timeout: float) -> bool:
    """Whether ``fd`` has something to read within ``timeout`` seconds (0: now).
    poll, not select.select: a descriptor past 1023 is fine."""
    waiting = select.poll()
    waiting.register(fd, select.POLLIN)
    return bool(waiting.poll(timeout * 1000))


class XWire:
    """The X connection's byte stream after setup: sends requests, reads the
    reply to one of them, and notes events sent after a given request.

    ``serial`` is the sequence number the next request gets (16 bits on the
    wire). X sends events and replies as 32-byte units (a reply, or a
    GenericEvent, longer by its length field in 4-byte words); an event
    carries the sequence number of the last request the server had done for
    this client when it was made.
    """

    def __init__(self, sock: socket.socket, serial: int) -> None:
        self.sock = sock
        self.serial = serial & 0xFFFF
        self._buf = bytearray()
        #: The latest event's sequence number, or None when none came.
        self.event_seq: int | None = None

    def send(self, data: bytes, requests: int) -> int:
        """Send ``requests`` requests; return the serial of the last one."""
        self.sock.sendall(data)
        self.serial = (self.serial + requests) & 0xFFFF
        return (self.serial - 1) & 0xFFFF

    def poll(self) -> None:
        """Read what the server sent without waiting; note the events."""
        self.poll_raw()
        self._units(None)

    def take(self, serial: int) -> bytes | None:
        """The reply to request ``serial`` if it is all in, read without
        waiting (events before it are noted), else None."""
        got = self._units(serial)
        if got is None:
            self.poll_raw()
            got = self._units(serial)
        return got

    def poll_raw(self) -> None:
        """Read what the server sent without waiting, into the buffer."""
        while True:
            try:
                chunk = self.sock.recv(_CHUNK, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                break
            if not chunk:
                raise ConnectionError("the X server closed the connection")
            self._buf += chunk
            if len(chunk) < _CHUNK:
                break  # all there was (a second call would only say so)

    def reply(self, serial: int, timeout: float = REPLY_TIMEOUT) -> bytes:
        """Wait for the reply to request ``serial``; return it whole
        (header included). Events before it are noted."""
        while True:
            got = self._units(serial)
            if got is not None:
                return got
            if not readable(self.sock.fileno(), timeout):
                raise TimeoutError("the X server did not answer")
            chunk = self.sock.recv(_CHUNK)
            if not chunk:
                raise ConnectionError("the X server closed the connection")
            self._buf += chunk

    def _units(self, serial: int | None) -> bytes | None:
        """Consume whole units from the buffer: events are noted, the reply
        to ``serial`` is returned (and what follows it left in the buffer).
        An error, or a reply to another request, is a ConnectionError."""
        buf = self._buf
        at = 0
        try:
            while len(buf) - at >= 32:
                kind = buf[at]
                size = 32
                if kind in (1, 35):  # a reply or a GenericEvent: longer
                    (words,) = struct.unpack_from("=I", buf, at + 4)
                    size += 4 * words
                    if size > MAX_REPLY_BYTES:
                        raise ConnectionError(f"an X reply of {size} bytes")
                if len(buf) - at < size:
                    break
                (seq,) = struct.unpack_from("=H", buf, at + 2)
                if kind == 0:
                    raise ConnectionError(f"X error {buf[at + 1]} on request {seq}")
                if kind == 1:
                    if seq != serial:
                        raise ConnectionError(f"an X reply to request {seq}, not {serial}")
                    unit = bytes(buf[at : at + size])
                    at += size
                    return unit
                self.event_seq = seq
                at += size
            return None
        finally:
            del buf[:at]


def seq_after(seq: int, serial: int) -> bool:
    """Whether 16-bit sequence number ``seq`` is ``serial`` or later."""
    return (seq - serial) & 0xFFFF < 0x8000
