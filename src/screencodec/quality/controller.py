"""The encoder side of rate control: hold each update to a byte budget, lossy
where that costs least in perceived quality, and refine every lossy pixel
back to exact when the link has room.

Under a rate the encoder measures damage against a *shadow* of the last frame
(``base``/``finish``), not against its reference (the viewer's picture, lossy
in places), so only real changes are damage; motion is found on the shadow
too, and ``follow_copies`` applies the COPY ops to the reference as the viewer
will, moving lossy pixels (and their flags in the lossy map) with them. The
budget is ``rate * interval / 8`` bytes per update, spent in this order:

1. What earlier stages produced (COPY ops; video-region pictures, whose
   streams have their own share of the rate), then the damage cut into the
   encoder's 256x64 blocks and classified (``classify.split_pictures``:
   a block that is a picture's edge above or below text is cut in two).
2. Text and UI blocks: always lossless, even past the budget; except in a
   keyframe whose lossless part (text, and the UI found inside stills)
   would take more than ``LossyOptions.first_picture`` seconds of the rate:
   then the whole picture goes in stills (a joining viewer sees it in a
   fraction of the time) and step 4 refines it, text included. Unless those
   stills took more than twice that (the PSNR floor over fine grain) and more
   than the exact part: then the keyframe is made again with its text and
   UI exact over coarse stills (below). Or in a delta update whose text
   covers a quarter of the screen (a Page Down): its rows of blocks are sent
   exactly from the top until they took ``LossyOptions.delta_picture``
   seconds of the rate, and the blocks below are filled with their
   background and refined (step 4) top down (``_bands``). So is a delta
   update whose text covers ``_PART_SHARE`` of the screen (a page's first
   part cannot be told from a scroll).
3. Photo-like blocks: lossless when their estimated size fits what is left
   (with some slack, since a lossy picture and its refinement cost more than
   the lossless picture alone); otherwise lossy stills
   (``stills.StillEncoder``): per damage rect, one picture over the bounding
   box of its photo-like blocks. Its text blocks, and lines of UI found in it
   (``plan``), are encoded flat and painted over exactly by lossless
   ops after it. One quantiser for the update, chosen by ``model.RateModel``
   so the stills fill what is left; a still below the PSNR floor is encoded
   again finer, and if that fails too, taken back and sent losslessly. A
   keyframe's stills over exact text have the floor ``LossyOptions.
   first_min_psnr`` (the updates after it refine them at once) and are
   encoded finer only within twice ``first_picture`` (``_coarse_stills``).
4. Refinement: what is still left (plus credit saved while too little was
   left to refine a single cell) re-sends lossy cells exactly, oldest tiles
   first (``lossymap.LossyMap.pick``), each priced by its weight (the detail
   of its exact pixels: a white page costs a fiftieth of a photo).

Ops go out as: earlier stages', stills, lossless damage, refinement; the
viewer applies them in that order, so lossless ops inside a still paint over
its flat stand-ins.

Every step is a fixed number of NumPy passes over the blocks and cells, plus
Python loops over the stills (at most ``LossyOptions.max_stills``) and the
COPY ops of the update.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from screencodec.frames import Frame

from ..damage import copy_rects
from ..damage.subtract import subtract_rects
from ..geometry import Rect
from ..motion._rowhash import apply_copies, rects_tile_diff
from ..video.codec import MAX_VIDEO_COVERAGE, MAX_VIDEO_OPS
from ..wire import EncodedOp
from ..wire.format import COPY_PAYLOAD
from .classify import split_pictures
from .lossymap import LossyMap
from .metrics import outside, psnr, sse
from .model import QP_STEP, LossyOptions, RateModel
from .plan import Still, cut_blocks, plan_stills, touching
from .stills import StillEncoder

__all__ = ["QualityStats", "RateController"]

Rects = npt.NDArray[np.int32]
Lossless = Callable[[list[Rect]], list[EncodedOp]]

#: Op header bytes (wire/format.py), for budget accounting.
OP_HEADER = 14
#: Finer quantiser steps tried for a still below the PSNR floor (a multiple of
#: QP_STEP, so retries reuse the quantisers of other stills).
_RETRY_STEP = 3 * QP_STEP
#: Stills of delta updates this large use the fast x264 preset: three times
#: quicker for about a quarter more bytes.
_FAST_PIXELS = 256 * 1024
#: Budgets' worth of unspent refinement credit carried to later updates at most,
#: and bytes at most whatever the budget (a 16 px cell of a photo is about 300).
_CARRY = 4.0
_MIN_SAVING = 1024.0
#: Rounds a refinement's credit is spent in at most (see ``_refine``): more
#: where content costs less than the price floor.
_REFINE_ROUNDS = 6
#: The lowest refinement price, in bytes per weighted pixel (see ``_refine``):
#: half of what new content costs at the least.
_PRICE_FLOOR = 0.35
#: Tiles of the compare that trims refined rects to their differing pixels
#: (``_differing``): the lossy map's cell.
_TRIM_TILE = 16
#: A refinement round that cost at most this many times its price confirms
#: the price (``_refine``).
_PRICE_SLACK = 1.25
#: Quantiser steps per doubling of a coarse first picture's stills
#: (``_coarse_stills``).
_COARSE_DOUBLING = 4
#: A delta update's text is sent in rows from the top (``_bands``) only when
#: it covers this share of the screen at least: a page, not a terminal's new
#: lines, which stay exact in their update at any rate.
_PAGE_SHARE = 0.25
#: Text changed over this many seconds counts as one page (``_page``):
#: Chromium paints a Page Down over 2-3 frames 50 ms apart, of 5-18 % of
#: the screen in text blocks each (an article's column: 18-22 % in all;
#: corpus browser-scroll and browser-docs), each under ``_PAGE_SHARE``.
_PAGE_WINDOW = 0.3
#: A page in parts: the text changed over ``_PAGE_WINDOW`` covers this share
#: of the screen, and this update's text ``_PART_SHARE`` at least (a part of
#: a page, not a terminal's line or two: corpus terminal-log's updates are
#: 0-7 % and changed 8-28 % over the window, and stay exact unless their
#: rows take more than the rate's ``delta_picture``). Any update whose text
#: covers ``_PART_SHARE`` is bounded by the whole ``delta_picture``
#: (pgfirst45): a Page Down's first part is a scroll whose exposed strip is
#: 4.8-7.8 % of the screen and 20-23 kB at 1 Mbit/s (browser-scroll).
_PARTS_SHARE = 0.12
_PART_SHARE = 0.04
#: The cell of the grid that remembers where text changed (``_page``).
_PAGE_CELL = 16
#: The B, G, R bytes of a pixel read as a little-endian uint32 (``_blank``).
_BGR = np.uint32(0x00FFFFFF)


def _cells(rects: Rects, step: int, /) -> tuple[npt.NDArray[np.intp], ...]:
    """Every ``step``-th pixel of every rect down and across from its corner:
    the rect's index, y and x of each, without a Python loop over the rects
    (each rect's rows, then each row's columns, by ``np.repeat``)."""
    r = rects.astype(np.intp)
    nx, ny = -(-r[:, 2] // step), -(-r[:, 3] // step)
    row_of = np.repeat(np.arange(len(r)), ny)  # the rect of each row
    first = np.cumsum(ny) - ny
    row_y = r[row_of, 1] + step * (np.arange(len(row_of)) - first[row_of])
    per_row = nx[row_of]
    at = np.repeat(np.arange(len(row_of)), per_row)  # the row of each pixel
    start = np.cumsum(per_row) - per_row
    owner = row_of[at]
    return owner, row_y[at], r[owner, 0] + step * (np.arange(len(at)) - start[at])


def backgrounds(frame: Frame, rects: Rects, /) -> npt.NDArray[np.uint32]:
    """The most common B, G, R of each rect (as ``_BGR`` of a native uint32)
    in a sample of every 4th pixel down and across; ties to the lowest
    value. One sort of all rects' samples together: (rect, colour) keys,
    counted, and the largest count per rect taken."""
    if not len(rects):
        return np.zeros(0, np.uint32)
    owner, ys, xs = _cells(rects, 4)
    colour = frame[ys, xs].view(np.uint32)[:, 0] & _BGR  # gathered: contiguous
    keys, counts = np.unique((owner.astype(np.int64) << 32) | colour, return_counts=True)
    who, value = keys >> 32, keys & 0xFFFFFFFF
    # Sorted by rect, then count, then colour downwards: each rect's last
    # key is its most common colour, the lowest of those tied.
    order = np.lexsort((-value, counts, who))
    last = order[np.r_[who[order][1:] != who[order][:-1], True]]
    out: npt.NDArray[np.uint32] = value[last].astype(np.uint32)
    return out


#: ``fill`` paints through the rects' bounding box while it is at most this
#: many times their area (a band of blocks below a page's exact rows), else
#: pixel by pixel (scattered blocks): the costs per pixel measured, 8 ns and
#: 45 ns (benchmarks/test_bench_blank.py).
_BOX_SPARE = 5


def fill(ref: Frame, rects: Rects, colours: npt.NDArray[np.uint32], /) -> None:
    """Paint the B, G, R of each of the disjoint ``rects`` with its colour
    (the 4th byte kept), without a Python loop over them. Within their
    bounding box: colour + 1 added at each rect's corners (+, -, -, +) and
    summed down and across (a 2-D prefix sum) is the colour + 1 inside each
    rect and 0 outside. Or, when the box is mostly outside them, each
    pixel's index."""
    if not len(rects):
        return
    r = rects.astype(np.intp)
    x0, y0 = int(r[:, 0].min()), int(r[:, 1].min())
    x1, y1 = int((r[:, 0] + r[:, 2]).max()), int((r[:, 1] + r[:, 3]).max())
    if (x1 - x0) * (y1 - y0) > _BOX_SPARE * int((r[:, 2] * r[:, 3]).sum()):
        owner, ys, xs = _cells(rects, 1)
        bgr = np.ascontiguousarray(colours, np.uint32).view(np.uint8).reshape(-1, 4)[:, :3]
        ref[ys, xs, :3] = bgr[owner]
        return
    lx, ly = r[:, 0] - x0, r[:, 1] - y0
    hx, hy = lx + r[:, 2], ly + r[:, 3]
    # int32: down a column, at most one rect starts and one ends at each x
    # (they are disjoint), so the partial sums stay within +-2**25.
    v = colours.astype(np.int32) + 1  # 0 is outside every rect
    edges = np.zeros((y1 - y0 + 1, x1 - x0 + 1), np.int32)
    np.add.at(edges, (ly, lx), v)
    np.add.at(edges, (ly, hx), -v)
    np.add.at(edges, (hy, lx), -v)
    np.add.at(edges, (hy, hx), v)
    np.cumsum(edges, axis=0, out=edges)
    np.cumsum(edges, axis=1, out=edges)
    painted = edges[: y1 - y0, : x1 - x0].view(np.uint32)
    pixels = ref[y0:y1, x0:x1].view(np.uint32)[..., 0]  # B, G, R and the 4th byte
    np.copyto(pixels, (pixels & ~_BGR) | (painted - 1), where=painted > 0)


