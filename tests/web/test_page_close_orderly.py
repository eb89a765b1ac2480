"""The page's socket ends in an orderly close, also while the page still sends.

When a session ended, the server closed each page's socket with aiohttp's
``close()`` while the bridge's handler still waited in ``receive()``; aiohttp
then sends its close frame and shuts the connection at once, without reading
the page's answer. Whatever the page sent meanwhile (a file it was copying to
the view process, 256 KiB frames) arrived at a closed socket, the kernel
answered with a reset, and Chromium, meeting it on its next write, dropped
what it had not read yet: the end banner and the "ended" message. The page
said it had lost the viewer where the host had ended the session
(test_pagefiles_rows, 1 run in 13 beside two busy loops).

Real web viewer, host and server; the page is a raw socket that keeps
sending file data (64 KiB binary frames, as Chromium's 256 KiB ones) from
the moment it reads "ended" until it reads the server's close frame, as
Chromium keeps copying a file. Expected outcome: the page reads "ended" and
the close frame, answers it, and the connection then ends in an orderly way
(EOF), never with a reset.

The page once sent empty pings, a thousand a millisecond: the server parsed
each and answered it with a pong the page had to read before the close
frame, so at load 13-18 its answer came after the server's close timeout
(2 s, _CLOSE_TIMEOUT: then the connection is cut, a reset) and the test
failed. Measured beside one CPU burner at nice 9: the server's close took
0.25-3.0 s with pings, 3 of 5 past the timeout (code 1006).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket

from screencodec.capture import open_source

from .harness import LiveSession, StillSource
from .test_server_close import _silent_page, server_frames

#: 64 KiB of file data in a masked binary frame (the mask zero), as a browser's.
_DATA = bytes([0x82, 0x80 | 127]) + (64 << 10).to_bytes(8, "big") + bytes(4) + bytes(64 << 10)
#: The page's close answer: code 1000, masked with zeros.
_CLOSE = bytes([0x88, 0x82]) + bytes(4) + (1000).to_bytes(2, "big")


async def _keep_sending(writer: asyncio.StreamWriter) -> None:
    while True:
        writer.write(_DATA)
        await writer.drain()
        await asyncio.sleep(0.001)


def test_a_page_still_sending_when_the_session_ends_reads_the_end_and_an_orderly_close() -> None:
    source = StillSource(open_source("synthetic", width=320, height=200, scenario="idle"))
    live = LiveSession(source)

    async def page() -> tuple[list[str], str]:
        assert live.web.server is not None
        reader, writer = await _silent_page(live.web.server)
        said: list[str] = []
        ending: asyncio.Future[None] | None = None
        sending: asyncio.Future[None] | None = None
        try:
            async for opcode, payload in server_frames(reader):
                if opcode == 0x1:
                    kind = json.loads(payload)["t"]
                    said.append(kind)
                    if kind == "level" and ending is None:
                        # What the host's /end does, while the page is there.
                        ending = asyncio.ensure_future(asyncio.to_thread(
                            live.call, live.host.disconnect))  # fmt: skip
                    elif kind == "ended" and sending is None:
                        # Still sending, as a page that copies a file, until
                        # it reads the server's close frame.
                        writer.write(_DATA)
                        sending = asyncio.ensure_future(_keep_sending(writer))
                elif opcode == 0x8:
                    said.append("close")
                    if sending is not None:
                        sending.cancel()
                        await asyncio.gather(sending, return_exceptions=True)
                    # What Chromium still had queued goes before its answer.
                    writer.write(_DATA * 4 + _CLOSE)
                    break
            # After the close handshake: the rest, then the end; a
            # reset that comes after the server's FIN is the socket's error.
            try:
                await writer.drain()
                while await reader.read(1 << 16):
                    pass
                await asyncio.sleep(0.2)
                sock = writer.get_extra_info("socket")
                error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                end = "orderly" if error == 0 else os.strerror(error)
            except ConnectionResetError:
                end = "reset"
        finally:
            writer.close()
            if ending is not None:
                await ending
        return said, end

    try:
        said, end = asyncio.run(asyncio.wait_for(page(), 30))
    finally:
        live.close()
    assert "ended" in said and said[-1] == "close"
    assert end == "orderly", f"the server reset the connection of a page still sending: {end}"
