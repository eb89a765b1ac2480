"""What the claim-wait tests share (lead47, review47): an in-memory
directory that holds claims after writing them, as a slow directory does,
until the test lets them go; a relay holding a host's claim so; and a
connection's open and first frame. And the relay46 tests' start: a host
registered at a relay process and an agent paired through it."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from typing import NamedTuple

from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import read_frame
from screencodec.transport.channel.limits import HANDSHAKE_FRAME_MAX, Timeouts
from screencodec.transport.connect import RelayRegistration, connect_via_relay
from screencodec.transport.connect.via_relay import RelayChannel
from screencodec.transport.relay import ROLE_HOST_CONTROL, Relay
from screencodec.transport.relay.directory import ClaimResult, MemoryDirectory
from screencodec.transport.relay.protocol import claim_verifier, encode_open

from .cluster import RelayProcess, registered_host
from .test_failover42_host_moves import FAST


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


class ClaimHeld(NamedTuple):
    """A relay in this process (:func:`claim_held`) and what the test needs of it."""

    relay: Relay
    directory: HeldClaims
    code: str
    #: The host's control connection, whose claim the directory holds.
    host: tuple[asyncio.StreamReader, asyncio.StreamWriter]


@contextlib.asynccontextmanager
async def claim_held() -> AsyncIterator[ClaimHeld]:
    """A relay in this process whose directory holds a host's claim after
    writing it (:class:`HeldClaims`, the host's verifier only), once the
    host's control connection has opened and its claim is held; the relay
    closed on the way out, unless the test closed it."""
    code = SessionCredentials().code
    secret = secrets.token_bytes(16)
    directory = HeldClaims(claim_verifier(code, secret))
    relay = Relay(directory=directory)
    await relay.start()
    try:
        host = await open_as(relay, ROLE_HOST_CONTROL, code, secret)
        await asyncio.wait_for(directory.held.wait(), 10)
        yield ClaimHeld(relay, directory, code, host)
    finally:
        if not relay._closed:
            await relay.close()


@contextlib.asynccontextmanager
async def agent_paired_at(
    relay: RelayProcess, timeouts: Timeouts
) -> AsyncIterator[tuple[SessionCredentials, RelayRegistration, RelayChannel]]:
    """A host registered at ``relay`` (:func:`~.cluster.registered_host`,
    pinging every 2 s) and an agent paired through it, its channel's
    ``timeouts`` given: the credentials, the registration and the agent's
    channel (the test closes it)."""
    creds = SessionCredentials()
    async with registered_host(relay.port, creds, FAST) as reg:
        channel = await connect_via_relay(
            "127.0.0.1", relay.port, creds.code, creds.password, timeouts=timeouts
        )
        yield creds, reg, channel
