"""Sessions through a relay: the host's standing registration (hosts behind NAT
dial out) and the viewer's connection naming a code.

See relay/server.py for the relay protocol. One control connection registers the
session code; each RELAY_INCOMING makes the host open one data connection for
that viewer and run the PAKE over it, end to end through the relay.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
from typing import Literal

from screencodec.errors import ProtocolError, ScreencodecError
from screencodec.transport.channel.codes import SessionCredentials, normalize_password, parse_code
from screencodec.transport.channel.framing import FrameType, close_writer, encode_frame, read_frame
from screencodec.transport.channel.limits import HANDSHAKE_FRAME_MAX, Timeouts
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect.accept import (
    HostAcceptor,
    OnChannel,
    OnError,
    check_not_ended,
    relay_open,
)
from screencodec.transport.connect.direct import handshake_viewer
from screencodec.transport.relay import ROLE_HOST_CONTROL, ROLE_HOST_DATA, ROLE_VIEWER, TOKEN_SIZE

__all__ = ["RegistrationState", "RelayRegistration", "connect_via_relay", "host_via_relay"]

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

    def __init__(self, relay_host: str, relay_port: int, acceptor: HostAcceptor, *,
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
        reader, writer = await relay_open(self.relay_host, self.relay_port, ROLE_HOST_CONTROL,
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
            reader, writer = await relay_open(
                self.relay_host, self.relay_port, ROLE_HOST_DATA,
                self._acceptor.credentials.code, join_id,
                timeout=self._acceptor.timeouts.handshake)
        except (ScreencodecError, OSError) as exc:
            self._acceptor.report(peer, exc)
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
    check_not_ended(credentials)
    acceptor = HostAcceptor(credentials, on_channel, on_error, timeouts or Timeouts(),
                            attempts_per_minute)
    return RelayRegistration(relay_host, relay_port, acceptor,
                             ping_interval=ping_interval, backoff_max=backoff_max)


async def connect_via_relay(relay_host: str, relay_port: int, code: str, password: str, *,
                            timeouts: Timeouts | None = None,
                            pair_timeout: float = 20.0) -> SecureChannel:
    """Viewer side through a relay: name the code, then run the PAKE end to end.

    Raises like :func:`connect_direct`; an unknown code is
    ``AccessRefusedError`` with ``code == RefuseCode.UNKNOWN_SESSION``.
    """
    code, password = parse_code(code), normalize_password(password)
    t = timeouts or Timeouts()
    reader, writer = await relay_open(relay_host, relay_port, ROLE_VIEWER, code,
                                      bytes(TOKEN_SIZE), timeout=pair_timeout)
    try:
        result = await handshake_viewer(reader, writer, code, password, t)
    except BaseException:
        await close_writer(writer)
        raise
    return SecureChannel(reader, writer, result, is_host=False,
                         peer=f"relay {relay_host}:{relay_port}", timeouts=t)
