"""The encoder's video stage: detected regions -> VIDEO ops; the rest stays lossless.

``VideoStage.process`` runs once per update, between damage detection and the
lossless coder (see ``ScreenEncoder.encode``). It reuses the encoder's tile
boxes (reference vs. source), cut down to the damage the motion stage left
(what COPY ops explained is no video), as the source damage everywhere except
inside its video regions: there the reference holds the lossy decode, which differs
from the source in every frame, so each region keeps its own copy of the
previous source pixels, and whether the video moved is asked of those.

Lifecycle of a region: the detector reports it -> a stream starts with an IDR
-> every frame whose source changed inside it becomes one H.264 picture, and
the reference there becomes the decoded picture -> once it has been still for
its *rest* time it stops playing (``stopped``): its pixels are no longer the
stage's, so the reference (lossy) differs from the source there, the
encoder's ordinary damage finds the area and re-sends it losslessly in the
same update (under a rate: refined within the budgets), and the viewer is
bit-exact again. Its stream is kept until it has been still for
``refresh_delay`` seconds, then dropped: a video that goes on within that
time goes on with a P picture, not a new stream and an IDR. A region that
moves or changes size is replaced by a new stream (a new x264 encoder, an
IDR), since an H.264 stream has one size.

The rest time is ``_REST_GAPS`` times the longest of the region's last
``_GAPS`` pauses between changes (as the stage saw them: a slow link's ticks
are far apart), at least ``_REST_MIN`` and after ``_REST_TICKS`` unchanged
updates, at most ``refresh_delay``. A 30 fps film on a 4 Mbit/s link rests
0.1-0.2 s after its last picture instead of 0.3 s, and its refinement (about
1 byte a pixel losslessly, 0.66 MB for a 1112x582 film: 1.3 s of that link)
starts that much sooner; a stop guessed wrong costs the refinement sent
until the next picture, which then goes on as before.

Rate: ``set_bitrate(total)`` shares a total bitrate among the regions by area
(each stream's x264 runs ABR at its share, opened with headroom above it,
retargeted live or restarted at an IDR, see ``VideoStream.set_bitrate``);
``set_bitrate(None)`` returns to the options' own rate control (CRF, or
their fixed bitrate per stream).

Under a rate, each region also keeps to its share over time: it earns its
share's bytes as time passes (at most ``_BURST`` seconds of them saved) and
spends each picture's. A region in debt skips its pictures (``skipped``):
no op goes out, the viewer keeps the last picture, and the next picture
sends the film as it is then; a skipped picture counts as a change, so one
is sent when the debt is paid even if the film stopped, and text beside it
is sent as usual. That is the frame rate giving way where x264 cannot (its
quantiser at the floor, ``qp_max``, the pictures still over their share:
grainy film at 1 Mbit/s), as WebRTC's "maintain-resolution" degradation
does; keyframes and a new region's first picture are never skipped (the
viewer has nothing to keep), their bytes count all the same.

Each picture under a rate is sized at the share times the time since the
region's last picture (``VideoStream.encode(interval=...)``), not at one
30th of it: a live session encodes 6-17 updates a second, and x264 sized
every picture at share / 30 whatever the interval, so a live film carried
20-55 % of its share (video45). Such streams are opened at a nominal
``_PACED_FPS``: x264's ceiling (twice the share, see ``ceiling``) then
allows a picture up to 0.2 s of the share, where at 30 it would cap a
picture 100 ms after the last at 2/3 of what the time earned; a picture
is sized for ``_PACE_MAX`` (0.1 s) at most, so a film on a busy link does
not trade its frame rate for ever bigger pictures.

Stream ids run 1..65535 and wrap; id 0 is left to the lossy stills of
screencodec.quality (``STILL_STREAM_ID``), so a still never restarts a region's
stream.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from screencodec.frames import Frame

from ..damage import any_change, subtract_rects, tile_diff
from ..geometry import Rect
from ..wire import EncodedOp, Op
from ..wire.format import COPY_PAYLOAD
from .codec import VideoStream, ceiling
from .h264 import H264Options
from .regions import DetectorOptions, RegionDetector

__all__ = ["DEFAULT_REFRESH_DELAY", "VideoRegion", "VideoStage"]

Rects = npt.NDArray[np.int32]

DEFAULT_REFRESH_DELAY = 0.3
#: A candidate inside an active region replaces it only when it is this much
#: smaller (a shrunk window); smaller wobbles of the bounds keep the stream.
_SHRINK = 0.9
#: The rest time (module notes): this many times the longest of the last
#: ``_GAPS`` pauses between a region's changes, at least ``_REST_MIN``
#: seconds and ``_REST_TICKS`` updates without a change. Measured at the
#: stage on synthetic video: pauses of 33-70 ms at 4 Mbit/s (up to 300 ms on
#: a loaded machine, where the rest is refresh_delay as before); a pause over
#: twice the longest of the 8 before it came 4-5 times in 140-280 changes.
_REST_GAPS = 3.0
_GAPS = 8
_REST_MIN = 0.1
_REST_TICKS = 2
#: A change inside a region whose changed pixels (the tile-trimmed boxes,
#: tiles of ``_SMALL_TILE``) cover at most this part of it is no motion of
#: the film: a caret, a spinner or a counter over a paused video. It is still
#: painted (a P picture while playing, losslessly while resting) but does not
#: keep the region playing, so a paused film with a blinking caret rests and
#: goes exact; a playing film changes far more than this in every picture.
_SMALL = 0.04
_SMALL_TILE = 16
_BGR = np.uint32(0x00FFFFFF)  # a BGRX pixel as little-endian uint32, X cleared
#: Under a rate, the most credit (seconds of its share) a region keeps: what
#: it saved while its pictures came under their share may pay for a later
#: picture over it, but a film that resumes after a pause does not burst.
_BURST = 0.25
#: The nominal frame rate of a stream under a rate (module notes, "Rate"):
#: each picture is sized by its real interval, and at 10 the 2x ceiling
#: lets one picture take up to 0.2 s of its share. Measured (640x360 grainy
#: film, 3.2 Mbit/s share): pictures 100 ms apart carried 0.83 of the share
#: (0.57 opened at 30), 33 ms apart 0.94, 55-170 ms apart 0.79 (0.50).
_PACED_FPS = 10
#: ... but no picture is sized for more than this many seconds of its share:
#: a bigger picture takes longer on the link, the next comes later and is
#: bigger again. Uncapped, the corpus film (1120x630 in 1080p) fell from
#: 9-15 pictures shown a second to 6 live at 1 and 2 Mbit/s; capped at 0.1 s
#: it showed 6.3-17.7 at 1 Mbit/s, 8.6-13.5 at 2 (benchmarks/RESULTS.md,
#: video45b).
_PACE_MAX = 0.1


@dataclass(slots=True)
class VideoRegion:
    #: the pixels that play video, exact (odd sizes too)
    rect: Rect
    stream: VideoStream
    last_change: float
    prev: Frame
    #: its source changed in this update (it needs a picture while playing)
    changed: bool = True
    #: ... and more than a small part of it (``_SMALL``): the film moved
    moved: bool = True
    #: the picture's rect: ``rect`` grown by a column / row to even sizes
    #: (H.264 and the VIDEO op need them); what it adds is sent exactly after
    #: every picture
    coded: Rect | None = None
    #: still for its rest time: its pixels are sent exactly, its stream kept
    resting: bool = False
    #: the last pauses between its changes (seconds), and updates since its last change
    gaps: deque[float] = field(default_factory=lambda: deque(maxlen=_GAPS))
    unchanged: int = 0
    #: under a rate, the bytes its share has earned and its pictures not
    #: spent (the module notes, "Rate"), as of ``credit_at``
    credit: float = 0.0
    credit_at: float | None = None
    #: a change it skipped (over its budget) that no picture has sent yet
    held: bool = False
    #: when its last picture was encoded (None: none yet)
    sent_at: float | None = None

    def rest_after(self, longest: float) -> float:
        """Seconds of stillness after which it rests (at most ``longest``)."""
        if not self.gaps:
            return longest
        return min(longest, max(_REST_MIN, _REST_GAPS * max(self.gaps)))

    @property
    def pads(self) -> list[Rect]:
        """What ``coded`` adds to ``rect`` (a column and / or a row, or nothing)."""
        c = self.coded
        if c is None or c == self.rect:
            return []
        return [p for p in _difference(c, self.rect) if not p.is_empty()]


class VideoStage:
    """Turns video regions into VIDEO ops. Not thread-safe.

    :param options: H.264 settings for every stream.
    :param refresh_delay: seconds a region must stay still before it is
        dropped and re-sent losslessly.
    :param detector: region detection tuning.

    ``stopped`` lists the regions the last ``process`` stopped playing
    (still for their rest time, see the module notes), and what a region
    replaced by one that moved or resized leaves outside it. Their lossy pixels
    stay in the rects ``process`` returns, so the encoder re-sends them
    losslessly in the same update, unless it takes them out (under a rate it
    refines them within its budgets).

    ``skipped`` lists the regions whose picture the last ``process`` skipped
    (under a rate, over their share: the module notes, "Rate"); ``deadline``
    then includes when the first of them has paid its debt.
    """

    def __init__(
        self,
        options: H264Options | None = None,
        *,
        refresh_delay: float = DEFAULT_REFRESH_DELAY,
        detector: DetectorOptions | None = None,
    ) -> None:
        self.options = options or H264Options()
        self.refresh_delay = refresh_delay
        self.detector_options = detector or DetectorOptions()
        self._detector: RegionDetector | None = None
        self._regions: list[VideoRegion] = []
        self._ids = itertools.count(1)
        self._total_bitrate: int | None = None
        #: the total new streams are opened at (``set_bitrate``'s ``opened``)
        self._opened_bitrate: int | None = None
        self._qp_max: int | None = None
        self._size = (0, 0)
        self.stopped: list[Rect] = []
        self.skipped: list[Rect] = []

    @property
    def regions(self) -> list[Rect]:
        """The video regions with a stream: playing or resting."""
        return [r.rect for r in self._regions]

    @property
    def playing(self) -> list[Rect]:
        """The regions whose pixels are the stage's (lossy): not resting."""
        return [r.rect for r in self._regions if not r.resting]

    @property
    def deadline(self) -> float | None:
        """When the next region is due to rest or be dropped (the caller
        should encode a frame then even if nothing changed), or None without
        video regions."""
        if not self._regions:
            return None
        due = min(r.last_change + self._still_for(r) for r in self._regions)
        for r in self._regions:
            if r.held and not r.resting and r.credit_at is not None and self._total_bitrate:
                # Its skipped picture goes when its debt is paid.
                share = self._share(r) / 8
                due = min(due, r.credit_at + max(0.0, -r.credit) / share)
        return due

    def _still_for(self, region: VideoRegion) -> float:
        """Stillness after which ``region`` changes state: rests, or is dropped."""
        return self.refresh_delay if region.resting else region.rest_after(self.refresh_delay)

    @property
    def total_bitrate(self) -> int | None:
        """The bitrate shared by the regions (``set_bitrate``), or None."""
        return self._total_bitrate

    def set_bitrate(
        self, total: int | None, /, *, qp_max: int | None = None, opened: int | None = None
    ) -> None:
        """Share ``total`` bits per second among the regions by area from the
        next picture on, no stream coarser than quantiser ``qp_max`` (a quality
        floor); None: every stream back to the options' rate control.

        ``opened`` (at least ``total``): the total new streams are opened at,
        when ``total`` is lowered for a while (the encoder's
        ``video_share_refining``): a stream follows a rate live from half
        the rate it opened at up to twice it, and one opened at the lowered
        rate did not climb back. Found (video47): opened at 0.4 of a 4 Mbit/s
        link and raised live to 0.8 at 0.6 s, the synthetic film spent 2.6
        Mbit/s of the link, not 3.3, at 0.4 dB less, over the next 9 s."""
        if total is not None and total <= 0:
            raise ValueError("bitrate must be positive")
        self._total_bitrate = total
        self._opened_bitrate = None if total is None else max(total, opened or total)
        self._qp_max = qp_max
        self._share_bitrate()

    def _stream_bitrate(self, area: int, total_area: int) -> int | None:
        if self._total_bitrate is None:
            return self.options.bitrate
        return max(1000, self._total_bitrate * area // max(1, total_area))

    def _share(self, region: VideoRegion) -> int:
        """``region``'s share of the total bitrate (bits per second), as its
        stream is given it (:meth:`_share_bitrate`)."""
        assert self._total_bitrate is not None  # asked under a rate only
        share = self._stream_bitrate(region.rect.area, sum(r.rect.area for r in self._regions))
        assert share is not None
        return share

    def _over_budget(self, region: VideoRegion, now: float) -> bool:
        """Whether ``region`` is in debt at ``now``, having earned its share
        since it was last asked (no rate: never)."""
        if self._total_bitrate is None:
            return False
        share = self._share(region) / 8
        if region.credit_at is not None:
            earned = share * max(0.0, now - region.credit_at)
            region.credit = min(region.credit + earned, share * _BURST)
        region.credit_at = now
        # Less than a byte of debt is the rounding of ``deadline``'s time
        # (seen: -7e-12 bytes at the deadline, the held picture not sent).
        return region.credit < -1

    def _share_bitrate(self) -> None:
        total_area = sum(r.rect.area for r in self._regions)
        fps = self.options.fps if self._total_bitrate is None else _PACED_FPS
        for r in self._regions:
            rate = self._stream_bitrate(r.rect.area, total_area)
            r.stream.set_bitrate(rate, qp_max=self._qp_max, fps=fps)

    def restart_streams(self) -> None:
        """Every region's next picture is an IDR (a seek point in a
        recording): each stream keeps the request until its next picture."""
        for region in self._regions:
            region.stream.request_idr()

    def reset(self) -> None:
        """Forget every region and the history (the frame size changed)."""
        self._detector = None
        self._regions.clear()

    def process(
        self,
        ref: Frame,
        src: Frame,
        rects: Rects,
        boxes: Rects | None,
        tile: int,
        /,
        *,
        now: float,
        copies: Sequence[EncodedOp] | None = None,
    ) -> tuple[list[EncodedOp], Rects]:
        """VIDEO ops for this update, and ``rects`` minus the video regions.

        ``ref`` is the encoder's reference as the viewer has it before this
        update; the stage writes the decoded pictures of its regions into it.
        ``boxes`` are the tile-diff boxes (tile size ``tile``) of ``src``
        against ``ref``, or None for a keyframe, which restarts every stream
        with an IDR.
        """
        height, width = src.shape[:2]
        d = self._detector
        if d is None or (d.width, d.height, d.options.tile) != (width, height, tile):
            self.reset()
            opts = dataclasses.replace(self.detector_options, tile=tile)
            self._detector = d = RegionDetector(width, height, opts)
        keyframe = boxes is None
        self._size = (width, height)
        for region in self._regions:
            view = src[region.rect.slices()]
            region.changed = any_change(region.prev, view)
            region.moved = region.changed and not _small(region.prev, view, region.rect.area)
            if region.changed:
                region.prev[...] = view
            if region.moved:
                region.gaps.append(now - region.last_change)
                region.last_change = now
                region.unchanged = 0
                region.resting = False  # plays on: a P picture paints over the exact pixels
            else:
                region.unchanged += 1
        found: list[Rect] = []
        if boxes is not None:
            uncovered = None if copies is None else _uncovered(copies)
            post = _post_copy(boxes, rects)
            found = d.observe(post, src, self._masks(), now=now, damage=boxes, uncovered=uncovered)
        # Still for its rest time: its pixels go exact (the encoder's damage
        # re-sends them losslessly, or refines them under a rate). Still for
        # refresh_delay: its stream is dropped too, and its tiles must earn
        # their way back from zero.
        self.stopped = []
        self.skipped = []
        dropped = False
        for region in self._regions:
            still = now - region.last_change
            due = region.rest_after(self.refresh_delay)
            rest = region.unchanged >= _REST_TICKS and still >= due
            if not region.resting and (rest or still >= self.refresh_delay):
                region.resting = True
                self.stopped.append(region.rect)
            if still >= self.refresh_delay:
                d.forget(region.rect)
                dropped = True
        self._regions = [r for r in self._regions if now - r.last_change < self.refresh_delay]
        fresh = self._reconcile(found, src, now)
        if (fresh or dropped) and self._total_bitrate is not None:
            self._share_bitrate()

        ops = []
        pads: list[Rect] = []
        for region in self._regions:
            new = region in fresh
            if keyframe or new:
                region.stream.request_idr()
            if region.resting:
                continue  # its pixels are sent exactly; its next picture is an IDR if asked
            if keyframe or new or region.changed or region.held:
                # Never a keyframe's or a new stream's first picture: the
                # viewer has no picture of it to keep.
                over = self._over_budget(region, now)
                if over and not (keyframe or new):
                    region.held = True
                    self.skipped.append(region.rect)
                    continue
                coded = region.coded or region.rect
                # Sized by the time since its last picture (module notes, "Rate").
                interval = None
                if self._total_bitrate is not None and region.sent_at is not None:
                    interval = min(now - region.sent_at, _PACE_MAX)
                op = region.stream.encode(src, ref, coded, interval=interval)
                region.sent_at = now
                ops.append(op)
                region.credit -= len(op.payload)
                region.held = False
                # The picture covered its pad with lossy pixels: sent exactly
                # after it, in the same update.
                pads += region.pads
        if playing := self.playing:
            rects = subtract_rects(rects, playing)
        if pads:
            extra = np.array([[p.x, p.y, p.w, p.h] for p in pads], np.int32)
            rects = np.concatenate([subtract_rects(rects, pads), extra]).astype(np.int32)
        return ops, rects

    def _masks(self) -> list[tuple[Rect, bool]]:
        return [(r.rect, r.moved) for r in self._regions]

    def _reconcile(self, found: list[Rect], src: Frame, now: float) -> list[VideoRegion]:
        """Start streams for new regions, replace the ones that moved or resized."""
        fresh: list[VideoRegion] = []
        for rect in found:
            overlapping = [r for r in self._regions if r.rect.intersection(rect).area]
            if any(r.rect == rect for r in overlapping):
                continue
            if any(
                r.rect.contains(rect) and rect.area >= _SHRINK * r.rect.area for r in overlapping
            ):
                continue
            if not overlapping and len(self._regions) >= self.detector_options.max_regions:
                continue
            self._regions = [r for r in self._regions if r not in overlapping]
            # What a replaced region's last pictures painted and the new one
            # does not cover stays lossy where the screen did not change
            # since: it stopped playing (under a rate, only the lossy map
            # would send it again). A resting one's pixels are the map's already.
            gone = [r.rect for r in overlapping if not r.resting]
            if gone:
                left = subtract_rects(gone, [rect]).tolist()
                self.stopped += [Rect(*map(int, r)) for r in left]
            area = rect.area + sum(r.rect.area for r in self._regions)
            opts = self.options
            if self._total_bitrate is not None:
                # With headroom over its share: a rate that comes back up
                # after a drop is followed live (VideoStream.set_bitrate).
                assert self._opened_bitrate is not None
                rate = max(1000, self._opened_bitrate * rect.area // max(1, area))
                opts = dataclasses.replace(
                    opts,
                    bitrate=rate,
                    max_bitrate=ceiling(rate),
                    qp_max=self._qp_max,
                    fps=_PACED_FPS,
                )
            coded = _even(rect, *self._size)
            stream = VideoStream(self._next_id(), coded.w, coded.h, opts)
            region = VideoRegion(rect, stream, now, np.array(src[rect.slices()]), coded=coded)
            self._regions.append(region)
            fresh.append(region)
        return fresh

    def _next_id(self) -> int:
        """1..65535, wrapping, never ``STILL_STREAM_ID``."""
        return (next(self._ids) - 1) % 0xFFFF + 1


def _small(prev: Frame, cur: Frame, area: int) -> bool:
    """Whether the pixels that differ between ``prev`` and ``cur`` (the
    trimmed boxes of their changed tiles) cover at most ``_SMALL`` of ``area``."""
    # A film changes nearly every pixel: every 8th pixel of every 8th row
    # tells it for a fraction of the scan (0.01 against 0.22 ms at 1112x582).
    # A change of ``_SMALL`` differs in a sixth of the sample at most (a line
    # one pixel high across a 96-row region, on a sampled row: 1/12).
    a = prev[::8, ::8].view(np.uint32)
    b = cur[::8, ::8].view(np.uint32)
    if np.count_nonzero((a ^ b) & _BGR) > 4 * _SMALL * a.size:
        return False
    boxes = tile_diff(prev, cur, _SMALL_TILE)
    changed = int((boxes[:, 2].astype(np.int64) * boxes[:, 3]).sum())
    return changed <= _SMALL * area


def _even(rect: Rect, width: int, height: int) -> Rect:
    """``rect`` grown by one column / row where its size is odd, towards the
    right or bottom if the frame has room, else the left or top; shrunk by
    one where neither has (an odd frame's full width or height)."""
    x, y, w, h = rect.x, rect.y, rect.w, rect.h
    if w % 2:
        if x + w < width:
            w += 1
        elif x > 0:
            x, w = x - 1, w + 1
        else:
            w -= 1
    if h % 2:
        if y + h < height:
            h += 1
        elif y > 0:
            y, h = y - 1, h + 1
        else:
            h -= 1
    return Rect(x, y, w, h)


def _difference(outer: Rect, inner: Rect) -> list[Rect]:
    """``outer`` minus ``inner`` (which it contains but for a shrunk edge) as
    disjoint rects: the columns beside, then the rows above and below."""
    i = outer.intersection(inner)
    return [
        Rect(outer.x, outer.y, i.x - outer.x, outer.h),
        Rect(i.right, outer.y, outer.right - i.right, outer.h),
        Rect(i.x, outer.y, i.w, i.y - outer.y),
        Rect(i.x, i.bottom, i.w, outer.bottom - i.bottom),
    ]


def _uncovered(copies: Sequence[EncodedOp]) -> list[Rect]:
    """What the COPY ops expose: their sources minus every destination (the
    strip a scroll reveals, a moved window's old place)."""
    moves = [op for op in copies if op.op is Op.COPY]
    if not moves:
        return []
    dests = [op.rect for op in moves]
    sources = []
    for op in moves:
        sx, sy = COPY_PAYLOAD.unpack(op.payload)
        sources.append(Rect(sx, sy, op.rect.w, op.rect.h))
    return [Rect(*map(int, r)) for r in subtract_rects(sources, dests).tolist()]


def _post_copy(boxes: Rects, rects: Rects) -> Rects:
    """The tile boxes cut down to the damage an earlier stage left: each box
    becomes the bounding box of its overlap with ``rects``, or goes.

    The boxes compare the frame with the reference as it was before the
    update; where motion COPY ops already brought the reference up to date,
    nothing is left to send, so it is no video either. Without this, a page of
    photos scrolling under the copies would look like video in every tile;
    with it, only the strip a scroll reveals counts. Where nothing was copied,
    the merged ``rects`` cover the boxes and the boxes come back unchanged.
    """
    if not len(boxes) or not len(rects):
        return boxes[:0]
    b = boxes[:, None, :].astype(np.int64)
    r = rects[None, :, :].astype(np.int64)
    x0 = np.maximum(b[..., 0], r[..., 0])
    y0 = np.maximum(b[..., 1], r[..., 1])
    x1 = np.minimum(b[..., 0] + b[..., 2], r[..., 0] + r[..., 2])
    y1 = np.minimum(b[..., 1] + b[..., 3], r[..., 1] + r[..., 3])
    hit = (x0 < x1) & (y0 < y1)
    keep = hit.any(axis=1)
    big = np.int64(1) << 40
    lo_x = np.where(hit, x0, big).min(axis=1)[keep]
    lo_y = np.where(hit, y0, big).min(axis=1)[keep]
    hi_x = np.where(hit, x1, -big).max(axis=1)[keep]
    hi_y = np.where(hit, y1, -big).max(axis=1)[keep]
    out: Rects = np.stack([lo_x, lo_y, hi_x - lo_x, hi_y - lo_y], axis=1).astype(np.int32)
    return out
