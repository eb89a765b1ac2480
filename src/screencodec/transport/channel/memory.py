"""An in-memory :class:`~.channel.Channel` pair over asyncio queues.

For unit tests and in-process embedding: same semantics as the sealed channel
(ordered, whole messages, ``SessionClosedError`` after close on either side,
``ProtocolError`` for oversized messages) without sockets or crypto. Both ends
must live on one event loop. ``sent_bytes`` / ``sent`` record traffic so tests
can prove what did (not) leave a side.
"""

from __future__ import annotations

import asyncio
import contextlib

from screencodec.errors import ProtocolError, SessionClosedError
from screencodec.transport.channel.base import CLOSED_HERE, MAX_MESSAGE_SIZE, Channel

__all__ = ["MemoryChannel", "channel_pair"]

_CLOSE = object()


class MemoryChannel:
    """One end. ``maxsize`` bounds the peer's inbox so a stuck reader blocks the
    writer, as TCP would (0 = unbounded)."""

    def __init__(
        self,
        name: str,
        inbox: asyncio.Queue[object],
        outbox: asyncio.Queue[object],
        max_message: int = MAX_MESSAGE_SIZE,
    ) -> None:
        self._name = name
        self._inbox = inbox
        self._outbox = outbox
        self._closed = False
        self._max = max_message
        self.peer_end: MemoryChannel | None = None
        self.sent: list[bytes] = []
        self.record = False
        self.sent_bytes = 0
        #: An in-process pair has no link to time: every message arrives whole
        #: at once (see Channel.recv).
        self.last_span = 0.0

    @property
    def peer(self) -> str:
        return self._name

    @property
    def closed(self) -> bool:
        return self._closed

    async def send(self, message: bytes, /) -> None:
        if self._closed:
            raise SessionClosedError("channel is closed")
        if len(message) > self._max:
            # The sending side of a real channel would refuse too.
            raise ProtocolError(f"message of {len(message)} bytes is too large")
        self.sent_bytes += len(message)
        if self.record:
            self.sent.append(bytes(message))
        await self._outbox.put(bytes(message))

    async def recv(self) -> bytes:
        if self._closed:
            raise SessionClosedError("channel is closed")
        item = await self._inbox.get()
        if item is _CLOSE:
            self._closed = True
            raise SessionClosedError("peer closed the channel")
        assert isinstance(item, bytes)
        return item

    async def close(self, reason: str = CLOSED_HERE) -> None:
        """Close both ways; ``reason`` is not carried (the peer reads "peer
        closed the channel", as ever)."""
        if self._closed:
            return
        self._closed = True
        # Wake our own pending recv and tell the peer; put_nowait because a
        # close must never block on a full queue.
        for q in (self._inbox, self._outbox):
            try:
                q.put_nowait(_CLOSE)
            except asyncio.QueueFull:
                _drain_one_then_close(q)


def _drain_one_then_close(q: asyncio.Queue[object]) -> None:
    with contextlib.suppress(asyncio.QueueEmpty):
        q.get_nowait()
    q.put_nowait(_CLOSE)


def channel_pair(
    names: tuple[str, str] = ("memory:host", "memory:viewer"), maxsize: int = 0
) -> tuple[Channel, Channel]:
    """Two connected ends: ``(a, b)``; what ``a`` sends, ``b`` receives.

    ``a.peer`` is ``names[1]`` (the other end's name) and vice versa.
    """
    ab: asyncio.Queue[object] = asyncio.Queue(maxsize)
    ba: asyncio.Queue[object] = asyncio.Queue(maxsize)
    a = MemoryChannel(names[1], ba, ab)
    b = MemoryChannel(names[0], ab, ba)
    a.peer_end, b.peer_end = b, a
    return a, b
