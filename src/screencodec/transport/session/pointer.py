"""The pointer, beside the pixels: the host's cursor loop and the viewer's tracker.

Host (:class:`CursorStreamer`, one per consenting viewer): polls
``source.cursor()`` through the capture hub up to ``HostConfig.cursor_rate``
times a second, independent of the frame rate and of the pixels' flow
control, feeds the state to its own :class:`~screencodec.motion.cursor.CursorEncoder`
and sends what it returns (nothing while the pointer stands still; a
CURSOR_SHAPE once per distinct shape; 25-byte CURSOR_POSITIONs) as
:class:`~.messages.Cursor` messages. ``reset()`` (a keyframe request, a monitor
switch) makes the encoder forget what the viewer holds, so the shape and the
position come again. It starts only after consent (the session spawns it
then) and never touches the frame encoder: a moving pointer costs no pixels.

Viewer (:class:`CursorTracker`): parses each codec cursor message with the
wire parsers, keeps the shapes in a cache that mirrors the reference decoder's
(the encoder relies on that), and yields a :class:`PointerState`. Cursor
messages never reach the pixel decoder, so they work before the first
keyframe and can never disturb the framebuffer.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from screencodec.capture.base import CursorState
from screencodec.errors import DecodeError, ProtocolError
from screencodec.motion.cursor import VIEWER_SHAPE_CACHE, CursorEncoder
from screencodec.transport.session import messages as m
from screencodec.transport.session.services import SessionLink
from screencodec.wire import MessageType, parse_cursor_position, parse_cursor_shape, split_message

__all__ = ["CursorStreamer", "CursorTracker", "PointerState", "composite"]

#: Poll period while the source cannot tell where the pointer is (None).
_IDLE_PERIOD = 1.0

Image = npt.NDArray[np.uint8]


class CursorStreamer:
    """The host's cursor loop for one viewer. State is owned by :meth:`run`;
    :meth:`reset` is called from the receive loop (same event loop)."""

    def __init__(self, link: SessionLink) -> None:
        self._link = link
        self.encoder = CursorEncoder()
        self.last_state: CursorState | None = None  #: the newest poll's answer
        self.polls = 0
        self.shapes_sent = 0
        self.positions_sent = 0

    def reset(self) -> None:
        self.encoder.reset()

    async def run(self) -> None:
        link = self._link
        rate = link.host.config.cursor_rate
        if rate <= 0:
            return
        period = 1.0 / rate
        while True:
            started = time.monotonic()
            state = await link.host.hub.cursor(link.monitor)
            self.polls += 1
            if state is not None:
                self.last_state = state
            for data in self.encoder.update(state):
                await link.send(m.Cursor(data))
                if split_message(data)[0] is MessageType.CURSOR_SHAPE:
                    self.shapes_sent += 1
                else:
                    self.positions_sent += 1
            wait = period if state is not None else _IDLE_PERIOD
            await asyncio.sleep(max(0.0, started + wait - time.monotonic()))


@dataclass(frozen=True, slots=True)
class PointerState:
    """The host's pointer as the viewer knows it.

    ``x``, ``y``: the hotspot, in pixels of the monitor shown (may lie outside
    it). ``image``: (h, w, 4) BGRA with straight alpha, read-only; None when
    the shape is unknown (draw a default pointer). ``hotspot``: the image's
    pixel that sits on (x, y).
    """

    x: int
    y: int
    visible: bool
    shape_id: int
    image: Image | None
    hotspot: tuple[int, int]


class CursorTracker:
    """Applies codec cursor messages; raises ProtocolError for anything else."""

    def __init__(self, cache_size: int = VIEWER_SHAPE_CACHE) -> None:
        self.cache_size = cache_size
        self._shapes: OrderedDict[int, tuple[Image, tuple[int, int]]] = OrderedDict()
        self.state: PointerState | None = None
        self.shapes_received = 0
        self.positions_received = 0

    def apply(self, data: bytes) -> PointerState | None:
        """Apply one message; returns the new state after a position, else None."""
        try:
            mtype, body = split_message(data, m.MAX_CURSOR_BYTES)
            if mtype is MessageType.CURSOR_SHAPE:
                shape = parse_cursor_shape(body)
            elif mtype is MessageType.CURSOR_POSITION:
                pos = parse_cursor_position(body)
            else:
                raise ProtocolError(f"a cursor message may not carry {mtype.name}")
        except DecodeError as exc:
            raise ProtocolError(f"bad cursor message: {exc}") from exc
        if mtype is MessageType.CURSOR_SHAPE:
            pixels = np.frombuffer(shape.pixels, np.uint8).reshape(shape.height, shape.width, 4)
            img = pixels.copy()
            img.flags.writeable = False
            self._shapes[shape.shape_id] = (img, (shape.hotspot_x, shape.hotspot_y))
            self._shapes.move_to_end(shape.shape_id)  # mirrors the reference decoder
            while len(self._shapes) > self.cache_size:
                self._shapes.popitem(last=False)
            self.shapes_received += 1
            return None
        self.positions_received += 1
        img_hot = self._shapes.get(pos.shape_id)
        image, hotspot = img_hot if img_hot is not None else (None, (0, 0))
        self.state = PointerState(pos.x, pos.y, pos.visible, pos.shape_id, image, hotspot)
        return self.state

    def image(self, shape_id: int) -> tuple[Image, tuple[int, int]] | None:
        return self._shapes.get(shape_id)


def composite(frame: Image, pointer: PointerState | None) -> Image:
    """A copy of ``frame`` (H, W, 4 BGRx) with the pointer alpha-blended in."""
    out = np.array(frame, np.uint8, copy=True)
    if pointer is None or not pointer.visible or pointer.image is None:
        return out
    img = pointer.image
    x0, y0 = pointer.x - pointer.hotspot[0], pointer.y - pointer.hotspot[1]
    h, w = out.shape[:2]
    ax0, ay0 = max(0, x0), max(0, y0)
    ax1, ay1 = min(w, x0 + img.shape[1]), min(h, y0 + img.shape[0])
    if ax0 >= ax1 or ay0 >= ay1:
        return out
    src = img[ay0 - y0 : ay1 - y0, ax0 - x0 : ax1 - x0].astype(np.uint16)
    dst = out[ay0:ay1, ax0:ax1, :3].astype(np.uint16)
    alpha = src[..., 3:4]
    out[ay0:ay1, ax0:ax1, :3] = ((src[..., :3] * alpha + dst * (255 - alpha) + 127) // 255).astype(
        np.uint8
    )
    return out
