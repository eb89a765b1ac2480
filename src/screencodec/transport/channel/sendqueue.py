"""What this side has sent that the peer has not taken yet, and whether the
peer is taking it: how an orderly close tells a slow peer from a stalled one.

A close waits for what it wrote (the last message, RECORD_CLOSE) to reach
the peer. Behind a slow link that can take seconds: a megabyte or more sits
in asyncio's write buffer and the kernel's send queue (measured on Linux
over 2 Mbit/s: 0.1-0.3 MB in asyncio's, 0.9-1.2 MB in the kernel's). A
fixed bound cut it short; a peer that stopped reading must not hold the
close either. The difference between them is progress: the bytes the
peer's TCP acknowledged keep growing for the slow one.

:func:`queued` is asyncio's buffer plus the kernel's send queue (unsent and
unacknowledged bytes, ``SIOCOUTQ``) where the system tells it (Linux);
elsewhere only asyncio's buffer, which shrinks in bursts as the kernel frees
room (a third of its buffer at a time), so progress shows later there.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import sys
from collections.abc import Callable

if sys.platform == "linux":  # SIOCOUTQ has TIOCOUTQ's number
    from fcntl import ioctl
    from termios import TIOCOUTQ

__all__ = ["Progress", "queued"]

_INT = struct.Struct("i")


def queued(transport: asyncio.WriteTransport) -> int:
    """Bytes written to ``transport`` that the peer's TCP has not acknowledged
    yet, as far as this system tells: asyncio's (or uvloop's) write buffer,
    plus the kernel's send queue on Linux."""
    total = transport.get_write_buffer_size()
    if sys.platform != "linux":
        return total
    sock = transport.get_extra_info("socket")
    if sock is None:
        return total
    # OSError: a socket already closed; ValueError: uvloop's socket of a
    # closed connection (fd -1).
    with contextlib.suppress(OSError, ValueError):
        total += _INT.unpack(ioctl(sock.fileno(), TIOCOUTQ, b"\0" * _INT.size))[0]
    return total


class Progress:
    """Whether the peer takes what we send: ``taken()`` (bytes of ours it has
    acknowledged: written minus :func:`queued`, so a write does not count)
    grew since the last :meth:`check`. ``at`` is when it last did (the
    clock's time of that check; the start at first)."""

    def __init__(self, taken: Callable[[], int], now: float) -> None:
        self._taken = taken
        self._last = taken()
        self.at = now

    def check(self, now: float) -> bool:
        """Whether the peer took anything since the last check (``at`` = ``now`` then)."""
        taken = self._taken()
        if taken <= self._last:
            return False
        self._last, self.at = taken, now
        return True