def _rects(a: npt.NDArray[np.integer], /) -> list[Rect]:
    return [Rect(*v) for v in a.tolist()]


def _overlapping(a: Rects, b: Rects) -> Rects:
    """The rects of ``a`` that overlap any rect of ``b``."""
    r = a.astype(np.int64).reshape(-1, 1, 4)
    t = b.astype(np.int64).reshape(1, -1, 4)
    hit = ((r[..., 0] < t[..., 0] + t[..., 2]) & (t[..., 0] < r[..., 0] + r[..., 2])
           & (r[..., 1] < t[..., 1] + t[..., 3]) & (t[..., 1] < r[..., 1] + r[..., 3]))  # fmt: skip
    out: Rects = a.reshape(-1, 4)[hit.any(axis=1)].astype(np.int32)
    return out


def _area(a: npt.NDArray[np.integer], /) -> int:
    return int((a[:, 2].astype(np.int64) * a[:, 3]).sum()) if len(a) else 0


def _size(ops: Sequence[EncodedOp], /) -> int:
    return sum(OP_HEADER + len(o.payload) for o in ops)


def _differing(ref: Frame, frame: Frame, rects: Rects, /) -> Rects:
    """Each of the disjoint ``rects`` cut down to the bounding box of its
    pixels where ``ref`` differs from ``frame`` (B, G, R); those with none go.

    Lossy cells are whole cells, and a lossy area's edge cuts through them: a
    stopped video's edge cells held mostly the exact window around it, and
    sent whole, the flat border made them text-like (unfiltered, in the
    history stream): 38 kpx at 1.7 bytes a pixel, a tenth of the 1112x582
    film's refinement on the synthetic desktop."""
    if not len(rects):
        return rects
    boxes = rects_tile_diff(ref, frame, rects, _TRIM_TILE).astype(np.int64)
    if not len(boxes):
        return rects[:0]
    r = rects.astype(np.int64)
    # The rect each box lies in (each lies in exactly one).
    bx, by = boxes[:, None, 0], boxes[:, None, 1]
    rx, ry = r[None, :, 0], r[None, :, 1]
    inside = (bx >= rx) & (bx < rx + r[None, :, 2]) & (by >= ry) & (by < ry + r[None, :, 3])
    owner = np.argmax(inside, axis=1)
    n = len(r)
    x0 = np.full(n, np.iinfo(np.int64).max)
    y0 = x0.copy()
    x1 = np.full(n, -1, np.int64)
    y1 = x1.copy()
    np.minimum.at(x0, owner, boxes[:, 0])
    np.minimum.at(y0, owner, boxes[:, 1])
    np.maximum.at(x1, owner, boxes[:, 0] + boxes[:, 2])
    np.maximum.at(y1, owner, boxes[:, 1] + boxes[:, 3])
    keep = x1 >= 0
    out: Rects = np.stack([x0, y0, x1 - x0, y1 - y0], axis=1)[keep].astype(np.int32)
    return out


