"""The relay: pairs hosts behind NAT with viewers, and forwards sealed bytes.

Relay protocol (every message is a frame, see frames.py). Each connection to
the relay opens with one RELAY_OPEN frame: magic, version, a role, the session
code and a 16-byte token.

* **Host control** (role 1, token = the host's random *owner token*): registers
  the code and stays open. The host sends RELAY_PING, the relay answers
  RELAY_PONG; silence past ``control_idle_timeout`` ends the registration. A
  second registration of a live code is refused (CODE_IN_USE) unless it bears
  the same owner token, in which case it replaces the old one (a host whose
  old control connection died without the relay noticing yet).
* **Viewer** (role 2, token unused): names a code. Unknown code -> REFUSE
  UNKNOWN_SESSION. Otherwise the relay draws a random 16-byte *join id*, sends
  RELAY_INCOMING(join id, viewer address) on the host's control connection and
  waits up to ``pair_timeout`` for the host.
* **Host data** (role 3, token = a join id): the host opens one new connection
  per incoming viewer. The relay matches the join id (constant time), answers
  RELAY_OK to both ends and from then on forwards frames both ways: the
  end-to-end hello, SPAKE2 messages and sealed records. It checks each frame's
  length against :data:`MAX_RECORD_BODY` and counts activity, nothing more; it
  holds no key and cannot read or forge records.

State: only live registrations and pending joins, in memory. Nothing survives a
restart, and nothing needs to: hosts re-register, viewers rejoin. So several
relays can run behind a load balancer as long as a host and its viewers reach
the same one (shard by session code).

Limits: per source address, viewer joins and host registrations per minute
(:class:`AttemptLimiter`) and open connections; a deadline for the opening
frame, for pairing, and for idle paired streams; a cap on connections and on
pending joins per code.
A connection that sends anything unexpected is refused and dropped; the rest
carry on.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from screencodec.errors import ProtocolError, ScreencodecError, TransportError
from screencodec.transport.channel.framing import (
    HEADER,
    FrameType,
    RefuseCode,
    close_writer,
    encode_frame,
    read_frame,
    send_refusal,
)
from screencodec.transport.channel.handshake import VersionMismatchError
from screencodec.transport.channel.limits import (
    HANDSHAKE_FRAME_MAX,
    MAX_RECORD_BODY,
    AttemptLimiter,
)
from screencodec.transport.relay.protocol import (
    ROLE_HOST_CONTROL,
    ROLE_VIEWER,
    TOKEN_SIZE,
    parse_open,
)

__all__ = ["Relay", "RelayLimits", "RelayStats", "run_relay"]

_CHUNK = 64 * 1024
_log = logging.getLogger(__name__)

#: ``tap(direction, data)`` sees every byte the relay forwards (for tests and
#: diagnostics: it shows what a malicious relay could see).
Tap = Callable[[str, bytes], None]



@dataclass(frozen=True, slots=True)
class RelayLimits:
    """Everything a relay caps. Times in seconds."""

    open_timeout: float = 10.0
    pair_timeout: float = 15.0
    idle_timeout: float = 120.0
    control_idle_timeout: float = 60.0
    joins_per_minute: int = 20
    registrations_per_minute: int = 20
    max_connections: int = 10_000
    max_connections_per_address: int = 64
    max_pending_per_session: int = 4
    max_frame_body: int = MAX_RECORD_BODY


@dataclass(slots=True)
class RelayStats:
    """Counters, for monitoring and tests."""

    refused: dict[str, int] = field(default_factory=dict)
    paired: int = 0
    bytes_forwarded: int = 0

    def refuse(self, code: RefuseCode) -> None:
        self.refused[code.name] = self.refused.get(code.name, 0) + 1


_Pairing = tuple[asyncio.StreamReader, asyncio.StreamWriter, asyncio.Event]


@dataclass(eq=False, slots=True)
class _Registration:
    code: str
    owner: bytes
    writer: asyncio.StreamWriter
    pending: list[tuple[bytes, asyncio.Future[_Pairing]]] = field(default_factory=list)


class Relay:
    """A relay server. ``await relay.start()``, then ``relay.port``; ``await relay.close()``.

    Concurrency: one task per connection on one event loop; shared state
    (registrations, limiters, stats) is only touched between awaits.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *,
                 limits: RelayLimits | None = None, tap: Tap | None = None) -> None:
        self._host = host
        self._port = port
        self.limits = limits or RelayLimits()
        self._tap = tap
        self._server: asyncio.Server | None = None
        self._sessions: dict[str, _Registration] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._per_address: dict[str, int] = {}
        self._join_limiter = AttemptLimiter(self.limits.joins_per_minute, 60.0)
        self._reg_limiter = AttemptLimiter(self.limits.registrations_per_minute, 60.0)
        self.stats = RelayStats()

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def sessions(self) -> frozenset[str]:
        """Codes registered right now."""
        return frozenset(self._sessions)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self._host, self._port)

    async def close(self) -> None:
        """Stop listening and drop every connection (hosts will re-register elsewhere)."""
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for writer in list(self._writers):
            await close_writer(writer, 0.2)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        self._sessions.clear()

    async def __aenter__(self) -> Relay:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def serve_forever(self) -> None:
        if self._server is None:
            await self.start()
        assert self._server is not None
        await self._server.serve_forever()

    # -- per connection ----------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        ip = str((writer.get_extra_info("peername") or ("?",))[0])
        self._tasks.add(task)
        self._writers.add(writer)
        self._per_address[ip] = self._per_address.get(ip, 0) + 1
        try:
            if len(self._writers) > self.limits.max_connections:
                await self._refuse(writer, RefuseCode.BUSY, "relay at capacity")
            elif self._per_address[ip] > self.limits.max_connections_per_address:
                # Without this, one address holding sockets open (slowloris)
                # could use up max_connections for everyone.
                await self._refuse(writer, RefuseCode.BUSY, "too many connections from here")
            else:
                await self._serve(reader, writer, ip)
        except (ScreencodecError, OSError, EOFError, asyncio.TimeoutError):
            pass  # one client's failure is that client's problem
        except Exception:
            # A bug, not a client: say so, but keep serving everyone else.
            _log.exception("relay: unexpected error on one connection")
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            left = self._per_address.pop(ip, 1) - 1
            if left:
                self._per_address[ip] = left
            await close_writer(writer, 0.2)

    async def _refuse(self, writer: asyncio.StreamWriter, code: RefuseCode, detail: str) -> None:
        self.stats.refuse(code)
        await send_refusal(writer, code, detail)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     ip: str) -> None:
        try:
            ftype, body = await asyncio.wait_for(read_frame(reader, HANDSHAKE_FRAME_MAX),
                                                 self.limits.open_timeout)
            role, code, token = parse_open(ftype, body)
        except asyncio.TimeoutError:
            await self._refuse(writer, RefuseCode.TIMEOUT, "no opening message in time")
            return
        except VersionMismatchError as exc:
            await self._refuse(writer, RefuseCode.BAD_VERSION, str(exc))
            return
        except ProtocolError as exc:
            await self._refuse(writer, RefuseCode.MALFORMED, str(exc))
            return
        if role == ROLE_HOST_CONTROL:
            await self._serve_host_control(reader, writer, ip, code, token)
        elif role == ROLE_VIEWER:
            await self._serve_viewer(reader, writer, ip, code)
        else:
            await self._serve_host_data(reader, writer, code, token)

    async def _serve_host_control(self, reader: asyncio.StreamReader,
                                  writer: asyncio.StreamWriter, ip: str,
                                  code: str, owner: bytes) -> None:
        if not self._reg_limiter.try_acquire(ip):
            await self._refuse(writer, RefuseCode.RATE_LIMITED,
                               "too many registrations from this address; wait a minute")
            return
        old = self._sessions.get(code)
        if old is not None:
            if not hmac.compare_digest(old.owner, owner):
                await self._refuse(writer, RefuseCode.CODE_IN_USE, "session code in use")
                return
            old.writer.close()  # the same host again: its old link is dead
        reg = _Registration(code, owner, writer)
        self._sessions[code] = reg
        try:
            writer.write(encode_frame(FrameType.RELAY_OK))
            while True:
                ftype, _ = await asyncio.wait_for(read_frame(reader, HANDSHAKE_FRAME_MAX),
                                                  self.limits.control_idle_timeout)
                if ftype != FrameType.RELAY_PING:
                    raise ProtocolError(f"unexpected frame {ftype} on a control connection")
                writer.write(encode_frame(FrameType.RELAY_PONG))
                await writer.drain()
        finally:
            if self._sessions.get(code) is reg:
                del self._sessions[code]
            for _, fut in reg.pending:
                if not fut.done():
                    fut.set_exception(TransportError("the host's registration ended"))

    async def _serve_viewer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                            ip: str, code: str) -> None:
        if not self._join_limiter.try_acquire(ip):
            await self._refuse(writer, RefuseCode.RATE_LIMITED,
                               "too many join attempts from this address; wait a minute")
            return
        reg = self._sessions.get(code)
        if reg is None:
            await self._refuse(writer, RefuseCode.UNKNOWN_SESSION, "no such session code")
            return
        if len(reg.pending) >= self.limits.max_pending_per_session:
            await self._refuse(writer, RefuseCode.BUSY, "too many viewers joining at once")
            return
        join_id = secrets.token_bytes(TOKEN_SIZE)
        fut: asyncio.Future[_Pairing] = asyncio.get_running_loop().create_future()
        entry = (join_id, fut)
        reg.pending.append(entry)
        try:
            reg.writer.write(encode_frame(FrameType.RELAY_INCOMING,
                                          join_id + ip.encode()[:64]))
            host_reader, host_writer, done = await asyncio.wait_for(
                fut, self.limits.pair_timeout)
        except asyncio.TimeoutError:
            await self._refuse(writer, RefuseCode.TIMEOUT, "the host did not answer")
            return
        except TransportError:
            await self._refuse(writer, RefuseCode.UNKNOWN_SESSION, "the host went away")
            return
        finally:
            with contextlib.suppress(ValueError):
                reg.pending.remove(entry)
        try:
            self.stats.paired += 1
            ok = encode_frame(FrameType.RELAY_OK)
            writer.write(ok)
            host_writer.write(ok)
            await self._splice(reader, writer, host_reader, host_writer)
        finally:
            done.set()

    async def _serve_host_data(self, reader: asyncio.StreamReader,
                               writer: asyncio.StreamWriter, code: str, join_id: bytes) -> None:
        reg = self._sessions.get(code)
        match = None
        if reg is not None:
            for pending_id, fut in reg.pending:
                if hmac.compare_digest(pending_id, join_id) and not fut.done():
                    match = fut
        if match is None:
            await self._refuse(writer, RefuseCode.UNKNOWN_SESSION, "no such pending viewer")
            return
        done = asyncio.Event()
        match.set_result((reader, writer, done))
        await done.wait()  # the viewer's task forwards, and closes us when done

    async def _splice(self, v_reader: asyncio.StreamReader, v_writer: asyncio.StreamWriter,
                      h_reader: asyncio.StreamReader, h_writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        last = [loop.time()]
        pumps = [
            asyncio.ensure_future(self._pump(v_reader, h_writer, "viewer->host", last)),
            asyncio.ensure_future(self._pump(h_reader, v_writer, "host->viewer", last)),
        ]
        try:
            while True:
                remaining = last[0] + self.limits.idle_timeout - loop.time()
                if remaining <= 0:
                    break  # idle: both sides get EOF
                done, _ = await asyncio.wait(pumps, timeout=remaining,
                                             return_when=asyncio.FIRST_COMPLETED)
                if done:
                    break
        finally:
            for pump in pumps:
                pump.cancel()
            results = await asyncio.gather(*pumps, return_exceptions=True)
            del results  # errors here are one side's misbehaviour: already handled by closing
            await close_writer(h_writer, 0.2)
            await close_writer(v_writer, 0.2)

    async def _pump(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter,
                    direction: str, last: list[float]) -> None:
        """Forward whole frames from src to dst, checking each length first."""
        loop = asyncio.get_running_loop()
        tap = self._tap
        while True:
            try:
                header = await src.readexactly(HEADER.size)
            except asyncio.IncompleteReadError as exc:
                if exc.partial:
                    dst.write(exc.partial)  # let the far end see the truncation
                return
            length, _ = HEADER.unpack(header)
            if length < 1 or length - 1 > self.limits.max_frame_body:
                raise ProtocolError(f"{direction}: frame of {length} bytes over the limit")
            dst.write(header)
            if tap is not None:
                tap(direction, header)
            remaining = length - 1
            while remaining:
                chunk = await src.read(min(remaining, _CHUNK))
                if not chunk:
                    raise TransportError(f"{direction}: stream truncated inside a frame")
                dst.write(chunk)
                if tap is not None:
                    tap(direction, chunk)
                remaining -= len(chunk)
                self.stats.bytes_forwarded += len(chunk)
                last[0] = loop.time()
                await dst.drain()
            last[0] = loop.time()
            await dst.drain()


async def run_relay(host: str = "0.0.0.0", port: int = 7390, *,
                    limits: RelayLimits | None = None,
                    ready: Callable[[Relay], None] | None = None) -> None:
    """Run a relay until cancelled (for ``screencodec relay``)."""
    relay = Relay(host, port, limits=limits)
    await relay.start()
    try:
        if ready is not None:
            ready(relay)
        await asyncio.Event().wait()
    finally:
        await relay.close()
