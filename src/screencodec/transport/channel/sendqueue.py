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

:func:`tcp_acks` is what the kernel tells of the peer's acknowledgements
(Linux, ``TCP_INFO``): how long ago the last one came, any one (also those
answering the window probes of a peer whose receive window is full), the
connection's smoothed round trip, and the receive window the peer last
advertised.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import sys
from collections.abc import Callable
from typing import NamedTuple

if sys.platform == "linux":  # SIOCOUTQ has TIOCOUTQ's number
    import socket
    from fcntl import ioctl
    from termios import TIOCOUTQ

__all__ = ["Progress", "TcpAcks", "queued", "tcp_acks"]

_INT = struct.Struct("i")
#: Linux's ``struct tcp_info`` (linux/tcp.h) up to ``tcpi_snd_wnd`` (Linux
#: 5.4 on; fields are only ever added at its end): ``tcpi_last_ack_recv``
#: (ms) at byte 56, ``tcpi_rtt`` (us) at 68, ``tcpi_snd_wnd`` (bytes) at 228.
_TCP_INFO = struct.Struct("=56xI8xI156xI")


class TcpAcks(NamedTuple):
    """What the kernel tells of a connection's peer (:func:`tcp_acks`)."""

    #: Seconds since the peer's TCP last acknowledged anything of ours.
    age: float
    #: The connection's smoothed round trip (s).
    rtt: float
    #: The receive window the peer last advertised (bytes; 0: its buffer is full).
    window: int


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


def tcp_acks(transport: asyncio.BaseTransport) -> TcpAcks | None:
    """What the kernel tells of ``transport``'s peer (Linux 5.4 or later);
    None where it does not (another system, an older kernel, a socket
    closed, not TCP)."""
    if sys.platform != "linux":
        return None
    sock = transport.get_extra_info("socket")
    if sock is None:
        return None
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO.size)
        age_ms, rtt_us, window = _TCP_INFO.unpack_from(info)
    except (OSError, ValueError, struct.error):  # struct.error: an older kernel's, shorter
        return None
    return TcpAcks(age_ms / 1000, rtt_us / 1e6, window)


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