@dataclass(slots=True)
class QualityStats:
    """What rate control did in the last update."""

    budget: int | None = None
    lossy_pixels: int = 0
    refined_pixels: int = 0
    #: squared error and pixels measured of the lossy pixels (for the PSNR)
    sse: float = 0.0
    measured: int = 0
    qp: int | None = None
    stills: int = 0

    @property
    def psnr(self) -> float | None:
        return psnr(self.sse, self.measured)


@dataclass(slots=True)
class _StillsDone:
    """Stills encoded at one quantiser: their ops, the stills sent and their
    figures (squared error, pixels measured, lossy pixels, coarsest qp)."""

    ops: list[EncodedOp]
    sent: list[Still]
    sse: float = 0.0
    measured: int = 0
    lossy_pixels: int = 0
    qp: int | None = None
    #: stopped: past the bytes allowed (``_stills_at``'s ``most``)
    over: bool = False
    #: a still was encoded finer than asked (below the floor at first)
    finer: bool = False


class RateController:
    """Budgets, lossy stills and refinement for one encoder. Not thread-safe
    (the encoder's thread; it hands lossless work to the encoder's pool).

    State: the rate and interval (``set_rate``), the update ``stamp``, the
    lossy ``map``, the ``shadow`` (the last frame, kept while a rate is set),
    the size ``model``, the ``stills`` encoder with its cached x264 contexts,
    the refinement credit, and ``last``, the figures of the last update.

    :param tile: the encoder's tile size (the lossy map's cells lie in it).
    :param chroma420: stills in 4:2:0 (a viewer that decodes only those).
    """

    def __init__(self, tile: int, chroma420: bool, options: LossyOptions | None = None) -> None:
        self.options = o = options or LossyOptions()
        self.model = RateModel(o, chroma420)
        self.map = LossyMap(tile)
        self.stills = StillEncoder(chroma420, o.preset)
        self.rate: float | None = None
        self.interval = 1 / 30
        self.stamp = 0
        self._carry = 0.0
        #: Where video regions stopped (``VideoStage.stopped``) since the map
        #: was last empty: a film's pixels, one kind of content (``_refine``).
        self.films: list[Rect] = []
        #: the last refinement round came within its price (``_PRICE_SLACK``)
        self._priced = False
        self.last = QualityStats()
        self._copy_scratch: npt.NDArray[np.uint8] | None = None  # follow_copies' sources
        #: The last frame, exactly (see lossymap): the picture damage is
        #: measured against while a rate is set; None without one.
        self.shadow: Frame | None = None
        #: When text last changed, per ``_PAGE_CELL`` cell (``_page``).
        self._text_at: npt.NDArray[np.float64] | None = None
        #: Bytes of the updates (refinement aside) estimated not yet through
        #: the link at ``_pending_at``, drained at the rate: the link time
        #: ahead of an update (``_bands``).
        self._pending = 0.0
        self._pending_at: float | None = None
        #: The last update's time (``encode``'s ``now``): refinement's credit
        #: grows with the link time idle since (``_idle``).
        self._last_at: float | None = None
        #: When the backlog of the updates so far is estimated through the
        #: link (``_pending`` drained at the rate): refinement's idle credit
        #: counts from then, not from the last update (``_idle``).
        self._busy_until = -math.inf

    @property
    def budget(self) -> int | None:
        """Bytes per update, or None without a rate."""
        if self.rate is None:
            return None
        return max(1, int(self.rate * self.interval / 8))

    def set_rate(self, bits_per_second: float | None, interval: float) -> None:
        self.rate, self.interval = bits_per_second, interval
        self._carry = 0.0
        self._priced = False

    def video_share(self, playing: Sequence[Rect], /) -> float:
        """The share of the rate video regions get in the next update:
        ``video_share_refining`` while lossy cells outside the ``playing``
        regions and the stopped films wait (stills: a first picture beside a
        film), else ``video_share``.

        Found (video46): the synthetic desktop's first picture at 1 Mbit/s
        went all stills, and its film beside them spent its 0.8 share and
        more, so refinement got the budget's rest, about 0.2 of the rate: the
        text beside the film was exact after 9.5 s, not in 284 of the first
        300 frames (tests/video/test_text_beside_film.py)."""
        o = self.options
        if not self.map or self.map.only_in([*playing, *self.films]):
            return o.video_share
        return o.video_share_refining

    def begin(self) -> int:
        """Start an update; its stamp (lossy cells marked in it carry it)."""
        self.stamp += 1
        self.last = QualityStats(budget=self.budget)
        return self.stamp

    def base(self, ref: Frame, /) -> Frame:
        """The picture to measure damage against under a rate: the shadow, made
        from ``ref`` (the viewer's picture) when there is none (the rate was
        just set: every cell is exact then, and only video regions differ
        from the last frame, which the video stage handles)."""
        if self.shadow is None or self.shadow.shape != ref.shape:
            self.shadow = ref.copy()
        return self.shadow

    def unlimited(self) -> None:
        """An update without a rate: its damage (reference vs frame) held every
        lossy cell, all sent exactly; the shadow is not kept up."""
        self.map.clear()
        self.shadow = None

    def follow_copies(self, ref: Frame, ops: Sequence[EncodedOp], /) -> None:
        """Apply the COPY ops a motion stage found on the shadow to the viewer's
        picture too, as the viewer will (every source read before any write),
        and move the lossy flags with the pixels."""
        moves = []
        for op in ops:
            sx, sy = COPY_PAYLOAD.unpack(op.payload)
            moves.append((Rect(sx, sy, op.rect.w, op.rect.h), op.rect))
        if not moves:
            return
        # The viewer's own kernel (decoder.py), so both pictures agree.
        table = np.array([(s.x, s.y, d.x, d.y, d.w, d.h) for s, d in moves], np.int32)
        scratch = apply_copies(ref, table, self._copy_scratch)
        # Kept for the next update up to a frame's size, as the viewer does.
        small = scratch is not None and scratch.nbytes <= ref.nbytes
        self._copy_scratch = scratch if small else None
        self.map.move(moves, self.stamp)

    def finish(self, frame: Frame, boxes: Rects, /, *, adopt: bool = False) -> Frame | None:
        """End an update under a rate: the shadow becomes the frame (``boxes``
        cover every pixel where it differed). ``adopt``: the caller owns
        ``frame`` and gives it up, so it becomes the shadow itself; the old
        shadow is returned (nothing else holds it), else None."""
        assert self.shadow is not None
        if adopt:
            old, self.shadow = self.shadow, frame
            return old
        if len(boxes):
            copy_rects(self.shadow, frame, boxes)
        return None

    def encode(
        self,
        ref: Frame,
        frame: Frame,
        rects: Rects,
        /,
        *,
        used: int,
        video_ops: int,
        video_area: int,
        regions: Sequence[Rect],
        lossless: Lossless,
        keyframe: bool = False,
        overhead: int = 0,
        now: float | None = None,
    ) -> list[EncodedOp]:
        """Ops for ``rects`` (already copied into ``ref``) within what is left
        of the budget after ``used`` bytes (of which ``overhead`` is the
        update's own header, not sent with an update that carries nothing),
        then refinement; keeps ``ref`` and
        the lossy map in step. Large stills of a delta update are encoded
        with the fast preset (a keyframe's, which sets the first picture's
        size, are not). ``now``: the update's time (monotonic seconds; by
        default its stamp times the interval), for ``_page``."""
        budget = self.budget
        assert budget is not None, "encode() needs a rate"
        now = self.stamp * self.interval if now is None else now
        self._drain(now)
        idle = self._idle(now)
        blocks, owner, photo = split_pictures(frame, *cut_blocks(rects))
        pages = self._page(blocks[~photo], frame.shape, now, keyframe)
        # Or a large text update on its own (a Page Down's first part, which
        # cannot be told from a scroll): its rows bounded by their link time.
        part = _area(blocks[~photo]) >= _PART_SHARE * frame.shape[0] * frame.shape[1]
        # A keyframe is a first picture, refined to exact by the updates after
        # it. When its exact part (text, and UI inside photos) would keep a
        # joining viewer waiting for more than ``first_picture`` seconds, it
        # is ``first``: planned again with everything in stills. Else it is
        # ``coarse``: text and UI exact, stills at the first picture's floor
        # (``_coarse_stills``); so is a ``first`` one whose stills took more
        # than twice ``first_picture`` seconds (the usual floor over grain):
        # planned and encoded again, if they took more than its text alone
        # too (``most``). (The stream of the ops dropped is compressed again:
        # history.finish.)
        first = coarse = False
        allowance = self._first_picture_bytes()
        o = self.options
        blank: Rects = np.zeros((0, 4), np.int32)  # text left for refinement (``_bands``)
        # The keyframe's exact part as planned, or its text's when the text
        # alone took more than the allowance (then not planned: it goes in
        # stills unless they overshoot).
        photo0, planned = photo, None
        last0 = replace(self.last)
        text0 = 0  # the bytes of photo0's text blocks
        for pass_ in range(2):
            while True:
                text = blocks[~photo]
                # A coarse keyframe's text blocks (photo0's, whose size the
                # first try measured) are encoded once planned: its stills
                # take those inside them, cut down to their text in ``extra``
                # (plan._grainless).
                if keyframe or not o.delta_picture or not (pages or part):
                    text_ops = [] if coarse else lossless(_rects(text))
                else:
                    # A lone large update (not a page's later part) keeps the
                    # whole delta_picture, pending or not: a terminal's lines
                    # behind a backlog stay exact unless they alone take more.
                    screen = frame.shape[0] * frame.shape[1]
                    whole = not pages or _area(text) >= _PAGE_SHARE * screen
                    text_ops, text, blank = self._bands(text, lossless, used, whole=whole)
                text_bytes = text0 if coarse else _size(text_ops)
                if photo is photo0 and not coarse:
                    text0 = text_bytes
                if keyframe and not (first or coarse) and text_bytes > allowance:
                    photo, first = np.ones(len(blocks), np.bool_), True
                    planned = text_bytes
                    continue  # the text alone is too much: no need to plan the rest
                left = budget - used
                left = (max(left, allowance) if first else left) - text_bytes
                stills, in_still, extra = self._plan(
                    frame, blocks, owner, photo, rects, left=left, first=first,
                    whole=coarse, video=(video_ops, video_area), slivers=keyframe,
                )  # fmt: skip
                if coarse:
                    text = blocks[~photo & ~in_still]
                    text_ops = lossless(_rects(text))
                    left += text_bytes - _size(text_ops)
                # Photo-like blocks no still holds, and the extra rects around
                # stills, are sent exactly; encoded first, so the stills get
                # what they leave.
                rest = np.concatenate([blocks[photo & ~in_still], extra]).astype(np.int32)
                # A keyframe's damage is in ref already: only extra rects reach
                # outside it (a still grown into a video region). Kept, to undo
                # if this plan is dropped: its pixels would not be the viewer's.
                undo = [(r, ref[r.slices()].copy()) for r in _rects(extra)] if keyframe else []
                if len(rest):
                    # Extra rects may reach outside the damage (a still grown by
                    # a column), where the reference can hold an older lossy
                    # picture.
                    copy_rects(ref, frame, rest)
                rest_ops = lossless(_rects(rest))
                lossless_bytes = _size(text_ops) + _size(rest_ops)
                if not keyframe or first:
                    break
                if lossless_bytes <= allowance or (coarse and stills):
                    coarse = bool(stills)
                    break
                planned = lossless_bytes
                for r, pixels in undo:
                    ref[r.slices()] = pixels
                photo, first, coarse = np.ones(len(blocks), np.bool_), True, False
            left -= _size(rest_ops)
            if coarse:
                # The stills take what is left of the budget (as any update's),
                # and up to twice the allowance when the usual floor asks more.
                room = left, 2 * allowance - lossless_bytes
                still_ops, sent = self._coarse_stills(ref, frame, stills, room)
                break
            again = pass_ == 0 and first and planned is not None
            before = [(s.rect, ref[s.rect.slices()].copy()) for s in stills] if again else []
            # Made again only when these stills take more than twice the
            # allowance and more than the exact part alone (at 4 kbit/s a
            # 160x96 desktop's stills overshoot the allowance at any floor,
            # and its exact part is three times their 2.6 kB).
            most = max(2 * allowance - lossless_bytes, planned or 0) if again else None
            done = self._encode_stills(
                ref, frame, stills, left=left, keyframe=keyframe, first=first, most=most
            )
            if done is not None:
                still_ops, sent = done
                break
            for r, pixels in before + undo:  # the stills, then the rests' pixels
                ref[r.slices()] = pixels
            self.last = replace(last0)
            photo, first, coarse = photo0, False, True
        if stills:
            # The pictures painted over pixels that lossless ops send (text
            # blocks inside them, the rests): put the exact pixels back. A still
            # that missed the PSNR floor is sent exactly instead.
            kept = np.isin(owner, [s.owner for s in sent])
            failed = np.isin(owner, [s.owner for s in stills]) & ~kept & (photo | in_still)
            fallback = blocks[failed]
            copy_rects(ref, frame, touching(np.concatenate([text, rest, fallback]), stills))
            fallback_ops = lossless(_rects(fallback))
            left -= _size(fallback_ops)
            rest_ops += fallback_ops
            rest = np.concatenate([rest, fallback]).astype(np.int32)
        self.model.observe_lossless(_area(rest), _size(rest_ops))
        left -= _size(still_ops)
        if len(blank):
            # After the stills, which may have painted over them.
            fills = self._blank(ref, frame, blank, lossless)
            # The fills go out before the rests (text_ops first), which paint
            # their exact pixels over them at the viewer: so in ``ref``.
            # Found (review46, Chromium gradient cards at 1 Mbit/s): a rest
            # around a still reached a row into a blank block, and ``ref``
            # kept the fill there (the update's framebuffer hash failed).
            copy_rects(ref, frame, _overlapping(rest, blank))
            text_ops += fills
            left -= _size(fills)
        # The lossy map: stills flag their tiles, weighed by the detail of what
        # they cover; lossless blocks sent after them make the tiles they
        # cover exact.
        self.map.mark([s.rect for s in sent], self.stamp, frame)
        self.map.clear_covered(np.concatenate([text, rest]).astype(np.int32))
        self.map.mark(_rects(blank), self.stamp, frame)
        bare = used <= overhead and not (still_ops or text_ops or rest_ops)
        refine_ops = self._refine(ref, frame, left + idle, regions, lossless, bare=bare)
        if not bare:
            # Refinement is left out: it only fills what the rate leaves.
            self._pending += used + _size(still_ops) + _size(text_ops) + _size(rest_ops)
        # But for what it took of the link's idle time.
        self._pending += max(0, _size(refine_ops) - max(0, left))
        if self.rate:
            self._busy_until = (self._pending_at or now) + self._pending * 8 / self.rate
        return still_ops + text_ops + rest_ops + refine_ops

    def _drain(self, now: float) -> None:
        """The link's estimated backlog at ``now``: what was pending less what
        the rate carried since."""
        if self._pending_at is not None and now > self._pending_at:
            carried = (self.rate or 0) * (now - self._pending_at) / 8
            self._pending = max(0.0, self._pending - carried)
        self._pending_at = now if self._pending_at is None else max(now, self._pending_at)

    def _idle(self, now: float) -> int:
        """Bytes refinement may take beyond the budget, when the link carried
        all that was pending (``_drain``): what it can carry over the time
        since the last update past one interval, up to ``delta_picture``
        seconds of the rate (what an update of a page may hold the link
        for, ``_bands``). The host then sends as often as it can, not as
        the link lets it, and its next update likely comes as late. Found
        (exact44): a host too busy for 30 updates a second (fps 0.6-1.5
        beside CPU hogs) refined a budget (4 kB at 1 Mbit/s) an update, and
        a page left to refinement took 15-25 s while the link idled; the
        bench's 10 s settle saw it never exact (3 of 3 runs at load 7-10).

        Nothing while a backlog remains: the host waited for the link, and
        the time since the last update is the link time that update held.
        Found (video46/video47): counted again (less the backlog left), an
        update that held a 2 Mbit/s link 130 ms made the next 28 kB bigger,
        and so on: 2-4 budgets an update on a link never idle
        (tests/codec/test_idle_counted_once.py), and a film beside it fell
        to 6 pictures a second (tests/video/test_rate_fps.py).

        And not the time the link carried the last updates: the gap counts
        from when their backlog was through (``_busy_until``). Found
        (lag53): a host whose flow control sends the next update only once
        the last one's receipt is back found nothing pending at each update,
        yet most of the time since the last was that update's link time; the
        join picture's refinement took ``delta_picture`` of the link again
        and again (40-68 kB an update at 4 Mbit/s, 130-150 ms apart for
        1.7 s), and a key typed meanwhile waited behind one such update and
        rode in the next: typing's lag p95 205-303 ms over 4 Mbit/s, 40 ms
        (tests/codec/test_idle_counted_once.py)."""
        last, self._last_at = self._last_at, now
        if last is None or self.rate is None or self._pending >= 1:
            return 0
        gap = min(now - max(last, self._busy_until), self.options.delta_picture)
        return max(0, int(self.rate * gap / 8) - (self.budget or 0))

    def _page(self, text: Rects, shape: tuple[int, ...], now: float, keyframe: bool) -> bool:
        """Whether the text of this update and of the updates of the last
        ``_PAGE_WINDOW`` seconds covers ``_PAGE_SHARE`` of the screen (a Page
        Down, in one frame or in several); remembers where this text is.

        A union of places, not a sum: typing, or a terminal's new lines
        (its scroll is COPY ops), change the same few blocks again and again,
        and stay exact in their update at any rate. A keyframe's text does
        not count (the first picture, not a page)."""
        c = _PAGE_CELL
        grid = (-(-shape[0] // c), -(-shape[1] // c))
        if self._text_at is None or self._text_at.shape != grid or keyframe:
            self._text_at = np.full(grid, -np.inf)
            if keyframe:
                return False
        at = self._text_at
        if len(text):
            # The cells the rects touch, without a Python loop over them: +1/-1
            # at each rect's corners, summed down and across (a 2-D prefix sum).
            x, y, w, h = (text[:, i].astype(np.intp) for i in range(4))
            y0, x0 = np.minimum(y // c, grid[0]), np.minimum(x // c, grid[1])
            y1 = np.minimum(-(-(y + h) // c), grid[0])  # as a slice would clip
            x1 = np.minimum(-(-(x + w) // c), grid[1])
            edges = np.zeros((grid[0] + 1, grid[1] + 1), np.intp)
            np.add.at(edges, (y0, x0), 1)
            np.add.at(edges, (y0, x1), -1)
            np.add.at(edges, (y1, x0), -1)
            np.add.at(edges, (y1, x1), 1)
            at[edges.cumsum(0).cumsum(1)[: grid[0], : grid[1]] > 0] = now
        screen = shape[0] * shape[1]
        if _area(text) >= _PAGE_SHARE * screen:
            return True
        recent = int(np.count_nonzero(at >= now - _PAGE_WINDOW)) * c * c
        return recent >= _PARTS_SHARE * screen and _area(text) >= _PART_SHARE * screen

    def _plan(
        self,
        frame: Frame,
        blocks: Rects,
        owner: npt.NDArray[np.intp],
        photo: npt.NDArray[np.bool_],
        rects: Rects,
        *,
        left: int,
        first: bool,
        whole: bool,
        video: tuple[int, int],
        slivers: bool = False,
    ) -> tuple[list[Still], npt.NDArray[np.bool_], Rects]:
        """Stills for the photo-like blocks when their lossless estimate does
        not fit what is left (always for a first picture, whose text stays
        in them), within the VIDEO ops and area ``video`` leaves; ``whole``:
        the text cells inside them sent whole (``plan_stills``); ``slivers``
        (a keyframe's): the rows and columns going on their text past its
        cells sent exactly too. Found (grid42): trimmed to their lines, a
        grainy join picture's terminal kept 125-128 glyph pixels in the still
        at 2-4 Mbit/s, exact only 5 s later (4 Mbit/s) or more than 6.7 s
        (2); with them exact at once, for 0.2 % more bytes and 10-100 ms
        more CPU. Delta updates go without (they come 30 times a second; a
        terminal that appeared 1 px off the grid over grain was exact in its
        update: its damage was the window, the blocks on its grid)."""
        o = self.options
        none: tuple[list[Still], npt.NDArray[np.bool_], Rects] = (
            [], np.zeros(len(blocks), np.bool_), np.zeros((0, 4), np.int32)
        )
        if not photo.any():
            return none
        pb = blocks[photo]
        thin = _area(pb[np.minimum(pb[:, 2], pb[:, 3]) < 4])
        if not first and self.model.lossless_bytes(_area(pb), thin) <= o.lossless_slack * max(
            0, left
        ):
            return none
        height, width = frame.shape[:2]
        room = min(o.max_stills, MAX_VIDEO_OPS - video[0])
        area = MAX_VIDEO_COVERAGE * width * height - video[1]
        return plan_stills(
            frame, blocks, owner, photo, rects, limits=(room, area), options=o,
            keep_ui=not first, whole_cells=whole, slivers=slivers,
        )  # fmt: skip

    def _bands(
        self, text: Rects, lossless: Lossless, used: int, *, whole: bool
    ) -> tuple[list[EncodedOp], Rects, Rects]:
        """A delta update's text blocks, encoded exactly a row of blocks at a
        time from the top, until they took ``delta_picture`` seconds of the
        rate (less, for a part of a page, not ``whole``, the link time
        estimated pending ahead of it: the page's earlier parts), or the
        budget left, when more; the ops, the blocks sent, and the blocks
        below them, left for refinement (``_blank`` fills them).

        A whole page in one update keeps its ``delta_picture``: held Page
        Down (a page every 50 ms, offline at 1 Mbit/s), it showed the top
        18 % of the inked rows of each page it reached (21 of 59), where
        less the pending it showed 9 % of 40 of them, for the same rows a
        second (552-586); a person skimming reads lines, not page tops.

        Found (scroll43): a Page Down of a text page is 90 kB exact, 0.9 s
        of a 1 Mbit/s link before any of it shows, and no coarse picture of
        sharp text in these ops is much smaller (H.264 stills: larger than
        the exact text; rows, pixels or cells halved or averaged: 0.4-0.65x
        on the scroll43 glyph page). The top of the new page exact at once
        and the rest painted in by refinement, top down, costs no more than
        exact (a fill a block) and keeps the history stream exact: each row is
        encoded once, in wire order, so nothing compressed is dropped."""
        pending = 0.0 if whole else self._pending
        allowed = int((self.rate or 0) * self.options.delta_picture / 8 - pending)
        most = max(self.budget or 0, allowed) - used
        ys = np.unique(text[:, 1]) if len(text) else text[:0, 1]
        ops: list[EncodedOp] = []
        size = last = 0
        for y in ys.tolist():
            # The next row priced as the last one cost (encoded, a row is in
            # the stream: it is sent).
            if ops and size + last > most:
                cut = text[:, 1] >= y
                return ops, text[~cut], text[cut]
            done = lossless(_rects(text[text[:, 1] == y]))
            ops += done
            last = _size(done)
            size += last
        return ops, text, text[:0]

    def _blank(self, ref: Frame, frame: Frame, blank: Rects, lossless: Lossless) -> list[EncodedOp]:
        """Each block of ``blank`` filled with its most common colour of a
        sample (a page's background; one FILL op each), in ``ref`` too."""
        fill(ref, blank, backgrounds(frame, blank))
        return lossless(_rects(blank))

    def _first_picture_bytes(self) -> int:
        """What a keyframe may take: ``first_picture`` seconds of the rate."""
        return int((self.rate or 0) * self.options.first_picture / 8)

    def _encode_stills(
        self,
        ref: Frame,
        frame: Frame,
        stills: list[Still],
        *,
        left: int,
        keyframe: bool,
        first: bool = False,
        most: int | None = None,
    ) -> tuple[list[EncodedOp], list[Still]] | None:
        """The stills' VIDEO ops, and the stills that made the PSNR floor;
        None when they would take more than ``most`` bytes (then ``ref``
        holds some of them: the caller puts it back).

        ``first``: a first picture (text in it too), which sets how the
        session looks until it is refined. The model's curve is a photo's, and
        text costs far less, so after one try the stills are encoded once more
        at the finest quantiser that the try's size, doubled per 6 finer
        (H.264's rule of thumb; text grows slower), says fits ``left``."""
        if not stills:
            return [], []
        floor = self.options.min_psnr
        photo_px = sum(s.photo for s in stills)
        qp = self.model.choose_qp(photo_px, left, len(stills))
        if first:
            before = [ref[s.rect.slices()].copy() for s in stills]
            tried = self._stills_at(ref, frame, stills, qp, keyframe, floor, most)
            if tried.over:
                return None
            size = max(1, _size(tried.ops))
            finer = qp - int(6 * math.log2(max(1.0, left / size))) // QP_STEP * QP_STEP
            finer = max(self.options.qp_min, finer)
            if finer >= qp or not tried.sent:
                return self._account(tried)
            for s, pixels in zip(stills, before, strict=True):
                ref[s.rect.slices()] = pixels
            qp = finer
        done = self._stills_at(ref, frame, stills, qp, keyframe, floor, most)
        return None if done.over else self._account(done)

    def _coarse_stills(
        self, ref: Frame, frame: Frame, stills: list[Still], room: tuple[int, int]
    ) -> tuple[list[EncodedOp], list[Still]]:
        """A keyframe's stills over exact text (the updates after it refine
        them): at the quantiser the model picks for
        ``room[0]`` bytes, with the floor ``first_min_psnr``. When they come
        out below ``min_psnr``, the usual floor, they are encoded once more
        at the finest quantiser that their size, doubled per
        ``_COARSE_DOUBLING`` finer, says fits ``room[1]``, and the try is kept
        if that picture does not fit after all (photos grow faster than
        H.264's doubling per 6: a grainy wallpaper's stills doubled per 3-4
        finer between qp 38 and 30). So a keyframe whose stills make the
        usual floor is what it was, and one over fine grain takes at most
        twice ``first_picture`` seconds, where the usual floor alone asked
        several times that (a 1080p grainy wallpaper of sigma 6: 281 kB at
        qp 26, 27 kB at qp 38 and 27 dB). Stills that ``first_min_psnr``
        itself makes finer than ``room[1]`` (grain of sigma 10 and more) go
        at ``qp_max``, below that floor."""
        o = self.options
        photo_px = sum(s.photo for s in stills)
        qp = self.model.choose_qp(photo_px, room[0], len(stills))
        if qp == self.model.qp_cap:
            # None fits room[0]: the cap, which stills below the usual floor
            # lowered (a grainy join picture: from 38 to 30, and a keyframe
            # asked for after it took 217 kB), but no finer than at the start.
            qp = max(qp, o.qp_min + (o.qp_start - o.qp_min) // QP_STEP * QP_STEP)
        before = [ref[s.rect.slices()].copy() for s in stills]
        # Past room[1] below the floor already (or no room left: the exact
        # part took it): heavy grain, which a quantiser fine enough for 26 dB
        # keeps (sigma 12: 805 kB of stills at qp 26, 7 s of a 1 Mbit/s
        # link; finer is only larger). Then at the coarsest quantiser,
        # whatever their PSNR (24-26 dB: the grain smoothed away), as the
        # updates after it refine them.
        # A still below the floor that one finer step would take past room[1]
        # (at ``_COARSE_DOUBLING``'s growth) is not encoded finer.
        grow = 2.0 ** (_RETRY_STEP / _COARSE_DOUBLING)
        tried = self._stills_at(
            ref, frame, stills, qp, True, o.first_min_psnr, max(0, room[1]), growth=grow
        )
        # Or made finer for the floor past room[1] in one step (sigma 10 with
        # the exact part cut to the text's own pixels, room[1] 55 kB: 36 kB
        # and 25.3 dB at qp 38, then 215 kB and 26.5 dB at qp 32).
        if tried.over or (tried.finer and _size(tried.ops) > room[1]):
            for s, pixels in zip(stills, before, strict=True):
                ref[s.rect.slices()] = pixels
            return self._account(self._stills_at(ref, frame, stills, o.qp_max, True, 0.0))
        size = max(1, _size(tried.ops))
        db = psnr(tried.sse, tried.measured)
        steps = int(_COARSE_DOUBLING * math.log2(max(1.0, room[1] / size))) // QP_STEP
        finer = max(o.qp_min, qp - steps * QP_STEP)
        if db is None or db >= o.min_psnr or finer >= qp:
            return self._account(tried)
        after = [ref[s.rect.slices()].copy() for s in stills]
        for s, pixels in zip(stills, before, strict=True):
            ref[s.rect.slices()] = pixels
        again = self._stills_at(ref, frame, stills, finer, True, o.first_min_psnr)
        if _size(again.ops) <= room[1]:
            return self._account(again)
        for s, pixels in zip(stills, after, strict=True):
            ref[s.rect.slices()] = pixels
        return self._account(tried)

    def _stills_at(  # noqa: PLR0917
        self,
        ref: Frame,
        frame: Frame,
        stills: list[Still],
        qp: int,
        keyframe: bool,
        floor: float,
        most: int | None = None,
        growth: float = 1.0,
    ) -> _StillsDone:
        """Encode the stills at ``qp`` (finer for one below the PSNR
        ``floor``) into ``ref``; one that fails at the finest is taken back.
        Stops (``over``) at a still below the floor whose bytes exceed
        ``most`` already, or would be past it one step finer at ``growth``
        times its bytes: finer ones would only be larger."""
        o, model = self.options, self.model
        done = _StillsDone([], [])
        for s in stills:
            # What the viewer has there now: a still that fails is taken back
            # whole (it may reach a column beyond the damage).
            before = ref[s.rect.slices()].copy()
            q = qp
            while True:
                fast = not keyframe and s.rect.area >= _FAST_PIXELS
                op = self.stills.encode(frame, ref, s.rect, q, s.holes, fast=fast)
                err, n = sse(ref[s.rect.slices()], frame[s.rect.slices()], holes=s.holes)
                db = psnr(err, n)
                if db is None or db >= floor or q <= o.qp_min:
                    break
                if most is not None and len(op.payload) * growth > most:
                    done.over = True
                    return done
                q = max(o.qp_min, q - _RETRY_STEP)
                done.finer = True
            model.observe_still(q, s.photo, len(op.payload) + OP_HEADER, db)
            if db is not None and db < floor:
                ref[s.rect.slices()] = before  # the finest quantiser missed the floor
                continue  # its photo-like blocks go losslessly
            done.ops.append(op)
            done.sent.append(s)
            done.sse += err
            done.measured += n
            done.lossy_pixels += outside(s.rect.w, s.rect.h, s.holes)
            done.qp = q if done.qp is None else max(done.qp, q)
        return done

    def _account(self, done: _StillsDone) -> tuple[list[EncodedOp], list[Still]]:
        """Add the stills sent to this update's figures."""
        st = self.last
        st.stills = len(done.ops)
        st.sse += done.sse
        st.measured += done.measured
        st.lossy_pixels += done.lossy_pixels
        if done.qp is not None:
            st.qp = done.qp if st.qp is None else max(st.qp, done.qp)
        return done.ops, done.sent

    def _refine(
        self,
        ref: Frame,
        frame: Frame,
        left: int,
        regions: Sequence[Rect],
        lossless: Lossless,
        *,
        bare: bool = False,
    ) -> list[EncodedOp]:
        """Re-send lossy tiles exactly with what is left of the budget.

        The bytes a tile takes are an estimate (the model's bytes per
        weighted pixel), and a photo can cost several times what the last
        refinement did: one refinement that overshoots its budget ten-fold
        holds the link for as long and every live change waits behind it. So
        cells are weighed by their detail, the price is never below
        ``_PRICE_FLOOR`` (on the corpus, pages scrolled back had taught 0.08
        and the photos after them cost 0.4-0.9: refinements of 2-5 budgets),
        and the credit is spent in rounds: a quarter first, then the rest by
        the model as the rounds before corrected it, until an eighth is left.
        The quarter is skipped when every lossy cell is a stopped film's and
        the last round cost what it was priced at: the film's pixels are one
        kind of content, and there the check cost more than it guards (smaller
        ops that compress worse: a stopped 1112x582 film at 4 Mbit/s took
        1,117 kB to refine with it, 1,051 kB without).
        """
        budget = self.budget or 0
        credit = left + self._carry
        if not self.map:
            self._carry = 0.0
            self.films = []
            self._priced = False
            return []
        self.map.clear_inside(regions)  # video regions own their pixels
        # Flagged cells the viewer already shows exactly (made exact piece by
        # piece by damage) would be re-sent for nothing.
        self.map.clear_exact(ref, frame)
        ops: list[EncodedOp] = []
        remaining = credit
        for round_ in range(_REFINE_ROUNDS):
            # Priced per weighted pixel (lossymap), never below the floor: the
            # estimate learnt on content the history stream had seen is a
            # fiftieth of what new content costs.
            price = max(self.model.refine_per_pixel, _PRICE_FLOOR)
            film = self._priced and bool(self.films) and self.map.only_in(self.films)
            share = remaining / 4 if round_ == 0 and not film else remaining
            picked, mask = self.map.pick(share / price, self.stamp, weighed=True)
            if not len(picked) and round_ == 0:
                picked, mask = self.map.pick(remaining / price, self.stamp, weighed=True)
            if not len(picked):
                break
            weighted = self.map.weighted(mask)
            if regions:
                picked = subtract_rects(picked, list(regions))
            picked = _differing(ref, frame, picked)
            copy_rects(ref, frame, picked)
            done = lossless(_rects(picked))
            self.map.drop(mask)
            size = _size(done)
            self.model.observe_refine(_area(picked), size, weighted=weighted)
            self._priced = size <= _PRICE_SLACK * price * max(1.0, weighted)
            self.last.refined_pixels += _area(picked)
            ops += done
            remaining -= size
            if remaining <= credit / 8 or not self.map:
                break
        if not ops:
            # Not even one cell fits: save up (a budget smaller than a cell's
            # bytes still refines, every few updates). Only then: cells made
            # lossy by this very update wait for the next without credit, or
            # the next would be twice its budget.
            waiting = self.map.waiting(self.stamp)
            # An update left with nothing to carry is not sent at all: its whole
            # budget is saved (a budget below the header's bytes still refines).
            saved = self._carry + budget if bare else credit
            cap = max(_CARRY * budget, _MIN_SAVING)
            self._carry = min(cap, max(0.0, saved)) if waiting else 0.0
            return []
        self._carry = 0.0  # spent (the estimate's error is learnt, not carried)
        return ops
