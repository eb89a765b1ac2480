"""Frames -> packets.

The encoder keeps a reference copy of what the viewer shows (B, G, R exact,
4th byte 255). Each ``encode`` compares the new frame with it in the native
tile-diff core, merges the changed boxes into few rectangles, copies them into
the reference and encodes them from there: the caller's array is never kept.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from .codecs.lossless import LosslessEncoder
from .damage import copy_rects, merge_rects, tile_diff
from .errors import FrameError
from .frames import as_frame, check_size, framebuffer_hash, readonly_view
from .geometry import Rect
from .motion import MotionStage
from .video import make_video_stage
from .wire import EncodedOp, Op, build_update

__all__ = ["EncodeStats", "ScreenEncoder"]

Frame = npt.NDArray[np.uint8]

#: Rectangles above this many pixels are cut into blocks: each block picks
#: its own encoding (a solid or few-colour part of a big update stays cheap)
#: and blocks compress in parallel.
_BLOCK_W, _BLOCK_H = 256, 64
#: Below this many changed pixels, handing work to threads costs more than it saves.
_PARALLEL_MIN_PIXELS = 64 * 1024


@dataclass(slots=True)
class EncodeStats:
    """What the last ``encode`` produced."""

    sequence: int = 0
    keyframe: bool = False
    rects: int = 0
    changed_pixels: int = 0
    ops: dict[Op, int] = field(default_factory=dict)
    bytes: int = 0
    seconds: float = 0.0


class ScreenEncoder:
    """Stateful lossless screen encoder.

    ``encode(frame)`` returns one self-delimiting update message (bytes) that
    brings a viewer from the previous frame to this one; an unchanged frame
    gives a 24-byte update. The first update, the one after
    ``request_keyframe()`` and the one after a size change are keyframes
    (full refresh). Not thread-safe: use one encoder per stream; it runs its
    own worker threads for large updates.

    :param tile_size: change-detection tile edge, 16..256 px.
    :param level: zstd compression level.
    :param integrity: add an xxh3-64 of the resulting framebuffer to every
        update, which the decoder verifies.
    :param threads: worker threads for large updates (default: CPU count).
    :param rect_cost: per-rectangle overhead, in pixels, of the merge cost
        model (default: the damage module's).
    :param video: encode detected video regions as H.264 (True; ``"auto"``:
        when PyAV is installed); see screencodec.video. ``video_crf``,
        ``video_chroma`` (``"444"`` or ``"420"``), ``video_bitrate`` and
        ``refresh_delay`` (seconds of stillness before a lossless refresh)
        tune it; ``clock`` (monotonic seconds) is what ``encode`` reads when
        not given ``now=``.
    :param motion: find scrolls and moved windows in the damage and send them
        as COPY ops (see screencodec.motion); ``motion_stage`` tunes it.
    """

    def __init__(
        self,
        width: int,
        height: int,
        /,
        *,
        tile_size: int = 64,
        level: int = 1,
        integrity: bool = False,
        threads: int | None = None,
        rect_cost: int | None = None,
        video: bool | Literal["auto"] = False,
        video_crf: int | None = None,
        video_chroma: Literal["444", "420"] = "444",
        video_bitrate: int | None = None,
        refresh_delay: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        motion: bool = True,
    ) -> None:
        check_size(width, height)
        if not 16 <= tile_size <= 256:
            raise FrameError(f"tile_size {tile_size} outside 16..256")
        self.tile_size = tile_size
        self.integrity = integrity
        self.threads = max(1, threads if threads is not None else (os.cpu_count() or 1))
        self._merge_opts: dict[str, Any] = {} if rect_cost is None else {"rect_cost": rect_cost}
        self._lossless = LosslessEncoder(level=level)
        self._pool: ThreadPoolExecutor | None = None
        # close() may come from another thread (a session ending): it must never
        # shut the pool down between an encode's taking it and its submitting.
        self._pool_lock = threading.Lock()
        self.video_stage = make_video_stage(
            video, crf=video_crf, chroma=video_chroma, bitrate=video_bitrate,
            refresh_delay=refresh_delay,
        )  # fmt: skip
        self._clock = clock
        self.motion_stage = MotionStage() if motion else None
        self._boxes = np.zeros((0, 4), np.int32)  # the last tile_diff, for the video stage
        self._ref = self._blank(width, height)
        self._keyframe = True
        self._sequence = 0
        self.last = EncodeStats()

    @staticmethod
    def _blank(width: int, height: int) -> Frame:
        ref = np.zeros((height, width, 4), np.uint8)
        ref[..., 3] = 255
        return ref

    @property
    def size(self) -> tuple[int, int]:
        return self._ref.shape[1], self._ref.shape[0]

    @property
    def reference(self) -> Frame:
        """What a viewer shows after the last update (read-only view)."""
        return readonly_view(self._ref)

    def request_keyframe(self) -> None:
        """Make the next update a full refresh (a viewer joined or lost sync)."""
        self._keyframe = True

    def encode(self, frame: Any, /, *, now: float | None = None) -> bytes:
        t0 = time.perf_counter()
        f = as_frame(frame)
        height, width = f.shape[:2]
        if (width, height) != self.size:
            self._ref = self._blank(width, height)
            self._keyframe = True
        keyframe = self._keyframe
        ops: list[EncodedOp] = []
        rects = np.array([[0, 0, width, height]], np.int32) if keyframe else self._damage(f)
        # Pipeline stages that turn damage into cheaper ops (motion -> COPY,
        # video regions -> VIDEO) go here: each takes the reference as the
        # viewer has it before this update, appends its ops, keeps the
        # reference in step with what the viewer will show, and returns the
        # rects it left for the lossless coder.
        if self.motion_stage is not None:
            # Moves are not searched inside video regions: they change every frame.
            skip = self.video_stage.regions if self.video_stage is not None else ()
            mops, rects = self.motion_stage.process(
                self._ref, f, rects, keyframe=keyframe, skip=skip
            )
            ops += mops
        if self.video_stage is not None:
            t = self._clock() if now is None else now
            boxes = None if keyframe else self._boxes
            vops, rects = self.video_stage.process(
                self._ref, f, rects, boxes, self.tile_size, now=t
            )
            ops += vops
        if len(rects):
            copy_rects(self._ref, f, rects)
        ops += self._encode_rects([Rect(*map(int, r)) for r in rects])
        fb_hash = framebuffer_hash(self._ref) if self.integrity else None
        data = build_update(
            self._sequence, width, height, ops, keyframe=keyframe, framebuffer_hash=fb_hash
        )
        self._keyframe = False
        self.last = self._stats(keyframe, rects, ops, len(data), time.perf_counter() - t0)
        self._sequence = (self._sequence + 1) & 0xFFFFFFFF
        return data

    def _damage(self, f: Frame) -> npt.NDArray[np.int32]:
        """Changed areas of ``f`` against the reference, merged into few rects."""
        boxes = self._boxes = tile_diff(self._ref, f, self.tile_size)
        if not len(boxes):
            return boxes
        height, width = f.shape[:2]
        return merge_rects(boxes, width, height, **self._merge_opts)

    def _encode_rects(self, rects: list[Rect]) -> list[EncodedOp]:
        blocks = [b for r in rects for b in _blocks(r)]
        encode = self._lossless.encode_rect
        ref = self._ref
        if (
            self.threads > 1
            and len(blocks) > 1
            and sum(b.area for b in blocks) >= _PARALLEL_MIN_PIXELS
        ):
            # One job per thread, each a stripe of every n-th block: a job per
            # block spends more on hand-offs (and the GIL) than it saves, and
            # striping spreads expensive areas (a photo) over the threads.
            n = min(self.threads, len(blocks))

            def stripe(i: int) -> list[EncodedOp]:
                return [encode(ref, b) for b in blocks[i::n]]

            with self._pool_lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="screencodec")
                futures = [self._pool.submit(stripe, i) for i in range(n)]
            # A close() now waits for these jobs (shutdown joins submitted work).
            stripes = [f.result() for f in futures]
            return [stripes[j % n][j // n] for j in range(len(blocks))]
        return [encode(ref, b) for b in blocks]

    def _stats(
        self,
        keyframe: bool,
        rects: npt.NDArray[np.int32],
        ops: list[EncodedOp],
        size: int,
        dt: float,
    ) -> EncodeStats:
        counts: dict[Op, int] = {}
        for e in ops:
            counts[e.op] = counts.get(e.op, 0) + 1
        changed = int((rects[:, 2].astype(np.int64) * rects[:, 3]).sum()) if len(rects) else 0
        return EncodeStats(self._sequence, keyframe, len(rects), changed, counts, size, dt)

    def close(self) -> None:
        """Stop the worker threads. The encoder stays usable (threads restart)."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown()

    def __enter__(self) -> ScreenEncoder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _blocks(r: Rect) -> list[Rect]:
    if r.w * r.h <= _BLOCK_W * _BLOCK_H * 2:
        return [r]
    return [
        Rect(x, y, min(_BLOCK_W, r.right - x), min(_BLOCK_H, r.bottom - y))
        for y in range(r.y, r.bottom, _BLOCK_H)
        for x in range(r.x, r.right, _BLOCK_W)
    ]
