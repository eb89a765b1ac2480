"""An audit event (:mod:`.audit`) in words a person reads, for the web
player's event log (names52: it showed the log's fields, ``answer=view,
asked=view, file=..., upgrade=false``).

:func:`event_words` words the event types the recorder writes, in the
wording the package already has for them where it has one (the input rows
as ``export --srt`` says them: ``keyboard: agent 'Alice'``, ``the local
user``; a lost link as the player's marks say it). Every field it does not
word is kept after the words as ``key=value`` (nothing the file says is
hidden from its auditor); an event of a type it does not know is its fields
alone. Values are the recording's, untrusted: each goes through
:func:`~screencodec.transport.channel.display.safe_text`, the caller bounds
the line and the page shows it as text only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from screencodec.transport.channel.display import safe_text

__all__ = ["event_words", "fields_text"]

#: How deep a nested value of an event is written out (deeper: "{...}").
_DEPTH = 3


def fields_text(v: object, depth: int = 0) -> str:
    """A value of an event as written after the words (cleaned by the
    caller): a string as it is, a number as JSON writes it, an object's
    fields as ``{key=value, ...}``, a list's items as ``[a, b]``; at most
    about 1000 characters are made (a hostile file may nest or repeat
    without end)."""
    if isinstance(v, str):
        return v
    if isinstance(v, bool) or v is None:
        return {True: "true", False: "false", None: "null"}[v]
    if isinstance(v, int | float):
        return str(v)
    if not isinstance(v, dict | list):
        return type(v).__name__  # not from JSON: nothing of it is shown
    if depth >= _DEPTH:
        return "{...}" if isinstance(v, dict) else "[...]"
    items = v.items() if isinstance(v, dict) else enumerate(v)
    out: list[str] = []
    size = 0
    for key, item in items:
        said = fields_text(item, depth + 1)
        out.append(f"{key}={said}" if isinstance(v, dict) else said)
        size += len(out[-1]) + 2
        if size > 1000:
            out.append("...")
            break
    inner = ", ".join(out)
    return f"{{{inner}}}" if isinstance(v, dict) else f"[{inner}]"


class _Said:
    """An event's fields, each read once: what is read is worded, what is
    not is listed after the words."""

    def __init__(self, ev: dict[str, Any]) -> None:
        self.ev = ev
        self.used = {"type", "t"}

    def text(self, key: str, default: str = "?", limit: int = 300) -> str:
        """The field as cleaned text (``default`` when absent)."""
        self.used.add(key)
        if key not in self.ev:
            return default
        return safe_text(fields_text(self.ev[key]), limit)

    def has(self, key: str) -> bool:
        """Whether the field is JSON's true."""
        self.used.add(key)
        return self.ev.get(key) is True

    def number(self, key: str) -> float | None:
        self.used.add(key)
        v = self.ev.get(key)
        return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None

    def rest(self) -> str:
        """The fields not worded, as ``key=value``."""
        return ", ".join(f"{safe_text(k, 64)}={safe_text(fields_text(self.ev[k]), 1000)}"
                         for k in sorted(self.ev) if k not in self.used)  # fmt: skip


def _agent(s: _Said) -> str:
    """The agent, by the name the event gives (its own choice: quoted)."""
    who = s.text("who", "", 64)
    return f"agent {who!r}" if who else "the agent"


def _side(s: _Said) -> str:
    """Whose a ``from``/``by`` of host or viewer is."""
    side = s.ev.get("from", s.ev.get("by"))
    s.used.update(("from", "by"))
    if side in ("host", "local"):
        return "the local user"
    return "the agent" if side in ("viewer", "agent") else f"{safe_text(side, 32)!r}"


def _seconds(v: float | None) -> str:
    return "?" if v is None else f"{v:.1f} s"


def _hello(s: _Said) -> str:
    return f"{_agent(s)} asked to {s.text('level')}"


def _consent(s: _Said) -> str:
    who, peer = _agent(s), s.text("peer", "", 120)
    at = f" ({peer})" if peer else ""
    answer = s.text("answer")
    if s.has("resumed"):
        first = s.text("first_peer", "", 120)  # the session's first link (names52)
        if first and first != peer:
            at = f" ({peer}; at first {first})"
        earlier = s.ev.get("earlier")
        s.used.add("earlier")
        s.used.add("asked")
        s.used.add("upgrade")
        named = earlier.get("file") if isinstance(earlier, dict) else None
        before = (f"; the part before is {safe_text(named, 255)}" if isinstance(named, str)
                  else "; the part before was not recorded here")  # fmt: skip
        return (f"{who}{at} came back on a new link (its link was lost) and holds "
                f"{answer} again, not asked again{before}")  # fmt: skip
    more = "more: " if s.has("upgrade") else ""
    said = "no" if answer == "denied" else f"yes to {answer}"
    return f"the local user was asked to let {who}{at} {more}{s.text('asked')}: {said}"


def _grant(s: _Said) -> str:
    why = s.text("no_control", "")
    return f"granted: {s.text('level')}" + (f" (no control: {why})" if why else "")


def _deny(s: _Said) -> str:
    why = s.text("why", "")
    unasked = " without asking the local user" if s.has("unasked") else ""
    return f"denied{unasked}: {s.text('level')}" + (f" ({why})" if why else "")


