"""The sealed channel, the transport's lowest layer: session codes and one-time
passwords (``codes``), the SPAKE2 handshake (``handshake``, ``crypto``), the
record framing on the socket (``framing``), sealed records (``sealed``), the
limits that bound all of it (``limits``), and the :class:`Channel` interface the
session layer talks to (``base``; ``memory`` for in-process pairs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from screencodec._lazy import lazy_names

if TYPE_CHECKING:
    from screencodec.transport.channel.base import MAX_MESSAGE_SIZE, Channel, ChannelTap

__all__ = ["MAX_MESSAGE_SIZE", "Channel", "ChannelTap"]

#: Imported from ``base`` on first use (_lazy): ``safe_text`` (``display``)
#: for ``recordings`` and ``limits`` for ``view --help`` do not load asyncio
#: with the channel (startup37).
_LAZY = dict.fromkeys(__all__, ".base")

if not TYPE_CHECKING:  # mypy reads the imports above (_lazy)
    __getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
