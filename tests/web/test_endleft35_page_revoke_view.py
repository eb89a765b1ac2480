"""endleft35: the host's user takes VIEW back from an agent whose page had
CONTROL. Since Permission.taking (45f6deb) that revoke names CONTROL too,
and the bridge sent the page the banner "The user took back remote
control: you can only watch now." right before the session's end: the
agent was told to go on watching a session that was over (683a5e6 fixed
it, found reading the change; this is its test). The page must be sent
no such banner: only the end says what happened.

A real Host on a loopback listener, a real Viewer whose sink is the
WebBridge, and a page socket that keeps what the bridge sends it
(test_bridge_close.py)."""

from __future__ import annotations

import asyncio
import json

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.transport import CONTROL, VIEW, Host, HostConfig, RecordingInjector, Viewer, allow
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session.link import STOPPED_SHARING
from screencodec.transport.session.permissions import Permission
from screencodec.web import WebBridge, capabilities_from

from .test_review_bridge import _page

TAKEN_BACK = "The user took back remote control: you can only watch now."


def _banners_after_revoke(level: Permission) -> tuple[str, list[dict[str, object]]]:
    """The viewer's end and what the page was sent after the host's user
    revoked ``level`` from the agent holding VIEW and CONTROL."""

    async def main() -> tuple[str, list[dict[str, object]]]:
        creds = SessionCredentials()
        host = Host(SyntheticDesktop(160, 120, scenario="idle", seed=1), consent=allow(),
                    injector=RecordingInjector(), config=HostConfig(adaptive=False))  # fmt: skip
        listener = await listen_direct("127.0.0.1", 0, creds, host.serve)
        try:
            channel = await connect_direct("127.0.0.1", listener.port, creds.code,
                                           creds.password)  # fmt: skip
            bridge = WebBridge()
            ws, page = _page(bridge)
            caps = capabilities_from({"h264_444": False, "h264_420": False, "zstream": True})
            viewer = Viewer(channel, who="support", capabilities=caps, sink=bridge)
            bridge.attach(viewer)
            await viewer.start(VIEW | CONTROL)
            assert viewer.level == VIEW | CONTROL
            running = asyncio.ensure_future(viewer.run())
            await host.revoke(level)
            if VIEW in level:
                reason = await asyncio.wait_for(running, 10)
            else:
                for _ in range(500):  # the page told, the session goes on
                    if any(TAKEN_BACK in x for x in ws.sent):
                        break
                    await asyncio.sleep(0.01)
                await viewer.bye("test over")
                reason = await asyncio.wait_for(running, 10)
            await bridge.drain()
            bridge.close()
            ws.incoming.put_nowait(None)
            await asyncio.wait_for(page, 5)
            return reason, [json.loads(x) for x in ws.sent]
        finally:
            await listener.close()
            await host.close()

    return asyncio.run(asyncio.wait_for(main(), 30))


def test_view_taken_from_a_controlling_agent_sends_no_taken_back_banner() -> None:
    reason, sent = _banners_after_revoke(VIEW)
    assert reason == f"host said bye: {STOPPED_SHARING}", reason
    banners = [x["text"] for x in sent if x["t"] == "banner"]
    # Found with 683a5e6 reverted: [TAKEN_BACK]; the session ended right after.
    assert TAKEN_BACK not in banners, banners
    levels = [x for x in sent if x["t"] == "level"]
    assert levels, sent


def test_control_alone_taken_back_still_sends_the_banner() -> None:
    """What 683a5e6 keeps: CONTROL alone taken, the agent goes on watching."""
    _, sent = _banners_after_revoke(CONTROL)
    assert TAKEN_BACK in [x["text"] for x in sent if x["t"] == "banner"], sent
