"""Text clipboard sharing on the reserved extension channel
:data:`CLIPBOARD_CHANNEL` (docs/protocol.md, "Clipboard"; docs/transport.md,
"Clipboard" for embedders).

Only to and from a viewer that declared ``Capabilities.CLIPBOARD``; an older
viewer is never sent anything here, and an older host never says hello, so
a viewer of this version never sends it text. The messages (first byte):

* ``0x01`` hello, host -> viewer, once per link after the grant: flags (u8;
  bit 0, :data:`TAKES`: the host has a clipboard and puts the agent's text
  on it while the agent holds CONTROL).
* ``0x02`` text, either way: a number (u32, the sender's, from 1), flags
  (u8; bit 0, :data:`SYNC`, the host's: sent by sync, not by its user's
  command; others 0), then the text, UTF-8, at most
  :data:`MAX_CLIPBOARD_BYTES` bytes.
* ``0x03`` result, host -> viewer, for each text of the viewer's: its
  number (u32) and a code (u8): :data:`SET` or why it was refused.

The host's user's clipboard is private: it goes to an agent only when the
user says so (Host.send_clipboard) or turned sync on (.clipboard_sync),
never on the agent's asking (there is no such message). The agent's text is
put on the host's clipboard only while its link holds CONTROL, granted
before the text was sent (input_gate's rule): text sent before the grant,
or before the agent could have seen an upgrade, is refused.

Everything here is the peer's: a text that is too long, not UTF-8 or
malformed raises :class:`ClipboardError`; the session logs it, answers a
refusal where it can, and goes on. The text itself is never shown by the
session (events carry it for the program; their ``repr`` leaves it out).
"""

from __future__ import annotations

import logging
from typing import Protocol

from screencodec.errors import ScreencodecError
from screencodec.transport.session.messages import Extension, Message

__all__ = [
    "BEFORE_GRANT",
    "CLIPBOARD_CHANNEL",
    "FAILED",
    "HELLO",
    "LOCAL_USER",
    "MAX_CLIPBOARD_BYTES",
    "NOT_UTF8",
    "NO_CLIPBOARD",
    "NO_CONTROL",
    "REPLACED",
    "RESULT",
    "SET",
    "SYNC",
    "TAKES",
    "TEXT",
    "TOO_LARGE",
    "ClipboardError",
    "ClipboardLike",
    "check_text",
    "clipboard_hello",
    "clipboard_result",
    "clipboard_row",
    "clipboard_text",
    "parse_result",
    "parse_text",
    "refusal_words",
    "text_number",
    "text_payload",
]

_log = logging.getLogger(__name__)

#: The reserved extension channel of clipboard sharing (module notes).
CLIPBOARD_CHANNEL = "screencodec.clipboard"
#: The most bytes of UTF-8 one transfer carries (64 KiB).
MAX_CLIPBOARD_BYTES = 64 * 1024
HELLO, TEXT, RESULT = 1, 2, 3
#: Hello flag: the host puts the agent's text on its clipboard.
TAKES = 0x01
#: Text flag: the host's text went by sync (its user's command otherwise).
SYNC = 0x01
_HEAD = 6  # kind, number, flags
#: Result codes: put on the clipboard, or why not (REPLACED, clipfix39: a
#: later text came while this one waited for the set before it; LOCAL_USER,
#: review39b: the host's user was using their own mouse or keyboard).
(SET, NO_CONTROL, BEFORE_GRANT, NO_CLIPBOARD, TOO_LARGE, NOT_UTF8, FAILED, REPLACED,
 LOCAL_USER) = range(9)
_WORDS = {
    NO_CONTROL: "the agent does not hold control",
    BEFORE_GRANT: "sent before the agent held control",
    NO_CLIPBOARD: "the host has no clipboard to put it on",
    TOO_LARGE: f"more than {MAX_CLIPBOARD_BYTES // 1024} KiB",
    NOT_UTF8: "not UTF-8 text",
    FAILED: "the host could not set its clipboard",
    REPLACED: "replaced by a later text before it was set",
    LOCAL_USER: "the user is using their own mouse or keyboard",
}


class ClipboardError(ScreencodecError, ValueError):
    """A clipboard message or text that cannot be used (too long, not UTF-8,
    malformed); ``code`` is the refusal's result code."""

    def __init__(self, message: str, code: int = FAILED) -> None:
        super().__init__(message)
        self.code = code


class ClipboardLike(Protocol):
    """The host's clipboard (the CLI's is cli/clipboard_x11.py): the text on
    it, None when it holds no text, and putting text on it. Called in a
    worker thread; each call should return within seconds (raise OSError
    or ScreencodecError when it cannot).

    Optional (clipfix39): ``watch()`` -> an object with ``wait(timeout) ->
    bool`` (True once the clipboard changed) and ``close()``, or None: the
    host's sync then reads it only after a change instead of every second
    (the CLI's: cli/selection_watch.py, XFixes)."""

    def get_text(self) -> str | None: ...
    def set_text(self, text: str, /) -> None: ...


