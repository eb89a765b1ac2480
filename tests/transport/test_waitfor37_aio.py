"""waitfor37: screencodec.transport.aio.wait_for, the time limit the library
uses instead of asyncio.wait_for, whose caller's cancellation is lost on
Python < 3.12 when it comes in the same turn as the inner awaitable
finishes (gh-86296). Each race is driven explicitly: the inner finishes,
and the caller is cancelled, before the caller's task runs again."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from screencodec.transport.aio import wait_for

WaitFor = Callable[[Awaitable[Any], float | None], Awaitable[Any]]

#: The helper, and asyncio's own: that one loses the cancellation here (3.11).
IMPLS = [
    pytest.param(wait_for, id="aio.wait_for"),
    pytest.param(asyncio.wait_for, id="asyncio.wait_for", marks=pytest.mark.xfail(
        sys.version_info < (3, 12), strict=True,
        reason="gh-86296: found 'returned: done', the caller's cancellation lost")),
]
#: The same; asyncio's runs a coroutine in its caller's task from 3.12 on:
#: there is no turn in which it returned and its caller did not run.
CORO_IMPLS = [*IMPLS[:1], pytest.param(asyncio.wait_for, id="asyncio.wait_for", marks=[
    pytest.mark.skipif(sys.version_info >= (3, 12), reason="no such turn on 3.12+"),
    *IMPLS[1].marks])]


@pytest.mark.parametrize("impl", IMPLS)
def test_a_cancel_as_a_future_gets_its_result_wins(impl: WaitFor) -> None:
    async def main() -> str:
        answer = asyncio.get_running_loop().create_future()
        waiting = asyncio.ensure_future(impl(answer, 10))
        await asyncio.sleep(0)  # it waits
        answer.set_result("done")  # the answer comes...
        waiting.cancel()  # ...and its caller is cancelled in the same turn
        try:
            return f"returned: {await waiting}"
        except asyncio.CancelledError:
            return "cancelled"

    assert asyncio.run(main()) == "cancelled"


@pytest.mark.parametrize("impl", CORO_IMPLS)
def test_a_cancel_as_a_coroutine_returns_wins(impl: WaitFor) -> None:
    async def main() -> str:
        gate = asyncio.Event()
        returned: list[str] = []

        async def inner() -> str:
            await gate.wait()
            returned.append("done")
            return "done"

        waiting = asyncio.ensure_future(impl(inner(), 10))
        await asyncio.sleep(0)
        await asyncio.sleep(0)  # it waits, and inner() waits for the gate
        gate.set()
        await asyncio.sleep(0)  # inner() returns; its caller has not run since
        assert returned == ["done"]
        waiting.cancel()
        try:
            return f"returned: {await waiting}"
        except asyncio.CancelledError:
            return "cancelled"

    assert asyncio.run(main()) == "cancelled"


def test_a_cancel_while_the_time_out_waits_for_the_inner_wins() -> None:
    async def main() -> str:
        cancelled, let_go = asyncio.Event(), asyncio.Event()

        async def slow_to_stop() -> None:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.set()
                await let_go.wait()  # cut short by the second cancel
                raise

        waiting = asyncio.ensure_future(wait_for(slow_to_stop(), 0.01))
        await asyncio.wait_for(cancelled.wait(), 5)  # the time ran out
        waiting.cancel()
        try:
            await waiting
        except asyncio.CancelledError:
            return "cancelled"
        except asyncio.TimeoutError:
            return "timed out"
        return "returned"

    assert asyncio.run(main()) == "cancelled"


def test_the_time_out_raises_asyncios_timeout_error_once_the_inner_ended() -> None:
    async def main() -> list[str]:
        seen: list[str] = []

        async def never() -> None:
            try:
                await asyncio.Event().wait()
            finally:
                seen.append("inner ended")

        try:
            await wait_for(never(), 0.01)
        except asyncio.TimeoutError as exc:  # what every caller catches, also on 3.10
            seen.append(type(exc).__name__)
        return seen

    assert asyncio.run(main()) == ["inner ended", "TimeoutError"]


def test_results_exceptions_and_no_limit_pass_through() -> None:
    async def main() -> list[object]:
        async def value() -> int:
            await asyncio.sleep(0)
            return 7

        async def fails() -> None:
            await asyncio.sleep(0)
            raise KeyError("x")

        done = asyncio.get_running_loop().create_future()
        done.set_result("ready")
        out: list[object] = [await wait_for(value(), 1), await wait_for(value(), None),
                             await wait_for(done, 0)]  # fmt: skip
        try:
            await wait_for(fails(), 1)
        except KeyError as exc:
            out.append(repr(exc))
        try:
            await wait_for(value(), 0)  # not started: as asyncio.wait_for, too late
        except asyncio.TimeoutError:
            out.append("timed out")
        return out

    assert asyncio.run(main()) == [7, 7, "ready", "KeyError('x')", "timed out"]


def test_a_cancelled_caller_waits_for_the_inner_to_end() -> None:
    async def main() -> list[str]:
        seen: list[str] = []
        started = asyncio.Event()

        async def inner() -> None:
            started.set()
            try:
                await asyncio.Event().wait()
            finally:
                await asyncio.sleep(0.01)  # its cleanup takes a while
                seen.append("inner ended")

        waiting = asyncio.ensure_future(wait_for(inner(), 10))
        await started.wait()
        waiting.cancel()
        try:
            await waiting
        except asyncio.CancelledError:
            seen.append("caller cancelled")
        return seen

    assert asyncio.run(main()) == ["inner ended", "caller cancelled"]


def test_what_the_cancelled_caller_drops_is_given_back() -> None:
    """A lock acquired as its caller was cancelled is released (dropped)."""

    async def main() -> tuple[str, bool]:
        lock = asyncio.Lock()
        await lock.acquire()
        waiting = asyncio.ensure_future(
            wait_for(lock.acquire(), 10, dropped=lambda _: lock.release()))
        for _ in range(3):
            await asyncio.sleep(0)  # it waits for the lock
        lock.release()
        await asyncio.sleep(0)  # the inner acquire returns; its caller has not run since
        waiting.cancel()
        try:
            await waiting
            outcome = "returned"
        except asyncio.CancelledError:
            outcome = "cancelled"
        await asyncio.sleep(0)
        return outcome, lock.locked()

    assert asyncio.run(main()) == ("cancelled", False)


def test_a_shielded_inner_goes_on_after_the_time_out() -> None:
    async def main() -> tuple[bool, str]:
        answer = asyncio.get_running_loop().create_future()
        with contextlib.suppress(asyncio.TimeoutError):
            await wait_for(asyncio.shield(answer), 0.01)
        cancelled = answer.cancelled()
        answer.set_result("later")
        return cancelled, await answer

    assert asyncio.run(main()) == (False, "later")