def _revoke(s: _Said) -> str:
    by = "the local user took back" if s.ev.get("by") == "host" else "the agent gave back"
    s.used.add("by")
    away = " while the agent was away" if s.has("away") else ""
    left = s.text("remaining", "")
    return f"{by} {s.text('level')}{away}" + (f"; it holds {left}" if left else "")


def _input(s: _Said) -> str:
    who = "the agent" if s.ev.get("who") == "agent" else "the local user"
    s.used.add("who")
    start, end = s.number("start"), s.number("end")
    took = "" if start is None or end is None else f" for {_seconds(max(0.0, end - start))}"
    return f"{s.text('device', 'input', 20)}: {who}{took}"


def _chat(s: _Said) -> str:
    sender = "the local user" if s.ev.get("from") == "host" else _agent(s)
    s.used.update(("from", "who"))
    notes = []
    if s.has("before_grant"):
        notes.append("before anything was granted")
    if s.has("resent"):
        notes.append("held while the link was down, sent on this one")
    if s.has("duplicate"):
        notes.append("dropped as a line the host had: never shown")
    outcome = s.text("outcome", "")
    if outcome:
        notes.append(outcome)
    s.used.add("typed")
    note = f" ({'; '.join(notes)})" if notes else ""
    return f"chat from {sender}{note}: {s.text('text', '', 1000)}"


def _chat_delivered(s: _Said) -> str:
    whose, other = (("the local user's", "the agent's") if s.ev.get("from") == "host"
                    else ("the agent's", "the host's"))  # fmt: skip
    s.used.add("from")
    return f"{other} program has {s.text('count')} of {whose} chat lines"


def _chat_outcome(s: _Said) -> str:
    s.used.update(("from", "typed"))
    return (f"the local user's chat line {s.text('number')} ({s.text('text', '', 1000)}): "
            f"{s.text('outcome')}")  # fmt: skip


def _direction(s: _Said) -> str:
    way = s.ev.get("direction")
    s.used.add("direction")
    if way == "to-host":
        return " from the agent to this computer"
    if way == "to-viewer":
        return " from this computer to the agent"
    return "" if way is None else f" ({safe_text(fields_text(way), 32)})"


def _file(s: _Said) -> str:
    words = (f"file {s.text('name', '?', 255)!r}{_direction(s)}, {s.text('size')} bytes: "
             f"{s.text('answer')}")  # fmt: skip
    if s.has("unasked"):
        words += " without asking the local user"
    why = s.text("why", "")
    return words + (f" ({why})" if why else "")


def _file_outcome(s: _Said) -> str:
    why = s.text("why", "")
    return (f"file {s.text('name', '?', 255)!r}{_direction(s)}: {s.text('outcome')}"
            + (f" ({why})" if why else ""))  # fmt: skip


def _clipboard(s: _Said) -> str:
    s.used.add("who")
    return (f"clipboard text {s.text('number')}{_direction(s)}: {s.text('characters')} "
            f"characters")  # fmt: skip


def _clipboard_outcome(s: _Said) -> str:
    why = s.text("why", "")
    return f"clipboard text {s.text('number')}: {s.text('outcome')}" + (
        f" ({why})" if why else "")


def _bye(s: _Said) -> str:
    side = _side(s)
    reason = s.text("reason", "")
    away = " while the agent was away" if s.has("away") else ""
    return f"{side} ended the session{away}" + (f": {reason}" if reason else "")


def _not_granted(s: _Said) -> str:
    return (f"the yes to {s.text('answer')} came once the agent was gone ({s.text('why')}): "
            "nothing was granted")  # fmt: skip


def _link_lost(s: _Said) -> str:
    kept = s.number("resumable")
    then = (f"; the session was kept {kept:.0f} s for the agent to come back" if kept
            else "; the session could not be taken up again")  # fmt: skip
    return f"the connection to the agent was lost ({s.text('reason')}){then}"


def _resumed(s: _Said) -> str:
    return (f"the agent came back {_seconds(s.number('after'))} later: the session goes on "
            "in the next file")  # fmt: skip


def _key(s: _Said) -> str:
    return f"keys typed: {s.text('text', '', 1000)}"


_WORDS: dict[str, Callable[[_Said], str]] = {
    "hello": _hello, "consent": _consent, "grant": _grant, "deny": _deny, "revoke": _revoke,
    "input": _input, "chat": _chat, "chat_delivered": _chat_delivered,
    "chat_outcome": _chat_outcome, "file": _file, "file_outcome": _file_outcome,
    "clipboard": _clipboard, "clipboard_outcome": _clipboard_outcome, "bye": _bye,
    "not_granted": _not_granted, "link_lost": _link_lost, "resumed": _resumed, "key": _key,
}  # fmt: skip


def event_words(ev: dict[str, Any]) -> str:
    """``ev`` in words, then the fields not worded (``; key=value, ...``);
    an event of a type not known here, its fields alone. Cleaned, not
    bounded."""
    said = _Said(ev)
    kind = ev.get("type")
    words = _WORDS.get(kind) if isinstance(kind, str) else None
    if words is None:
        return said.rest()
    text = words(said)
    # A session of several files (Chain.events) names each event's file:
    # said last, which part of the session it is in.
    part = ev.get("file") if "file" not in said.used else None
    if isinstance(part, str):
        said.used.add("file")
    rest = said.rest()
    text = f"{text}; {rest}" if rest else text
    return f"{text} (in {safe_text(part, 255)})" if isinstance(part, str) else text
