"""The end of a session is the last thing the page shows.

When the session ends, the bridge closes and resolves the updates still
waiting for the page. The page can still be decoding one of them, and says
"applied" once it is done. That answer used to be taken for a protocol error:
the page's "The session has ended" banner was replaced by "applied, but no
update is waiting", and the socket closed with 1008 (a fresh-clone run of
test_web_session failed on it).
"""

from __future__ import annotations

import asyncio
import json

import pytest

from screencodec.capture import open_source
from screencodec.transport import CONTROL, VIEW, Host, HostConfig, Viewer, allow, channel_pair
from screencodec.web import WebBridge, capabilities_from

from .harness import RecordingViewer
from .test_review_bridge import _page, _PageSocket


def test_an_update_applied_after_the_end_is_no_protocol_error() -> None:
    async def main() -> tuple[WebBridge, list[dict[str, object]], RecordingViewer]:
        bridge = WebBridge()
        viewer = RecordingViewer(VIEW | CONTROL)
        bridge.viewer = viewer  # type: ignore[assignment]
        ws, page = _page(bridge)
        first = bridge.update(b"update 1")
        second = bridge.update(b"update 2")
        ws.incoming.put_nowait('{"t":"applied","ok":true,"w":640,"h":400}')
        assert await asyncio.wait_for(first, 5) == (640, 400)
        bridge.banner("ended", "The session has ended: the user ended the session.")
        bridge.close()  # the session is over; update 2 is still on the page
        assert second.done() and second.result() is None
        # The page finishes update 2, and the agent's hand is still on the mouse.
        ws.incoming.put_nowait('{"t":"applied","ok":true,"w":640,"h":400}')
        ws.incoming.put_nowait('{"t":"move","x":5,"y":6}')
        ws.incoming.put_nowait(None)
        await asyncio.wait_for(page, 5)
        return bridge, [json.loads(x) for x in ws.sent], viewer

    bridge, sent, viewer = asyncio.run(main())
    # Expected: no error, the end banner stays the last, nothing reaches the host.
    assert bridge.protocol_errors == 0
    banners = [x["text"] for x in sent if x["t"] == "banner"]
    assert banners[-1] == "The session has ended: the user ended the session."
    assert viewer.sent == []


def test_applied_with_nothing_waiting_is_still_refused_during_the_session() -> None:
    async def main() -> tuple[WebBridge, list[dict[str, object]]]:
        bridge = WebBridge()
        bridge.viewer = RecordingViewer(VIEW)  # type: ignore[assignment]
        ws, page = _page(bridge)
        ws.incoming.put_nowait('{"t":"applied","ok":true,"w":640,"h":400}')
        await asyncio.wait_for(page, 5)
        bridge.close()
        return bridge, [json.loads(x) for x in ws.sent]

    bridge, sent = asyncio.run(main())
    assert bridge.protocol_errors == 1
    assert [x["text"] for x in sent if x["t"] == "banner"] == ["applied, but no update is waiting"]


class _Page(_PageSocket):
    """A page that notes when an update reaches it (and never answers by itself)."""

    def __init__(self) -> None:
        super().__init__()
        self.got_update = asyncio.Event()

    async def send_bytes(self, data: bytes) -> None:
        if len(data) > 3 and data[3] == 1:  # an UPDATE (not a cursor), as the page tells them
            self.got_update.set()


@pytest.mark.parametrize("then", ["applied", "reload"])
def test_an_update_the_viewer_stopped_waiting_for_at_the_end_is_no_error(then: str) -> None:
    """The agent leaves (or the host ends the session) while the page still
    decodes an update. The viewer's run ends and cancels its wait for that
    update, which cancels the bridge's future for it. The page's "applied"
    then met a cancelled future, and so did a reloaded tab: InvalidStateError
    ended the page's handler, and its socket closed before the end banner was
    sent (test_agent_errors failed on it under load: the page never said the
    session had ended)."""

    async def main() -> tuple[str, WebBridge, asyncio.Task[None]]:
        source = open_source("synthetic", width=320, height=200, scenario="idle")
        host = Host(source, consent=allow(), config=HostConfig(adaptive=False))
        host_end, viewer_end = channel_pair()
        serving = asyncio.ensure_future(host.serve(host_end))
        bridge = WebBridge()
        ws = _Page()
        page = asyncio.ensure_future(bridge.on_page(ws, {"resume": "r"}))  # type: ignore[arg-type]
        caps = capabilities_from({"h264_444": False, "h264_420": False, "zstream": True})
        viewer = Viewer(viewer_end, who="support", capabilities=caps, sink=bridge)
        bridge.attach(viewer)
        await viewer.start(VIEW)
        run = asyncio.ensure_future(viewer.run())
        await asyncio.wait_for(ws.got_update.wait(), 10)  # on the page, not applied yet
        await viewer.bye("the agent closed the web viewer")
        reason = await asyncio.wait_for(run, 10)
        if then == "applied":
            ws.incoming.put_nowait('{"t":"applied","ok":true,"w":320,"h":200}')
            ws.incoming.put_nowait(None)
            await asyncio.wait({page}, timeout=10)
        else:
            ws.incoming.put_nowait(None)
            await asyncio.wait_for(page, 10)
            page = asyncio.ensure_future(bridge.on_page(_Page(), {"resume": "r2"}))  # type: ignore[arg-type]
            await asyncio.wait({page}, timeout=0.5)  # a crash would be at once
            page.cancel()
            await asyncio.wait({page})
        bridge.close()
        await host.close()
        await asyncio.wait_for(serving, 10)
        return reason, bridge, page

    reason, bridge, page = asyncio.run(main())
    assert reason.startswith("channel closed")
    # Expected: the page's handler went on (or ended only as the page left).
    assert page.cancelled() or page.exception() is None, repr(page.exception())
    assert bridge.protocol_errors == 0


def test_forgetting_waiting_updates_skips_those_nobody_waits_for() -> None:
    """What a reloaded tab of a recording's playback does too (web/playback.py):
    its driver, cancelled as the playback ends, leaves its wait cancelled."""

    async def main() -> list[object]:
        bridge = WebBridge()
        given_up, waited = bridge.update(b"update 1"), bridge.update(b"update 2")
        given_up.cancel()
        bridge.forget_waiting()
        return [given_up.cancelled(), waited.result()]

    assert asyncio.run(main()) == [True, None]