def refusal_words(code: int) -> str:
    """What a result code says, made here (never the peer's words)."""
    return _WORDS.get(code, "refused by the host")


def check_text(text: str) -> bytes:
    """``text`` as UTF-8 if one transfer may carry it; else :class:`ClipboardError`."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate
        raise ClipboardError("clipboard text is not valid Unicode", NOT_UTF8) from exc
    if len(data) > MAX_CLIPBOARD_BYTES:
        raise ClipboardError(
            f"clipboard text of {len(data)} bytes: at most {MAX_CLIPBOARD_BYTES}", TOO_LARGE
        )
    return data


def text_payload(number: int, text: str, flags: int = 0) -> bytes:
    return (bytes([TEXT]) + (number & 0xFFFFFFFF).to_bytes(4, "big") + bytes([flags & 0xFF])
            + check_text(text))  # fmt: skip


def clipboard_hello(flags: int) -> Extension:
    return Extension(CLIPBOARD_CHANNEL, bytes([HELLO, flags & 0xFF]))


def clipboard_result(number: int, code: int) -> Extension:
    return Extension(CLIPBOARD_CHANNEL, bytes([RESULT]) + number.to_bytes(4, "big") + bytes([code]))


def text_number(payload: bytes) -> int | None:
    """The number of a text message (None: too short to have one)."""
    return int.from_bytes(payload[1:5], "big") if len(payload) >= _HEAD else None


def parse_text(payload: bytes) -> tuple[int, int, str]:
    """A text message's number, flags and text, validated (length before
    the decode); :class:`ClipboardError` otherwise."""
    if payload[:1] != bytes([TEXT]) or len(payload) < _HEAD:
        raise ClipboardError("malformed clipboard text message")
    body = payload[_HEAD:]
    if len(body) > MAX_CLIPBOARD_BYTES:
        raise ClipboardError(
            f"clipboard text of {len(body)} bytes: at most {MAX_CLIPBOARD_BYTES}", TOO_LARGE
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ClipboardError(f"clipboard text is not UTF-8 ({exc.reason} at byte"
                             f" {exc.start})", NOT_UTF8) from None  # fmt: skip
    return text_number(payload) or 0, payload[5], text


def parse_result(payload: bytes) -> tuple[int, int]:
    if payload[:1] != bytes([RESULT]) or len(payload) != 6:
        raise ClipboardError("malformed clipboard result")
    return int.from_bytes(payload[1:5], "big"), payload[5]


def clipboard_text(msg: Message) -> bytes | None:
    """The payload of ``msg`` if it is a clipboard text message, else None."""
    if isinstance(msg, Extension) and msg.channel == CLIPBOARD_CHANNEL and msg.payload[:1] == bytes(
            [TEXT]):  # fmt: skip
        return msg.payload
    return None


def clipboard_row(msg: Message, direction: str, who: str,
                  include_text: bool = False) -> dict[str, object] | None:  # fmt: skip
    """The audit log's row of ``msg`` (None: not a clipboard transfer or
    result): a ``clipboard`` row per text (``direction``, ``who``,
    ``characters``, ``bytes``; no digest: an unsalted one of a short text
    is the text to anyone who tries the candidates, a 6-digit PIN in a
    million hashes, review39b; the text itself only with ``include_text``,
    the recorder's ``include_clipboard``;
    ``invalid`` true for one that is not UTF-8 or too long), a
    ``clipboard_outcome`` row per result of the host's (``number``,
    ``outcome`` "set" or "refused", ``why`` in words made here)."""
    if not isinstance(msg, Extension) or msg.channel != CLIPBOARD_CHANNEL:
        return None
    payload = msg.payload
    if payload[:1] == bytes([TEXT]):
        body = payload[_HEAD:]
        row: dict[str, object] = {"type": "clipboard", "direction": direction, "who": who,
                                  "number": text_number(payload), "bytes": len(body)}
        try:
            text = parse_text(payload)[2]
        except ClipboardError:
            row["invalid"] = True
        else:
            row["characters"] = len(text)
            if include_text:
                row["text"] = text
        return row
    if payload[:1] == bytes([RESULT]):
        try:
            number, code = parse_result(payload)
        except ClipboardError:
            return None
        out: dict[str, object] = {"type": "clipboard_outcome", "number": number,
                                  "outcome": "set" if code == SET else "refused"}  # fmt: skip
        if code != SET:
            out["why"] = refusal_words(code)
        return out
    return None
