"""The boundary between the sealed transport and the session protocol above it.

A :class:`Channel` carries whole messages (bytes) between one host and one
viewer, in order. The secure implementation seals each one with an AEAD under
a key from the PAKE handshake; the session layer (host.py, viewer.py) neither
knows nor cares how.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Protocol, runtime_checkable

from screencodec.errors import SessionClosedError
from screencodec.transport.aio import wait_for

__all__ = ["CLOSED_HERE", "MAX_MESSAGE_SIZE", "Channel", "ChannelTap", "close_with"]

#: The largest message either side accepts. A 4K keyframe compresses to far
#: less; anything bigger is an attack or a bug, and ends the session.
MAX_MESSAGE_SIZE = 64 * 1024 * 1024
#: Why a channel closes when its caller says nothing else.
CLOSED_HERE = "closed locally"


@runtime_checkable
class Channel(Protocol):
    """An ordered, reliable, message-oriented link to one peer.

    ``recv`` raises :class:`~screencodec.errors.SessionClosedError` when the
    peer has closed or vanished, and :class:`~screencodec.errors.ProtocolError`
    when a message was tampered with, replayed, reordered, truncated or is
    larger than :data:`MAX_MESSAGE_SIZE`; in both cases the channel is closed.
    """

    @property
    def peer(self) -> str:
        """A printable name of the other end (address, or relay + session)."""
        ...

    async def send(self, message: bytes, /) -> None:
        """Send one message. Raises SessionClosedError if the channel is
        closed: with ``handed`` True if it closed after the message's bytes
        were handed to the connection (they may reach the peer)."""
        ...

    async def recv(self) -> bytes:
        """Receive the next message. A channel that can tell how long the
        message took to arrive, from its first byte to its last, says so in an
        attribute ``last_span`` (seconds; see SecureChannel)."""
        ...

    async def close(self, reason: str = CLOSED_HERE) -> None:
        """Close the channel and forget its keys. Idempotent (the first
        call's ``reason`` counts). ``reason`` says why, to the peer where
        the channel can tell it (SecureChannel's close record: the peer's
        channel closes "closed by peer: REASON"); one that cannot ignores it."""
        ...

    @property
    def closed(self) -> bool: ...


class ChannelTap:
    """A :class:`Channel` that passes everything through to ``inner`` and
    shows each message to :meth:`on_sent` / :meth:`on_received` (after it
    went or came; one whose send failed once its bytes were handed to the
    connection went), for observers such as a session recorder or a benchmark's
    byte ledger. Anything else (``last_span``) is the inner channel's."""

    def __init__(self, inner: Channel) -> None:
        self.inner = inner

    def on_sent(self, message: bytes, /) -> None:
        """A message this side sent."""

    def on_received(self, message: bytes, /) -> None:
        """A message the peer sent."""

    @property
    def peer(self) -> str:
        return self.inner.peer

    @property
    def closed(self) -> bool:
        return self.inner.closed

    async def send(self, message: bytes, /) -> None:
        try:
            await self.inner.send(message)
        except SessionClosedError as exc:
            if exc.handed:  # it went: the peer may have it
                self.on_sent(message)
            raise
        self.on_sent(message)

    async def recv(self) -> bytes:
        data = await self.inner.recv()
        self.on_received(data)
        return data

    async def close(self, reason: str = CLOSED_HERE) -> None:
        await self.inner.close(reason)

    async def close_with(self, *last: bytes, reason: str = CLOSED_HERE) -> None:
        """:func:`close_with` on the inner channel; the messages are shown to
        :meth:`on_sent` once they went (a recording keeps the host's Bye)."""
        await close_with(self.inner, *last, reason=reason)
        for message in last:
            self.on_sent(message)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


#: How long :func:`close_with` waits to send the last messages on a channel
#: without a ``close_with`` of its own (in memory, a test's): it may wait
#: behind a send stuck on a peer that stopped reading.
_LAST_SEND = 1.0


async def close_with(channel: Channel, *last: bytes, reason: str = CLOSED_HERE) -> None:
    """Send ``last`` (one message or a few, in order) as the last on
    ``channel`` and close it for ``reason`` (:meth:`Channel.close`): the
    channel's own ``close_with`` where it has one (SecureChannel: at once,
    ahead of sends still waiting, the close waiting while the peer reads);
    else sends given at most a second in all, then the close. Raises
    SessionClosedError if the channel is closed already (nothing sent)."""
    own = getattr(channel, "close_with", None)
    if own is not None:
        await own(*last, reason=reason)
        return
    if channel.closed:
        raise SessionClosedError("the channel is closed")

    async def send_all() -> None:
        for message in last:
            await channel.send(message)

    with contextlib.suppress(asyncio.TimeoutError, SessionClosedError, OSError):
        await wait_for(send_all(), _LAST_SEND)
    await channel.close(reason)
