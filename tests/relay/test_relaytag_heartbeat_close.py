"""A relay's close() while its heartbeat waits on the directory. On Python
3.11 ``asyncio.wait_for`` swallows a cancellation that lands as the call it
waits for completes, and the Redis directory waits on each call that way:
the heartbeat went on beating and close() waited on it for ever (found as a
relay process that did not exit after SIGTERM in test_relay_log, and a
cluster test stuck in close for 60 s, once the heartbeat also read the
cluster's members). A directory call that returns as it is cancelled, in
the heartbeat, as close() cancels it: close() must return."""

from __future__ import annotations

import asyncio
import contextlib

from screencodec.transport.relay import MemoryDirectory, Relay, RelayLimits

from .cluster import run


class _SwallowingDirectory(MemoryDirectory):
    """Once ``armed``, ``members()`` waits until it is cancelled and then
    returns as if its answer had come in that very step (what 3.11's
    wait_for does then), once; ``waiting`` is set while it waits."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = False
        self.waiting = asyncio.Event()

    async def members(self) -> list[str]:
        if self.armed:
            self.armed = False
            self.waiting.set()
            with contextlib.suppress(asyncio.CancelledError):  # its answer came then
                await asyncio.sleep(30)
        return await super().members()


def test_close_ends_a_heartbeat_whose_directory_call_swallowed_the_cancellation() -> None:
    async def main() -> None:
        directory = _SwallowingDirectory()
        relay = Relay(limits=RelayLimits(claim_ttl=0.3), directory=directory)
        await relay.start()
        directory.armed = True
        await asyncio.wait_for(directory.waiting.wait(), 5)  # the heartbeat waits on it
        await asyncio.wait_for(relay.close(), 5)

    run(main(), 20)
