"""Full-frame mode: a plain H.264 stream, one picture per update.

For consumers that want an ordinary video stream (a browser's WebCodecs, a
recorder, a media server) rather than region-wise updates: every ``encode``
gives one UPDATE whose single VIDEO op covers the whole frame (H.264 needs
even sizes: with an odd width or height the last column / row is sent as a
lossless op beside it). ``last_access_unit`` is the bare Annex B access unit,
so the same encoder can feed a ``.h264`` file or an RTP packetiser directly.
Use ``chroma="420"`` for decoders that only take 4:2:0.
"""

from __future__ import annotations

import time
from typing import Any, Literal

import numpy as np

from screencodec.frames import Frame

from ..codecs.lossless import LosslessEncoder
from ..damage import copy_rects
from ..errors import FrameError
from ..frames import as_frame, framebuffer_hash, readonly_view
from ..geometry import Rect
from ..wire import EncodedOp, build_update
from .codec import VIDEO_HEADER, VideoStream
from .h264 import DEFAULT_CRF, H264Options

__all__ = ["VideoStreamEncoder"]



class VideoStreamEncoder:
    """Encodes whole frames as an H.264 stream wrapped in UPDATE messages.

    The first update, the one after ``request_keyframe()`` and the one after a
    size change are keyframes with an IDR. ``reference`` is exactly what a
    viewer shows (the encoder decodes its own output), so ``integrity=True``
    adds a framebuffer hash as ScreenEncoder does. Not thread-safe.
    """

    def __init__(
        self,
        width: int,
        height: int,
        /,
        *,
        crf: int = DEFAULT_CRF,
        chroma: Literal["444", "420"] = "444",
        bitrate: int | None = None,
        preset: str = "ultrafast",
        integrity: bool = False,
    ) -> None:
        self.options = H264Options(chroma=chroma, crf=crf, bitrate=bitrate, preset=preset)
        self.integrity = integrity
        self._lossless = LosslessEncoder()
        self._stream: VideoStream | None = None
        self._ref = np.zeros((0, 0, 4), np.uint8)
        self._keyframe = True
        self._sequence = 0
        self._streams = 0
        self.last_access_unit = b""
        self.seconds = 0.0

    @property
    def reference(self) -> Frame:
        """What a viewer shows after the last update (read-only view)."""
        return readonly_view(self._ref)

    def request_keyframe(self) -> None:
        self._keyframe = True

    def encode(self, frame: Any, /) -> bytes:
        t0 = time.perf_counter()
        f = as_frame(frame)
        height, width = f.shape[:2]
        if width < 2 or height < 2:
            raise FrameError(f"an H.264 stream needs at least 2x2 pixels, not {width}x{height}")
        if self._stream is None or self._ref.shape[:2] != (height, width):
            self._ref = np.zeros((height, width, 4), np.uint8)
            self._ref[..., 3] = 255
            self._streams += 1
            self._stream = VideoStream(self._streams, width & ~1, height & ~1, self.options)
            self._keyframe = True
        keyframe = self._keyframe
        if keyframe:
            self._stream.request_idr()
        video = Rect(0, 0, width & ~1, height & ~1)
        ops: list[EncodedOp] = [self._stream.encode(f, self._ref, video)]
        self.last_access_unit = bytes(memoryview(ops[0].payload)[VIDEO_HEADER.size :])
        # Odd sizes: the uncovered last column / row travels losslessly.
        edges = [
            Rect(video.w, 0, width - video.w, height),
            Rect(0, video.h, video.w, height - video.h),
        ]
        for r in (e for e in edges if not e.is_empty()):
            copy_rects(self._ref, f, np.array([[r.x, r.y, r.w, r.h]], np.int32))
            ops.append(self._lossless.encode_rect(self._ref, r))
        fb_hash = framebuffer_hash(self._ref) if self.integrity else None
        data = build_update(
            self._sequence, width, height, ops, keyframe=keyframe, framebuffer_hash=fb_hash
        )
        self._keyframe = False
        self._sequence = (self._sequence + 1) & 0xFFFFFFFF
        self.seconds = time.perf_counter() - t0
        return data
