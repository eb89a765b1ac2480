"""How ``screencodec recordings`` prints: one line a file, made harmless for
the auditor's terminal, and a reader that left (``list DIR | head``) ended
without a word."""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

__all__ = ["_LINE", "_reader_left", "_say", "_stdout_gone"]


def _stdout_gone() -> bool:
    """Whether standard output is a pipe (or socket) whose reader has left
    (``recordings list DIR | head``): its write end polls as an error."""
    import select

    try:
        poll = select.poll()
        poll.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poll.poll(0))
    except (OSError, ValueError, AttributeError):
        return False


def _reader_left() -> int:
    """The reader of the output left: stop without a word (what is still
    buffered goes nowhere, not into an error at the interpreter's exit),
    with the status a command killed by SIGPIPE has in the shell."""
    import os

    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return 128 + 13  # SIGPIPE


#: The longest line the commands print about one file (a path is up to 4096).
_LINE = 8192


def _say(line: str) -> None:
    """One line about a recording, harmless on the auditor's terminal: it
    holds the file's name (anyone who can write the directory chose it: an
    escape sequence would retitle or clear the terminal) and what the file
    says of itself."""
    from screencodec.transport.channel.display import safe_text

    print(safe_text(line, _LINE))
