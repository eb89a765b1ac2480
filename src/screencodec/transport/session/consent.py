"""Asking the local user: the callback type, the timeout rule, and a terminal prompt.

The rule that matters: *no answer is no*. :func:`ask` bounds every consent
callback with a timeout and turns a timeout, an exception or a grant wider than
what was asked into a denial (or the asked-for subset), so a buggy or absent
UI can never open the screen.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import ClassVar, TextIO

from screencodec.transport.session.permissions import ConsentRequest, Grant, Permission

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
    """Ask on the terminal, ``[y/N]``; only ``y``/``yes`` typed *after* the
    question grants (see :func:`terminal_yes_no`). The deadline in :func:`ask`
    applies; one question is on screen at a time."""
    lock = asyncio.Lock()
    try:
        # Start reading now, so lines typed before the first question are
        # seen, and discarded, as typed-ahead (needs the running loop).
        asyncio.get_running_loop()
        _LineReader.for_stream(stdin or sys.stdin)
    except RuntimeError:
        pass  # created outside the loop: the reader starts with the first question

    async def _cb(request: ConsentRequest) -> Grant:
        async with lock:
            yes = await terminal_yes_no(request.describe(), stdin, stdout)
        return Grant(request.level) if yes else Grant.deny()

    return _cb


async def terminal_yes_no(
    question: str, stdin: TextIO | None = None, stdout: TextIO | None = None
) -> bool:
    """Print ``question [y/N]`` and read one line; only ``y``/``yes`` is yes.

    Lines typed before the question was shown are discarded: an answer must
    answer *this* question (a stray ``y`` typed earlier, or the answer to a
    question that already timed out, must never open the screen). Callers
    bound it with a timeout: an unanswered prompt is a no.
    """
    reader = _LineReader.for_stream(stdin or sys.stdin)
    reader.discard_pending()
    out = stdout or sys.stdout
    out.write(f"\n*** {question} [y/N] ")
    out.flush()
    line = await reader.next_line()
    return line.strip().lower() in ("y", "yes")


class _LineReader:
    """One daemon thread per (stream, event loop) reading lines into a queue.

    A daemon thread, because an unanswered prompt must not keep the process
    alive at exit (``asyncio.to_thread`` workers are joined); one thread per
    stream, so a question that timed out cannot leave a reader behind that
    steals the answer to the next one. End of input reads as "" (= no).
    """

    _readers: ClassVar[dict[tuple[int, int], _LineReader]] = {}

    def __init__(self, stream: TextIO, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._eof = False
        threading.Thread(target=self._run, args=(stream,), name="stdin-lines", daemon=True).start()

    @classmethod
    def for_stream(cls, stream: TextIO) -> _LineReader:
        loop = asyncio.get_running_loop()
        key = (id(stream), id(loop))
        reader = cls._readers.get(key)
        if reader is None:
            reader = cls._readers[key] = cls(stream, loop)
        return reader

    def _run(self, stream: TextIO) -> None:
        while True:
            try:
                line = stream.readline()
            except (OSError, ValueError):
                line = ""
            try:
                self._loop.call_soon_threadsafe(self._queue.put_nowait, line)
            except RuntimeError:  # the loop is closed: nobody will ask again
                return
            if not line:
                return

    def discard_pending(self) -> None:
        while not self._queue.empty():
            if self._queue.get_nowait() == "":
                self._eof = True

    async def next_line(self) -> str:
        if self._eof:
            return ""
        line = await self._queue.get()
        if line == "":
            self._eof = True
        return line
