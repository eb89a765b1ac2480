"""Frames -> packets.

The encoder keeps a reference copy of what the viewer shows (B, G, R exact;
the 4th byte 255, or a kept frame's own). Each ``encode`` compares the new
frame with it in the native tile-diff core, merges the changed boxes into
few rectangles, copies them into the reference and encodes them from there:
the caller's array is not kept, unless the caller gives it up
(``encode(frame, keep=True)``: a fresh capture buffer). Then an update that
leaves the viewer exact takes the frame itself as the reference, and the
copies (a pass over every changed pixel, most of the frame when a terminal
scrolls) are not made.

With a rate (``set_rate``) and ``lossy=True``, screencodec.quality holds each
update to a byte budget: photo-like damage may go lossy, and lossy areas are
refined back to exact with what budgets leave over.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from screencodec.frames import Frame

from .codecs.history import HistoryEncoder
from .codecs.lossless import LosslessEncoder, PhotoFilter
from .damage import copy_rects, merge_rects, tile_diff
from .damage.hints import HintedDiff, hint_rects
from .damage.subtract import subtract_rects
from .errors import CodecUnavailableError, FrameError
from .frames import as_frame, check_size, framebuffer_hash, readonly_view
from .geometry import Rect
from .motion import MotionStage
from .motion.predict import Prediction
from .quality import LossyOptions, psnr, sse
from .video import available as video_available
from .video import make_video_stage
from .wire import EncodedOp, Op, build_update

if TYPE_CHECKING:
    from .quality.controller import RateController

__all__ = ["EncodeStats", "ScreenEncoder"]


#: Rectangles above this many pixels are cut into blocks: each block picks
#: its own encoding (a solid or few-colour part of a big update stays cheap)
#: and blocks compress in parallel.
_BLOCK_W, _BLOCK_H = 256, 64
#: Below this many changed pixels, handing work to threads costs more than it saves.
_PARALLEL_MIN_PIXELS = 64 * 1024
#: Pixels of each video picture measured for the PSNR statistic.
_VIDEO_SSE_PIXELS = 1 << 14
#: Bytes of an UPDATE before its ops (message header, update header, hash).
_UPDATE_HEADER = 8 + 16


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
    #: pixels sent lossy in this update (lossy stills and video pictures)
    lossy_pixels: int = 0
    #: pixels of lossy areas sent exactly again (refinement)
    refined_pixels: int = 0
    #: PSNR (dB) of this update's lossy pixels against the source, measured on
    #: up to 128 kpx per still and 16 kpx per video picture; None if none
    psnr: float | None = None
    #: the byte budget of this update (``set_rate``), or None
    budget: int | None = None
    #: frame rows compared to find the damage: the height, or fewer when a
    #: damage hint was used (``encode(hint=...)``)
    compared_rows: int = 0


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
        ``refresh_delay`` (seconds of stillness at most before a region's
        lossless refresh, and before its stream is dropped; a steady film is
        refreshed sooner, see screencodec.video.stage) tune it; ``clock``
        (monotonic seconds) is what ``encode`` reads when not given ``now=``.
    :param motion: find scrolls and moved windows in the damage and send them
        as COPY ops (see screencodec.motion); ``motion_stage`` tunes it.
    :param lossy: under a rate (``set_rate``), send photo-like damage as lossy
        stills (H.264 intra pictures, VIDEO ops in ``video_chroma``) when
        lossless would not fit the budget, and refine them back to exact
        within later budgets; text and UI stay lossless, except in a
        keyframe whose lossless part would take more than
        ``lossy_options.first_picture`` seconds of the rate (a first picture
        that comes quickly, then is refined), and a delta update whose text
        covers a quarter of the frame and would take more than
        ``lossy_options.delta_picture`` seconds (a Page Down): its top rows
        exact, the blocks below filled with their background and refined
        after. Needs PyAV
        (``"auto"``: when installed). ``lossy_options`` tunes it. Without a
        rate, or with ``lossy=False``, everything is lossless except video
        regions, and ``set_rate`` only sets the video regions' bitrate.

    :param history: send text-like blocks (few colours, or mostly flat) as
        ZSTREAM ops through one zstd stream that spans updates (8 MiB
        window), so text sent before costs little; photo-like blocks keep
        their ZSTD op. The viewer must decode ZSTREAM and receive every
        update; a keyframe resets the stream (see screencodec.codecs.history).
    :param photo_filter: how photo-like blocks are filtered before zstd:
        ``"med"`` (subtract green + MED predictor, 0.73-0.76x the bytes of
        ``"delta"`` on the corpus's photos; this package's decoders take it,
        a session sends it only to viewers that declare
        ``Capabilities.ZSTD_MED``) or ``"delta"`` (DELTA_UP | PLANAR, which
        every decoder takes). See docs/protocol.md, ZSTD.

    Rate control (the transport's congestion controller calls these):
    ``set_rate(bits_per_second, interval=...)``, ``lossy_area``, ``deadline``
    and the ``budget``, ``lossy_pixels``, ``refined_pixels`` and ``psnr`` of
    ``last``.
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
        lossy: bool | Literal["auto"] = False,
        lossy_options: LossyOptions | None = None,
        history: bool = False,
        photo_filter: PhotoFilter = "med",
    ) -> None:
        check_size(width, height)
        if not 16 <= tile_size <= 256:
            raise FrameError(f"tile_size {tile_size} outside 16..256")
        self.tile_size = tile_size
        self.integrity = integrity
        self.threads = max(1, threads if threads is not None else (os.cpu_count() or 1))
        self._merge_opts: dict[str, Any] = {} if rect_cost is None else {"rect_cost": rect_cost}
        self._lossless = LosslessEncoder(level=level, stream=history, photo_filter=photo_filter)
        self._history = HistoryEncoder() if history else None
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
        self._hinted = HintedDiff(tile_size)  # change detection inside damage hints
        self._compared = 0  # rows the last update compared
        self._ref = self._blank(width, height)
        self._spare: Frame | None = None  # see take_spare
        self._keyframe = True
        self._continue: npt.NDArray[np.int32] | None = None  # see continue_from
        self._sequence = 0
        self.last = EncodeStats()
        self.lossy_options = lossy_options or LossyOptions()
        self.quality: RateController | None = None
        if lossy is True and not video_available():
            raise CodecUnavailableError("lossy=True needs PyAV: pip install screencodec[video]")
        if lossy is True or (lossy == "auto" and video_available()):
            from .quality.controller import RateController

            self.quality = RateController(tile_size, video_chroma == "420", self.lossy_options)
        self._rate: float | None = None
        self._interval = 1 / 30
        #: the share of the rate the video regions were last given (``_share_video``)
        self._video_share: float | None = None
        self._last_now: float | None = None

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
        self._continue = None

    def continue_from(self, rects: npt.ArrayLike) -> None:
        """Make the next update a delta for a viewer that holds the next
        frame already, except within ``rects`` ((N, 4) of x, y, w, h): the
        picture a resumed session's viewer kept (transport.session.kept).
        It paints ``rects`` as a keyframe would, with no COPY (what the
        viewer holds there is not known here), and starts a new history
        stream; it has no op when ``rects`` is empty. A decoder takes it on
        the kept picture (``ScreenDecoder.adopt``). A next frame of another
        size makes it a keyframe after all."""
        boxes = np.array(rects, np.int32).reshape(-1, 4)
        width, height = self.size
        if len(boxes):
            x, y, w, h = boxes.T
            if (x < 0).any() or (y < 0).any() or (w <= 0).any() or (h <= 0).any() or (
                    x + w > width).any() or (y + h > height).any():  # fmt: skip
                raise FrameError(f"continue_from: rects outside the {width}x{height} frame")
        self._continue = boxes
        self._keyframe = False

    def restart_streams(self) -> None:
        """Make the next update a seek point without a full picture: it
        starts a new history stream (its first ZSTREAM op has RESET) and
        every video region's next picture is an IDR. From then on the stream
        depends on nothing a viewer held before but the framebuffer (the
        ``reference`` now), so a decoder given only that picture decodes
        every later update. Lossy stills, COPY and the lossless ops already
        depend on the framebuffer alone. Costs what the stream's history
        would have saved (a few kB), not a keyframe."""
        if self._history is not None:
            self._history.reset()
        if self.video_stage is not None:
            self.video_stage.restart_streams()

    def set_rate(
        self, bits_per_second: float | None = None, /, *, interval: float = 1 / 30
    ) -> None:
        """The link's rate from now on, in bits per second (None: unlimited).

        With a rate each update's budget is about ``bits_per_second *
        interval / 8`` bytes (``interval``: the time between updates the
        caller aims for); video regions share ``lossy_options.video_share`` of
        the rate (``video_share_refining`` while lossy pixels outside them
        wait for refinement). With ``lossy`` on, the budget decides what goes lossy and
        how much is refined; text and UI are sent exactly even past it.
        """
        if bits_per_second is not None and not bits_per_second > 0:
            raise ValueError("the rate must be positive (or None: unlimited)")
        if not interval > 0:
            raise ValueError("interval must be positive")
        self._rate, self._interval = bits_per_second, interval
        if self.quality is not None:
            self.quality.set_rate(bits_per_second, interval)
        if self.video_stage is not None:
            self._video_share = None
            self._share_video()

    def _share_video(self) -> None:
        """Give the video regions their share of the rate (the quality
        controller's ``video_share``: less while lossy pixels beside a film
        wait for refinement), when it changed."""
        video, q, rate = self.video_stage, self.quality, self._rate
        assert video is not None
        share = self.lossy_options.video_share
        if q is not None and rate is not None:
            share = q.video_share(video.playing)
        if rate is not None and share == self._video_share:
            return
        self._video_share = share
        full = None if rate is None else max(1000, int(rate * self.lossy_options.video_share))
        video.set_bitrate(
            None if rate is None else max(1000, int(rate * share)),
            qp_max=self.lossy_options.video_qp_max,
            opened=full,
        )

    @property
    def rate(self) -> float | None:
        """The rate ``set_rate`` gave (bits per second), or None."""
        return self._rate

    @property
    def lossy_area(self) -> int:
        """Pixels the viewer does not show exactly yet (0: bit-exact): lossy
        tiles waiting for refinement (counted whole) and video regions."""
        area = self.quality.map.area if self.quality is not None else 0
        if self.video_stage is not None:
            area += sum(r.area for r in self.video_stage.playing)
        return area

    @property
    def deadline(self) -> float | None:
        """Monotonic time (the ``now`` / ``clock`` scale) at which ``encode``
        should be called even if nothing changed: a refinement is pending
        (one interval after the last update) or a video region's lossless
        refresh is due; None when nothing is pending."""
        due = self.video_stage.deadline if self.video_stage is not None else None
        q = self.quality
        if q is not None and q.map and self._last_now is not None:
            step = self._interval if self._rate is not None else 0.0
            refine = self._last_now + step
            due = refine if due is None else min(due, refine)
        return due

    def encode(
        self, frame: Any, /, *, now: float | None = None, keep: bool = False, hint: Any = None
    ) -> bytes:
        """One update from the viewer's picture to ``frame``.

        ``keep=True`` gives ``frame`` up to the encoder: the caller will not
        write to it again (a fresh capture buffer, as mss returns one per
        grab). Then, if ``frame`` is writable and C-contiguous, it becomes
        the reference instead of being copied into it when the update leaves
        the viewer exact (no rate, and no video region), and under a rate it
        becomes the last-frame shadow. ``take_spare`` then offers the buffer
        it replaced, or ``frame`` itself when the encoder did not keep it, for
        the next capture to write into.
        With ``integrity`` on, frames are copied as without ``keep`` (the
        hash covers the reference's 4th bytes, which the frame does not set).

        ``hint``: where the platform says the screen changed (XDamage, dirty
        rects), as (x, y, w, h) rects in frame coordinates; None compares the
        whole frame. Every change must lie inside the hint of the update whose
        frame first shows it or of a later one (a change hinted late is sent
        late). Only the tile rows a hint touches are compared, plus a rolling
        band, so a change never hinted is still sent within
        ``damage.hints.SCAN_UPDATES`` updates. Hints are not used on keyframes
        or while the viewer's picture is lossy anywhere (video regions, lossy
        stills not yet refined without a rate): the whole frame is compared.
        An update that compared less than the whole frame does not keep it
        (``keep`` or not): it may hold changes not sent yet, which the
        reference must not.
        """
        t0 = time.perf_counter()
        # np.asarray of a memoryview, an mss shot or an __array__ object may
        # be a view of the caller's memory: only what as_frame copies is new.
        arr = frame if isinstance(frame, np.ndarray) else np.asarray(frame)
        f = as_frame(arr)
        height, width = f.shape[:2]
        hinted = None if hint is None else hint_rects(hint)
        if (width, height) != self.size:
            self._ref = self._blank(width, height)
            self._keyframe = True
        # The encoder owns f when the caller gave it up, or when as_frame made it.
        owned = (keep or f is not arr) and self._adoptable(f)
        keyframe = self._keyframe
        # A continuation (continue_from) is made as a keyframe is, on part
        # of the frame, and sent as a delta: ``fresh`` is either.
        cont, self._continue = (None if keyframe else self._continue), None
        fresh = keyframe or cont is not None
        if cont is not None:
            # Outside cont the viewer holds f already: so does the reference.
            copy_rects(self._ref, f, np.array([[0, 0, width, height]], np.int32))
        if self._history is not None:
            self._history.begin(keyframe=fresh)
        q = self.quality
        limited = q is not None and self._rate is not None
        t: float | None = now
        if t is None and (q is not None or self.video_stage is not None):
            t = self._clock()
        self._last_now = t
        # Under a rate, damage is measured against the last frame (the
        # shadow), not against the viewer's picture, which may be lossy.
        base = self._ref
        if q is not None:
            q.begin()
            if fresh:
                q.map.reset(width, height)
            if limited:
                base = q.base(self._ref)
        ops: list[EncodedOp] = []
        video = self.video_stage
        predicted: Prediction | None = None
        bands = [(0, height)]  # the rows compared
        if cont is not None:
            rects = cont
        elif keyframe:
            rects = np.array([[0, 0, width, height]], np.int32)
        else:
            # A hint says where the screen changed; it can stand for the
            # damage only where base held the last frame exactly.
            lossy = (q is not None and not limited and bool(q.map)) or bool(video and video.regions)
            usable = None if lossy else hinted
            if usable is not None:
                bands = self._hinted.bands(usable, width, height)
            rects, predicted = self._damage(f, base, usable, bands, lossy)
            if usable is not None:
                # f may hold changes outside the compared rows (hinted late,
                # or never): it cannot become the reference or the shadow,
                # which would then hold pixels the viewer was never sent, and
                # the next compare would find nothing to send there.
                owned = owned and self._compared == height
        boxes = rects if fresh else self._boxes
        # Pipeline stages that turn damage into cheaper ops (motion -> COPY,
        # video regions -> VIDEO) go here: each takes the reference as the
        # viewer has it before this update, appends its ops, keeps the
        # reference in step with what the viewer will show, and returns the
        # rects it left for the lossless coder.
        # Without a rate or a video region, the viewer shows f exactly after
        # this update: an owned f can become the reference. (A region found
        # in this update is seen below; the copies are then written after all.)
        adopt = owned and not limited and (video is None or not video.regions)
        if self.motion_stage is not None:
            # Moves are not searched inside video regions: they change every frame.
            skip = self.video_stage.regions if self.video_stage is not None else ()
            # Under a rate, moves are found on the shadow (exact, so lossy
            # pixels move too) and then applied to the viewer's picture. The
            # copies are not written into the shadow (q.finish replaces every
            # damaged pixel of it), nor into a reference that f replaces.
            mops, rects = self.motion_stage.process(
                base, f, rects, keyframe=fresh, skip=skip, apply=not (limited or adopt),
                predicted=predicted, compared=bands,
            )  # fmt: skip
            ops += mops
            if limited and mops:
                assert q is not None
                q.follow_copies(self._ref, mops)
        vops: list[EncodedOp] = []
        if self.video_stage is not None:
            assert t is not None
            if limited:
                self._share_video()
            # What the copies exposed, when the motion search was complete.
            searched = self.motion_stage is not None and not self.motion_stage.last.over_budget
            vops, rects = self.video_stage.process(
                self._ref, f, rects, None if fresh else self._boxes, self.tile_size, now=t,
                copies=[o for o in ops if o.op is Op.COPY] if searched else None,
            )  # fmt: skip
            ops += vops
            if limited and self.video_stage.stopped:
                # A region just stopped (or moved: what it left): its pixels
                # are lossy, like a still's, and are refined within the budget
                # instead of all at once, from this update on (they went lossy
                # before it).
                assert q is not None
                q.map.mark(self.video_stage.stopped, q.stamp - 1, f)
                q.films += [r for r in self.video_stage.stopped if r not in q.films]
            if adopt and (vops or self.video_stage.regions):
                # A region was found just now: its picture is in the reference,
                # so f cannot be it. The copies go there after all, but not
                # under the picture (the viewer applies COPY before VIDEO).
                adopt = False
                self._write_copies(f, ops, [o.rect for o in vops])
        replaced: Frame | None = None  # a buffer f took the place of
        if adopt:
            replaced, self._ref = self._ref, f
        elif len(rects):
            copy_rects(self._ref, f, rects)
        if limited:
            assert q is not None
            # A resting region's pixels are the lossy map's to refine.
            regions = self.video_stage.playing if self.video_stage is not None else []
            ops += q.encode(
                self._ref, f, rects,
                used=_UPDATE_HEADER + 8 * self.integrity + sum(14 + len(o.payload) for o in ops),
                overhead=_UPDATE_HEADER + 8 * self.integrity,
                video_ops=len(vops), video_area=sum(o.rect.area for o in vops),
                regions=regions, lossless=self._encode_rects, keyframe=fresh, now=t,
            )  # fmt: skip
            replaced = q.finish(f, boxes, adopt=owned)
        else:
            ops += self._encode_rects([Rect(x, y, w, h) for x, y, w, h in rects.tolist()])
            if q is not None and (q.map or q.shadow is not None):
                # Unlimited: the damage held every lossy cell, all sent exactly now.
                q.unlimited()
        if keep:  # a caller that gives frames up may capture into the spare
            spare = replaced if replaced is not None else f
            self._spare = spare if spare is replaced or self._reusable(f) else None
        if self._history is not None:
            self._history.finish(ops, self._ref)
        fb_hash = framebuffer_hash(self._ref) if self.integrity else None
        data = build_update(
            self._sequence, width, height, ops, keyframe=keyframe, framebuffer_hash=fb_hash
        )
        self._keyframe = False
        self.last = self._stats(keyframe, rects, ops, len(data), time.perf_counter() - t0)
        self._lossy_stats(f, vops)
        if keyframe or ops or fb_hash is not None:
            # An update with nothing in it does not count: a transport may
            # leave it unsent, and the next update carries its number, so the
            # viewer's continuity check sees no gap. Hashed updates are not
            # checked by number, and keep counting every update (a recorded
            # clip numbers its frames). See docs/protocol.md, "Sequence numbers".
            self._sequence = (self._sequence + 1) & 0xFFFFFFFF
        return data

    def _write_copies(self, f: Frame, ops: list[EncodedOp], holes: list[Rect]) -> None:
        """Write the COPY ops' destinations, minus ``holes``, from ``f`` into
        the reference (each was verified equal to ``f``: screencodec.motion)."""
        dests = [o.rect for o in ops if o.op is Op.COPY]
        if not dests:
            return
        arr = np.array([(r.x, r.y, r.w, r.h) for r in dests], np.int32)
        if holes:
            arr = subtract_rects(arr, holes)
        if len(arr):
            copy_rects(self._ref, f, arr)

    def take_spare(self) -> Frame | None:
        """A frame buffer the encoder no longer uses, for the next capture to
        write into, or None: the reference (or shadow) that a kept frame
        replaced, or a kept frame the encoder did not need. Each buffer is
        handed out once; holding none costs nothing."""
        spare, self._spare = self._spare, None
        return spare

    def _adoptable(self, f: Frame) -> bool:
        """Whether ``f`` can serve as the reference or shadow: writable,
        C-contiguous, and not one of the encoder's own buffers."""
        if self.integrity or not (f.flags.writeable and f.flags.c_contiguous):
            return False
        return not self._holds(f)

    def _reusable(self, f: Frame) -> bool:
        """Whether a frame the encoder did not keep can take the next capture."""
        return bool(f.flags.writeable) and not self._holds(f)

    def _holds(self, f: Frame) -> bool:
        """Whether ``f`` may be (a view of) the reference or the shadow."""
        shadow = self.quality.shadow if self.quality is not None else None
        return any(b is not None and np.may_share_memory(f, b) for b in (self._ref, shadow))

    def _lossy_stats(self, f: Frame, vops: list[EncodedOp]) -> None:
        """Fill ``last``'s lossy figures from rate control and the video pictures."""
        last, total, measured = self.last, 0.0, 0
        for op in vops:
            err, n = sse(self._ref[op.rect.slices()], f[op.rect.slices()],
                         max_pixels=_VIDEO_SSE_PIXELS)  # fmt: skip
            total, measured = total + err, measured + n
            last.lossy_pixels += op.rect.area
        if self._rate is not None:
            last.budget = max(1, int(self._rate * self._interval / 8))
        q = self.quality
        if q is not None:
            qs = q.last
            last.lossy_pixels += qs.lossy_pixels
            last.refined_pixels = qs.refined_pixels
            total, measured = total + qs.sse, measured + qs.measured
        last.psnr = psnr(total, measured)

    def _damage(
        self, f: Frame, base: Frame, hint: npt.NDArray[np.int64] | None,
        bands: list[tuple[int, int]], lossy: bool,
    ) -> tuple[npt.NDArray[np.int32], Prediction | None]:
        """Changed areas of ``f`` against ``base`` (the reference, or under a
        rate the last frame) in the row ranges ``bands`` (the hinted rows and
        the scan band, or all), merged into few rects. Where the last update
        scrolled, the motion stage compares with the scroll going on
        (screencodec.motion.predict): then also the copies it verified, and
        the damage is what they leave."""  # fmt: skip
        height, width = f.shape[:2]
        self._compared = sum(b - a for a, b in bands)
        predicted, boxes = None, None
        if self.motion_stage is not None and not lossy:
            predicted, boxes = self.motion_stage.predict(
                base, f, hint=hint, bands=bands, tile=self.tile_size
            )
        if boxes is None:
            boxes = (
                tile_diff(base, f, self.tile_size) if hint is None
                else self._hinted.diff_bands(base, f, bands)
            )  # fmt: skip
        # What the shadow and the video stage take as changed: the copies'
        # destinations differ from base as well.
        self._boxes = boxes if predicted is None else np.concatenate([boxes, predicted.dests])
        if not len(boxes):
            return boxes, predicted
        return merge_rects(boxes, width, height, **self._merge_opts), predicted

    def _encode_rects(self, rects: list[Rect]) -> list[EncodedOp]:
        ops = self._code_blocks([b for r in rects for b in _blocks(r)])
        if self._history is not None:
            # The stream is one sequence: compressed here, in op order, after
            # the blocks were coded in parallel. Side by side streamed blocks
            # of one band go as one op: each op costs a block flush.
            ops = _join_streamed(ops)
            self._history.fill(self._ref, ops)
        return ops

    def _code_blocks(self, blocks: list[Rect]) -> list[EncodedOp]:
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
        changed = sum(w * h for _, _, w, h in rects.tolist())  # a few rects: no NumPy
        rows = self._ref.shape[0] if keyframe else self._compared
        return EncodeStats(
            self._sequence, keyframe, len(rects), changed, counts, size, dt, compared_rows=rows
        )

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


def _join_streamed(ops: list[EncodedOp]) -> list[EncodedOp]:
    """``ops`` with each run of ZSTREAM ops still to be compressed that sit
    side by side in one band (same top and height, each starting where the
    last ends) replaced by one op over their union."""
    out: list[EncodedOp] = []
    for op in ops:
        if out and op.op is Op.ZSTREAM and not op.payload:
            last = out[-1]
            a, b = last.rect, op.rect
            beside = (a.y, a.h, a.right) == (b.y, b.h, b.x)
            if last.op is Op.ZSTREAM and not last.payload and beside:
                out[-1] = EncodedOp(Op.ZSTREAM, Rect(a.x, a.y, a.w + b.w, a.h), b"")
                continue
        out.append(op)
    return out


def _blocks(r: Rect) -> list[Rect]:
    if r.w * r.h <= _BLOCK_W * _BLOCK_H * 2:
        return [r]
    return [
        Rect(x, y, min(_BLOCK_W, r.right - x), min(_BLOCK_H, r.bottom - y))
        for y in range(r.y, r.bottom, _BLOCK_H)
        for x in range(r.x, r.right, _BLOCK_W)
    ]
