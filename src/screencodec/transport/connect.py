"""Opening channels: direct (host listens) and through a relay (host dials out).

Host side: :func:`listen_direct` and :func:`host_via_relay` authenticate each
viewer with the PAKE and hand every confirmed :class:`SecureChannel` to
``on_channel``. Viewer side: :func:`connect_direct` and
:func:`connect_via_relay` return one confirmed channel or raise.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import random
import secrets
from collections.abc import Awaitable, Callable
from typing import Literal

from screencodec.errors import (
    ProtocolError,
    ScreencodecError,
    SessionClosedError,
    TransportError,
)
from screencodec.transport.codes import SessionCredentials, normalize_password, parse_code
from screencodec.transport.frames import (
    AccessRefusedError,
    FrameType,
    RefuseCode,
    close_writer,
    encode_frame,
    read_frame,
    refusal_error,
    send_refusal,
)
from screencodec.transport.handshake import HandshakeResult, host_handshake, viewer_handshake
from screencodec.transport.limits import HANDSHAKE_FRAME_MAX, AttemptLimiter, Timeouts
from screencodec.transport.relay import (
    ROLE_HOST_CONTROL,
    ROLE_HOST_DATA,
    ROLE_VIEWER,
    TOKEN_SIZE,
    encode_open,
)
from screencodec.transport.secure_channel import SecureChannel

__all__ = [
    "DirectListener",
    "OnChannel",
    "OnError",
    "RelayRegistration",
    "connect_direct",
    "connect_via_relay",
    "host_via_relay",
    "listen_direct",
]

#: Called with each authenticated channel; may be a coroutine function. The
#: callee owns the channel from then on (closing it ends that viewer's session).
OnChannel = Callable[[SecureChannel], "Awaitable[None] | None"]
#: Called with ``(peer, exception)`` for each viewer that failed to connect
#: (wrong password, refused, garbage, timeout) and for errors in on_channel.
OnError = Callable[[str, BaseException], None]


async def _open(host: str, port: int, timeout: float | None) -> tuple[
        asyncio.StreamReader, asyncio.StreamWriter]:
    try:
        return await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, asyncio.TimeoutError) as exc:
        raise TransportError(f"cannot reach {host}:{port}: {exc or 'timed out'}") from None


def _check_not_ended(credentials: SessionCredentials) -> None:
    if credentials.ended:
        raise AccessRefusedError(RefuseCode.SESSION_ENDED,
                                 "this session has ended; create new credentials")


class _HostAcceptor:
    """What the host does with each incoming viewer stream, direct or relayed.

    State: the credentials (shared with the session layer), a per-address
    limiter, and the set of live channels it created. One event loop.
    """

    def __init__(self, credentials: SessionCredentials, on_channel: OnChannel,
                 on_error: OnError | None, timeouts: Timeouts,
                 attempts_per_minute: int) -> None:
        self.credentials = credentials
        self.on_channel = on_channel
        self.on_error = on_error
        self.timeouts = timeouts
        self.limiter = AttemptLimiter(attempts_per_minute, 60.0)
        self.channels: set[SecureChannel] = set()
        # Handshakes in flight, so closing can stop them instead of letting
        # them finish into a channel nobody will ever close.
        self.handshakes: set[asyncio.Task[HandshakeResult]] = set()
        self.closed = False

    def _report(self, peer: str, exc: BaseException) -> None:
        if self.on_error is not None:
            with contextlib.suppress(Exception):
                self.on_error(peer, exc)

    async def accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     peer: str, addr: str) -> None:
        if not self.limiter.try_acquire(addr):
            # Read the hello first: closing with unread data would send a TCP
            # reset, and the viewer would never see why it was refused.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(read_frame(reader, HANDSHAKE_FRAME_MAX), 2.0)
            await send_refusal(writer, RefuseCode.RATE_LIMITED,
                               "too many attempts from this address; wait a minute")
            self._report(peer, AccessRefusedError(RefuseCode.RATE_LIMITED, addr))
            return
        if self.closed:
            await close_writer(writer)
            return
        task = asyncio.ensure_future(asyncio.wait_for(
            host_handshake(reader, writer, self.credentials), self.timeouts.handshake))
        self.handshakes.add(task)
        try:
            try:
                result = await task
            except asyncio.TimeoutError:
                raise TransportError("handshake timed out") from None
            except asyncio.CancelledError:
                if not self.closed:
                    raise
                raise SessionClosedError("the host stopped listening") from None
        except (ScreencodecError, OSError) as exc:
            await close_writer(writer)
            self._report(peer, exc)
            return
        finally:
            self.handshakes.discard(task)
        channel = SecureChannel(reader, writer, result, is_host=True, peer=peer,
                                timeouts=self.timeouts)
        self.channels.add(channel)
        channel.add_close_listener(self.channels.discard)
        try:
            outcome = self.on_channel(channel)
            if inspect.isawaitable(outcome):
                await outcome
        except Exception as exc:
            self._report(peer, exc)
            await channel.close("the host failed to start the session")

    async def close_channels(self) -> None:
        self.closed = True
        for task in list(self.handshakes):
            task.cancel()
        for channel in list(self.channels):
            await channel.close("the host ended the session")


class DirectListener:
    """The host's listening socket for direct connections (see :func:`listen_direct`).

    ``port`` is the bound port; :meth:`close` stops listening and closes every
    channel it accepted. Usable as an async context manager.
    """

    def __init__(self, server: asyncio.Server, acceptor: _HostAcceptor) -> None:
        self._server = server
        self._acceptor = acceptor
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
        self._server.close()
        await self._acceptor.close_channels()
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

    ``attempts_per_minute`` caps connection attempts per source address (on top
    of the credentials' 3-failure rule, which is per password).
    """
    _check_not_ended(credentials)
    acceptor = _HostAcceptor(credentials, on_channel, on_error, timeouts or Timeouts(),
                             attempts_per_minute)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        name = writer.get_extra_info("peername") or ("?", 0)
        await acceptor.accept(reader, writer, f"{name[0]}:{name[1]}", str(name[0]))

    server = await asyncio.start_server(handle, host, port)
    return DirectListener(server, acceptor)


