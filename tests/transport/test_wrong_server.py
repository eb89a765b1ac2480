"""Something else answering where a host should be is named as such."""

from __future__ import annotations

import asyncio

import pytest

from screencodec.errors import ProtocolError
from screencodec.transport import connect_direct

from .helpers import run


@pytest.mark.parametrize(
    "greeting",
    [b"HTTP/1.1 400 Bad Request\r\n\r\n", b"SSH-2.0-OpenSSH_9.2p1\r\n"],
)
def test_a_server_speaking_another_protocol_is_not_a_screencodec_host(greeting: bytes) -> None:
    async def main() -> None:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(greeting)
            await writer.drain()
            await reader.read(1 << 16)  # until the client gives up
            writer.close()

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            with pytest.raises(ProtocolError, match="not a screencodec host or relay") as info:
                await connect_direct("127.0.0.1", port, "123456789", "abcdefgh")
            assert greeting[:5].decode() in str(info.value)
        finally:
            server.close()
            await server.wait_closed()

    run(main())
