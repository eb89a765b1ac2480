"""Writing to a terminal that may be gone.

After SIGHUP (the terminal window was closed) every write to it fails with
EIO. The commands still end their sessions cleanly then; what they meant to
print goes nowhere. A line left in stdout's buffer would fail once more at
exit and make the exit status 120, so once a write fails stdout is pointed at
/dev/null.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import sys
from collections.abc import Hashable
from typing import TextIO

__all__ = [
    "StatusLines", "drop_stdout", "ending_signals", "in_words", "rtt_band", "settle_stdout",
    "tell",
]  # fmt: skip

#: Python's spelling of an OSError: "[Errno 111] Connect call failed ('H', P)",
#: "[Errno -2] Name or service not known" (a name lookup's, getaddrinfo's).
_ERRNO = re.compile(r"\[Errno (-?\d+)\] ([^;]*)")


def in_words(text: str) -> str:
    """``text`` with each "[Errno N] ..." in the system's words, lowercased
    ("connection refused", "name or service not known"): what a user reads
    of a failed connect, without Python's spelling of it."""

    def words(found: re.Match[str]) -> str:
        number = int(found.group(1))
        return (os.strerror(number) if number > 0 else found.group(2)).lower()

    return _ERRNO.sub(words, text)


def ending_signals() -> list[int]:
    """The signals a command ends its session on, as the user's Ctrl-C:
    SIGTERM (a logout, a service manager) and SIGHUP (the terminal window
    closed), each unless it is ignored: started under ``nohup`` a command
    must outlive its terminal, as the user asked."""
    names = ("SIGTERM", "SIGHUP")
    sigs = [getattr(signal, name) for name in names if hasattr(signal, name)]
    return [sig for sig in sigs if signal.getsignal(sig) is not signal.SIG_IGN]


def tell(text: str) -> None:
    """Print a line and flush it; when the terminal is gone, drop stdout."""
    try:
        print(text, flush=True)
    except OSError:
        drop_stdout()


def settle_stdout() -> None:
    """Flush what stdout still holds; when the terminal is gone, drop it."""
    try:
        sys.stdout.flush()
    except OSError:
        drop_stdout()


def drop_stdout() -> None:
    """Point stdout's file descriptor at /dev/null: what its buffer still
    holds then goes nowhere instead of failing at exit."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        finally:
            os.close(devnull)


def _columns() -> int:
    """The width of the terminal stdout is, asked of the terminal itself:
    ``shutil.get_terminal_size`` takes $COLUMNS first, which a parent (make,
    a CI runner) may have set to another window's width. A terminal that
    says 0 (a pseudo-terminal nobody sized) has no width: then shutil's
    answer ($COLUMNS, else 80)."""
    try:
        columns = os.get_terminal_size(sys.stdout.fileno()).columns
    except (OSError, ValueError, AttributeError):
        columns = 0
    return columns if columns > 0 else shutil.get_terminal_size().columns


class StatusLines:
    """When a status line (the host's ``[shared]``, the agent's ``[view]``)
    is worth printing, and how wide it may be.

    A status line is printed when what a person cares about in it changed
    (its ``news``: the picture's size, decode errors, the link getting slow,
    input dropped), for each ``who`` at most once per ``gap`` seconds (a
    change that comes sooner waits for the next tick). Its first line is
    printed at once. Written to a log (stdout not a terminal) a line is also
    printed every ``log_every`` seconds while nothing changes, with the
    figures of the moment; on a terminal never: the lines printed every
    second drowned out the chat and the questions. On a terminal a line is
    cut to the terminal's width (:meth:`fit`): a wrapped line took two or
    three rows of a 40-column window.

    Whole lines only, each printed by the caller: nothing is rewritten in
    place, so a status never lands in the middle of a chat line, a question
    or what the person is typing. One event loop; ``now`` is its clock.
    """

    def __init__(self, out: TextIO | None = None, *, gap: float = 5.0,
                 log_every: float = 60.0) -> None:  # fmt: skip
        self._out = out
        self.gap = gap
        self.log_every = log_every
        self._last: dict[str, tuple[Hashable, float]] = {}

    @property
    def on_terminal(self) -> bool:
        out = self._out or sys.stdout
        try:
            return out.isatty()
        except (OSError, ValueError):  # closed: the program is ending
            return False

    def due(self, who: str, news: Hashable, now: float) -> bool:
        """Whether ``who``'s status line is to be printed now (it is then
        counted as printed)."""
        last = self._last.get(who)
        if last is not None:
            told, at = last
            if now - at < self.gap:
                return False
            if news == told and (self.on_terminal or now - at < self.log_every):
                return False
        self._last[who] = (news, now)
        return True

    def forget(self, who: str) -> None:
        """``who`` is gone: its next line, if it comes back, is a first one."""
        self._last.pop(who, None)

    def fit(self, text: str) -> str:
        """``text`` cut to the terminal's width (one column spare, so the
        cursor does not wrap), ending in "..." when cut; whole in a log."""
        if not self.on_terminal:
            return text
        width = max(_columns() - 1, 20)
        return text if len(text) <= width else text[: width - 3] + "..."


def rtt_band(rtt_ms: float) -> str:
    """The round trip in the words a person would use of it: a status line
    is printed again when it goes from one to another."""
    if rtt_ms < 200:
        return "fast"
    return "slow" if rtt_ms < 1000 else "very slow"
