"""The JSON text frames between the page and the Python viewer, validated strictly.

Every text frame is one JSON object with a string ``t`` naming its kind and
exactly the fields listed for that kind, each of one type and within bounds;
anything else (unknown kind, missing or extra field, wrong type, a bool where
an int belongs, an out-of-range number, an over-long string, more than
:data:`MAX_TEXT_FRAME` bytes) is a :class:`PageProtocolError` and the socket
is closed. The page applies the same rules to what it receives
(``static/app/schema.js``); :data:`SERVER_FIELDS` lists the fields of each
server -> page kind as that file does, and :func:`dumps` refuses a message
that does not have them (a bridge bug would otherwise close the page).
The page bounds a string by its JavaScript length, in UTF-16 units, where a
character beyond the BMP (an emoji) counts two: text going to the page is cut
with :func:`fit`, not by Python's ``len``.

One kind may be longer: the page's ``kept`` answer, the digest of the
picture it holds (up to :data:`MAX_KEPT_FRAME`: 8 bytes a tile of a 48 M
pixel picture, in base64), whose contents :func:`parse_kept` checks.

Binary frames are not JSON: server -> page they are the host's wire
messages unchanged (docs/protocol.md); page -> server they carry file data,
``transfer u32 (big-endian) | bytes``.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any

from screencodec.errors import ProtocolError
from screencodec.transport.session.clipboard import MAX_CLIPBOARD_BYTES
from screencodec.transport.session.kept import DIGEST_SIZE, KeptPicture

__all__ = ["MAX_CLIP_FRAME", "MAX_KEPT_FRAME", "MAX_TEXT_FRAME", "PAGE_MESSAGES", "SERVER_FIELDS",
           "PageProtocolError", "dumps", "fit", "parse_kept", "parse_page_message"]  # fmt: skip

#: The largest text frame either side accepts.
MAX_TEXT_FRAME = 16 * 1024
#: The most tiles of a picture the page decodes (48 M pixels, as thin as 16384
#: a side allows, partial tiles at both edges: 12,005; static/worker/channel.js
#: MAX_KEPT), and the largest ``kept`` answer: their digests in base64, and the
#: rest of the message.
_MAX_TILES = 12288
_MAX_KEPT_B64 = 4 * _MAX_TILES * DIGEST_SIZE // 3
MAX_KEPT_FRAME = _MAX_KEPT_B64 + 1024
#: The largest ``clip`` frame: 64 KiB of text, each character escaped in 6
#: (``\u0001``) at most by JSON.stringify.
MAX_CLIP_FRAME = 6 * MAX_CLIPBOARD_BYTES + 64


class PageProtocolError(ProtocolError):
    """The page sent a frame that breaks the page protocol; its socket is closed."""


class _Int:
    def __init__(self, lo: int, hi: int) -> None:
        self.lo, self.hi = lo, hi

    def check(self, v: object) -> bool:
        return type(v) is int and self.lo <= v <= self.hi


class _Str:
    def __init__(self, max_len: int, min_len: int = 0) -> None:
        self.max_len, self.min_len = max_len, min_len

    def check(self, v: object) -> bool:
        return isinstance(v, str) and self.min_len <= len(v) <= self.max_len


class _Bool:
    def check(self, v: object) -> bool:
        return type(v) is bool


class _OneOf:
    def __init__(self, *values: int) -> None:
        self.values = values

    def check(self, v: object) -> bool:
        return type(v) is int and v in self.values


_B = _Bool()
_COORD = _Int(-(1 << 20), 1 << 20)
_U32 = _Int(0, (1 << 32) - 1)

#: Page -> server: kind -> field -> rule.
PAGE_MESSAGES: dict[str, dict[str, Any]] = {
    # First frame: the token (or resume key) and what WebCodecs decodes here.
    "hello": {"key": _Str(128, 1), "h264_444": _B, "h264_420": _B, "zstream": _B},
    # An update was applied to the canvas (w, h: the frame) or refused (ok false).
    "applied": {"ok": _B, "w": _Int(0, 16384), "h": _Int(0, 16384)},
    "keyframe": {},
    "control": {"want": _B},
    "move": {"x": _COORD, "y": _COORD},
    "button": {"b": _Int(1, 15), "down": _B},
    "wheel": {"dx": _Int(-100, 100), "dy": _Int(-100, 100)},
    "key": {"keysym": _Int(0, 0x1FFFFFFF), "down": _B, "text": _Str(16)},
    "release": {},
    "chat": {"text": _Str(2000, 1)},
    "monitor": {"index": _Int(0, 64)},
    "file_offer": {"id": _U32, "name": _Str(255, 1), "size": _Int(0, 1 << 40)},
    "file_done": {"id": _U32},
    # The agent's Cancel on an upload's row (cancel36): its copy, or its send.
    "file_cancel": {"id": _U32},
    # The agent's Cancel on a host's file being received (rstop36): its question's id.
    "download_cancel": {"id": _U32},
    "file_answer": {"id": _U32, "accept": _B},
    "bye": {},
    # Playing a recording (web/playback.py): seek to a time, play or pause, speed.
    "seek": {"us": _Int(0, 1 << 42)},
    "play": {"on": _B},
    "speed": {"pct": _OneOf(50, 100, 200, 400)},
    # The digest of the picture the page holds (the bridge's ``kept`` of the
    # same n): w x h and 8 bytes a tile in base64, or 0, 0 and "" (none).
    "kept": {"n": _U32, "w": _Int(0, 16384), "h": _Int(0, 16384), "tiles": _Str(_MAX_KEPT_B64)},
    # The agent's Ctrl+V: its text for the host's clipboard (clip39; the
    # session checks its UTF-8 length: at most MAX_CLIPBOARD_BYTES).
    "clip": {"text": _Str(MAX_CLIPBOARD_BYTES, 1)},
}


#: Server -> page: kind -> (required fields, optional fields), as static/app/schema.js
#: checks them (its values' types and bounds are checked there).
SERVER_FIELDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    kind: (frozenset(req.split()), frozenset(opt.split()))
    for kind, req, opt in [
        ("welcome", "resume who", ""),
        ("status", "text", ""),
        # the viewer program runs (bridge.ALIVE_EVERY), while the page shows "Connected"
        ("alive", "", ""),
        # unavailable: the host's reason why CONTROL cannot be had ("" if it can);
        # reconnecting: true while the link is lost and taken up again (no level in use)
        ("level", "view control", "unavailable reconnecting"),
        ("monitors", "list current", ""),
        ("stats", "fps kbps rtt skipped", ""),
        # the host's counts of the agent's input it ignored, in words (input46)
        ("ignored", "text", ""),
        # code: the host's Notice code (0: the bridge's own word: control refused or unanswered);
        # replayed: true when replayed to a reloaded page (its chat log only)
        ("notice", "text", "code replayed"),
        # id, state: the agent's own line typed while the link was down: held
        # ("held") until the session is taken up again, or before the session
        # was joined ("waiting"), or never sent ("lost": the session ended);
        # once sent, "sent" until the host's program confirms it ("delivered")
        # or the session ends first ("unconfirmed": it went, the host's
        # confirmation never came; "undelivered": it never went); "backlog": not sent, too
        # many lines wait for the host's confirmation
        ("chat", "from text", "id state"),
        ("banner", "kind text", ""),
        # stopped: the signal that stopped the viewer program (SIGTERM, SIGHUP;
        # web/run.STOPPED_BY), not the agent's own leaving (page51)
        ("ended", "reason", "stopped"),
        # answered: replayed to a reloaded page once the agent answered
        ("file_offer", "id name size", "answered"),
        # offer: the file_offer (question) this file answers, when known;
        # saved: where it is kept in the agent's folder (view --web --download-dir)
        ("file_received", "id name size", "offer saved"),
        # pct: how much of an accepted upload went to the host (state "sending")
        ("file_progress", "id state", "text name pct"),
        # a host's file not saved here: refused unasked, or could not be
        # saved; offer: the file_offer (question) it answers, when known
        ("file_failed", "id name size text", "offer"),
        ("playback", "duration_us width height name", ""),
        ("position", "us playing pct", ""),
        # no picture at the position (before a recording's first): clear the screen
        ("blank", "", ""),
        ("event", "us kind text", ""),
        # what checking the recording found (web/playback.py page_verdict)
        ("verdict", "kind text", ""),
        # the link to the host is lost: the page's digest of its picture
        # under this key (32 hex digits), answered with the same n
        ("kept", "n key", ""),
        # the host's user's clipboard text (raw: the page never shows it)
        ("clip", "text reason", ""),
    ]
}


def parse_page_message(text: str) -> dict[str, Any]:
    """Parse and validate one text frame from the page."""
    if len(text) > max(MAX_KEPT_FRAME, MAX_CLIP_FRAME):
        raise PageProtocolError(f"text frame of {len(text)} characters")
    try:
        obj = json.loads(text, parse_constant=_no_constant)
    except ValueError as exc:
        raise PageProtocolError(f"not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise PageProtocolError("a frame must be a JSON object")
    kind = obj.get("t")
    rules = PAGE_MESSAGES.get(kind) if isinstance(kind, str) else None
    if rules is None:
        raise PageProtocolError(f"unknown message kind {str(kind)[:32]!r}")
    limit = {"kept": MAX_KEPT_FRAME, "clip": MAX_CLIP_FRAME}.get(str(kind), MAX_TEXT_FRAME)
    if len(text) > limit:
        raise PageProtocolError(f"text frame of {len(text)} characters")
    if obj.keys() - {"t"} != rules.keys():
        raise PageProtocolError(f"{kind}: fields {sorted(obj.keys() - {'t'})}")
    for name, rule in rules.items():
        if not rule.check(obj[name]):
            raise PageProtocolError(f"{kind}: bad {name}")
    return obj


def parse_kept(msg: dict[str, Any], key: bytes) -> KeptPicture | None:
    """The picture a ``kept`` answer (parsed) says the page holds, its
    digest made with ``key``; None when it holds none (w, h 0, no tiles).
    PageProtocolError for tiles that are not strict base64 of exactly 8
    bytes a tile of its size (``KeptPicture.parse``'s rules)."""
    if (msg["w"], msg["h"], msg["tiles"]) == (0, 0, ""):
        return None
    try:
        digests = base64.b64decode(msg["tiles"], validate=True)
        head = bytes([1]) + msg["w"].to_bytes(2, "little") + msg["h"].to_bytes(2, "little")
        return KeptPicture.parse(head + key + digests)
    except (binascii.Error, ProtocolError) as exc:
        raise PageProtocolError(f"kept: {exc}") from None


def _no_constant(name: str) -> float:
    # NaN and Infinity are not JSON; Python would accept them.
    raise ValueError(f"{name} is not JSON")


def fit(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-16 units, the length schema.js
    checks (a surrogate pair is never split)."""
    if len(text) * 2 <= limit:
        return text
    return text.encode("utf-16-le", "surrogatepass")[: 2 * limit].decode("utf-16-le", "ignore")


def dumps(obj: dict[str, Any]) -> str:
    """Serialise a server -> page message (its fields as :data:`SERVER_FIELDS`
    says, finite numbers only)."""
    fields = SERVER_FIELDS.get(obj.get("t"))  # type: ignore[arg-type]
    if fields is None:
        raise ValueError(f"no server -> page message {obj.get('t')!r}")
    names = obj.keys() - {"t"}
    if not fields[0] <= names <= fields[0] | fields[1]:
        raise ValueError(f"{obj['t']}: fields {sorted(names)}")
    for v in obj.values():
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError("non-finite number")
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
