"""``screencodec host``'s clipboard: the ``/clip`` command and the lines of
the clipboard events (clip39; the session's rules are in
transport/session/clipboard.py).

The customer's clipboard is private: ``/clip`` sends what is on it now to
the agents, after saying how long it is; ``/clip on`` sends its changes
while an agent holds control (off by default), ``/clip off`` stops that.
An agent that holds control puts text on it: the terminal says who and
how many characters, never the text (a peer's text is never printed).
"""

from __future__ import annotations

from typing import Any

from screencodec.cli.clipboard_x11 import PASTE_KEYS
from screencodec.cli.host_lines import _agents
from screencodec.transport.channel.display import safe_text
from screencodec.transport.session.clipboard import LOCAL_USER, ClipboardError, refusal_words
from screencodec.transport.session.clipboard_host import read_clipboard
from screencodec.transport.session.events import ClipboardRefused, ClipboardSent, ClipboardSet

__all__ = ["SYNC_LOOKED_WITHIN", "ClipboardLines", "clip_command", "clipboard_line"]

#: How long ``/clip on`` waits for sync's first read (an xclip process:
#: cli/clipboard_x11.py's XCLIP_WAIT, 4 s) before it says it is on anyway.
SYNC_LOOKED_WITHIN = 5.0


def _chars(n: int) -> str:
    return f"{n} character{'' if n == 1 else 's'}"


async def clip_command(commands: Any, arg: str) -> None:
    """``/clip``, ``/clip on``, ``/clip off`` (``commands``: host_commands._Commands)."""
    host, ui = commands.host, commands.ui
    word = arg.strip().lower()
    if host.clipboard is None:
        ui.say(f"(clipboard sharing unavailable: {commands.clipboard_why})")
        return
    if word == "on":
        host.set_clipboard_sync(True)
        # Said once sync has read what was there, so that a copy made after
        # the line is a change and goes (flake40: said before that read, a
        # copy right after it, read first by a host the machine ran late,
        # was taken for what was there and never went).
        await host.clipboard_sync_looked(SYNC_LOOKED_WITHIN)
        # clipwalk39: with no remote control here (--control none) no agent
        # ever controls the screen, so sync sends nothing: said so.
        never = ""
        if host.injector is None:
            never = ("; but no agent can control your screen (remote control is off here),"
                     " so nothing goes: type /clip to send it")  # fmt: skip
        ui.say("clipboard sync on: what you copy while an agent controls your screen goes to"
               f" them (/clip off stops it){never}")  # fmt: skip
    elif word == "off":
        host.set_clipboard_sync(False)
        ui.say("clipboard sync off: your clipboard goes to no one unless you type /clip")
    elif word:
        ui.say("(usage: /clip, /clip on or /clip off)")
    else:
        await _send_now(host, ui)


async def _send_now(host: Any, ui: Any) -> None:
    """Read the clipboard once, and send that text (its length said, never it)."""
    try:
        text = await read_clipboard(host.clipboard)
        if text is None:
            # clipwalk39: a customer who selected an error in xterm had it on
            # PRIMARY only, and read just this: say how text gets on it.
            raise ClipboardError("your clipboard holds no text: copy the text first (Ctrl+C;"
                                 " in a terminal, Ctrl+Shift+C): text only selected is not"
                                 " on it")  # fmt: skip
        sent = await host.send_clipboard(text)
    except (ClipboardError, OSError, TimeoutError) as exc:
        ui.say(f"(not sent: {safe_text(exc, 200)})")
        return
    if sent:
        ui.say(f"sent your clipboard ({_chars(len(text))}) to {_agents(ui, sent)}")
    else:
        ui.say(f"(not sent: no agent whose program takes clipboard text sees your screen;"
               f" your clipboard holds {_chars(len(text))})")  # fmt: skip


def clipboard_line(event: ClipboardSet | ClipboardRefused | ClipboardSent) -> str | None:
    """The line of an agent's text put on the clipboard, or refused, or of
    the user's clipboard that sync sent (/clip's own are told by /clip):
    who and how many characters, never the text. None: no line."""
    who = safe_text(event.who, 64) or safe_text(event.peer)
    if isinstance(event, ClipboardSent):
        if event.reason != "sync":
            return None
        return (f"your clipboard ({_chars(event.characters)}) went to {who!r}: you copied it"
                " while they control your screen (/clip off stops that)")  # fmt: skip
    if isinstance(event, ClipboardSet):
        return (f"{who!r} put {_chars(event.characters)} on your clipboard"
                f" ({PASTE_KEYS})")  # fmt: skip
    why = _HOST_WORDS.get(event.why, event.why)
    return (f"(not put on your clipboard: {who!r} sent {_chars(event.characters)}:"
            f" {safe_text(why, 200)})")  # fmt: skip


#: A refusal's words where the agent's (refusal_words) would mislead the
#: host's user: "the user is using their own mouse or keyboard" is them
#: (review39d: the customer could not tell it was their own typing).
_HOST_WORDS = {
    refusal_words(LOCAL_USER): "you were using your mouse or keyboard: while you do, their"
    " text and input are ignored",
}


class ClipboardLines:
    """The clipboard events' lines for one terminal: an agent's refused
    texts are told once per agent and reason, until a text of theirs is
    put on the clipboard (review39b: a view-only agent's 200 texts were 200
    lines, burying the terminal's questions and chat; input refused for
    want of control is told once too, input_gate.py)."""

    def __init__(self) -> None:
        self._told: set[tuple[str, str]] = set()

    def line(self, event: ClipboardSet | ClipboardRefused | ClipboardSent) -> str | None:
        if isinstance(event, ClipboardSet):
            self._told = {told for told in self._told if told[0] != event.peer}
        elif isinstance(event, ClipboardRefused):
            if (event.peer, event.why) in self._told:
                return None
            self._told.add((event.peer, event.why))
            line = clipboard_line(event)
            return None if line is None else f"{line[:-1]}; more of theirs refused so are not told)"
        return clipboard_line(event)
