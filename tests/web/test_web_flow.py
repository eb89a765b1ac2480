"""The page protocol without a browser: a scripted page (aiohttp client)
against a live session. The host's flow control runs on the page's
``applied``: a page that does not answer gets no more than the host's window;
a page that breaks the protocol loses its socket, not the session."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from screencodec.capture import open_source
from screencodec.transport import HostConfig
from screencodec.web import WebOptions

from .harness import LiveSession, StillSource

WINDOW = 4


def _hello(key: str) -> str:
    return json.dumps(
        {"t": "hello", "key": key, "h264_444": False, "h264_420": False, "zstream": False}
    )


async def _page(url: str, key: str) -> tuple[aiohttp.ClientSession, Any]:
    port = int(url.split(":")[2].split("/", maxsplit=1)[0])
    http = aiohttp.ClientSession()
    ws = await http.ws_connect(
        f"http://127.0.0.1:{port}/ws", headers={"Origin": f"http://127.0.0.1:{port}"}
    )
    await ws.send_str(_hello(key))
    return http, ws


async def _updates(ws: Any, n: int, timeout: float = 10) -> list[dict[str, Any]]:
    """Read until ``n`` UPDATE frames came; returns the JSON frames seen meanwhile."""
    texts: list[dict[str, Any]] = []
    got = 0
    async with asyncio.timeout(timeout):
        while got < n:
            msg = await ws.receive()
            if msg.type == aiohttp.WSMsgType.BINARY:
                got += msg.data[3] == 1  # wire type UPDATE (cursor messages are 2, 3)
            elif msg.type == aiohttp.WSMsgType.TEXT:
                texts.append(json.loads(msg.data))
            else:
                raise AssertionError(f"socket ended: {msg}")
    return texts


def test_host_waits_for_the_page_and_survives_a_bad_page() -> None:
    source = StillSource(open_source("synthetic", width=320, height=200, scenario="terminal"))
    live = LiveSession(
        source,
        config=HostConfig(adaptive=False, window=WINDOW),
        options=WebOptions(grace=10.0),
    )

    async def main() -> None:
        http, ws = await _page(live.url, live.web.server.access.token)  # type: ignore[union-attr]
        try:
            texts = await _updates(ws, 1)
            resume = next(t["resume"] for t in texts if t["t"] == "welcome")
            viewer = live.web.viewer
            assert viewer is not None
            # Nothing applied: the host may not send past its window. Read until a
            # later event (two seconds of host stats), counting the updates.
            unanswered, stats_seen = 1, 0
            while stats_seen < 2:
                msg = await ws.receive(timeout=5)
                if msg.type == aiohttp.WSMsgType.BINARY:
                    unanswered += msg.data[3] == 1
                else:
                    stats_seen += json.loads(msg.data)["t"] == "stats"
            assert 1 <= unanswered <= WINDOW and viewer.decoded == 0
            # Applying them lets the stream go on.
            for _ in range(unanswered):
                await ws.send_str('{"t":"applied","ok":true,"w":320,"h":200}')
            await _updates(ws, 1)
            assert viewer.decoded == unanswered
            # A page that breaks the protocol: its socket closes with 1008...
            await ws.send_str('{"t":"applied","ok":"yes","w":1,"h":1}')
            while (msg := await ws.receive(timeout=5)).type != aiohttp.WSMsgType.CLOSE:
                pass
            assert msg.data == 1008
            await http.close()
            # ...and the session waits for the tab to come back with its resume key.
            http, ws = await _page(live.url, resume)
            await _updates(ws, 1)  # the keyframe the viewer asked for
            assert live.web.bridge is not None and live.web.bridge.protocol_errors == 1
            assert viewer.keyframe_requests >= 1
        finally:
            await http.close()

    try:
        asyncio.run(asyncio.wait_for(main(), 30))
    finally:
        live.close()


def test_a_page_gone_for_good_ends_the_session() -> None:
    source = StillSource(open_source("synthetic", width=160, height=100, scenario="idle"))
    live = LiveSession(source, options=WebOptions(grace=0.3))

    async def main() -> None:
        http, ws = await _page(live.url, live.web.server.access.token)  # type: ignore[union-attr]
        await _updates(ws, 1)
        await ws.close()
        await http.close()

    try:
        asyncio.run(asyncio.wait_for(main(), 30))
        live.result.result(10)  # the web viewer's run() returns: the session is over

        async def served() -> str:
            return await live.serving

        assert "agent closed the web viewer" in live.call(served)
    finally:
        live.close()


def test_leave_tells_the_host_the_agent_left() -> None:
    """The page's Leave button (its ``bye``) reaches the host's user, and the
    recording's audit log, as the agent leaving, not as a closed page."""
    source = StillSource(open_source("synthetic", width=160, height=100, scenario="idle"))
    live = LiveSession(source, options=WebOptions(grace=10.0))

    async def main() -> None:
        http, ws = await _page(live.url, live.web.server.access.token)  # type: ignore[union-attr]
        await _updates(ws, 1)
        await ws.send_str(json.dumps({"t": "bye"}))
        await asyncio.wrap_future(live.result)
        await ws.close()
        await http.close()

    try:
        asyncio.run(asyncio.wait_for(main(), 30))

        async def served() -> str:
            return await live.serving

        reason = live.call(served)
        assert "the agent left the session" in reason, reason
    finally:
        live.close()
