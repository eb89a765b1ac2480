"""The page server leaves no connection open behind it: one the loop accepts
as the server closes (a page reloading, the browser opening a spare
connection just then) is closed with the rest. On Python 3.11 a bare
``asyncio.Server.close()`` between the loop's accept and the wrapping of the
socket fails the wrapping (``Server._attach``), and the socket stayed open
until the garbage collector found it (a ResourceWarning in a later test; a
descriptor held until the program exits)."""

from __future__ import annotations

import asyncio
import contextlib
import socket

from screencodec.web import WebServer


async def _unused(ws: object, hello: object) -> None:
    raise AssertionError("no page is admitted here")


def test_a_connection_accepted_as_the_server_closes_is_closed_too() -> None:
    async def main() -> None:
        server = WebServer(_unused)
        await server.start()
        # Connected at once (the kernel's backlog); the loop accepts it in its
        # next turn, and this coroutine, queued first, closes the server in
        # the turn after, before the loop has wrapped the accepted socket.
        client = socket.create_connection(("127.0.0.1", server.port))
        try:
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            await server.close()
            client.settimeout(10)
            # Expected: the connection ends (an orderly end or a reset).
            with contextlib.suppress(ConnectionError):
                assert await asyncio.to_thread(client.recv, 1) == b""
        finally:
            client.close()

    asyncio.run(main())
