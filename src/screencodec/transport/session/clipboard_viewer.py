"""The viewer's side of clipboard sharing (.clipboard has the wire and the
rules): what the host's hello said, the host's text that comes (a
:class:`~.events.ClipboardReceived`), and the agent's text sent to the
host with the host's answer to it (:class:`~.events.ClipboardSet` or
:class:`~.events.ClipboardRefused`)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from screencodec.transport.session import messages as m
from screencodec.transport.session.clipboard import (
    CLIPBOARD_CHANNEL,
    HELLO,
    NO_CLIPBOARD,
    NO_CONTROL,
    RESULT,
    SET,
    SYNC,
    TAKES,
    TEXT,
    ClipboardError,
    parse_result,
    parse_text,
    refusal_words,
    text_payload,
)
from screencodec.transport.session.events import ClipboardReceived, ClipboardRefused, ClipboardSet

__all__ = ["ViewerClipboard"]

_log = logging.getLogger(__name__)
#: The agent's texts waiting for the host's answer, kept at most (their sizes).
_PENDING = 64


class ViewerClipboard:
    """``send(msg)`` sends to the host, ``emit(event)`` tells the program,
    ``peer`` is the host's name (sanitised)."""

    def __init__(self, send: Callable[[m.Message], Awaitable[None]],
                 emit: Callable[[Any], None], peer: str) -> None:  # fmt: skip
        self._send = send
        self._emit = emit
        self._peer = peer
        #: None until the host's hello (a host of an older version sends
        #: none); then whether it puts the agent's text on its clipboard.
        self.host_takes: bool | None = None
        self._number = 0
        self._pending: dict[int, int] = {}  # number -> characters
        self.ignored = 0  #: bad messages of the host's, logged and dropped

    async def send(self, text: str, *, control: bool) -> int:
        """Send ``text`` for the host's clipboard; returns its number (the
        host's answer names it). :class:`~.clipboard.ClipboardError` before
        anything is sent when the host takes none, this agent does not hold
        CONTROL (``control``), or the text is over 64 KiB."""
        if self.host_takes is False:  # its hello said so (clipwalk39: told apart)
            raise ClipboardError("the host has no clipboard to put it on (its computer has no"
                                 " X display or no xclip program)", NO_CLIPBOARD)  # fmt: skip
        if not self.host_takes:  # no hello: a host of a version before clipboards
            raise ClipboardError("the host does not take clipboard text", NO_CLIPBOARD)
        if not control:
            raise ClipboardError("clipboard text needs control of the host", NO_CONTROL)
        self._number += 1
        payload = text_payload(self._number, text)
        if len(self._pending) >= _PENDING:
            self._pending.pop(next(iter(self._pending)))
        self._pending[self._number] = len(text)
        await self._send(m.Extension(CLIPBOARD_CHANNEL, payload))
        return self._number

    def on_channel(self, payload: bytes) -> None:
        try:
            self._on_channel(payload)
        except ClipboardError as exc:
            self.ignored += 1
            _log.warning("clipboard message from %s dropped: %s", self._peer, exc)

    def _on_channel(self, payload: bytes) -> None:
        kind = payload[:1]
        if kind == bytes([HELLO]):
            if len(payload) < 2:
                raise ClipboardError("malformed clipboard hello")
            self.host_takes = bool(payload[1] & TAKES)
        elif kind == bytes([TEXT]):
            if self.host_takes is None:
                raise ClipboardError("clipboard text before the host's hello")
            _, flags, text = parse_text(payload)
            self._emit(ClipboardReceived(self._peer, text, "sync" if flags & SYNC else "command"))
        elif kind == bytes([RESULT]):
            number, code = parse_result(payload)
            chars = self._pending.pop(number, None)
            if chars is None:
                raise ClipboardError(f"a clipboard result for text {number}, not sent or answered")
            if code == SET:
                self._emit(ClipboardSet(self._peer, "", chars, number))
            else:
                self._emit(ClipboardRefused(self._peer, "", chars, refusal_words(code), number))
        # another first byte: a later version's, ignored
