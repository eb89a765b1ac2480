"""The sealed channel, the transport's lowest layer: session codes and one-time
passwords (``codes``), the SPAKE2 handshake (``handshake``, ``crypto``), the
record framing on the socket (``framing``), sealed records (``sealed``), the
limits that bound all of it (``limits``), and the :class:`Channel` interface the
session layer talks to (``base``; ``memory`` for in-process pairs)."""

from __future__ import annotations

from screencodec.transport.channel.base import MAX_MESSAGE_SIZE, Channel, ChannelTap

__all__ = ["MAX_MESSAGE_SIZE", "Channel", "ChannelTap"]
