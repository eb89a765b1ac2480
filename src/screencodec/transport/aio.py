"""A time limit on an awaitable whose caller's cancellation always wins.

On Python < 3.12 ``asyncio.wait_for`` returns the inner result when its
caller is cancelled in the same turn of the loop as the inner awaitable
finishes: the cancellation is lost (CPython gh-86296). A task cancelled on
``/stop``, ``/end``, a disconnect or a close then went on (rstop36: a file
went on to its end after the host's ``/stop``). :func:`wait_for` is used
instead everywhere in the library (a ruff rule bans ``asyncio.wait_for``).

One implementation for every Python version, so what runs on 3.10 and 3.12
is what the tests run here: the awaitable runs in a task of its own, as
``asyncio.wait_for`` ran it before 3.12 (its context is a copy: what
:mod:`.session.owncode` records of it is the inner task's)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["wait_for"]

T = TypeVar("T")


async def wait_for(aw: Awaitable[T], timeout: float | None, *,
                   dropped: Callable[[T], object] | None = None) -> T:  # fmt: skip
    """``await aw`` for ``timeout`` seconds at most (None: no limit).

    On time out ``aw`` is cancelled and waited for, then
    ``asyncio.TimeoutError`` raised (the builtin TimeoutError on 3.11+; on
    3.10 asyncio's own, as there ``asyncio.wait_for``'s); if it finished
    anyway, its outcome is returned. When the caller is cancelled, ``aw`` is
    cancelled and waited for, and CancelledError raised, also if ``aw`` had
    finished meanwhile: its result is then given to ``dropped`` (e.g. to
    release a lock it acquired, close a connection it opened), late as it
    may come. An exception it raised instead (other than CancelledError:
    e.g. its cleanup failed as it was stopped) goes to the loop's exception
    handler, as asyncio told it before 3.12 ("Task exception was never
    retrieved"); the caller still gets its CancelledError."""
    inner = asyncio.ensure_future(aw)
    timed_out = False
    try:
        if timeout is None or timeout > 0:
            await asyncio.wait({inner}, timeout=timeout)
        if not inner.done():
            inner.cancel()
            await asyncio.wait({inner})
            timed_out = inner.cancelled()  # else it finished as it was cancelled
    except asyncio.CancelledError:
        inner.add_done_callback(lambda done: _drop(done, dropped))
        if not inner.done():
            inner.cancel()
            await asyncio.wait({inner})  # cancelled again meanwhile: it ends on its own
        raise
    if timed_out:
        raise asyncio.TimeoutError
    return inner.result()


def _drop(inner: asyncio.Future[T], dropped: Callable[[T], object] | None) -> None:
    """Retrieve the outcome of an awaitable whose caller was cancelled: its
    result to ``dropped``, an error it raised to the loop's exception handler
    (no caller is left to get it)."""
    if inner.cancelled():
        return
    exc = inner.exception()
    if exc is not None:
        inner.get_loop().call_exception_handler({
            "message": "aio.wait_for: the awaited code raised an error after its"
                       " caller was cancelled (the caller got its CancelledError)",
            "exception": exc,
            "future": inner,
        })
        return
    if dropped is not None:
        dropped(inner.result())
