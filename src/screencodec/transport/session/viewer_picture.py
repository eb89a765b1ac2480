"""The part of :class:`~.viewer.Viewer` that turns the host's updates into
the picture: a compact delta expanded into its Update, a picture over
``max_pixels`` refused, each update decoded (or handed to the sink) in
order by the apply task, its Receipt sent (compact when the host takes
it), and a keyframe asked for again while the decoder lost sync.

:class:`ViewerPicture` is a mixin of :class:`~.viewer.Viewer`, which sets
the attributes it declares (``Viewer.__init__``) and runs its receive loop
(``Viewer.run``); the methods are Viewer's, moved here unchanged (cycle38)
so that viewer.py reads in one sitting. :class:`DecoderLike` and
:class:`RemoteApplier` are named in :mod:`.viewer` too."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from screencodec.decoder import too_large
from screencodec.errors import DecodeError, ProtocolError, SessionClosedError
from screencodec.transport.channel.base import Channel
from screencodec.transport.session import messages as m
from screencodec.transport.session.compact import (
    CompactState,
    ReceiptState,
    expand_update,
    next_seq,
)
from screencodec.transport.session.events import EventHub, FrameDecoded
from screencodec.wire import split_frame
from screencodec.wire.format import UPDATE_HEADER

__all__ = ["DecoderLike", "RemoteApplier", "ViewerPicture"]

_INLINE_DECODE = 64 * 1024  # smaller updates decode on the loop: a thread hop costs more
_KEYFRAME_RETRY = 0.5  # do not ask again sooner: the keyframe may be in flight
_U32, _U64 = (1 << 32) - 1, (1 << 64) - 1


class DecoderLike(Protocol):
    needs_keyframe: bool

    def decode(self, data: bytes, /) -> npt.NDArray[np.uint8]: ...


class RemoteApplier(Protocol):
    """Where a viewer with a sink hands the host's wire messages (non-blocking)."""

    def update(self, data: bytes, /) -> asyncio.Future[tuple[int, int] | None]:
        """Forward one UPDATE; the future gives the frame size once applied
        there, or None if it was refused (the viewer then asks for a keyframe).
        The future stays the sink's: a viewer that stops waiting for it (its
        session ended) never cancels it, so the sink may resolve it later."""
        ...

    def cursor(self, data: bytes, /) -> None:
        """Forward one CURSOR_SHAPE or CURSOR_POSITION message."""
        ...


