"""lead47: uvloop (the relay's loop) raises RuntimeError on a write to a
connection already closed, where asyncio drops it: a viewer's or host's
reset while the relay awaited its directory was logged as a relay bug with
a traceback (CI, review43's relay log). ``write_open`` writes only to an
open connection and says whether it did.

Real sockets on loopback, on a uvloop loop as ``screencodec relay`` runs.
"""

from __future__ import annotations

import asyncio

import pytest

from screencodec.transport.channel.framing import write_open
from screencodec.transport.connect.via_relay import reset_stream

uvloop = pytest.importorskip("uvloop")


async def _served_then_reset() -> tuple[bool, bool, bytes]:
    accepted: asyncio.Queue[asyncio.StreamWriter] = asyncio.Queue()

    async def serve(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accepted.put(writer)

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, client = await asyncio.open_connection("127.0.0.1", port)
    served = await accepted.get()
    opened = write_open(served, b"hello")  # written while open
    got = await reader.readexactly(5)
    reset_stream(client)
    await client.wait_closed()
    for _ in range(200):  # until the served side read the reset
        if served.is_closing():
            break
        served.write(b"x")  # a write meets the reset
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)  # uvloop closes the handle a turn or two after
    after = write_open(served, b"late")  # must not raise
    served.close()
    server.close()
    await asyncio.wait_for(server.wait_closed(), 5)
    return opened, after, got


def test_lead47_write_open_writes_to_an_open_connection_and_not_after_its_reset() -> None:
    loop = uvloop.new_event_loop()
    try:
        opened, after, got = loop.run_until_complete(_served_then_reset())
    finally:
        loop.close()
    assert (opened, got) == (True, b"hello")
    assert after is False
