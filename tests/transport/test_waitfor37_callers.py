"""waitfor37: waits with a time limit whose caller is cancelled as their
answer comes, in the same turn of the loop. With Python 3.11's
``asyncio.wait_for`` (gh-86296) the cancellation was lost and the answer
taken: a question withdrawn (the viewer left, a file's sender stopped) as
the host's user said yes was granted all the same, and an agent's request
stopped as the grant came returned. Each race is driven explicitly: the
answer comes and its waiter returns, then the caller is cancelled before
its task runs again (as test_rstop36_room_cancel)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from screencodec.transport import CONTROL, VIEW, Grant, Viewer
from screencodec.transport.channel.memory import channel_pair
from screencodec.transport.connect.reconnect import reconnect
from screencodec.transport.session.consent import QuestionQueue, ask_file, ask_permission
from screencodec.transport.session.permissions import ConsentRequest
from screencodec.transport.session.sidechannels import FileOfferInfo


async def _cancelled_as_answered(asking: asyncio.Future[Any], answer: Callable[[], None]) -> str:
    """Answer, let the answer's waiter return, cancel ``asking``: what it did."""
    answer()
    await asyncio.sleep(0)  # the waiter (a task of its own) returns; ``asking`` has not run
    asking.cancel()
    try:
        return f"returned {await asking!r}"
    except asyncio.CancelledError:
        return "cancelled"


async def _until_asked(asked: list[asyncio.Future[Any]]) -> None:
    for _ in range(50):
        if asked:
            return
        await asyncio.sleep(0)
    raise AssertionError("the question was never put")


def test_a_permission_question_withdrawn_as_its_user_says_yes_grants_nothing() -> None:
    async def main() -> str:
        asked: list[asyncio.Future[Grant]] = []

        def user(request: ConsentRequest) -> Awaitable[Grant]:
            asked.append(asyncio.get_running_loop().create_future())
            return asked[0]

        asking = asyncio.ensure_future(ask_permission(
            QuestionQueue(), "viewer", user, ConsentRequest("Alice", "p", CONTROL), 30))
        await _until_asked(asked)
        return await _cancelled_as_answered(asking, lambda: asked[0].set_result(Grant(CONTROL)))

    # found: returned Answer(value=Grant(level=Permission(bits=2)), outcome="answered", ...)
    assert asyncio.run(main()) == "cancelled"


def test_a_file_question_withdrawn_as_its_user_says_yes_accepts_nothing() -> None:
    async def main() -> str:
        asked: list[asyncio.Future[bool]] = []

        def user(_: FileOfferInfo) -> Awaitable[bool]:
            asked.append(asyncio.get_running_loop().create_future())
            return asked[0]

        asking = asyncio.ensure_future(ask_file(
            QuestionQueue(), "viewer", user, FileOfferInfo("p", "f", 1), 30))
        await _until_asked(asked)
        return await _cancelled_as_answered(asking, lambda: asked[0].set_result(True))

    # found: returned Answer(value=True, outcome="answered", why="")
    assert asyncio.run(main()) == "cancelled"


def test_an_agents_request_stopped_as_the_grant_comes_is_stopped() -> None:
    async def main() -> str:
        _host_end, viewer_end = channel_pair()
        viewer = Viewer(viewer_end, who="Alice")
        viewer.level = VIEW
        asking = asyncio.ensure_future(viewer.request(CONTROL, timeout=30))
        async def sent() -> None:  # the request went: its answer is awaited
            while viewer._pending is None:
                await asyncio.sleep(0)

        await asyncio.wait_for(sent(), 5)
        return await _cancelled_as_answered(
            asking, lambda: viewer._answer(viewer._pending_number, None))

    assert asyncio.run(main()) == "cancelled"  # found: returned False


def test_a_reconnect_ended_as_its_channel_comes_is_ended_and_closes_it() -> None:
    """The person ends the session (/end, Ctrl-C) as the new link is made:
    the reconnect ends, and the link it made is closed, not kept open."""

    async def main() -> tuple[str, bool]:
        made: list[asyncio.Future[Any]] = []
        host_end, viewer_end = channel_pair()

        def connect() -> Awaitable[Any]:
            made.append(asyncio.get_running_loop().create_future())
            return made[0]

        asking = asyncio.ensure_future(reconnect(connect, within=30))
        await _until_asked(made)
        outcome = await _cancelled_as_answered(asking, lambda: made[0].set_result(viewer_end))
        for _ in range(50):  # its close, on a task of its own
            if host_end.closed:
                break
            await asyncio.sleep(0)
        return outcome, viewer_end.closed

    # found: ("returned <...MemoryChannel object ...>", False): the session went on
    assert asyncio.run(main()) == ("cancelled", True)
