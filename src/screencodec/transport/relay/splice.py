"""Forwarding between a paired viewer and host: the relay's data path.

Two phases. During the end-to-end handshake each direction is forwarded frame
by frame: every length is checked against the limit before the body is read,
and the relay watches for each side's CONFIRM (the last handshake frame), so
it can cut a handshake that stalls (a parked HELLO) without reading anything
secret. Once both CONFIRMs have passed, only sealed records follow, which the
relay can neither read nor usefully check, so both sockets are handed to
:class:`_Splice` protocols: each received chunk is written to the other
transport as it is (one copy, no coroutine, no parsing), with the kernel-side
flow control of the transports (pause reading one side while the other's
send buffer is full).

Activity (for the idle timeout) and byte counts are one attribute update per
chunk; the watchdog reads them.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from screencodec.errors import ProtocolError, TransportError
from screencodec.transport.channel.framing import HEADER, FrameType

__all__ = ["PairControl", "PairStreams", "Tap", "forward_handshake", "is_spliced", "splice"]

#: ``tap(direction, data)`` sees every byte the relay forwards (for tests and
#: diagnostics: it shows what a malicious relay could see).
Tap = Callable[[str, bytes], None]

_HIGH_WATER = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class PairStreams:
    """The two streams of one pair, as the relay accepted them."""

    v_reader: asyncio.StreamReader
    v_writer: asyncio.StreamWriter
    h_reader: asyncio.StreamReader
    h_writer: asyncio.StreamWriter


@dataclass(eq=False, slots=True)
class PairControl:
    """The relay's handle on one pair: ``stop`` cuts it; ``frames`` counts the
    handshake frames forwarded so far, viewer's and host's."""

    stop: asyncio.Event = field(default_factory=asyncio.Event)
    frames: dict[str, int] = field(default_factory=lambda: {"viewer->host": 0,
                                                           "host->viewer": 0})
    host_confirmed: bool = False

    #: loop time since when the viewer owes the next message (the host has
    #: answered its last one), or None: where a parked handshake sits forever
    #: and a real viewer only while it computes its PAKE message.
    stalled_since: float | None = None


def _progress(control: PairControl, direction: str, ftype: int) -> None:
    # Updated before any await, so an eviction never sees stale progress.
    control.frames[direction] += 1
    if direction == "host->viewer":
        if ftype == FrameType.CONFIRM:
            control.host_confirmed = True
        elif control.frames[direction] >= control.frames["viewer->host"]:
            control.stalled_since = asyncio.get_running_loop().time()
    else:
        control.stalled_since = None


async def forward_handshake(src: asyncio.StreamReader, dst: asyncio.StreamWriter,
                            direction: str, *, max_body: int, tap: Tap | None,
                            control: PairControl | None = None) -> bool:
    """Forward whole frames until this side's CONFIRM has passed (True) or
    the stream ends (False). Counts frames in ``control`` if given."""
    while True:
        try:
            header = await src.readexactly(HEADER.size)
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                dst.write(exc.partial)  # let the far end see the truncation
            return False
        length, ftype = HEADER.unpack(header)
        if length < 1 or length - 1 > max_body:
            raise ProtocolError(f"{direction}: frame of {length} bytes over the limit")
        try:
            body = await src.readexactly(length - 1)
        except asyncio.IncompleteReadError:
            raise TransportError(f"{direction}: stream truncated inside a frame") from None
        dst.write(header + body)
        if control is not None:
            _progress(control, direction, ftype)
        if tap is not None:
            tap(direction, header + body)
        await dst.drain()
        if ftype == FrameType.CONFIRM:
            return True
        if ftype >= FrameType.RECORD_DATA:
            raise ProtocolError(f"{direction}: a record before the handshake finished")


class _Splice(asyncio.Protocol):
    """Reads one transport, writes the other. Flow control: when our own
    transport's send buffer is full, the peer's reading is paused.
    ``ended`` fires on the first EOF or loss of either side; ``lost`` when
    this side's transport is gone."""

    __slots__ = ("count", "direction", "ended", "last", "loop", "lost", "peer", "tap",
                 "transport")

    def __init__(self, transport: asyncio.Transport, direction: str, tap: Tap | None,
                 ended: asyncio.Future[Any]) -> None:
        self.transport = transport
        self.peer: asyncio.Transport | None = None
        self.direction = direction
        self.tap = tap
        self.ended = ended
        self.loop = asyncio.get_running_loop()
        self.lost: asyncio.Future[Any] = self.loop.create_future()
        self.count = 0
        self.last = self.loop.time()

    def data_received(self, data: bytes) -> None:
        assert self.peer is not None
        self.peer.write(data)
        self.count += len(data)
        self.last = self.loop.time()
        if self.tap is not None:
            self.tap(self.direction, data)

    def eof_received(self) -> bool | None:
        if not self.ended.done():
            self.ended.set_result(None)
        return True  # keep our side open until the splice closes both

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ended.done():
            self.ended.set_result(None)
        if not self.lost.done():
            self.lost.set_result(None)

    def pause_writing(self) -> None:
        if self.peer is not None:
            with contextlib.suppress(RuntimeError):
                self.peer.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None:
            with contextlib.suppress(RuntimeError):
                self.peer.resume_reading()


# Writers whose transport the raw phase took over (a transport forgets its
# protocol once closed, so the protocol cannot tell).
_SPLICED: weakref.WeakSet[asyncio.StreamWriter] = weakref.WeakSet()


