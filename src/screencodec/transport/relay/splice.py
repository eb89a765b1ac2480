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

A side that shuts its sending half (an orderly close: its last record, then
FIN) has that end passed on, after its data, while the other direction keeps
flowing until that side ends too or ``_HALF_CLOSED_FOR`` passes. Closing both
at the first end would reset whichever side was still sending, and a reset
peer loses what it had not read yet: the other side's goodbye.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from screencodec.errors import ProtocolError, TransportError
from screencodec.transport.channel.framing import HEADER, FrameType, write_open

__all__ = ["PairControl", "PairStreams", "Tap", "forward_handshake", "is_spliced", "splice"]

#: ``tap(direction, data)`` sees every byte the relay forwards (for tests and
#: diagnostics: it shows what a malicious relay could see).
Tap = Callable[[str, bytes], None]

_HIGH_WATER = 4 * 1024 * 1024
#: How long one direction may run on after the other side's orderly end.
_HALF_CLOSED_FOR = 5.0


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
    #: and a real viewer for one round trip and its PAKE computation.
    stalled_since: float | None = None

    #: loop time at which the relay told the viewer RELAY_OK (None: not
    #: measured), and the viewer's round trip it showed: from then until its
    #: first frame (a viewer sends its HELLO as soon as it reads RELAY_OK).
    opened: float | None = None
    round_trip: float = 0.0


def _progress(control: PairControl, direction: str, ftype: int) -> None:
    # Updated before any await, so an eviction never sees stale progress.
    control.frames[direction] += 1
    now = asyncio.get_running_loop().time()
    if direction == "host->viewer":
        if ftype == FrameType.CONFIRM:
            control.host_confirmed = True
        elif control.frames[direction] >= control.frames["viewer->host"]:
            control.stalled_since = now
    else:
        control.stalled_since = None
        if control.frames[direction] == 1 and control.opened is not None:
            control.round_trip = max(0.0, now - control.opened)


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
                write_open(dst, exc.partial)  # let the far end see the truncation
            return False
        length, ftype = HEADER.unpack(header)
        if length < 1 or length - 1 > max_body:
            raise ProtocolError(f"{direction}: frame of {length} bytes over the limit")
        try:
            body = await src.readexactly(length - 1)
        except asyncio.IncompleteReadError:
            raise TransportError(f"{direction}: stream truncated inside a frame") from None
        if not write_open(dst, header + body):
            return False  # the far end went: its own read ends the pair
        if control is not None:
            _progress(control, direction, ftype)
        if tap is not None:
            tap(direction, header + body)
        await dst.drain()
        if ftype == FrameType.CONFIRM:
            return True
        if ftype >= FrameType.RECORD_DATA:
            raise ProtocolError(f"{direction}: a record before the handshake finished")


@dataclass(eq=False, slots=True)
class _Ends:
    """How far the pair has ended: ``half`` fires on the first orderly end
    (EOF) of either side, ``ended`` once both ended or either was lost."""

    half: asyncio.Future[Any]
    ended: asyncio.Future[Any]
    eofs: int = 0

    def eof(self) -> None:
        self.eofs += 1
        for fut in (self.half, self.ended) if self.eofs >= 2 else (self.half,):
            if not fut.done():
                fut.set_result(None)

    def lost(self) -> None:
        for fut in (self.half, self.ended):
            if not fut.done():
                fut.set_result(None)


class _Splice(asyncio.Protocol):
    """Reads one transport, writes the other. Flow control: when our own
    transport's send buffer is full, the peer's reading is paused. This
    side's EOF is passed on to the peer after its data (see the module
    docstring); ``lost`` fires when this side's transport is gone."""

    __slots__ = ("count", "direction", "ends", "last", "loop", "lost", "peer", "tap",
                 "transport")

    def __init__(self, transport: asyncio.Transport, direction: str, tap: Tap | None,
                 ends: _Ends) -> None:
        self.transport = transport
        self.peer: asyncio.Transport | None = None
        self.direction = direction
        self.tap = tap
        self.ends = ends
        self.loop = asyncio.get_running_loop()
        self.lost: asyncio.Future[Any] = self.loop.create_future()
        self.count = 0
        self.last = self.loop.time()

    def data_received(self, data: bytes) -> None:
        assert self.peer is not None
        write_open(self.peer, data)  # dropped once the peer is closing
        self.count += len(data)
        self.last = self.loop.time()
        if self.tap is not None:
            self.tap(self.direction, data)

    def eof_received(self) -> bool | None:
        self.pass_eof()
        self.ends.eof()
        return True  # keep our side open until the splice closes both

    def pass_eof(self) -> None:
        """Shut the peer's sending half, once what we forwarded is flushed."""
        peer = self.peer
        if peer is not None and not peer.is_closing() and peer.can_write_eof():
            with contextlib.suppress(OSError, RuntimeError):
                peer.write_eof()

    def connection_lost(self, exc: Exception | None) -> None:
        self.ends.lost()
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
    ends = _Ends(loop.create_future(), loop.create_future())
    ended = ends.ended
    vp = _Splice(vt, "viewer->host", tap, ends)
    hp = _Splice(ht, "host->viewer", tap, ends)
    vp.peer, hp.peer = ht, vt
    eof = v_reader.exception() is not None or h_reader.exception() is not None
    for reader, proto in ((v_reader, vp), (h_reader, hp)):
        data = _take_buffered(reader)
        if data:
            proto.data_received(data)
        if reader.at_eof():  # ended in the handshake phase: pass it on like any end
            proto.eof_received()
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
    if eof:
        ends.lost()
    reported = 0
    why = "closed"
    half_closed_at: float | None = None
    try:
        while True:
            remaining = max(vp.last, hp.last) + idle_timeout - loop.time()
            if ends.half.done():
                half_closed_at = loop.time() if half_closed_at is None else half_closed_at
                remaining = min(remaining, half_closed_at + _HALF_CLOSED_FOR - loop.time())
            if remaining <= 0:
                # A side that ended and a side that never did: cut, and say so.
                half_over = (half_closed_at is not None
                             and loop.time() >= half_closed_at + _HALF_CLOSED_FOR)
                why = "half-closed" if half_over else "idle"
                break
            waiting = {ended, stopper} if ends.half.done() else {ends.half, stopper}
            done, _ = await asyncio.wait(waiting, timeout=min(remaining, 1.0),
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
