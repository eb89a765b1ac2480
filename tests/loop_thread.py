"""An asyncio event loop running in a background thread, for tests whose own
thread blocks (on a subprocess, Chromium, a pty) while a Host, listener,
relay, proxy or web server runs on the loop.

    with LoopThread() as loop:
        host, listener = loop.call(start())
        ...

A class that is "something on a loop of its own thread" subclasses it and
closes its own things on the loop in :meth:`LoopThread.aclose`."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

__all__ = ["LoopThread"]

T = TypeVar("T")
L = TypeVar("L", bound="LoopThread")

#: How long :meth:`LoopThread.close` waits for the loop's thread to stop.
_JOIN = 5.0


class LoopThread:
    """A new event loop, run forever in a daemon thread until :meth:`close`.

    ``timeout``: how long :meth:`call` and :meth:`close` wait, unless told
    otherwise."""

    def __init__(self, *, timeout: float = 10) -> None:
        self.timeout = timeout
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``coro`` on the loop; its future, not waited for."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and wait for its result (its exception
        raised here); TimeoutError after ``timeout`` seconds."""
        return self.submit(coro).result(self.timeout if timeout is None else timeout)

    async def aclose(self) -> None:
        """What a subclass closes on the loop (its server, its host) before
        :meth:`close` cancels the tasks left."""

    def close(self, timeout: float | None = None) -> None:
        """:meth:`aclose`, then cancel the tasks still on the loop and wait
        for them (their finally blocks run now, and none is destroyed
        pending), all within ``timeout``; then stop the loop, join its
        thread and close the loop, whatever came before. Twice is once."""
        if self.loop.is_closed():
            return
        try:
            if self.thread.is_alive():
                self.call(self._end(), timeout)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(_JOIN)
            if self.thread.is_alive():  # a callback blocks it: a hang, said
                raise AssertionError(f"the event loop's thread did not stop within {_JOIN:g} s")
            self.loop.close()

    async def _end(self) -> None:
        try:
            await self.aclose()
        finally:
            await _cancel_the_rest()

    def __enter__(self: L) -> L:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


async def _cancel_the_rest() -> None:
    """What ``asyncio.run`` does to a loop before closing it."""
    rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in rest:
        task.cancel()
    await asyncio.gather(*rest, return_exceptions=True)
    await asyncio.get_running_loop().shutdown_asyncgens()
