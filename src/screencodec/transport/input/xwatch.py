"""Watchers of the local user on an X connection of their own
(:mod:`.xpresses`; :mod:`.xtest`'s pointer watcher was one until ends53, and
now reads on the loop, :mod:`.xpointer`): the X round trips of each poll on
a thread, what they read on the event loop, and a server that stops
answering cut off instead of holding the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import queue
import socket
import threading
from collections.abc import Callable
from typing import Any

from screencodec.errors import CaptureError
from screencodec.transport.input.xdisplay import _CUT_TIMEOUT, ANSWER_WITHIN, _close_display

__all__ = ["PollingWatcher"]


class PollingWatcher:
    """A watcher of the local user on its own X connection: every ``period``
    s, ``_read`` (its round trips) on a daemon thread of the watcher's own,
    then ``_seen`` with what it read, on the event loop. Run with ``task =
    asyncio.create_task(watcher.run())``; cancel or :meth:`close` to stop.

    The round trips are off the loop: a server that stops answering (a
    stopped or hung X server) held the host's whole event loop in a read
    that never returned, and with it the sessions and even Ctrl-C. Now a
    poll not answered within ``answer_within`` s cuts the connection and
    ends ``run`` with a CaptureError that says so.

    State: ``_disp``, the connection (None once closed); ``_busy``, whether
    a read is on the thread (the connection is then the thread's alone:
    :meth:`close` cuts its socket and leaves the close to the thread)."""

    _disp: Any
    _period: float
    answer_within: float = ANSWER_WITHIN
    _busy = False
    _jobs: queue.SimpleQueue[Callable[[], None] | None] | None = None

    def _read(self) -> Any:
        """The X round trips of one poll, on the watcher's thread."""
        raise NotImplementedError

    def _seen(self, read: Any) -> None:
        """What one poll read (``_read``'s), on the event loop."""
        raise NotImplementedError

    async def run(self) -> None:
        """Poll until cancelled, or until :meth:`close` (then it returns); a
        dead X server ends it with the connection's error, one that does not
        answer with a CaptureError, and the connection is closed either way."""
        loop = asyncio.get_running_loop()
        jobs = self._jobs = queue.SimpleQueue()
        thread = threading.Thread(target=_do_jobs, args=(jobs,), name="x-watcher", daemon=True)
        thread.start()
        try:
            while self._disp is not None:
                read = loop.create_future()
                self._busy = True
                jobs.put(functools.partial(_answer, loop, read, self._read))
                try:
                    done, _ = await asyncio.wait({read}, timeout=self.answer_within)
                finally:
                    self._busy = not read.done()  # still reading: given up on
                    read.cancel()  # (done: nothing) what the read meets is not wanted
                if not done:
                    self._cut()
                    raise CaptureError(f"the X server did not answer within"
                                       f" {self.answer_within:g} s")  # fmt: skip
                if self._disp is None:
                    return  # closed meanwhile: what the read met does not matter
                self._seen(read.result())
                await asyncio.sleep(self._period)
        finally:
            self.close()
            jobs.put(None)  # the thread ends once it has done what it was given
            # A read given up on fails at once on its cut socket, and the
            # thread then closes it: the connection is released on return.
            thread.join(_CUT_TIMEOUT)

    def _cut(self) -> None:
        """Shut the connection's socket: a read waiting on it ends."""
        sock = getattr(getattr(self._disp, "display", None), "socket", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """Close the watcher's X connection (``run`` does when it ends);
        quiet and idempotent, also once the X server is gone. While a read
        is on the watcher's thread, its socket is shut and the thread
        closes it after the read."""
        if self._busy and self._jobs is not None and self._disp is not None:
            self._cut()
            disp, self._disp = self._disp, None
            self._jobs.put(functools.partial(_close_display, disp))
            return
        disp, self._disp = self._disp, None
        _close_display(disp)


def _do_jobs(jobs: queue.SimpleQueue[Callable[[], None] | None]) -> None:
    """A watcher's thread: its jobs, in order, until None."""
    while (job := jobs.get()) is not None:
        job()


def _answer(loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any],
            fn: Callable[[], Any]) -> None:  # fmt: skip
    """On a watcher's thread: ``fn()``, its result or error set on ``future``."""
    try:
        result = fn()
    except Exception as exc:
        outcome = functools.partial(_settle, future, None, exc)
    else:
        outcome = functools.partial(_settle, future, result, None)
    with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
        loop.call_soon_threadsafe(outcome)


def _settle(future: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
    if future.done():  # given up on (a timeout, run cancelled)
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)
