"""The web viewer's server ends in bounded time when the page does not answer.

A browser that hangs (a busy tab, a machine under load) never sends its half
of the WebSocket close. aiohttp waits 10 s for it by default, then up to 60 s
for the page's handler, so `screencodec web` took that long to exit after a
session ended (and a test harness timed out, leaving the session's download
folder to be cleaned up by a later garbage collection).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
from collections.abc import AsyncIterator

from screencodec.web import WebServer
from screencodec.web.server import _CLOSE_TIMEOUT

#: Longer than the two close timeouts under any load, far shorter than 10 s + 60 s.
_HANG = 15 * _CLOSE_TIMEOUT


def _frame(text: str) -> bytes:
    """One masked text frame, as a browser sends it (< 126 bytes)."""
    payload = text.encode()
    assert len(payload) < 126
    mask = os.urandom(4)
    return (
        bytes([0x81, 0x80 | len(payload)])
        + mask
        + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    )


async def server_frames(reader: asyncio.StreamReader) -> AsyncIterator[tuple[int, bytes]]:
    """The server's (unmasked) frames as they come: (opcode, payload)."""
    while True:
        head = await reader.readexactly(2)
        size = head[1] & 0x7F
        if size == 126:
            size = int.from_bytes(await reader.readexactly(2), "big")
        elif size == 127:
            size = int.from_bytes(await reader.readexactly(8), "big")
        yield head[0] & 0x0F, await reader.readexactly(size)


async def _silent_page(server: WebServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A page that opens the socket, says hello and then never reads again."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    origin = f"http://127.0.0.1:{server.port}"
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nOrigin: {origin}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
    hello = {"t": "hello", "key": server.access.token, "h264_444": False,
             "h264_420": False, "zstream": False}  # fmt: skip
    writer.write(_frame(json.dumps(hello)))
    await writer.drain()
    return reader, writer


def test_close_is_bounded_when_the_page_never_answers() -> None:
    admitted = asyncio.Event()

    async def stuck_handler(ws: object, hello: object) -> None:
        admitted.set()
        await asyncio.sleep(3600)  # a handler that does not end by itself either

    async def main() -> bytes:
        server = WebServer(stuck_handler)
        await server.start()
        reader, writer = await _silent_page(server)
        await asyncio.wait_for(admitted.wait(), 10)
        # Bounded: the page's answer and the handler each get the close
        # timeout (2 s); aiohttp's defaults waited 10 s and 60 s, past this.
        await asyncio.wait_for(server.close(), _HANG)
        sent = await asyncio.wait_for(reader.read(64), 5)
        writer.close()
        return sent

    sent = asyncio.run(asyncio.wait_for(main(), 60))
    # Expected: our close frame went out (opcode 8), and close returned.
    assert sent[:1] == b"\x88"


def test_a_close_cancelled_while_the_page_answers_still_stops_listening() -> None:
    async def idle_handler(ws: object, hello: object) -> None:
        await asyncio.sleep(3600)

    async def main() -> bool:
        server = WebServer(idle_handler)
        await server.start()
        reader, writer = await _silent_page(server)
        closing = asyncio.ensure_future(server.close())
        assert (await asyncio.wait_for(reader.read(2), 10))[:1] == b"\x88"  # our close frame
        closing.cancel()  # while it waits for the page's answer
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(closing, _HANG)
        writer.close()
        try:
            _, probe = await asyncio.open_connection("127.0.0.1", server.port)
        except OSError:
            return False
        probe.close()
        return True

    # Expected: nothing listens on the page's port any more.
    assert asyncio.run(asyncio.wait_for(main(), 60)) is False
