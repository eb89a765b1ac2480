"""review6 of the page's chat delivery (web/bridge.py): a scripted page
(aiohttp client) against a live session whose host takes the agent's chat
lines but never confirms them."""

from __future__ import annotations

import asyncio
import json

import pytest

from screencodec.capture import open_source
from screencodec.transport.session import chat as chat_module
from screencodec.transport.session import link as link_module
from screencodec.transport.session.chat import MAX_UNACKED, ChatLedger
from screencodec.web import WebOptions

from .harness import LiveSession, StillSource
from .test_web_flow import _page, _updates


class _NeverConfirms(ChatLedger):
    """A host program that has the agent's lines and never says so."""

    async def acknowledge(self) -> None:
        return None


def test_a_line_waiting_for_room_does_not_hold_the_pages_other_messages(
        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """64 lines wait for the host's confirmation: the 65th waits for room
    (BACKLOG_WAIT), and the Leave button pressed meanwhile still ends the
    session at once (it waited behind the line, as any other page message)."""
    monkeypatch.setattr(link_module, "ChatLedger", _NeverConfirms)
    monkeypatch.setattr(chat_module, "BACKLOG_WAIT", 60.0)
    source = StillSource(open_source("synthetic", width=160, height=100, scenario="idle"))
    live = LiveSession(source, options=WebOptions(grace=10.0))

    async def main() -> None:
        http, ws = await _page(live.url, live.web.server.access.token)  # type: ignore[union-attr]
        try:
            await _updates(ws, 1)
            bridge = live.web.bridge
            assert bridge is not None
            await asyncio.to_thread(live.wait, lambda: bridge.joined, 10, "joined")
            for n in range(MAX_UNACKED + 1):
                await ws.send_str(json.dumps({"t": "chat", "text": f"line {n}"}))

            def kept() -> bool:
                return bridge.viewer is not None and bridge.viewer.chats.waiting == MAX_UNACKED

            await asyncio.to_thread(live.wait, kept, 10, "64 lines kept")
            await ws.send_str(json.dumps({"t": "bye"}))
            await asyncio.wait_for(asyncio.wrap_future(live.result), 10)
        finally:
            await ws.close()
            await http.close()

    try:
        asyncio.run(asyncio.wait_for(main(), 30))

        async def served() -> str:
            return await live.serving

        assert "the agent left the session" in live.call(served)
    finally:
        live.close()
