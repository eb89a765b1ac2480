"""A viewer's sink keeps its update futures when the session ends.

A viewer with a sink (the web page's bridge, or a service's own) awaits the
future the sink gave for each update. When the session ends, Viewer.run
cancels that wait. It used to cancel the sink's future with it, so a sink
that resolved it afterwards (its page had finished drawing the update) raised
InvalidStateError: in the web viewer, that ended the page's socket before the
end banner (tests/web/test_bridge_close.py).
"""

from __future__ import annotations

import asyncio

from screencodec.capture import open_source
from screencodec.transport import VIEW, Host, HostConfig, Viewer, allow, channel_pair


class _SlowSink:
    """Takes updates and answers none by itself (a page still drawing)."""

    def __init__(self) -> None:
        self.futures: list[asyncio.Future[tuple[int, int] | None]] = []
        self.got = asyncio.Event()

    def update(self, data: bytes, /) -> asyncio.Future[tuple[int, int] | None]:
        fut: asyncio.Future[tuple[int, int] | None] = asyncio.get_running_loop().create_future()
        self.futures.append(fut)
        self.got.set()
        return fut

    def cursor(self, data: bytes, /) -> None:
        pass


def test_a_future_the_viewer_stopped_waiting_for_is_still_the_sinks() -> None:
    async def main() -> tuple[str, list[bool]]:
        source = open_source("synthetic", width=320, height=200, scenario="idle")
        host = Host(source, consent=allow(), config=HostConfig(adaptive=False))
        host_end, viewer_end = channel_pair()
        serving = asyncio.ensure_future(host.serve(host_end))
        sink = _SlowSink()
        viewer = Viewer(viewer_end, who="support", sink=sink)
        await viewer.start(VIEW)
        run = asyncio.ensure_future(viewer.run())
        await asyncio.wait_for(sink.got.wait(), 10)  # waiting for the sink's answer
        await viewer.bye("leaving")
        reason = await asyncio.wait_for(run, 10)
        cancelled = [f.cancelled() for f in sink.futures]
        for fut in sink.futures:
            fut.set_result((320, 200))  # the page finished drawing: no error
        await host.close()
        await asyncio.wait_for(serving, 10)
        return reason, cancelled

    reason, cancelled = asyncio.run(main())
    assert reason.startswith("channel closed")
    # Expected: the session ended with the sink's futures untouched.
    assert cancelled and not any(cancelled)
