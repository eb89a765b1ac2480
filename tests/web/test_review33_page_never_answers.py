"""review33: the page's orderly close (644fb05) is still bounded when the
page never answers it.

644fb05 moved the close of the page's socket into the bridge's reading task
(web/server.py page_messages) and made the run wait for it
(WebBridge.page_closed, at most 5 s) before the server's close. A page that
reads the server's close frame and never answers it, sending all the while
(a hostile page, or one stuck copying a file), must not hold the view
process: aiohttp reads on, discarding, for at most the close timeout (2 s).

Real web viewer, host and server; the page is a raw socket (tests/web/
test_page_close_orderly.py). Measured: the run's end after the server's
close frame: 2.00 s (3 runs; the close timeout: the page's answer is
waited for), where before 644fb05 it was 0.00 s (the connection shut at
once, the reset that commit fixed). A pin, not a bug found."""

from __future__ import annotations

import asyncio
import json
import time

from screencodec.capture import open_source

from .harness import LiveSession, StillSource
from .test_server_close import _silent_page, server_frames

#: An empty ping, masked as a page's frames are (key 0).
_PING = bytes([0x89, 0x80]) + bytes(4)

#: From the server's close frame to the run's end: the close timeout (2 s)
#: and the handler's end. Past it, what bounds it is page_closed's 5 s and the
#: server's shutdown (2 s): a close that waited for the page (aiohttp's
#: default close timeout, 10 s) would end the run 7 s after.
_BOUND = 5.0


async def _keep_pinging(writer: asyncio.StreamWriter) -> None:
    """Sends on (a few pings each 10 ms), never the close's answer."""
    while True:
        writer.write(_PING * 10)
        await writer.drain()
        await asyncio.sleep(0.01)


def test_a_page_that_never_answers_the_close_does_not_hold_the_run() -> None:
    source = StillSource(open_source("synthetic", width=320, height=200, scenario="idle"))
    live = LiveSession(source)

    async def page() -> tuple[list[str], float]:
        assert live.web.server is not None
        reader, writer = await _silent_page(live.web.server)
        said: list[str] = []
        closed_at = 0.0
        ending: asyncio.Future[None] | None = None
        sending: asyncio.Future[None] | None = None
        try:
            async for opcode, payload in server_frames(reader):
                if opcode == 0x1:
                    kind = json.loads(payload)["t"]
                    said.append(kind)
                    if kind == "level" and ending is None:
                        ending = asyncio.ensure_future(asyncio.to_thread(
                            live.call, live.host.disconnect))  # fmt: skip
                        sending = asyncio.ensure_future(_keep_pinging(writer))
                elif opcode == 0x8:
                    closed_at = time.monotonic()
                    said.append("close")  # read, never answered; still sending
                    break
            # Reading on (as a browser does), answering nothing.
            draining = asyncio.ensure_future(reader.read(-1))
            done = asyncio.wrap_future(live.result)
            await asyncio.wait_for(asyncio.shield(done), _BOUND * 4)
            took = time.monotonic() - closed_at
            draining.cancel()
        finally:
            if sending is not None:
                sending.cancel()
                await asyncio.gather(sending, return_exceptions=True)
            writer.close()
            if ending is not None:
                await ending
        return said, took

    try:
        said, took = asyncio.run(asyncio.wait_for(page(), 60))
    finally:
        live.close()
    assert "ended" in said and said[-1] == "close", said
    assert took < _BOUND, f"the run ended {took:.1f} s after the server's close frame"
