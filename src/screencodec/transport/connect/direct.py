"""Opening channels: direct (host listens) and through a relay (host dials out).

Host side: :func:`listen_direct` and :func:`host_via_relay` authenticate each
viewer with the PAKE and hand every confirmed :class:`SecureChannel` to
``on_channel``. Viewer side: :func:`connect_direct` and
:func:`connect_via_relay` return one confirmed channel or raise.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from screencodec.errors import TransportError
from screencodec.transport.aio import wait_for
from screencodec.transport.channel.codes import SessionCredentials, normalize_password, parse_code
from screencodec.transport.channel.framing import close_writer, stop_listening
from screencodec.transport.channel.handshake import HandshakeResult, viewer_handshake
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect.accept import (
    HostAcceptor,
    OnChannel,
    OnError,
    check_not_ended,
    open_stream,
)

__all__ = ["DirectListener", "connect_direct", "handshake_viewer", "listen_direct"]


class DirectListener:
    """The host's listening socket for direct connections (see :func:`listen_direct`).

    ``port`` is the bound port; :meth:`close` stops listening and closes every
    channel it accepted. Usable as an async context manager.
    """

    def __init__(self, server: asyncio.Server, acceptor: HostAcceptor,
                 connections: dict[asyncio.Task[None] | None, asyncio.StreamWriter]) -> None:
        self._server = server
        self._acceptor = acceptor
        self._connections = connections
        self._closing: asyncio.Task[None] | None = None
        acceptor.credentials.add_end_listener(self._on_end)

    def _on_end(self, _: SessionCredentials) -> None:
        # Called synchronously from credentials.end(); keep the task referenced.
        self._closing = asyncio.ensure_future(self.close())

    @property
    def port(self) -> int:
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def sockets(self) -> tuple[object, ...]:
        return tuple(self._server.sockets)

    @property
    def channels(self) -> frozenset[SecureChannel]:
        """Channels accepted and still open."""
        return frozenset(c for c in self._acceptor.channels if not c.closed)

    async def close(self) -> None:
        await stop_listening(self._server)
        await self._acceptor.close_channels()
        # What is left is being refused, or was accepted but its task has not
        # run yet (if the loop ended first, that task would never run and
        # nothing else would close its socket).
        left = {task: writer for task, writer in self._connections.items()
                if task is not asyncio.current_task()}
        for task, writer in left.items():
            writer.transport.abort()
            if task is not None:
                task.cancel()
        await asyncio.gather(*(t for t in left if t is not None), return_exceptions=True)
        await self._server.wait_closed()

    async def __aenter__(self) -> DirectListener:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


async def listen_direct(
    host: str,
    port: int,
    credentials: SessionCredentials,
    on_channel: OnChannel,
    *,
    timeouts: Timeouts | None = None,
    attempts_per_minute: int = 10,
    on_error: OnError | None = None,
) -> DirectListener:
    """Listen for viewers; each one that proves the password reaches ``on_channel``.

    Raises AccessRefusedError(SESSION_ENDED) if the credentials have ended;
    when they end later, the listener closes with every channel it accepted.

    ``attempts_per_minute`` caps connection attempts per source address (the
    IPv4 address or the IPv6 /64), on top of the session's guess throttle
    (``credentials.throttle``), which spaces password checks across all
    addresses.
    """
    check_not_ended(credentials)
    # Connections not yet handed to on_channel: close() cuts these (a refusal
    # being sent, a handshake, a task not yet run). A session, once handed
    # over, ends through its channel and finishes in its own time.
    connections: dict[asyncio.Task[None] | None, asyncio.StreamWriter] = {}

    def hand_over(channel: SecureChannel) -> Awaitable[object] | None:
        connections.pop(asyncio.current_task(), None)
        return on_channel(channel)

    acceptor = HostAcceptor(credentials, hand_over, on_error, timeouts or Timeouts(),
                            attempts_per_minute)

    def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Known from the moment the loop accepted it, so close() can cut it
        # even if its task has not run yet.
        if acceptor.closed:  # accepted by the loop just before close()
            writer.transport.abort()
            return
        task = asyncio.ensure_future(handle(reader, writer))
        connections[task] = writer
        task.add_done_callback(lambda done: connections.pop(done, None))

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        name = writer.get_extra_info("peername") or ("?", 0)
        await acceptor.accept(reader, writer, f"{name[0]}:{name[1]}", str(name[0]))

    server = await asyncio.start_server(accepted, host, port)
    return DirectListener(server, acceptor, connections)


async def connect_direct(host: str, port: int, code: str, password: str, *,
                         timeouts: Timeouts | None = None) -> SecureChannel:
    """Connect to a host listening directly; returns a confirmed channel.

    Raises ValueError for a malformed code or password (before connecting),
    AuthenticationError (wrong code or password, refused, rate limited),
    ProtocolError (not a screencodec host, other version) or TransportError.
    """
    code, password = parse_code(code), normalize_password(password)
    t = timeouts or Timeouts()
    reader, writer = await open_stream(host, port, t.handshake)
    try:
        result = await handshake_viewer(reader, writer, code, password, t)
    except BaseException:
        await close_writer(writer)
        raise
    return SecureChannel(reader, writer, result, is_host=False, peer=f"{host}:{port}",
                         timeouts=t)


async def handshake_viewer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                            code: str, password: str, t: Timeouts) -> HandshakeResult:
    try:
        return await wait_for(viewer_handshake(reader, writer, code, password), t.handshake,
                              dropped=lambda result: result.keys.wipe())
    except asyncio.TimeoutError:
        raise TransportError("handshake timed out") from None
