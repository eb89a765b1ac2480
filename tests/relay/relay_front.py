"""A scripted relay for the pair-tag tests: it reads each connection's
RELAY_OPEN (recording the token named to it, as a relay would see it), then,
as its ``mode`` says, refuses it (UNKNOWN_SESSION), redirects it, or passes
it on to a real relay, with that relay's first answer (RELAY_OK) rewritten
by ``rewrite`` (a hostile relay in front of an honest one: the host's
handshake is real, so the viewer keeps the pairing it makes)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Literal

from screencodec.transport.channel.framing import (
    FrameType,
    RefuseCode,
    close_writer,
    encode_frame,
    read_frame,
    send_refusal,
)
from screencodec.transport.channel.limits import HANDSHAKE_FRAME_MAX
from screencodec.transport.relay.protocol import encode_redirect, parse_open

__all__ = ["RelayFront", "Rewrite"]

#: (frame type, body) of the real relay's first answer -> the frame sent on.
Rewrite = Callable[[int, bytes], bytes]


class RelayFront:
    """``async with RelayFront() as front``: listens on ``front.address``.

    ``mode``: "refuse", "redirect" (to ``redirect_to``, ``HOST:PORT``) or
    "forward" (to the relay on ``upstream``). ``named``: each connection's
    RELAY_OPEN token; ``answers``: each real relay's first frame forwarded."""

    def __init__(self) -> None:
        self.mode: Literal["refuse", "redirect", "forward"] = "refuse"
        self.redirect_to = ""
        self.upstream = 0
        self.rewrite: Rewrite = encode_frame
        self.named: list[bytes] = []
        self.answers: list[tuple[int, bytes]] = []
        self._server: asyncio.Server | None = None
        self._pumps: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def __aenter__(self) -> RelayFront:
        self._server = await asyncio.start_server(self._on, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        for pump in list(self._pumps):
            pump.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)

    async def _on(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            ftype, body = await read_frame(reader, HANDSHAKE_FRAME_MAX)
            self.named.append(parse_open(ftype, body)[2])
            if self.mode == "refuse":
                await send_refusal(writer, RefuseCode.UNKNOWN_SESSION, "no such session code")
            elif self.mode == "redirect":
                writer.write(encode_redirect(self.redirect_to))
                await writer.drain()
            else:
                await self._forward(reader, writer, encode_frame(ftype, body))
        finally:
            await close_writer(writer)

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                       opening: bytes) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
        try:
            up_writer.write(opening)
            ftype, body = await read_frame(up_reader, HANDSHAKE_FRAME_MAX)
            self.answers.append((ftype, body))
            writer.write(self.rewrite(ftype, body) if ftype == FrameType.RELAY_OK
                         else encode_frame(ftype, body))  # fmt: skip
            await writer.drain()
            pumps = [asyncio.ensure_future(_pump(reader, up_writer)),
                     asyncio.ensure_future(_pump(up_reader, writer))]  # fmt: skip
            self._pumps.update(pumps)
            try:
                await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pump in pumps:
                    pump.cancel()
                    self._pumps.discard(pump)
                await asyncio.gather(*pumps, return_exceptions=True)
        finally:
            await close_writer(up_writer)


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