def is_spliced(writer: asyncio.StreamWriter) -> bool:
    """True once the splice owns this stream's transport (and closes it)."""
    return writer in _SPLICED


def _take_buffered(reader: asyncio.StreamReader) -> bytes:
    # What the stream reader already received past the handshake: records the
    # far side sent right after its CONFIRM. No await happens between this
    # and the protocol swap, so nothing can arrive in between.
    buffer: bytearray = getattr(reader, "_buffer")  # noqa: B009 - no public accessor
    data = bytes(buffer)
    buffer.clear()
    return data


async def _handshake_phase(s: PairStreams, stopper: asyncio.Future[Any], *,
                           timeout: float, max_body: int, tap: Tap | None,
                           control: PairControl) -> str | None:
    """None once both CONFIRMs have passed, else why the pair must end."""
    loop = asyncio.get_running_loop()
    pumps: set[asyncio.Future[Any]] = {
        asyncio.ensure_future(forward_handshake(s.v_reader, s.h_writer, "viewer->host",
                                                max_body=max_body, tap=tap, control=control)),
        asyncio.ensure_future(forward_handshake(s.h_reader, s.v_writer, "host->viewer",
                                                max_body=max_body, tap=tap, control=control)),
    }
    deadline = loop.time() + timeout
    pending = set(pumps)
    try:
        while pending:
            done, pending = await asyncio.wait(
                {*pending, stopper}, timeout=max(0.0, deadline - loop.time()),
                return_when=asyncio.FIRST_COMPLETED)
            pending.discard(stopper)
            if stopper in done:
                return "stopped"
            if not done:
                return "handshake timeout"
            for pump in done:
                exc = pump.exception()
                if exc is not None:
                    return f"bad stream: {exc}"
                if not pump.result():
                    return "closed during handshake"
        return None
    finally:
        for pump in pumps:
            pump.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)


async def splice(streams: PairStreams, *,
                 idle_timeout: float, handshake_timeout: float, max_body: int,
                 tap: Tap | None, on_bytes: Callable[[int], None],
                 control: PairControl, on_raw: Callable[[], None] | None = None) -> str:
    """Forward a pair until either side closes, it idles out, the handshake
    stalls or ``control.stop`` is set; returns why it ended. Once it reached
    the raw phase (:func:`is_spliced`), both transports are closed here;
    before that, closing the writers is the caller's job."""
    stopper: asyncio.Future[Any] = asyncio.ensure_future(control.stop.wait())
    try:
        why = await _handshake_phase(streams, stopper, timeout=handshake_timeout,
                                     max_body=max_body, tap=tap, control=control)
        if why is not None:
            return why
        if on_raw is not None:
            on_raw()
        return await _raw_phase(streams, stopper, idle_timeout=idle_timeout, tap=tap,
                                on_bytes=on_bytes)
    finally:
        stopper.cancel()


async def _raw_phase(s: PairStreams, stopper: asyncio.Future[Any], *, idle_timeout: float,
                     tap: Tap | None, on_bytes: Callable[[int], None]) -> str:
    loop = asyncio.get_running_loop()
    v_reader, h_reader = s.v_reader, s.h_reader
    # uvloop's transports do not inherit from asyncio.Transport, but have its API.
    vt = cast(asyncio.Transport, s.v_writer.transport)
    ht = cast(asyncio.Transport, s.h_writer.transport)
    ended: asyncio.Future[Any] = loop.create_future()
    vp = _Splice(vt, "viewer->host", tap, ended)
    hp = _Splice(ht, "host->viewer", tap, ended)
    vp.peer, hp.peer = ht, vt
    eof = v_reader.at_eof() or h_reader.at_eof() or v_reader.exception() is not None \
        or h_reader.exception() is not None
    for reader, proto in ((v_reader, vp), (h_reader, hp)):
        data = _take_buffered(reader)
        if data:
            proto.data_received(data)
    _SPLICED.add(s.v_writer)
    _SPLICED.add(s.h_writer)
    for transport, proto in ((vt, vp), (ht, hp)):
        transport.set_write_buffer_limits(high=_HIGH_WATER)
        transport.set_protocol(proto)
        if transport.is_closing():
            eof = True
            if not proto.lost.done():
                proto.lost.set_result(None)
        elif not transport.is_reading():
            transport.resume_reading()
    if eof and not ended.done():
        ended.set_result(None)
    reported = 0
    why = "closed"
    try:
        while True:
            remaining = max(vp.last, hp.last) + idle_timeout - loop.time()
            if remaining <= 0:
                why = "idle"
                break
            done, _ = await asyncio.wait({ended, stopper}, timeout=min(remaining, 1.0),
                                         return_when=asyncio.FIRST_COMPLETED)
            total = vp.count + hp.count
            on_bytes(total - reported)
            reported = total
            if stopper in done:
                why = "stopped"
                break
            if ended in done:
                break
    finally:
        on_bytes(vp.count + hp.count - reported)
        for transport in (vt, ht):
            transport.close()  # flushes what is buffered, then closes
        _, slow = await asyncio.wait({vp.lost, hp.lost}, timeout=2.0)
        if slow:  # a peer that stopped reading: do not wait for its buffer
            vt.abort()
            ht.abort()
            await asyncio.wait(slow, timeout=1.0)
    return why
