from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from screencodec.transport import VIEW, Host, Permission, Viewer, channel_pair
from screencodec.transport.channel.base import Channel


@asynccontextmanager
async def connected(
    host: Host,
    level: Permission = VIEW,
    who: str = "agent",
    wrap: object = None,
    **viewer_kw: object,
) -> AsyncIterator[tuple[Viewer, asyncio.Task[str], asyncio.Task[str]]]:
    """A viewer joined to ``host`` over an in-memory pair; torn down on exit."""
    hc, vc = channel_pair()
    if callable(wrap):
        hc = wrap(hc)
    serve = asyncio.ensure_future(host.serve(hc))
    viewer = Viewer(vc, who=who, **viewer_kw)  # type: ignore[arg-type]
    await viewer.start(level)
    run = asyncio.ensure_future(viewer.run())
    try:
        yield viewer, serve, run
    finally:
        if not run.done():
            await viewer.bye()
        await asyncio.gather(serve, run, return_exceptions=True)


__all__ = ["Channel", "connected"]
