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

from screencodec.transport import CONTROL, VIEW
from screencodec.web import WebBridge

from .harness import RecordingViewer
from .test_review_bridge import _page


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
        bridge.banner("ended", "The session has ended: the user stopped sharing.")
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
    assert banners[-1] == "The session has ended: the user stopped sharing."
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
