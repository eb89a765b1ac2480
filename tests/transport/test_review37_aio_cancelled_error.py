"""review37: what ``aio.wait_for`` does with an error the awaited code
raises as its cancelled caller stops it (its cleanup fails: a bug).
``asyncio.wait_for`` on 3.10/3.11 left that error in the inner task, and
asyncio reported it ("Task exception was never retrieved"); on 3.12+ the
caller got it instead of its CancelledError. ``aio.wait_for`` retrieved it
and dropped it (its ``_drop``), so a bug in the cleanup of a cancelled wait
was told nowhere (review37); since audit38 it gives it to the loop's
exception handler with a message saying so, and its caller still gets its
CancelledError."""

from __future__ import annotations

import asyncio
import gc
import sys
from typing import Any

import pytest

from screencodec.transport.aio import wait_for


async def _cleanup_fails() -> None:
    try:
        await asyncio.Event().wait()
    finally:
        raise ValueError("a bug in the cleanup")


async def _cleanup_passes() -> None:
    await asyncio.Event().wait()


def _reported(impl: Any, messages: list[str] | None = None,
              inner: Any = _cleanup_fails) -> list[str]:
    """The caller cancelled while waiting: what reached the loop's
    exception handler, or the caller (its messages to ``messages``)."""
    told: list[str] = []

    def handler(_loop: asyncio.AbstractEventLoop, ctx: dict[str, Any]) -> None:
        told.append(repr(ctx.get("exception")))
        if messages is not None:
            messages.append(str(ctx.get("message")))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(handler)
        caller = asyncio.ensure_future(impl(inner(), 10))
        await asyncio.sleep(0.01)
        caller.cancel()
        try:
            await caller
        except asyncio.CancelledError:
            pass
        except ValueError as exc:
            told.append(repr(exc))
        for _ in range(5):
            await asyncio.sleep(0)
        del caller
        gc.collect()  # asyncio tells an error never retrieved as its task goes

    asyncio.run(main())
    return told


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.12+ gives it to the caller")
def test_asyncio_wait_for_reported_it() -> None:
    assert _reported(asyncio.wait_for) == ["ValueError('a bug in the cleanup')"]


def test_aio_wait_for_reports_it() -> None:
    """Once, to the loop's handler (the caller got CancelledError, else
    ``_reported`` would have listed it from the caller as well)."""
    messages: list[str] = []
    assert _reported(wait_for, messages) == ["ValueError('a bug in the cleanup')"]
    assert messages == ["aio.wait_for: the awaited code raised an error after its caller"
                        " was cancelled (the caller got its CancelledError)"]


def test_aio_wait_for_reports_nothing_for_a_clean_cancel() -> None:
    """The inner ends on its CancelledError: nothing to tell."""
    assert _reported(wait_for, inner=_cleanup_passes) == []
