"""The host's send loop for one viewer: tick, flow control, grab + encode, send.

Each tick: if the in-flight window is full, skip (nothing is encoded or
queued; the viewer's encoder keeps what it last sent, so the next encode
covers everything skipped: damage merges, the newest screen wins); otherwise
switch monitor if asked, grab and encode in one worker-thread hop, send.

State: the tick task owns everything here except the flags the receive loop
sets (``request_keyframe``, ``switch_to``, ``on_ack``), which the tick reads
between awaits (one event loop, no lock). The encoder itself is only used
from the worker thread under ``_encoder_lock``; :meth:`shutdown_encoder`
takes the same lock, so it can never close the encoder under a running encode.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from functools import partial
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

from screencodec.errors import SessionClosedError
from screencodec.transport.session import messages as m
from screencodec.transport.session.flow import FlowControl
from screencodec.transport.session.stats import StatsMeter

if TYPE_CHECKING:
    from screencodec.transport.session.link import ViewerLink

__all__ = ["EncoderLike", "Streamer"]

#: Keyframes are expensive: requests are honoured at most this often (a later
#: one waits, it is not lost), so a viewer cannot make every update a refresh.
KEYFRAME_MIN_GAP = 0.25


class EncoderLike(Protocol):
    def encode(self, frame: npt.NDArray[np.uint8], /) -> bytes: ...
    def request_keyframe(self) -> None: ...
    def close(self) -> None: ...


class Streamer:
    def __init__(self, link: ViewerLink) -> None:
        cfg = link.host.config
        self._link = link
        self.flow = FlowControl(
            cfg.window, min_interval=cfg.min_interval, max_interval=cfg.max_interval
        )
        self.meter = StatsMeter()
        self.switch_to: int | None = None
        self.encoder: EncoderLike | None = None
        self._want_keyframe = True
        self._keyframe_at = -1e9
        self._acked = asyncio.Event()
        self._encoder_lock = threading.Lock()
        self._encoder_closed = False

    def request_keyframe(self) -> None:
        self._want_keyframe = True

    def on_ack(self, seq: int) -> None:
        self.flow.ack(seq, time.monotonic())
        self._acked.set()

    async def run(self) -> None:
        link = self._link
        next_tick = time.monotonic()
        while True:
            now = time.monotonic()
            if next_tick > now:
                await asyncio.sleep(next_tick - now)
            next_tick = max(next_tick + self.flow.interval, time.monotonic())
            if not self.flow.can_send():
                self.flow.skip()
                self._acked.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._acked.wait(), self.flow.interval)
                continue
            if self.switch_to is not None:
                link.watch(self.switch_to)
                self.switch_to = None
                link.pointer.reset()  # other coordinates: send the pointer afresh
                self._want_keyframe = True
                self._keyframe_at = -1e9  # a new picture now, whatever the rate limit
                await link.send(m.MonitorList(link.host.hub.monitors(link.monitor), link.monitor))
            now = time.monotonic()
            keyframe = self._want_keyframe and now - self._keyframe_at >= KEYFRAME_MIN_GAP
            if keyframe:
                self._want_keyframe = False
                self._keyframe_at = now
            data = await link.host.hub.grab_then(link.monitor, partial(self._encode, keyframe))
            seq = self.flow.sent(time.monotonic())
            payload = m.encode(m.Update(seq, data))
            await link.channel.send(payload)
            self.meter.on_send(len(payload))

    def _encode(self, keyframe: bool, frame: npt.NDArray[np.uint8]) -> bytes:
        """Worker thread: create the encoder from the first frame's size, encode."""
        with self._encoder_lock:
            if self._encoder_closed:
                raise SessionClosedError("the session is ending")
            if self.encoder is None:
                self.encoder = self._link.host.encoder_factory(frame.shape[1], frame.shape[0])
            if keyframe:
                self.encoder.request_keyframe()
            return self.encoder.encode(frame)

    def shutdown_encoder(self) -> None:
        """Worker thread: wait for a running encode, then close the encoder."""
        with self._encoder_lock:
            self._encoder_closed = True
            if self.encoder is not None:
                self.encoder.close()  # its own worker threads
                self.encoder = None