def _frame_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) in an UPDATE message's header (None: no header to
    read; the decoder, or the sink, refuses such a message)."""
    try:
        _, _, body = split_frame(data)
    except DecodeError:
        return None
    if len(body) < UPDATE_HEADER.size:
        return None
    _, _, width, height, _, _ = UPDATE_HEADER.unpack_from(body)
    return width, height


_Queued = tuple[m.Update, float, float | None, "asyncio.Future[tuple[int, int] | None] | None"]


class ViewerPicture:
    """How a :class:`~.viewer.Viewer` applies the host's updates, and answers them."""

    channel: Channel
    capabilities: m.Capabilities
    max_pixels: int
    sink: RemoteApplier | None
    decoder: DecoderLike
    framebuffer: npt.NDArray[np.uint8] | None
    events_hub: EventHub
    blind: bool
    last_seq: int
    decoded: int
    decode_errors: int
    awaiting_keyframe: int
    _stale: set[int]
    keyframe_requests: int
    _keyframe_asked_at: float
    applied_at: list[tuple[int, float]]
    record_times: bool
    _updates: asyncio.Queue[_Queued]
    _on_link: CompactState
    compact_received: int
    compact_refused: int
    _receipts: ReceiptState
    _host_compact: bool
    compact_receipts: int

    if TYPE_CHECKING:
        async def _send(self, msg: m.Message) -> None: ...
        def _spawn(self, coro: Coroutine[Any, Any, None]) -> None: ...

    def _too_large(self, update: m.Update) -> str | None:
        """Why ``update``'s picture is refused (None: it is not): more pixels
        than :attr:`max_pixels`, before the decoder or the sink sees it."""
        size = _frame_size(update.data)
        return None if size is None else too_large(*size, self.max_pixels)

    def _take(
        self, msg: m.Update | m.CompactUpdate
    ) -> tuple[m.Update, asyncio.Future[tuple[int, int] | None] | None]:
        """The canonical Update of ``msg`` (a compact delta expanded) and, for
        a compact delta that cannot be expanded, its answer: refused."""
        state = self._on_link
        if isinstance(msg, m.Update):
            state.note(msg.seq, msg.data)
            return msg, None
        refs = isinstance(msg, m.CompactUpdateRefs)
        wanted = m.Capabilities.COMPACT | (m.Capabilities.COMPACT_RECTS if refs else 0)
        if self.capabilities.flags & wanted != wanted:
            raise ProtocolError("the host sent a compact update this viewer did not declare")
        self.compact_received += 1
        self._host_compact = True  # it ships with compact receipts (kind 27)
        seq = next_seq(state.seq)
        stale = not state.valid  # an earlier refusal: like a decoder's skip
        try:
            update = m.Update(seq, expand_update(state, msg.body, refs=refs))
        except ProtocolError:
            if stale:
                self._stale.add(seq)
            state.lost(seq)
            self.compact_refused += 1
            refused: asyncio.Future[tuple[int, int] | None] = (
                asyncio.get_running_loop().create_future())  # fmt: skip
            refused.set_result(None)
            return m.Update(seq, b""), refused
        state.note(seq, update.data)
        return update, None

    async def _apply_loop(self) -> None:
        while True:
            msg, arrived, span, remote = await self._updates.get()
            await self._apply(msg, arrived, span, remote)

    async def _apply(
        self,
        msg: m.Update,
        arrived: float,
        span: float | None,
        remote: asyncio.Future[tuple[int, int] | None] | None,
    ) -> None:
        refused = False
        if remote is not None:
            # Shielded: when the session ends this wait is cancelled, and the
            # sink (a page still drawing the update) resolves it afterwards.
            size = await asyncio.shield(remote)
            if size is None:
                if msg.seq in self._stale:
                    self._stale.discard(msg.seq)
                    self.awaiting_keyframe += 1
                else:
                    self.decode_errors += 1
                self._on_link.refused(msg.seq)
                refused = True
            else:
                self.decoded += 1
                if self.record_times:
                    self.applied_at.append((msg.seq, time.perf_counter()))
                self.events_hub.emit(FrameDecoded(msg.seq, size[0], size[1]))
            await self._receipt(msg, arrived, span, refused)
            return
        try:
            if len(msg.data) > _INLINE_DECODE:
                fb = await asyncio.to_thread(self.decoder.decode, msg.data)
            else:
                fb = self.decoder.decode(msg.data)
        except DecodeError:
            # Session survives: the framebuffer is unchanged; ask for a full picture.
            self.decode_errors += 1
            self._on_link.refused(msg.seq)
            refused = True
        else:
            self.framebuffer = fb
            self.decoded += 1
            if self.record_times:
                self.applied_at.append((msg.seq, time.perf_counter()))
            self.events_hub.emit(FrameDecoded(msg.seq, fb.shape[1], fb.shape[0]))
        await self._receipt(msg, arrived, span, refused)

    async def _receipt(
        self, msg: m.Update, arrived: float, span: float | None, refused: bool
    ) -> None:
        self.last_seq = msg.seq
        now = time.monotonic()
        span_us = m.Receipt.NO_SPAN if span is None else min(int(span * 1e6), _U32 - 1)
        held_us = min(max(0, int((now - arrived) * 1e6)), _U32)  # an embedder's stamp may be late
        await self._send_receipt(m.Receipt(msg.seq, int(arrived * 1e6) & _U64, held_us, span_us))
        # The host takes input that comes after a receipt as sent by an agent
        # who saw the screen (the channel keeps order): no longer blind, once
        # a picture was applied here (a refused one leaves the old picture up).
        if not refused:
            self.blind = False
        # After the receipt: a host takes a request that comes while a keyframe
        # awaits its receipt as answered by that keyframe, and this may be it.
        # A decoder that lost sync skips later deltas without raising, so ask
        # again whenever one arrives while it still waits for a keyframe.
        if self._lost_sync(refused) and now - self._keyframe_asked_at > _KEYFRAME_RETRY:
            await self._ask_keyframe(now)

    async def _send_receipt(self, receipt: m.Receipt) -> None:
        """Send ``receipt``, compact when the host takes it and it may be."""
        compact = self._receipts.compact(receipt) if self._host_compact else None
        self._receipts.note(receipt)
        if compact is None:
            await self._send(receipt)
        else:
            self.compact_receipts += 1
            await self._send(compact)

    def _lost_sync(self, refused: bool = False) -> bool:
        return refused or (self.sink is None and bool(self.decoder.needs_keyframe))

    async def _ask_keyframe(self, now: float) -> None:
        self._keyframe_asked_at = now
        self.keyframe_requests += 1
        await self._send(m.KeyframeRequest())
        # On a still screen no further update comes to prompt another request:
        # if this one's answer is lost or refused too, ask again on a timer.
        loop = asyncio.get_running_loop()
        loop.call_later(2 * _KEYFRAME_RETRY, self._recheck_sync)

    def _recheck_sync(self) -> None:
        if self.channel.closed or not self._lost_sync():
            return
        if time.monotonic() - self._keyframe_asked_at > _KEYFRAME_RETRY:
            self._spawn(self._ask_again())

    async def _ask_again(self) -> None:
        with contextlib.suppress(SessionClosedError, OSError):
            await self._ask_keyframe(time.monotonic())
