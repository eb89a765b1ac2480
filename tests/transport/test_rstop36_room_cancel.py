"""A file's send cancelled while it waits for room in its BulkWindow, as
room comes in the same turn of the loop (a confirmation read just before):
the cancellation must stop the send. Found while rstop36 ran
test_cancel36_host_stop under -n 2 load (2 of 8 runs): the host's /stop was
lost and the file was "delivered". On Python 3.11 ``asyncio.wait_for``
returns the inner result when the outer task is cancelled after the inner
completed (gh-86296), and BulkWindow.wait_room waited through it."""

from __future__ import annotations

import asyncio

from screencodec.transport.session.pacing import BulkWindow


def test_a_cancel_as_room_comes_is_not_lost() -> None:
    async def main() -> str:
        window = BulkWindow()
        full = int(window.window) + 1
        window.sent(1, full, full)  # more in flight than the window: no room
        waiting = asyncio.ensure_future(window.wait_room(1))
        await asyncio.sleep(0)  # it waits for room
        window.confirmed(1, full)  # room comes...
        waiting.cancel()  # ...and the send is cancelled in the same turn
        try:
            await waiting
        except asyncio.CancelledError:
            return "cancelled"
        return "returned: the cancellation was lost"

    assert asyncio.run(main()) == "cancelled"
