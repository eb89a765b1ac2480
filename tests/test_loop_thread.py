"""tests/loop_thread.py, the event loop in a background thread the tests
run hosts, relays and servers on: what its close leaves behind."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator

import pytest

from loop_thread import LoopThread


def test_call_returns_and_raises_as_the_coroutine_does() -> None:
    async def where() -> threading.Thread:
        return threading.current_thread()

    async def fails() -> None:
        raise ValueError("on the loop")

    with LoopThread() as loop:
        assert loop.call(where()) is loop.thread
        with pytest.raises(ValueError, match="on the loop"):
            loop.call(fails())
        assert loop.submit(where()).result(10) is loop.thread


def test_close_cancels_what_is_left_and_runs_its_finally_blocks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cleaned: list[str] = []

    async def forever(name: str) -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            cleaned.append(name)

    async def generator() -> AsyncIterator[int]:
        try:
            yield 1
            await asyncio.sleep(3600)
        finally:
            cleaned.append("generator")

    async def start() -> None:
        started.append(asyncio.ensure_future(forever("task")))
        agen = generator()
        await agen.__anext__()  # left suspended, its finally not run yet
        started.append(agen)

    started: list[object] = []  # (referenced here, as a program would)
    caplog.set_level(logging.ERROR, logger="asyncio")
    loop = LoopThread()
    loop.submit(forever("submitted"))
    loop.call(start())
    loop.close()
    assert sorted(cleaned) == ["generator", "submitted", "task"]
    assert loop.loop.is_closed() and not loop.thread.is_alive()
    # Nothing was destroyed pending ("Task was destroyed but it is pending!").
    assert not caplog.records, caplog.records
    loop.close()  # twice is once


def test_a_subclass_closes_its_own_first() -> None:
    order: list[str] = []

    class Served(LoopThread):
        async def aclose(self) -> None:
            order.append("own")
            raise OSError("its server would not close")

    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            order.append("left")

    served = Served()
    served.submit(forever())
    with pytest.raises(OSError, match="would not close"):
        served.close()
    # The rest was cancelled all the same, and the loop closed.
    assert order == ["own", "left"] and served.loop.is_closed()
