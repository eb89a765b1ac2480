"""Chat typed at a terminal: a line ``/say TEXT`` is a message to the other
side, for the ``host`` and the ``view`` commands alike. Every other line is
left to the command (the host's consent answers, for instance)."""

from __future__ import annotations

__all__ = ["SAY", "said"]

#: The command that starts a chat line.
SAY = "/say"


def said(line: str) -> str | None:
    """The message of a typed ``line``: its text after ``/say`` (``""`` for a
    bare ``/say``, which is still chat, never an answer), or None when the
    line is not chat (``/sayno`` is not)."""
    command = line.strip()
    if command == SAY:
        return ""
    if command.startswith(SAY) and command[len(SAY)].isspace():
        return command[len(SAY) :].strip()
    return None
