"""review37: what ``aio.wait_for`` does with an error the awaited code
raises as its cancelled caller stops it (its cleanup fails: a bug).
``asyncio.wait_for`` on 3.10/3.11 left that error in the inner task, and
asyncio reported it ("Task exception was never retrieved"); on 3.12+ the
caller got it instead of its CancelledError. ``aio.wait_for`` retrieves it
and drops it (its ``_drop``): a bug in the cleanup of a cancelled wait is
now told nowhere."""

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


def _reported(impl: Any) -> list[str]:
    """The caller cancelled while waiting: what reached the loop's
    exception handler, or the caller."""
    told: list[str] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _loop, ctx: told.append(repr(ctx.get("exception"))))
        caller = asyncio.ensure_future(impl(_cleanup_fails(), 10))
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


@pytest.mark.xfail(strict=True, reason="review37: found [] (aio.wait_for's _drop retrieves the"
                   " error and drops it); expected it reported as asyncio.wait_for did")
def test_aio_wait_for_reports_it() -> None:
    assert _reported(wait_for) == ["ValueError('a bug in the cleanup')"]