async def connect_direct(host: str, port: int, code: str, password: str, *,
                         timeouts: Timeouts | None = None) -> SecureChannel:
    """Connect to a host listening directly; returns a confirmed channel.

    Raises ValueError for a malformed code or password (before connecting),
    AuthenticationError (wrong code or password, refused, invalidated),
    ProtocolError (not a screencodec host, other version) or TransportError.
    """
    code, password = parse_code(code), normalize_password(password)
    t = timeouts or Timeouts()
    reader, writer = await _open(host, port, t.handshake)
    try:
        result = await _handshake_viewer(reader, writer, code, password, t)
    except BaseException:
        await close_writer(writer)
        raise
    return SecureChannel(reader, writer, result, is_host=False, peer=f"{host}:{port}",
                         timeouts=t)


async def _handshake_viewer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                            code: str, password: str, t: Timeouts) -> HandshakeResult:
    try:
        return await asyncio.wait_for(viewer_handshake(reader, writer, code, password),
                                      t.handshake)
    except asyncio.TimeoutError:
        raise TransportError("handshake timed out") from None


async def _relay_open(host: str, port: int, role: int, code: str, token: bytes, *,
                      timeout: float | None) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect to a relay and send RELAY_OPEN; returns once it answers RELAY_OK."""
    reader, writer = await _open(host, port, timeout)
    try:
        writer.write(encode_open(role, code, token))
        try:
            ftype, body = await asyncio.wait_for(read_frame(reader, HANDSHAKE_FRAME_MAX), timeout)
        except asyncio.TimeoutError:
            raise TransportError("the relay did not answer in time") from None
        if ftype == FrameType.REFUSE:
            raise refusal_error(body)
        if ftype != FrameType.RELAY_OK:
            raise ProtocolError(f"unexpected frame {ftype} from the relay")
    except BaseException:
        await close_writer(writer)
        raise
    return reader, writer


async def connect_via_relay(relay_host: str, relay_port: int, code: str, password: str, *,
                            timeouts: Timeouts | None = None,
                            pair_timeout: float = 20.0) -> SecureChannel:
    """Viewer side through a relay: name the code, then run the PAKE end to end.

    Raises like :func:`connect_direct`; an unknown code is
    ``AccessRefusedError`` with ``code == RefuseCode.UNKNOWN_SESSION``.
    """
    code, password = parse_code(code), normalize_password(password)
    t = timeouts or Timeouts()
    reader, writer = await _relay_open(relay_host, relay_port, ROLE_VIEWER, code,
                                       bytes(TOKEN_SIZE), timeout=pair_timeout)
    try:
        result = await _handshake_viewer(reader, writer, code, password, t)
    except BaseException:
        await close_writer(writer)
        raise
    return SecureChannel(reader, writer, result, is_host=False,
                         peer=f"relay {relay_host}:{relay_port}", timeouts=t)


RegistrationState = Literal["connecting", "registered", "backoff", "closed"]


class RelayRegistration:
    """A host's standing registration at a relay (see :func:`host_via_relay`).

    State machine: ``connecting`` -> ``registered`` (control connection up,
    viewers can join) -> on loss ``backoff`` (sleep 0.2 s doubling to
    ``backoff_max``, with jitter) -> ``connecting`` ... until :meth:`close`
    or the credentials end -> ``closed``. ``registrations`` counts successful
    registrations, so a re-registration after a relay restart is observable.

    Each RELAY_INCOMING spawns a task that opens a data connection for that
    viewer and runs the host handshake over it; live channels are in
    :attr:`channels`. Channels survive a lost control connection but not a
    relay restart (their TCP streams go with it).
    """

    def __init__(self, relay_host: str, relay_port: int, acceptor: _HostAcceptor, *,
                 ping_interval: float, backoff_max: float) -> None:
        self.relay_host = relay_host
        self.relay_port = relay_port
        self._acceptor = acceptor
        self._owner = secrets.token_bytes(TOKEN_SIZE)
        self._ping_interval = ping_interval
        self._backoff_max = backoff_max
        self._registered = asyncio.Event()
        self._joins: set[asyncio.Task[None]] = set()
        self.state: RegistrationState = "connecting"
        self.registrations = 0
        self.last_error: BaseException | None = None
        self._task = asyncio.ensure_future(self._run())
        self._closing: asyncio.Task[None] | None = None
        acceptor.credentials.add_end_listener(self._on_end)

    def _on_end(self, _: SessionCredentials) -> None:
        # The host ended the session: take the code off the relay right away.
        self._closing = asyncio.ensure_future(self.close())

    @property
    def channels(self) -> frozenset[SecureChannel]:
        return frozenset(c for c in self._acceptor.channels if not c.closed)

    async def wait_registered(self, timeout: float | None = None) -> None:
        """Wait until the relay has confirmed the registration."""
        await asyncio.wait_for(self._registered.wait(), timeout)

    async def close(self) -> None:
        """Unregister, stop accepting and close every channel. Idempotent.

        Handshakes in flight are stopped; sessions already handed to
        ``on_channel`` see their channel close and are given 2 s to return
        before their tasks are cancelled. Safe to call from inside on_channel.
        """
        self.state = "closed"
        self._registered.clear()
        self._task.cancel()
        await self._acceptor.close_channels()
        others = [t for t in self._joins if t is not asyncio.current_task()]
        if others:
            _, pending = await asyncio.wait(others, timeout=2.0)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await asyncio.gather(self._task, return_exceptions=True)

    async def __aenter__(self) -> RelayRegistration:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _run(self) -> None:
        backoff = 0.2
        while not self._acceptor.credentials.ended:
            self.state = "connecting"
            try:
                await self._session()
            except (ScreencodecError, OSError, asyncio.TimeoutError) as exc:
                self.last_error = exc
            if self.registrations and self._registered.is_set():
                backoff = 0.2  # we were registered: the relay is back, retry soon
            self._registered.clear()
            if self._acceptor.credentials.ended:
                break
            self.state = "backoff"
            await asyncio.sleep(backoff * random.uniform(0.8, 1.2))  # jitter, not a secret
            backoff = min(backoff * 2, self._backoff_max)
        self.state = "closed"

    async def _session(self) -> None:
        creds = self._acceptor.credentials
        reader, writer = await _relay_open(self.relay_host, self.relay_port, ROLE_HOST_CONTROL,
                                           creds.code, self._owner,
                                           timeout=self._acceptor.timeouts.handshake)
        pinger = asyncio.ensure_future(self._ping(writer))
        try:
            self.state = "registered"
            self.registrations += 1
            self._registered.set()
            while not creds.ended:
                ftype, body = await asyncio.wait_for(read_frame(reader, HANDSHAKE_FRAME_MAX),
                                                     self._ping_interval * 3)
                if ftype == FrameType.RELAY_INCOMING and len(body) >= TOKEN_SIZE:
                    join = asyncio.ensure_future(self._join(body[:TOKEN_SIZE],
                                                            body[TOKEN_SIZE:].decode(
                                                                "utf-8", "replace")))
                    self._joins.add(join)
                    join.add_done_callback(self._joins.discard)
                elif ftype != FrameType.RELAY_PONG:
                    raise ProtocolError(f"unexpected frame {ftype} from the relay")
        finally:
            pinger.cancel()
            await asyncio.gather(pinger, return_exceptions=True)
            await close_writer(writer)

    async def _ping(self, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, RuntimeError):
            while True:
                await asyncio.sleep(self._ping_interval)
                writer.write(encode_frame(FrameType.RELAY_PING))
                await writer.drain()

    async def _join(self, join_id: bytes, viewer_addr: str) -> None:
        peer = f"relay {self.relay_host}:{self.relay_port} viewer {viewer_addr}"
        try:
            reader, writer = await _relay_open(
                self.relay_host, self.relay_port, ROLE_HOST_DATA,
                self._acceptor.credentials.code, join_id,
                timeout=self._acceptor.timeouts.handshake)
        except (ScreencodecError, OSError) as exc:
            self._acceptor._report(peer, exc)
            return
        await self._acceptor.accept(reader, writer, peer, viewer_addr)


async def host_via_relay(
    relay_host: str,
    relay_port: int,
    credentials: SessionCredentials,
    on_channel: OnChannel,
    *,
    timeouts: Timeouts | None = None,
    attempts_per_minute: int = 10,
    on_error: OnError | None = None,
    ping_interval: float = 10.0,
    backoff_max: float = 10.0,
) -> RelayRegistration:
    """Register ``credentials.code`` at a relay and accept viewers through it.

    Raises AccessRefusedError(SESSION_ENDED) if the credentials have ended;
    when they end later, the registration closes (the relay forgets the code).

    Returns at once with a :class:`RelayRegistration` that keeps (re)connecting
    in the background; ``await reg.wait_registered(timeout)`` to know it is up.
    ``attempts_per_minute`` limits attempts per viewer address as the relay
    reports it.
    """
    _check_not_ended(credentials)
    acceptor = _HostAcceptor(credentials, on_channel, on_error, timeouts or Timeouts(),
                             attempts_per_minute)
    return RelayRegistration(relay_host, relay_port, acceptor,
                             ping_interval=ping_interval, backoff_max=backoff_max)
