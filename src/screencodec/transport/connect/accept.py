"""The host side shared by direct listening and relay registration.

:class:`HostAcceptor` takes one incoming viewer stream (accepted directly or
opened to a relay for a join), applies the per-address limits, runs the host
handshake and hands the confirmed channel to ``on_channel``. Also the small
connection helpers both sides use.

What an attacker can hold, and for how long: a connection that has not yet
committed to a guess holds a pre-auth slot (channel/throttle.py
:class:`PreauthSlots`: a few per address, keyed on the IPv4 address or the
IPv6 /64, and a bounded total) for at most ``Timeouts.preauth``. In a full
room a newcomer displaces only a connection stalled past the allowance its own
link earned (one second plus twice the round trip it showed up to its hello),
or one of an address holding two more than the newcomer's, else it is refused
BUSY. A committed guess waits for the session's throttle, which, not a slot
count, decides who is checked next. So nobody can displace the agent's
handshake once it has a slot; keeping the agent from getting one takes fresh
connections, one per address, in every slot: ``total`` addresses for a moment,
and ``total * 60 / (attempts_per_minute * Timeouts.preauth)`` to keep it up
(154 with the defaults; docs/security.md, "The pre-auth room").
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import socket
import sys
from collections.abc import Awaitable, Callable

from screencodec.errors import ProtocolError, SessionClosedError, TransportError
from screencodec.transport.aio import wait_for
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import (
    AccessRefusedError,
    FrameType,
    RefuseCode,
    close_writer,
    read_frame,
    refusal_error,
    send_refusal,
)
from screencodec.transport.channel.handshake import HandshakeResult, host_handshake
from screencodec.transport.channel.limits import HANDSHAKE_FRAME_MAX, AttemptLimiter, Timeouts
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.channel.throttle import PreauthSlots
from screencodec.transport.relay import address_key, encode_open

__all__ = [
    "HostAcceptor",
    "OnChannel",
    "OnError",
    "check_not_ended",
    "open_stream",
    "relay_open",
]

#: Called with each authenticated channel; may be a coroutine function. The
#: callee owns the channel from then on (closing it ends that viewer's session).
#: ``Host.serve`` is one; what it returns is ignored.
OnChannel = Callable[[SecureChannel], "Awaitable[object] | None"]
#: Called with ``(peer, exception)`` for each viewer that failed to connect
#: (wrong password, refused, garbage, timeout) and for errors in on_channel.
OnError = Callable[[str, BaseException], None]


async def open_stream(host: str, port: int, timeout: float | None) -> tuple[
        asyncio.StreamReader, asyncio.StreamWriter]:
    """Open a TCP stream; any failure is a TransportError naming the address,
    whose ``errno`` is the system's (ECONNREFUSED: nothing listens there)."""
    try:
        # Connected as the caller is cancelled: closed, not left to the GC.
        return await wait_for(asyncio.open_connection(host, port), timeout,
                              dropped=lambda stream: stream[1].close())
    except (OSError, asyncio.TimeoutError) as exc:
        error = TransportError(f"cannot reach {host}:{port}: {exc or 'timed out'}")
        error.errno = exc.errno if isinstance(exc, OSError) else None
        raise error from None


def check_not_ended(credentials: SessionCredentials) -> None:
    """Refuse to listen or register with credentials whose session has ended."""
    if credentials.ended:
        raise AccessRefusedError(RefuseCode.SESSION_ENDED,
                                 "this session has ended; create new credentials")


