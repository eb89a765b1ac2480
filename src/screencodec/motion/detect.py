"""The motion stage: scrolls and moved windows found in pixels, sent as COPY ops.

Per frame, on the damage the encoder found (rects where the frame differs from
what the viewer shows):

1. **Where to look.** Damage rects less than 64 px apart are grouped; a group
   is examined only when it is tall and large enough that re-sending it would
   be costly, and not while it is backed off (it failed in recent frames: a
   video). A shift already verified in another group this frame is tried
   first (a scroll's damage is often cut in pieces).
2. **Vertical shifts** (scrolls of any sub-region, any distance): 64-bit row
   hashes over a few column strips on a fixed 64-px grid inside each column
   span of the group, for the reference (cached between frames) and the frame.
   In each strip, changed frame rows whose hash occurs exactly once among the
   reference rows vote for ``dy``; repeated rows (blank lines, stripes) do not
   vote, since they would vote for every shift. Strips vote separately, so
   side-by-side panes and regions beside a scroll bar or under a fixed header
   are found.
3. **2-D shifts** (windows dragged, horizontal scrolls) when rows did not
   explain the damage: short row segments with detail, at anchor points among
   the changed rows, are searched for in the reference within ``max_move``
   pixels; segments found at one shift vote for it, segments found at several
   are dropped as ambiguous.
4. **Exact verification.** Each candidate shift is checked pixel by pixel in C
   (``match_runs``): per row, the longest run of columns equal to the shifted
   reference. Runs of consecutive rows become COPY rectangles, so every copied
   pixel is equal to the frame: repeating content can make a copy come from an
   unexpected place, never make it wrong.
5. **Apply and re-diff.** The copies are applied to the reference exactly as the
   decoder will (all sources read before any write); the damage minus the
   copied areas is diffed again, and what is left (the revealed strips) goes
   to the lossless coder.

Detection (steps 2-4) stops when the per-frame time budget is spent (CPU time
of the encoding thread, so a busy machine does not switch detection off). The
largest region is always examined, with at least a few anchors and its best
candidate verified: that work is bounded, and a found scroll saves far more
than it costs. Applying what was found always completes, and with nothing
found the damage passes through unchanged, so the stage can never make an
update wrong, or larger than the 18 bytes of each COPY.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..codecs.copy import copy_op
from ..damage import merge_rects
from ..damage.subtract import subtract_rects, subtract_rects_indexed
from ..geometry import Rect
from ..wire import EncodedOp
from . import _rowhash
from ._hashcache import RowHashCache
from ._regions import _KEEP, Copy, MissBackoff, apply_copies, column_spans, groups

__all__ = ["MAX_COPIES", "MotionStage", "MotionStats"]

Frame = npt.NDArray[np.uint8]
Rects = npt.NDArray[np.int32]

#: Width of the column strips rows are hashed in (a fixed grid: stable cache keys).
_STRIP = 64
#: Frame rows hashed during detection, kept for the cache: (strips, y0, hashes),
#: hashes[i] those of strip i.
_Fresh = tuple[list[tuple[int, int]], int, npt.NDArray[np.uint64]]
#: Anchor grid for 2-D candidates, and how many searched anchors at most.
_GRID = 12
_MAX_ANCHORS = 24
#: A candidate needs this many votes (and this share of the voters for rows).
_MIN_VOTES = 2
_MAX_CANDIDATES = 3
#: COPY ops per update at most. Each costs 18 bytes and some bookkeeping; a
#: move found in more pieces than this keeps its largest ones (the rest is
#: re-sent as pixels), so no frame's work grows with a fragmented detection.
MAX_COPIES = 64


@dataclass(slots=True)
class MotionStats:
    """What the last ``process`` did."""

    seconds: float = 0.0
    #: CPU time of the calling thread (what the budget limits).
    cpu_seconds: float = 0.0
    groups: int = 0
    #: Regions not examined because detection failed there in recent frames.
    skipped: int = 0
    #: Reference pixels hashed anew: 0 when the cache from the last frame served.
    ref_pixels_hashed: int = 0
    candidates: int = 0
    copies: int = 0
    copied_pixels: int = 0
    over_budget: bool = False


class MotionStage:
    """Turns scrolls and window moves in the damage into COPY ops.

    ``process(ref, frame, rects)`` is the encoder's pipeline stage: ``ref`` is
    the viewer's picture before the update (C-contiguous, writable; the stage
    applies its copies to it), ``rects`` the damage. It returns the COPY ops and
    the rects still to encode; after those are copied from ``frame`` into
    ``ref``, ``ref`` equals ``frame``.

    Row hashes of the reference are cached per grid strip and reused: after an
    update the reference equals the frame, so the frame's row hashes become
    the next reference's; rows the damage touched and that were not hashed are
    recomputed. A cache that is stale (e.g. a lossy stage wrote approximations
    into the reference) only costs detections: every copy is verified on the
    pixels. ``last`` holds the :class:`MotionStats` of the last call.

    :param budget_ms: detection CPU time per frame; past it no more regions or
        candidates are tried (what was found is still applied).
    :param min_area: damage area (pixels) below which a region is not examined.
    :param min_rows: rows a region needs, and changed rows a vertical search needs.
    :param min_run: narrowest copy, in pixels.
    :param min_copy_area: smallest copy, in pixels.
    :param max_move: largest |dx| and |dy| of 2-D moves (vertical scrolls have
        no limit).
    :param max_hscroll: largest |dx| of horizontal scrolls.
    :param segment: width of the anchor segments of the 2-D search.

    Not thread-safe: one stage per encoder.
    """

    def __init__(
        self,
        *,
        budget_ms: float = 3.0,
        min_area: int = 16384,
        min_rows: int = 16,
        min_run: int = 32,
        min_copy_area: int = 2048,
        max_move: int = 64,
        max_hscroll: int = 512,
        segment: int = 32,
    ) -> None:
        if budget_ms < 0 or min(min_area, min_rows, min_run, min_copy_area, segment) < 1:
            raise ValueError("motion thresholds must be positive")
        if not 0 <= max_move <= max_hscroll <= _rowhash.MAX_RADIUS:
            raise ValueError(f"need 0 <= max_move <= max_hscroll <= {_rowhash.MAX_RADIUS}")
        self.budget = budget_ms / 1000
        self.min_area = min_area
        self.min_rows = min_rows
        self.min_run = min_run
        self.min_copy_area = min_copy_area
        self.max_move = max_move
        self.max_hscroll = max_hscroll
        self.segment = segment
        self._hashes = RowHashCache(_STRIP)
        self._misses = MissBackoff()
        self._size = (0, 0)
        self._free_pass = True
        self._deadline = 0.0
        self._room = MAX_COPIES
        # Sources of several copies are saved here before any is written
        # (kept between frames: a fresh buffer would be paged in every time).
        self._scratch: npt.NDArray[np.uint8] | None = None
        self.last = MotionStats()

    def reset(self) -> None:
        """Forget cached row hashes (the reference was replaced)."""
        self._size = (0, 0)

    def process(
        self,
        ref: Frame,
        frame: Frame,
        rects: Rects,
        /,
        *,
        keyframe: bool = False,
        skip: Sequence[Rect] = (),
    ) -> tuple[list[EncodedOp], Rects]:
        """COPY ops for this update, and the damage they leave.

        ``skip``: areas not searched for moves (the encoder's active video
        regions: a lossy reference there differs from the frame in every
        update, and what changes there is sent as video anyway). Their damage
        is returned as it came.
        """
        t0 = time.perf_counter()
        c0 = time.thread_time()
        self.last = stats = MotionStats()
        height, width = ref.shape[:2]
        if keyframe or (width, height) != self._size:
            self._hashes.reset(width, height)
            self._size = (width, height)
        self._hashes.pixels_hashed = 0
        if keyframe or not len(rects):
            return [], rects
        self._deadline = c0 + self.budget
        self._misses.tick()
        self._free_pass = True
        self._room = MAX_COPIES
        copies: list[Copy] = []
        known: dict[tuple[int, int], None] = {}
        fresh: list[_Fresh] = []
        for box, members in groups(_outside(rects, skip) if skip else rects):
            area = sum(w * h for _, _, w, h in members.tolist())
            if box.h < self.min_rows or area < self.min_area:
                continue
            if stats.groups and time.thread_time() > self._deadline:
                stats.over_budget = True
                break
            if self._misses.skip(box):
                stats.skipped += 1
                continue
            stats.groups += 1
            found: list[Copy] = []
            changed: list[npt.NDArray[np.intp]] = []
            if known:
                # A scroll's damage is often cut into several regions (blank
                # rows that moved onto blank rows do not change): a shift
                # already verified this frame is tried first, without hashing.
                found += self._verify(ref, frame, box, list(known), found)
            if area - sum(c.dest.area for c in found) < self.min_area:
                copies += found
                continue
            # Side-by-side panes scroll independently: hash each column span
            # of the damage on its own.
            for x0, x1 in column_spans(members):
                sub = Rect(x0, box.y, x1 - x0, box.h)
                if sub.w < self.min_run:
                    continue
                hits, hashed, rows = self._vertical(ref, frame, sub, found)
                fresh.append(hashed)
                found += hits
                changed.append(rows)
            covered = sum(c.dest.area for c in found)
            if changed and area - covered >= self.min_area:
                seen = np.zeros(box.h, np.bool_)
                for span_rows in changed:
                    seen[span_rows] = True
                rows = np.flatnonzero(seen)
                found += self._moves(ref, frame, box, rows, found)
            copies += found
            if found or not stats.over_budget:  # a region cut short did not fail
                self._misses.record(box, bool(found))
            for c in found:
                known[(c.dest.x - c.src_x, c.dest.y - c.src_y)] = None
        self._remember(rects, fresh)
        stats.ref_pixels_hashed = self._hashes.pixels_hashed
        if not copies:
            stats.seconds = time.perf_counter() - t0
            stats.cpu_seconds = time.thread_time() - c0
            return [], rects
        self._scratch = apply_copies(ref, copies, self._scratch)
        left = self._rediff(ref, frame, rects, [c.dest for c in copies])
        stats.copies = len(copies)
        stats.copied_pixels = sum(c.dest.area for c in copies)
        stats.seconds = time.perf_counter() - t0
        stats.cpu_seconds = time.thread_time() - c0
        return [copy_op(c.src_x, c.src_y, c.dest) for c in copies], left

    # -- candidates --------------------------------------------------------------

    def _vertical(
        self, ref: Frame, frame: Frame, box: Rect, found: list[Copy]
    ) -> tuple[list[Copy], _Fresh, npt.NDArray[np.intp]]:
        """Copies for vertical shifts in ``box``; also the frame's strip hashes
        (for the cache) and the changed rows (offsets in ``box``)."""
        y0, y1 = box.y, box.bottom
        strips = self._hashes.strips(box.x, box.right)
        hp = self._hashes.ref_hashes_strips(ref, strips, y0, y1)
        hc = _rowhash.strip_hashes(frame, strips, y0, box.h)
        rows, dys = _row_votes(hp, hc, self.min_rows)
        cands = [(0, dy) for dy in dys]
        return self._verify(ref, frame, box, cands, found), (strips, y0, hc), rows

    def _moves(
        self,
        ref: Frame,
        frame: Frame,
        box: Rect,
        changed: npt.NDArray[np.intp],
        found: list[Copy],
    ) -> list[Copy]:
        k = min(self.segment, box.w)
        free = _row_cover(box, found) == 0
        # Anchor rows spread over the changed rows: a fixed grid could fall on
        # the blank rows between lines of text at every step.
        rows = changed[free[changed]]
        if not len(rows):
            return []
        rows = rows[np.linspace(0, len(rows) - 1, min(_GRID, len(rows))).astype(np.intp)]
        span = (box.w - k + 1) / _GRID
        # Columns on a grid, shifted by a different fraction of a cell per row;
        # visited in an order that spreads the first anchors over the box.
        frac = (np.arange(len(rows)) * 0.618) % 1.0
        ay = np.repeat(box.y + rows, _GRID)
        ax = (box.x + (np.arange(_GRID)[None, :] + frac[:, None]) * span).astype(np.intp).ravel()
        order = np.argsort((np.arange(len(ax)) * 0.618034) % 1.0, kind="stable")
        anchors = list(zip(ax[order].tolist(), ay[order].tolist(), strict=True))
        cands = _ranked(self._anchor_votes(ref, frame, anchors, k, self.max_move, self.max_move))
        if not cands and self.max_hscroll > self.max_move:
            # Horizontal scrolls go further than windows move in a frame, and a
            # search along the row alone is cheap even a screen wide.
            cands = _ranked(self._anchor_votes(ref, frame, anchors, k, self.max_hscroll, 0))
        return self._verify(ref, frame, box, cands, found)

    def _anchor_votes(  # noqa: PLR0917
        self,
        ref: Frame,
        frame: Frame,
        anchors: list[tuple[int, int]],
        k: int,
        rx: int,
        ry: int,
    ) -> dict[tuple[int, int], float]:
        """Votes of the anchors' segments for the shifts (|dx| <= rx, |dy| <= ry)
        at which they are found in the reference."""
        votes: dict[tuple[int, int], float] = {}
        searched = 0
        for x, y in anchors:
            # A few anchors are always searched (~50 us each): without them a
            # region examined after a slow start could never find its move.
            if searched >= _MIN_VOTES * 4 and time.thread_time() > self._deadline:
                self.last.over_budget = True
                break
            # The kernel refuses non-anchors (at rest, or flat) at once.
            hits = _rowhash.find_segment(ref, frame, x, y, k, rx, radius_y=ry, min_detail=3)
            if hits is None:
                continue
            searched += 1
            if 0 < len(hits) <= 4:
                for dx, dy in hits.tolist():
                    votes[(dx, dy)] = votes.get((dx, dy), 0.0) + 1.0 / len(hits)
            # Stop when the anchors agree (one rigid move, the common case), or
            # when none has been found anywhere (video, a repaint: nothing moved).
            if searched >= _MAX_ANCHORS or _agreed(votes) or (searched >= 8 and not votes):
                break
        return votes

    def _verify(
        self,
        ref: Frame,
        frame: Frame,
        box: Rect,
        cands: list[tuple[int, int]],
        found: list[Copy],
    ) -> list[Copy]:
        # Columns of each row of the box that copies already cover: rows with no
        # room left for another copy are not scanned again.
        taken = _row_cover(box, found)
        out: list[Copy] = []
        for dx, dy in cands:
            if self._room <= 0:
                break
            if not self._free_pass and time.thread_time() > self._deadline:
                self.last.over_budget = True
                break
            # The first candidate of a frame is always verified: its hashes are
            # paid for, and a scroll it finds saves far more than it costs.
            self._free_pass = False
            self.last.candidates += 1
            # Nothing taken yet and room for a run in every row: no mask needed.
            free = not (found or out) and box.w >= self.min_run
            starts, ends = _rowhash.match_runs(
                ref, frame, (box.x, box.y, box.w, box.h), dx, dy,
                min_run=min(self.min_run, box.w),
                row_mask=None if free else taken <= box.w - self.min_run,
            )  # fmt: skip
            dests = _rowhash.runs_to_boxes(
                starts, ends, box.y, self.min_run, self.min_copy_area, _KEEP
            )
            if not dests:
                continue
            # Parts already copied by an earlier candidate stay with it.
            prior = [c.dest for c in (*found, *out)]
            parts = subtract_rects(dests, prior) if prior else np.array(dests, np.int32)
            area = parts[:, 2].astype(np.int64) * parts[:, 3]
            parts = parts[(parts[:, 2] >= self.min_run) & (area >= self.min_copy_area)]
            if len(parts) > self._room:
                # The largest pieces, in their order.
                big = np.argsort(-(parts[:, 2].astype(np.int64) * parts[:, 3]), kind="stable")
                parts = parts[np.sort(big[: self._room])]
            new = [Copy(x - dx, y - dy, Rect(x, y, w, h)) for x, y, w, h in parts.tolist()]
            self._room -= len(new)
            out += new
            taken += _row_cover(box, new)
        return out

    # -- after the copies -----------------------------------------------------------

    @staticmethod
    def _rediff(ref: Frame, frame: Frame, rects: Rects, dests: list[Rect]) -> Rects:
        """The damage left once the copies are on the viewer: the old damage
        minus the copied areas, diffed again (the copies are exact, so only the
        uncovered parts can still differ)."""
        # Rects no copy touches stay as they are; what is left of the others
        # is diffed again, all in one kernel call.
        cut = subtract_rects_indexed(rects, dests)
        untouched = rects[~cut.cut]
        pieces = cut.pieces[cut.cut[cut.owner]]
        boxes = _rowhash.rects_tile_diff(ref, frame, pieces, 32)
        keep = np.concatenate([untouched.astype(np.int32).reshape(-1, 4), boxes])
        if not len(keep):
            return np.empty((0, 4), np.int32)
        height, width = ref.shape[:2]
        return merge_rects(keep, width, height)

    def _remember(self, rects: Rects, fresh: list[_Fresh]) -> None:
        """Keep the cache in step with the reference after this update: rows the
        damage touches change; the frame rows just hashed are what they become."""
        self._hashes.invalidate(rects)
        for strips, y0, hashes in fresh:
            self._hashes.store_strips(strips, y0, hashes)


def _outside(rects: Rects, holes: Sequence[Rect]) -> Rects:
    """``rects`` minus the holes (the parts of the damage to search)."""
    return subtract_rects(rects, holes)


def _row_cover(box: Rect, copies: list[Copy]) -> npt.NDArray[np.int64]:
    """For each row of ``box``, how many of its columns the copies' destinations
    cover (destinations do not overlap), vectorised over the copies."""
    cover = np.zeros(box.h + 1, np.int64)
    if copies:
        d = np.array([(c.dest.x, c.dest.y, c.dest.right, c.dest.bottom) for c in copies])
        x0, x1 = np.maximum(d[:, 0], box.x), np.minimum(d[:, 2], box.right)
        y0, y1 = np.maximum(d[:, 1], box.y), np.minimum(d[:, 3], box.bottom)
        hit = (x1 > x0) & (y1 > y0)
        w = (x1 - x0)[hit]
        np.add.at(cover, y0[hit] - box.y, w)
        np.add.at(cover, y1[hit] - box.y, -w)
    return np.cumsum(cover[:-1])


def _row_votes(
    hp: npt.NDArray[np.uint64], hc: npt.NDArray[np.uint64], min_rows: int
) -> tuple[npt.NDArray[np.intp], list[int]]:
    """The changed rows (in any strip), and candidate vertical shifts, from
    (strips, rows) reference / frame row hashes.

    Each strip votes on its own (panes side by side scroll independently; a
    strip half over a static area does not vote), when at least ``min_rows``
    of its rows changed: a changed frame row whose hash occurs exactly once
    among the strip's reference rows votes for the distance to it. Rows that
    repeat (blank lines, stripes) would vote for every shift and do not. A
    strip's best two shifts count when they have a fair share of its votes;
    the strongest over all strips are returned.
    """
    h = hp.shape[1]
    rows, tops = _rowhash.vertical_votes(hp, hc, min_rows, _MIN_VOTES)
    totals: dict[int, int] = {}
    for d, n in tops:
        totals[d - h] = totals.get(d - h, 0) + n
    return rows, [dy for dy, _ in sorted(totals.items(), key=lambda kv: -kv[1])[:_MAX_CANDIDATES]]


def _ranked(votes: dict[tuple[int, int], float]) -> list[tuple[int, int]]:
    """The best-supported shifts, strongest first."""
    ranked = sorted(votes.items(), key=lambda kv: -kv[1])[:_MAX_CANDIDATES]
    return [shift for shift, v in ranked if v >= _MIN_VOTES]


def _agreed(votes: dict[tuple[int, int], float]) -> bool:
    """Anchors agree on one shift (one rigid move, the common case): stop searching."""
    top = sorted(votes.values(), reverse=True)[:2]
    return bool(top) and top[0] >= 4 and (len(top) < 2 or top[1] * 3 <= top[0])
