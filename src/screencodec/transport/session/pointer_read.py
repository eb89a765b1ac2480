"""One monitor's pointer read on the host's event loop (cursor52).

:meth:`CaptureHub.cursor <screencodec.transport.session.screens.CaptureHub.cursor>`
read the pointer on a capture worker, 60 times a second per viewer: each
poll a hop to a thread and back (a queue, a thread woken, the loop woken
through its self-pipe), which cost an idle 1080p host as much CPU as the
rest of its stillness. A source that has a :class:`LoopCursor` (ScreenSource:
XFixes on a connection of its own) is read here instead, on the loop:

* the question is written (a 12-byte QueryPointer, never waits) and its
  answer, which a local X server gives in tens of microseconds, is waited
  for in place up to :data:`PROMPT` s (one ``poll`` on the connection): no
  turn of the loop. A turn or two per poll cost about what the worker hop
  did: add_reader alone saved 0.15-0.4 % of a core (three runs of four),
  this 1.2-3 % (benchmarks/RESULTS.md "cursor52");
* slower than that (a loaded machine, a new shape's image to read), the
  loop watches the connection (``add_reader``) and the read resumes when
  the answer is all in, the loop free meanwhile; viewers polling then
  share that read, as they share one within the hub's ``reuse`` s;
* not answered within ``within`` s (a stopped server), the read fails
  with the hub's CaptureError for a monitor that did not answer
  (:class:`NotAnsweredError`); a connection that fails (the server gone)
  loses the pointer for good: None from then on, as
  :meth:`ScreenSource.cursor` gives up. The grabs' own failure ends the
  capture, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import time
from collections.abc import Callable

from screencodec.capture.base import CursorState, LoopCursor
from screencodec.errors import CaptureError

__all__ = ["PROMPT", "LoopPointer", "NotAnsweredError"]

#: How long a read waits for the answer in place, holding the loop (s).
PROMPT = 0.001


class NotAnsweredError(CaptureError):
    """A call into a source was not answered in time."""


class LoopPointer:
    """A :class:`LoopCursor`, read on the loop that calls :meth:`read`."""

    def __init__(self, cursor: LoopCursor, *, within: float, reuse: float,
                 counted: Callable[[], None] = lambda: None) -> None:  # fmt: skip
        self._cursor = cursor
        self._counted = counted  # called for each answer taken
        self._fd = cursor.fileno()
        # poll, not select.select: a host's descriptors may pass 1023.
        self._readable = select.poll()
        self._readable.register(self._fd, select.POLLIN)
        self.within = within
        self._reuse = reuse
        self._state: CursorState | None = None
        self._at = -1.0  # when _state was read
        self._waiter: asyncio.Future[CursorState | None] | None = None  # a read under way
        self._timer: asyncio.TimerHandle | None = None
        self.lost = False  # the connection failed: None for good
        #: What the connection met when it failed (ends53: a watcher ends with it).
        self.failure: Exception | None = None
        self.closed = False
        #: Answers taken (polls shared by viewers count once).
        self.reads = 0

    async def read(self) -> CursorState | None:
        """The pointer; None once lost or closed; NotAnsweredError (a
        CaptureError) when an answer did not come within :attr:`within` s."""
        if self.lost or self.closed:
            return None
        if self._waiter is None:
            if time.monotonic() - self._at <= self._reuse:
                return self._state
            try:
                self._cursor.ask()
                if self._readable.poll(PROMPT * 1000):
                    return self._took(self._cursor.answer())
            except BlockingIOError:
                pass
            except Exception as exc:  # the server is gone, or said what does not hold together
                self._lose(exc)
                return None
            self._wait()
        assert self._waiter is not None
        # Shielded: a viewer's poll cancelled (its session ending) does not
        # end the read another viewer waits for too.
        return await asyncio.shield(self._waiter)

    def _took(self, state: CursorState) -> CursorState:
        self._state, self._at = state, time.monotonic()
        self.reads += 1
        self._counted()
        return state

    def _lose(self, exc: Exception) -> None:
        self.lost = True
        self.failure = exc
        self._end(None)

    def _wait(self) -> None:
        loop = asyncio.get_running_loop()
        self._waiter = loop.create_future()
        loop.add_reader(self._fd, self._came)
        self._timer = loop.call_later(self.within, self._late)

    def _came(self) -> None:
        try:
            state = self._cursor.answer()
        except BlockingIOError:
            return  # more to come
        except Exception as exc:
            self._lose(exc)
            return
        self._end(self._took(state))

    def _late(self) -> None:
        self._timer = None
        self._end(NotAnsweredError(f"the screen did not answer within {self.within:g} s"))

    def _end(self, outcome: CursorState | Exception | None) -> None:
        """The read under way (if any) ends with ``outcome``; the loop
        stops watching the connection."""
        waiter, self._waiter = self._waiter, None
        if waiter is None:
            return
        asyncio.get_running_loop().remove_reader(self._fd)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if waiter.done():
            return
        if isinstance(outcome, Exception):
            waiter.set_exception(outcome)
            # Retrieved or not (its viewers may all have gone): not logged.
            waiter.exception()
        else:
            waiter.set_result(outcome)

    def close(self) -> None:
        """On the loop: a read under way answers None, the connection is
        closed (never waits for the server)."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(RuntimeError):  # no running loop: nothing is watched
            self._end(None)
        self._cursor.close()
