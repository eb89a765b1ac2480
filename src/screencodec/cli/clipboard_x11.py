"""The X11 clipboard (its CLIPBOARD selection, what Ctrl+C and Ctrl+V use)
through the ``xclip`` program (Debian's ``xclip``, in scripts/bootstrap.sh):
the host's :class:`~screencodec.transport.session.clipboard.ClipboardLike`
and the agent's terminal's own clipboard.

xclip, told to set the selection, reads the text, takes the selection and
stays in the background to serve it until another program takes it: its
output goes to /dev/null, so the call returns once it has the text. Every
call is bounded (:data:`XCLIP_WAIT`): an owner of the selection that does
not answer is a failure, not a hang. Called in a worker thread.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from typing import TYPE_CHECKING

from screencodec.errors import ScreencodecError

if TYPE_CHECKING:
    from screencodec.cli.selection_watch import SelectionWatch

__all__ = ["PASTE_KEYS", "XCLIP_WAIT", "XClipboard", "x11_clipboard"]

_log = logging.getLogger(__name__)

#: How the host's user (or an agent in control) pastes an agent's text: a
#: terminal does not paste on Ctrl+V (bash: literal-next); xterm pastes
#: PRIMARY on Shift+Insert, which the host sets too (clipwalk39).
PASTE_KEYS = "Ctrl+V pastes it; in a terminal, Shift+Insert"

#: Seconds an xclip call may take.
XCLIP_WAIT = 4.0


class XClipboard:
    """The CLIPBOARD selection of X display ``display`` (e.g. ``":0"``).

    ``primary``: :meth:`set_text` puts the text on PRIMARY too, as the
    host's does (clipwalk39): xterm pastes PRIMARY (Shift+Insert, the
    middle button) and nothing on Ctrl+V (bash's literal-next), so an
    agent's text on CLIPBOARD alone never reached a customer's xterm. The
    agent's own (view's /clip take) keeps CLIPBOARD only: the host's text
    is not pasted there by a stray middle click."""

    def __init__(self, display: str, xclip: str = "xclip", *, primary: bool = False) -> None:
        self.display = display
        self._xclip = xclip
        self._primary = primary

    def _run(self, *args: str, data: bytes | None = None,
             selection: str = "clipboard") -> subprocess.CompletedProcess[bytes]:  # fmt: skip
        env = {**os.environ, "DISPLAY": self.display}
        try:
            return subprocess.run(
                [self._xclip, "-selection", selection, *args], input=data, env=env,
                stdout=subprocess.PIPE if data is None else subprocess.DEVNULL,
                stderr=subprocess.PIPE if data is None else subprocess.DEVNULL,
                timeout=XCLIP_WAIT, check=False)  # fmt: skip
        except subprocess.TimeoutExpired as exc:
            raise ScreencodecError(f"xclip did not answer within {XCLIP_WAIT:g} s") from exc

    def get_text(self) -> str | None:
        """The text on the clipboard; None when it holds none (empty, or
        not text), or not UTF-8 (it is not sent)."""
        return self._read("clipboard")

    def _read(self, selection: str) -> str | None:
        done = self._run("-o", "-target", "UTF8_STRING", selection=selection)
        if done.returncode != 0:
            return None  # "target ... not available": nothing, or not text
        try:
            return done.stdout.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def set_text(self, text: str, /) -> None:
        """Put ``text`` on the clipboard; returns once the selection gives it.

        xclip's parent exits after it forks the child that serves the
        selection, and the child's claim of it may not have reached the X
        server yet (found under load, clip39: ``xclip -o`` right after read
        the old text): the program that pastes next would paste that. So
        the selection is read back until it is this text."""
        deadline = time.monotonic() + XCLIP_WAIT  # for it all (the session waits 5 s)
        for selection in ("primary", "clipboard") if self._primary else ("clipboard",):
            done = self._run("-i", data=text.encode("utf-8"), selection=selection)
            if done.returncode != 0:
                status = done.returncode
                raise ScreencodecError(f"xclip could not set the {selection} (status {status})")
            while self._read(selection) != text:
                if time.monotonic() > deadline:
                    why = f"the {selection} did not take it within {XCLIP_WAIT:g} s"
                    raise ScreencodecError(why)
                time.sleep(0.01)

    def watch(self) -> SelectionWatch | None:
        """Owner changes of the selection (cli/selection_watch.py, XFixes),
        for the host's sync to read only after a copy; None when it cannot
        (no python-xlib, no XFIXES): sync then reads every second."""
        from screencodec.cli.selection_watch import SelectionWatch

        try:
            return SelectionWatch(self.display)
        except Exception as exc:  # Xlib raises its own hierarchy too
            _log.info("clipboard changes not watched (read every second): %s", exc)
            return None


def x11_clipboard(*, primary: bool = False) -> XClipboard | str:
    """The clipboard of this process's X display, or why there is none
    (``primary``: the host's, see :class:`XClipboard`)."""
    display = os.environ.get("DISPLAY")
    if not display:
        return "no X display (DISPLAY is not set)"
    xclip = shutil.which("xclip")
    if xclip is None:
        return "the xclip program is not installed (Debian: apt install xclip)"
    return XClipboard(display, xclip, primary=primary)
