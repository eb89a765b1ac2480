"""What the claim-wait tests share (lead47, review47): an in-memory
directory that holds claims after writing them, as a slow directory does,
until the test lets them go; and a connection's open and first frame."""

from __future__ import annotations

import asyncio

from screencodec.transport.channel.framing import read_frame
from screencodec.transport.channel.limits import HANDSHAKE_FRAME_MAX
from screencodec.transport.relay import Relay
from screencodec.transport.relay.directory import ClaimResult, MemoryDirectory
from screencodec.transport.relay.protocol import encode_open


class HeldClaims(MemoryDirectory):
    """Holds each claim after writing it until :attr:`go` (only those of
    ``verifier`` when given: the host's; a stranger's answered at once)."""

    def __init__(self, verifier: bytes | None = None) -> None:
        super().__init__()
        self.verifier = verifier
        self.held = asyncio.Event()
        self.go = asyncio.Event()

    async def claim(self, code: str, verifier: bytes, relay: str, ttl: float, *,
                    mark: bytes = b"") -> ClaimResult:  # fmt: skip
        result = await super().claim(code, verifier, relay, ttl, mark=mark)
        if self.verifier is None or verifier == self.verifier:
            self.held.set()
            await self.go.wait()
        return result


async def first_frame(reader: asyncio.StreamReader, timeout: float = 10) -> tuple[int, bytes]:
    """The next frame's type and body, within ``timeout`` seconds."""
    return await asyncio.wait_for(read_frame(reader, HANDSHAKE_FRAME_MAX), timeout)


async def open_as(
    relay: Relay, role: int, code: str, token: bytes
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection to ``relay`` that sent its RELAY_OPEN."""
    reader, writer = await asyncio.open_connection("127.0.0.1", relay.port)
    writer.write(encode_open(role, code, token))
    return reader, writer
