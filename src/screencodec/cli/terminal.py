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
import sys

__all__ = ["drop_stdout", "settle_stdout", "tell"]


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
