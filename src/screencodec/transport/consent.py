"""Asking the local user: the callback type, the timeout rule, and a terminal prompt.

The rule that matters: *no answer is no*. :func:`ask` bounds every consent
callback with a timeout and turns a timeout, an exception or a grant wider than
what was asked into a denial (or the asked-for subset), so a buggy or absent
UI can never open the screen.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import TextIO

from .permissions import ConsentRequest, Grant, Permission

__all__ = [
    "ConsentCallback",
    "allow",
    "ask",
    "deny",
    "terminal_consent",
    "terminal_yes_no",
]

ConsentCallback = Callable[[ConsentRequest], Awaitable[Grant]]


async def ask(callback: ConsentCallback, request: ConsentRequest, timeout: float) -> Grant:
    """Run ``callback`` with a deadline; never grant more than was asked."""
    try:
        grant = await asyncio.wait_for(callback(request), timeout)
    except asyncio.TimeoutError:
        return Grant.deny()
    except asyncio.CancelledError:
        raise
    except Exception:  # a crashing consent UI must fail closed, not open
        return Grant.deny()
    if not isinstance(grant, Grant):
        return Grant.deny()
    return Grant(grant.level & request.level)


def allow(level: Permission | None = None) -> ConsentCallback:
    """A callback that grants what is asked (or only ``level``): tests, kiosks."""

    async def _cb(request: ConsentRequest) -> Grant:
        return Grant(request.level if level is None else request.level & level)

    return _cb


def deny() -> ConsentCallback:
    async def _cb(request: ConsentRequest) -> Grant:
        return Grant.deny()

    return _cb


def terminal_consent(stdin: TextIO | None = None, stdout: TextIO | None = None) -> ConsentCallback:
    """Ask on the terminal, ``[y/N]``; only ``y``/``yes`` grants.

    The blocking ``readline`` runs in a worker thread so the session keeps
    running; the deadline in :func:`ask` still applies (the thread is left
    waiting for a line that will then be ignored: a known cost of stdin).
    """
    lock = asyncio.Lock()  # one question on screen at a time

    async def _cb(request: ConsentRequest) -> Grant:
        async with lock:
            yes = await terminal_yes_no(request.describe(), stdin, stdout)
        return Grant(request.level) if yes else Grant.deny()

    return _cb


async def terminal_yes_no(
    question: str, stdin: TextIO | None = None, stdout: TextIO | None = None
) -> bool:
    """Print ``question [y/N]`` and read one line; only ``y``/``yes`` is yes.
    Callers bound it with a timeout (an unanswered prompt is a no)."""
    out = stdout or sys.stdout
    out.write(f"\n*** {question} [y/N] ")
    out.flush()
    line = await _readline_daemon(stdin or sys.stdin)
    return line.strip().lower() in ("y", "yes")


async def _readline_daemon(inp: TextIO) -> str:
    """``inp.readline()`` in a daemon thread: an unanswered prompt must not keep
    the process alive at exit (``asyncio.to_thread`` would be joined)."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[str] = loop.create_future()

    def _done(line: str) -> None:
        if not fut.done():
            fut.set_result(line)

    def _run() -> None:
        try:
            line = inp.readline()
        except (OSError, ValueError):
            line = ""
        # RuntimeError: the loop is already closed, nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_done, line)

    threading.Thread(target=_run, name="consent-stdin", daemon=True).start()
    return await fut
