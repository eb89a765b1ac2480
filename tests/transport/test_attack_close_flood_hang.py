"""A peer flooding densely during our linger cannot hold the close open: on
Python <= 3.11 asyncio.wait_for swallows a cancellation that lands as the
inner read completes, so an outer wait_for(linger) never ended the linger
while data kept coming; each read is now bounded by the deadline itself."""

from __future__ import annotations

import asyncio
import os

from screencodec.transport.channel.limits import Timeouts

from .secure_fixtures import both_loops, direct_pair, run

HOSTILE = Timeouts(handshake=5.0, idle=None, keepalive=None, max_duration=None, linger=0.5)


@both_loops
def test_a_dense_flood_during_the_linger_cannot_hold_the_close(loop_kind: str) -> None:
    async def main() -> None:
        async with direct_pair(timeouts=HOSTILE) as (viewer, host, _):
            blob = os.urandom(1 << 20)

            async def flood() -> None:
                try:
                    while True:
                        host._writer.write(blob)
                        await host._writer.drain()
                except Exception:
                    return

            closing = asyncio.ensure_future(viewer.close())
            await asyncio.sleep(0)
            flooding = asyncio.ensure_future(flood())
            loop = asyncio.get_running_loop()
            start = loop.time()
            done, _ = await asyncio.wait({closing}, timeout=5)
            took = loop.time() - start
            flooding.cancel()
            await asyncio.gather(flooding, return_exceptions=True)
            await asyncio.wait_for(closing, 5)
            assert done and took <= 0.5 + 1.0, f"close took {took:.1f} s (still lingering)"

    run(main(), loop_kind=loop_kind, timeout=30)