class HostAcceptor:
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
        self.slots = PreauthSlots()
        self.channels: set[SecureChannel] = set()
        # Handshakes in flight, so closing can stop them instead of letting
        # them finish into a channel nobody will ever close.
        self.handshakes: set[asyncio.Task[HandshakeResult]] = set()
        self.closed = False

    def report(self, peer: str, exc: BaseException) -> None:
        """Pass a failed viewer to ``on_error``; a failing callback is ignored."""
        if self.on_error is not None:
            with contextlib.suppress(Exception):
                self.on_error(peer, exc)

    async def accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     peer: str, addr: str) -> None:
        key = address_key(addr)
        if not self.limiter.try_acquire(key):
            await self._refuse(reader, writer, peer, RefuseCode.RATE_LIMITED,
                               "too many attempts from this address; wait a minute")
            return
        if self.closed:
            await close_writer(writer)
            return
        task = asyncio.ensure_future(host_handshake(
            reader, writer, self.credentials, key,
            preauth_timeout=self.timeouts.preauth, auth_timeout=self.timeouts.handshake,
            on_hello=lambda: self.slots.hello(task, link_round_trip(writer)),
            on_commit=lambda: self.slots.release(task)))
        refused = self.slots.take(task, key, lambda: _cancel(task))
        if refused is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await self._refuse(reader, writer, peer, *refused)
            return
        self.handshakes.add(task)
        try:
            try:
                result = await task
            except asyncio.TimeoutError:
                raise TransportError("handshake timed out") from None
            except asyncio.CancelledError:
                if not task.cancelled():  # we are cancelled ourselves
                    raise
                # Displaced from its pre-auth slot, or the host stopped listening.
                raise SessionClosedError("the host stopped listening" if self.closed
                                         else "displaced while parked") from None
        except Exception as exc:  # any failure: this stream closes
            # Not only ScreencodecError and OSError: a library's own error on
            # a peer's bytes (python-spake2's ValueError for a bad point,
            # stop 54) left the connection open.
            await close_writer(writer)
            self.report(peer, exc)
            return
        finally:
            self.slots.release(task)
            self.handshakes.discard(task)
        channel = SecureChannel(reader, writer, result, is_host=True, peer=peer,
                                timeouts=self.timeouts)
        self.channels.add(channel)
        channel.add_close_listener(self.channels.discard)
        try:
            outcome = self.on_channel(channel)
            if inspect.isawaitable(outcome):
                await outcome
        except Exception as exc:  # any failure: this stream closes
            self.report(peer, exc)
            await channel.close("the host failed to start the session")

    async def _refuse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                      peer: str, code: RefuseCode, why: str) -> None:
        # Read the hello first: closing with unread data would send a TCP
        # reset, and the viewer would never see why it was refused.
        with contextlib.suppress(Exception):
            await wait_for(read_frame(reader, HANDSHAKE_FRAME_MAX), 2.0)
        await send_refusal(writer, code, why)
        self.report(peer, AccessRefusedError(code, why))

    async def close_channels(self) -> None:
        self.closed = True
        for task in list(self.handshakes):
            task.cancel()
        # At once: each close lingers until its viewer has taken it.
        await asyncio.gather(*(channel.close("the host ended the session")
                               for channel in list(self.channels)))


def _cancel(task: asyncio.Task[HandshakeResult]) -> None:
    task.cancel()


def link_round_trip(writer: asyncio.StreamWriter) -> float:
    """The kernel's smoothed round trip (seconds) of the TCP connection under
    ``writer``: on Linux measured from the connection's own handshake, so
    known when a direct viewer's hello arrives with its opening. 0.0 where
    it cannot be read (another system, not a TCP socket)."""
    sock = writer.get_extra_info("socket")
    option = getattr(socket, "TCP_INFO", None)
    if sock is None or option is None:
        return 0.0
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, option, _TCP_INFO_SIZE)
    except OSError:
        return 0.0
    if len(info) < _TCPI_RTT + 4:
        return 0.0
    return int.from_bytes(info[_TCPI_RTT:_TCPI_RTT + 4], sys.byteorder) / 1e6


#: struct tcp_info (linux/tcp.h): eight one-byte fields, then u32s, of which
#: tcpi_rtt (microseconds) is the sixteenth.
_TCPI_RTT = 8 + 15 * 4
_TCP_INFO_SIZE = 104


async def relay_open(host: str, port: int, role: int, code: str, token: bytes, *,
                     timeout: float | None) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect to a relay and send RELAY_OPEN; returns once it answers RELAY_OK."""
    reader, writer = await open_stream(host, port, timeout)
    try:
        writer.write(encode_open(role, code, token))
        try:
            ftype, body = await wait_for(read_frame(reader, HANDSHAKE_FRAME_MAX), timeout)
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
