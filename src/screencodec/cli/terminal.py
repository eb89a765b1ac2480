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
import signal
import sys

__all__ = ["drop_stdout", "ending_signals", "in_words", "settle_stdout", "tell"]

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
