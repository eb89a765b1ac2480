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
   Two strips vote first (a third and two thirds across the span); the other
   strips are hashed only when the shifts those two found leave more of the
   span's damage unexplained than the rows a scroll reveals, so a plain
   scroll hashes a third of the rows it used to (terminal-log: 1.2 ms less
   per update), while a margin or a scroll bar under the first strips still
   gets every strip.
3. **2-D shifts of any length** (windows dragged, horizontal scrolls) when rows
   did not explain the damage. A moved window's old place is damage too, so
   its source lies in the region: every 32-px segment with detail on a few
   runs of changed frame rows (at every column) is hashed, and the
   reference's segments on a 32-column grid of every 4th row of the region
   are looked up among them (``segment_shifts``: linear in the region's
   area, whatever the distance). A segment found at one to three places
   votes for those shifts; repeating content does not vote. A region that
   the last update found mostly moved in 2-D (a window being dragged) first
   tries the step it moved by, the steps a pixel away (a hand speeds up and
   turns), twice it and half it (a pointer's events arrive one or two to a
   frame): one kernel pass over every 16th row screens them all and picks
   the likeliest, which is verified when it matched a copy's worth more
   than the typical guess there (guesses that all fail, matching only what
   every step matches, cost that pass only); when it leaves no more than
   the strips a move reveals (the damage outside its copies' destinations
   and sources changes in less than a copy's area: no other window moving
   in the region), the search is not needed. Otherwise the region goes
   straight to this search, without the row hashes of step 2.
4. **Exact verification.** Each candidate shift is checked pixel by pixel in C
   (``match_runs``): per row, the runs of columns equal to the shifted
   reference (up to ``_ROW_RUNS``, the longest: windows side by side moved by
   one step each keep theirs). Each run continues the rectangle of the rows
   above that it keeps, so every copied pixel is equal to the frame:
   repeating content can make a copy come from an unexpected place, never
   make it wrong. Candidates are verified
   independently; the copies are then chosen largest candidate first, each
   keeping what the ones before left (a shift matching the blank lines of a
   dragged window does not cut the window's move into pieces), at most
   ``MAX_COPIES`` per update.
5. **Apply and re-diff.** The copies are applied to the reference exactly as the
   decoder will (all sources read before any write); the damage minus the
   copied areas is diffed again, and what is left (the revealed strips) goes
   to the lossless coder.

Before all this, where the last update found a scroll, the encoder asks
``predict``: the scroll going on is looked for during change detection itself
(screencodec.motion.predict), and ``process`` then gets only the damage its
copies left; regions whose damage lies mostly beside its largest copy (what
it revealed) are not searched again, and copies found elsewhere leave its
copies' destinations alone.

Detection (steps 2-4) stops when the per-frame time budget is spent (CPU time
of the encoding thread, so a busy machine does not switch detection off). The
largest region is always examined, with its first candidate verified and one
2-D search: that work is bounded by the region's area, and a found scroll
saves far more than it costs. Applying what was found always completes, and with nothing
found the damage passes through unchanged, so the stage can never make an
update wrong, or larger than the 18 bytes of each COPY.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from screencodec.frames import Frame

from ..codecs.copy import copy_op
from ..damage import copy_rects, merge_rects
from ..damage.subtract import subtract_rects, subtract_rects_indexed
from ..geometry import Rect
from ..wire import EncodedOp
from . import _rowhash
from ._hashcache import RowHashCache
from ._regions import _KEEP, Copy, MissBackoff, column_spans, groups
from .predict import PREDICT_MARGIN, Prediction, ScrollGuess, diff_scrolled

__all__ = ["MAX_COPIES", "MotionStage", "MotionStats"]

Rects = npt.NDArray[np.int32]

#: Frame rows hashed during detection, kept for the cache: (strips, y0, hashes),
#: hashes[i] those of strip i.
_Fresh = tuple[list[tuple[int, int]], int, npt.NDArray[np.uint64]]
#: 2-D search: _RUNS runs of anchor rows (4x as many single rows at row
#: step 1) with at least _MIN_RUN_ANCHORS anchors each, out of
#: _MAX_RUN_TRIES tried; the reference scanned on every row of an extent up
#: to _SCAN_AREA pixels, on every 2nd row up to twice that, ..., every
#: _ROW_STEP-th at most; the votes a shift needs (an anchor found at one
#: place gives 6).
_RUNS = 6
_MIN_RUN_ANCHORS = 16
_MAX_RUN_TRIES = 32
_SCAN_AREA = 1 << 18
_ROW_STEP = 4
_MIN_SEGMENT_VOTES = 12
#: A candidate needs this many votes (and this share of the voters for rows).
_MIN_VOTES = 2
_MAX_CANDIDATES = 3
#: Strips of a column span that vote first (see step 2).
_FIRST_STRIPS = 2
#: Updates in a row that a region moved in 2-D may skip the row search.
_ROW_SKIPS = 3
#: A dragged window's guessed steps are screened on every _SCREEN_STEP-th row
#: of its region, all in one pass, before the likeliest is verified on all of
#: them (when it matched a copy's worth more than the typical guess there).
_SCREEN_STEP = 16
#: Runs a row that verification keeps: windows side by side in a band of rows
#: moved by the same shift (dragged together) each keep their own.
_ROW_RUNS = 4
#: Updates without a 2-D search after which its tables are given back: they
#: grow to what the largest search needed (2.4 MB for the corpus window drag,
#: about 9 MB for a 3840-wide region), and one drag should not hold that for
#: the rest of a session. 100 updates are 5 s at 20 fps; a drag that resumes
#: later pays one allocation.
_TABLES_IDLE = 100
#: COPY ops per update at most. Each costs 18 bytes and some bookkeeping; a
#: move found in more pieces than this keeps its largest ones (the rest is
#: re-sent as pixels), so no frame's work grows with a fragmented detection.
MAX_COPIES = 64


@dataclass(frozen=True, slots=True)
class _Verified:
    """A shift, the copy rectangles (x, y, w, h) verified for it in one box,
    and their total area."""

    dx: int
    dy: int
    rects: Rects
    area: int


@dataclass(slots=True)
class _Region:
    """A region of the damage being searched: its box, its damage area, the
    shifts verified in it so far, and (absolute) changed rows no copy covers."""

    box: Rect
    area: int
    verified: list[_Verified] = field(default_factory=list)
    rows: npt.NDArray[np.intp] = field(default_factory=lambda: np.zeros(0, np.intp))


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
    #: COPY ops that came from the update's prediction (``predict``).
    predicted: int = 0
    #: Regions whose drag step was guessed (``_guess_move``), and 2-D
    #: searches run (``segment_shifts``).
    guessed: int = 0
    searches: int = 0
    #: Kernel calls made by ``_guess_move``: its screening pass, and a
    #: verification where the best guess stood out.
    guess_calls: int = 0


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
    pixels. The 2-D search's tables are kept between calls, as large as its
    largest search needed, and given back after ``_TABLES_IDLE`` updates
    without one (``scratch_bytes``).
    ``last`` holds the :class:`MotionStats` of the last call.

    Work per call is bounded: detection by the budget (plus, while nothing was
    found, one vertical and one 2-D search of the largest region, both linear
    in the damage's area); at most ``MAX_COPIES`` COPY ops; applying them and
    re-diffing what they leave is linear in the copied and damaged area.

    :param budget_ms: detection CPU time per frame; past it no more regions or
        candidates are tried (what was found is still applied).
    :param min_area: damage area (pixels) below which a region is not examined.
    :param min_rows: rows a region needs, and changed rows a vertical search needs.
    :param min_run: narrowest copy, in pixels.
    :param min_copy_area: smallest copy, in pixels.
    :param max_move: largest |dx| and |dy| of 2-D moves (default: none;
        vertical scrolls have no limit either).
    :param max_hscroll: largest |dx| of horizontal scrolls (default: none).
    :param segment: width of the segments of the 2-D search, a multiple of 4.

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
        max_move: int | None = None,
        max_hscroll: int | None = None,
        segment: int = 32,
    ) -> None:
        if budget_ms < 0 or min(min_area, min_rows, min_run, min_copy_area, segment) < 1:
            raise ValueError("motion thresholds must be positive")
        if segment % 4 or segment > _rowhash.MAX_SEGMENT:
            raise ValueError(f"segment must be a multiple of 4 up to {_rowhash.MAX_SEGMENT}")
        if (max_move is not None and max_move < 0) or (max_hscroll is not None and max_hscroll < 0):
            raise ValueError("max_move and max_hscroll must be >= 0")
        if max_move is not None and max_hscroll is not None and max_move > max_hscroll:
            raise ValueError("need max_move <= max_hscroll")
        self.budget = budget_ms / 1000
        self.min_area = min_area
        self.min_rows = min_rows
        self.min_run = min_run
        self.min_copy_area = min_copy_area
        self.max_move = max_move
        self.max_hscroll = max_hscroll
        self.segment = segment
        self._hashes = RowHashCache()
        self._segments = _rowhash.SegmentTables()
        self._misses = MissBackoff()
        self._size = (0, 0)
        self._free_pass = True
        self._deadline = 0.0
        self._room = MAX_COPIES
        #: the destinations of this update's predicted copies: what a region's
        #: copies must leave (a region's box may reach over them)
        self._taken: list[Rect] = []
        self._extent = Rect(0, 0, 0, 0)  # of this frame's damage
        #: the regions the last update found mostly moved in 2-D: their boxes
        #: and the shift of their largest copy (a dragged window's step)
        self._moved: list[tuple[Rect, tuple[int, int]]] = []
        #: updates in a row that skipped the row search for such a region
        self._row_skips = 0
        #: updates since the last 2-D search (the tables' idle time)
        self._since_moves = 0
        #: the row ranges this update compared (None: all): see ``process``
        self._compared: Sequence[tuple[int, int]] | None = None
        #: the last update's largest vertical scroll: the box of its damage
        #: and the columns of its widest copy, where ``predict`` looks
        self._scroll: tuple[Rect, int, int] | None = None
        #: this update's scrolled regions so far, per dy: (their area, the box
        #: around them, the columns of the largest copy); a scroll's damage
        #: is often cut into regions
        self._scrolled: dict[int, tuple[int, Rect, int, int]] = {}
        self.last = MotionStats()

    @property
    def scratch_bytes(self) -> int:
        """Bytes of the 2-D search's tables held between updates (given back
        after ``_TABLES_IDLE`` updates without that search)."""
        t = self._segments
        arrays = [getattr(t, name, None) for name in ("index", "anchor", "skeys", "svotes")]
        return sum(a.nbytes for a in arrays if isinstance(a, np.ndarray))

    def reset(self) -> None:
        """Forget cached row hashes (the reference was replaced)."""
        self._size = (0, 0)
        self._moved = []
        self._row_skips = 0
        self._scroll = None

    def predict(
        self, ref: Frame, frame: Frame, /, *, hint: npt.NDArray[np.int64] | None,
        bands: Sequence[tuple[int, int]], tile: int,
    ) -> tuple[Prediction | None, Rects | None]:
        """Change detection with a scroll in it (screencodec.motion.predict):
        where the last update found a scroll, a vote on this frame's rows
        there guesses how far it went on, and the rows ``bands`` are compared
        with it (``diff_scrolled``). Returns the copies it verified (None if
        none) and the changed boxes outside them (``tile_diff``'s, in the
        frame's grid); or (None, None) without a guess: no scroll last
        update, ``hint`` does not touch its box, or no shift won the vote.

        For an update that is not a keyframe, with the ``ref`` and ``frame``
        that ``process`` gets next, which must get the prediction: its copies
        lead its output, and the cache learns the strips hashed here.
        """  # fmt: skip
        last = self._scroll
        height, width = frame.shape[:2]
        if last is None or (width, height) != self._size or ref.shape != frame.shape:
            return None, None
        box, x0, x1 = last
        m = PREDICT_MARGIN
        if hint is not None and not _touches(hint, Rect(box.x, box.y - m, box.w, box.h + 2 * m)):
            return None, None
        strips = _first_strips(self._hashes.strips(x0, x1))
        hp = self._hashes.ref_hashes_strips(ref, strips, box.y, box.bottom)
        hc = _rowhash.strip_hashes(frame, strips, box.y, box.h)
        _, dys = _row_votes(hp, hc, self.min_rows)
        if not dys:
            return None, None
        # The cache keeps these hashes for the compared rows only (_remember).
        guess = ScrollGuess(box, x0, x1, dys[0], [(strips, box.y, hc)])
        copies, boxes = diff_scrolled(
            ref, frame, guess, bands, tile,
            min_run=self.min_run, min_area=self.min_copy_area, most=MAX_COPIES,
        )  # fmt: skip
        return (Prediction(guess, copies) if copies else None), boxes

    def process(
        self,
        ref: Frame,
        frame: Frame,
        rects: Rects,
        /,
        *,
        keyframe: bool = False,
        skip: Sequence[Rect] = (),
        apply: bool = True,
        predicted: Prediction | None = None,
        compared: Sequence[tuple[int, int]] | None = None,
    ) -> tuple[list[EncodedOp], Rects]:
        """COPY ops for this update, and the damage they leave.

        ``apply=False`` leaves ``ref`` as it is: for a caller that replaces
        every damaged pixel of ``ref`` with the frame's itself (or ``ref``
        with the frame), so writing the copies' destinations first would be
        a wasted pass. The damage returned is the same either way.

        ``predicted``: what ``predict`` found for this update; ``rects`` is
        then the damage outside its copies, which lead the ops returned.
        ``compared``: the row ranges the update's change detection compared
        (None: all); elsewhere the frame may hold changes not sent yet, and
        its row hashes do not stand for the reference's.

        ``skip``: areas not searched for moves (the encoder's active video
        regions: a lossy reference there differs from the frame in every
        update, and what changes there is sent as video anyway). Their damage
        is returned as it came.
        """
        t0 = time.perf_counter()
        c0 = time.thread_time()
        self.last = stats = MotionStats()
        self._compared = compared
        height, width = ref.shape[:2]
        if keyframe or (width, height) != self._size:
            self._hashes.reset(width, height)
            self._size = (width, height)
            self._moved = []
            self._row_skips = 0
            self._scroll = None
        self._hashes.pixels_hashed = 0
        self._since_moves += 1
        if self._since_moves >= _TABLES_IDLE and self._segments.cap:
            self._segments = _rowhash.SegmentTables()
        moved, self._moved = self._moved, []
        skipped_rows = False
        pre = predicted.copies if predicted is not None else []
        # A scroll predicted again keeps its box (that of the damage where
        # it was found), so copies that fall short one update (content
        # that did not move at an edge) do not shrink it for the next; it
        # grows over the copies (a window dragged up or down moves on).
        self._scrolled = {}
        fresh: list[_Fresh] = []
        scroll_area = None
        if predicted is not None:
            g = predicted.guess
            # What the scroll revealed lies beside its largest copy (stray
            # small ones can match anywhere: repeated lines), at most its
            # distance away (and the rows a scroll changes vary a little).
            big = max(pre, key=lambda c: c.dest.area).dest
            reach = abs(g.dy) + PREDICT_MARGIN
            scroll_area = Rect(g.x0, big.y - reach, g.x1 - g.x0, big.h + 2 * reach)
            hull = g.box
            for c in pre:
                hull = hull.union(c.dest)
            self._scrolled[g.dy] = (sum(c.dest.area for c in pre), hull, g.x0, g.x1)
            fresh += g.fresh
        if keyframe or not len(rects):
            if pre:
                return self._conclude(
                    ref, frame, rects, pre=pre, found=[], fresh=fresh, apply=apply, t0=t0, c0=c0
                )
            self._scroll = None
            return [], rects
        self._deadline = c0 + self.budget
        self._misses.tick()
        if int((rects[:, 2].astype(np.int64) * rects[:, 3]).sum()) < self.min_area:
            # No region can be examined (none holds more than all the
            # damage): typing, a cursor, a clock. Only the cache follows.
            return self._conclude(
                ref, frame, rects, pre=pre, found=[], fresh=fresh, apply=apply, t0=t0, c0=c0
            )
        self._free_pass = True
        self._room = MAX_COPIES - len(pre)
        self._taken = [c.dest for c in pre]
        searched = _outside(rects, skip) if skip else rects
        self._extent = _extent(searched)
        copies: list[Copy] = []
        # The predicted shift is tried first where the scroll went on outside
        # the predicted box.
        known: dict[tuple[int, int], None] = {
            (c.dest.x - c.src_x, c.dest.y - c.src_y): None for c in pre
        }
        pending: list[_Region] = []
        for box, members in groups(searched):
            area = sum(w * h for _, _, w, h in members.tolist())
            if box.h < self.min_rows or area < self.min_area:
                continue
            if scroll_area is not None and 2 * _area_in(members, scroll_area) >= area:
                # Mostly what the predicted scroll left beside its copies: the
                # rows it revealed, their fringe (the plain pipeline does not
                # search what its copies leave either). A pane scrolling
                # beside it, or above or below it, or a second window dragged
                # beside it by the same step (its damage outside), is
                # searched as usual.
                continue
            if stats.groups and time.thread_time() > self._deadline:
                stats.over_budget = True
                break
            if self._misses.skip(box):
                stats.skipped += 1
                continue
            stats.groups += 1
            # Every candidate is verified on its own; the copies are chosen
            # from all of them at the end, largest first (_select), so a
            # shift that matches a few blank rows of a dragged window cannot
            # cut the window's own move into pieces by being tried first.
            region = _Region(box, area)
            if known:
                # A scroll's damage is often cut into several regions (blank
                # rows that moved onto blank rows do not change): a shift
                # already verified this frame is tried first, without hashing.
                region.verified += self._verify(ref, frame, box, list(known))
            found = self._select(region.verified)
            unexplained = area - sum(c.dest.area for c in found) >= self.min_area
            step = _step_near(box, moved)
            if unexplained and step is not None:
                # A window being dragged moves on by about its last step.
                region.verified += self._guess_move(ref, frame, box, step, known)
                found = self._select(region.verified)
                unexplained = not _move_explains(
                    ref, frame, members, found,
                    area=area, min_area=self.min_area, min_copy_area=self.min_copy_area,
                )  # fmt: skip
            if unexplained and step is not None and self._row_skips < _ROW_SKIPS:
                # A window being dragged: its next step is a 2-D move too, which
                # row hashes cannot find, and the 2-D search finds vertical
                # shifts as well. Its anchors come from rows the copies left damage in.
                rows = np.flatnonzero(self._uncovered(box, members, found))
                region.rows = rows + box.y
                pending.append(region)
                skipped_rows = True
                continue
            if unexplained:
                # Side-by-side panes scroll independently: hash each column
                # span of the damage on its own.
                changed: list[npt.NDArray[np.intp]] = []
                for x0, x1 in column_spans(members):
                    sub = Rect(x0, box.y, x1 - x0, box.h)
                    if sub.w < self.min_run:
                        continue
                    hits, hashed, rows = self._vertical(ref, frame, sub, _area_in(members, sub))
                    fresh += hashed
                    region.verified += hits
                    changed.append(rows)
                found = self._select(region.verified)
                if changed and area - sum(c.dest.area for c in found) >= self.min_area:
                    # Rows did not explain it: a 2-D move, searched for once
                    # for all such regions below.
                    seen = np.zeros(box.h, np.bool_)
                    for span_rows in changed:
                        seen[span_rows] = True
                    rows = np.flatnonzero(seen)
                    region.rows = rows[self._uncovered(box, members, found)[rows]] + box.y
                    pending.append(region)
                    continue
            copies += self._finish(region, found, known)
        if pending:
            # One search for every region rows did not explain: a window
            # moved further than its size has its old place in another
            # region, which is where the search finds its source.
            cands = self._moves(ref, frame, pending, bool(copies))
            for region in pending:
                # Only shifts whose source can be damage (a moved window's old
                # place) for this region: not the old place's own region.
                b = region.box
                mine = [
                    (dx, dy)
                    for dx, dy in cands
                    if not Rect(b.x - dx, b.y - dy, b.w, b.h).intersection(self._extent).is_empty()
                ]
                region.verified += self._verify(ref, frame, b, mine)
                copies += self._finish(region, self._select(region.verified), known)
        # Every _ROW_SKIPS-th update of a drag hashes rows anyway: a pane that
        # started to scroll beside the window is found within that many.
        self._row_skips = self._row_skips + 1 if skipped_rows else 0
        return self._conclude(
            ref, frame, rects, pre=pre, found=copies, fresh=fresh, apply=apply, t0=t0, c0=c0
        )

    def _conclude(
        self, ref: Frame, frame: Frame, rects: Rects, *, pre: list[Copy], found: list[Copy],
        fresh: list[_Fresh], apply: bool, t0: float, c0: float,
    ) -> tuple[list[EncodedOp], Rects]:
        """End ``process``: the cache follows the update, the copies (the
        predicted ones, ``pre``, then those found in ``rects``) are applied,
        and what they leave of ``rects`` is diffed again."""  # fmt: skip
        stats = self.last
        self._remember(rects, fresh, pre + found, self._compared)
        best = max(self._scrolled.values(), key=lambda s: s[0], default=None)
        self._scroll = None if best is None else best[1:]
        stats.ref_pixels_hashed = self._hashes.pixels_hashed
        copies = pre + found
        left = rects
        if copies:
            # Every destination was verified equal to the frame pixel by pixel
            # (_verify), so the frame's pixels are what the copies leave there:
            # one pass of frame -> reference instead of moving the reference in
            # place, which for several copies (a scroll cut into sub-regions)
            # saves their sources first and then writes them, twice the traffic.
            if apply:
                dests = [(c.dest.x, c.dest.y, c.dest.w, c.dest.h) for c in copies]
                copy_rects(ref, frame, np.array(dests, np.int32))
            # The damage came from outside the predicted copies, but merging
            # may have grown it over one, which ref holds only if apply wrote
            # it: every copy's area is cut out, so the damage is the same
            # either way. Without found copies nothing else can cover it.
            if found:
                left = self._rediff(ref, frame, rects, [c.dest for c in copies])
        stats.copies = len(copies)
        stats.predicted = len(pre)
        stats.copied_pixels = sum(c.dest.area for c in copies)
        stats.seconds = time.perf_counter() - t0
        stats.cpu_seconds = time.thread_time() - c0
        return [copy_op(c.src_x, c.src_y, c.dest) for c in copies], left

    # -- candidates --------------------------------------------------------------

    def _vertical(
        self, ref: Frame, frame: Frame, box: Rect, area: int
    ) -> tuple[list[_Verified], list[_Fresh], npt.NDArray[np.intp]]:
        """Copies for vertical shifts in ``box`` (``area`` pixels of damage);
        also the frame's strip hashes (for the cache) and the changed rows
        (offsets in ``box``) of the strips that voted."""
        strips = self._hashes.strips(box.x, box.right)
        first = _first_strips(strips)
        hits, fresh, rows, dys = self._strip_votes(ref, frame, box, first, [])
        if len(first) < len(strips):
            # What a found scroll cannot explain is the rows it reveals; more
            # than that left over is another shift, or a scroll the first
            # strips missed (they lay on a margin, a scroll bar).
            shown = sum(c.dest.area for c in self._select(hits))
            revealed = max((abs(v.dy) for v in hits), default=0) * box.w
            if area - shown > self.min_area + revealed:
                rest = [s for s in strips if s not in first]
                more, fresh2, rows2, _ = self._strip_votes(ref, frame, box, rest, dys)
                hits, fresh = hits + more, [*fresh, *fresh2]
                rows = np.union1d(rows, rows2)
        return hits, fresh, rows

    def _strip_votes(
        self, ref: Frame, frame: Frame, box: Rect, strips: list[tuple[int, int]], tried: list[int]
    ) -> tuple[list[_Verified], list[_Fresh], npt.NDArray[np.intp], list[int]]:
        """The vertical shifts ``strips`` vote for in ``box``, verified (all
        but those in ``tried``); their frame hashes; the rows that changed in
        them; the shifts voted for."""
        y0 = box.y
        hp = self._hashes.ref_hashes_strips(ref, strips, y0, box.bottom)
        hc = _rowhash.strip_hashes(frame, strips, y0, box.h)
        rows, dys = _row_votes(hp, hc, self.min_rows)
        cands = [(0, dy) for dy in dys if dy not in tried]
        return self._verify(ref, frame, box, cands), [(strips, y0, hc)], rows, dys

    def _moves(
        self, ref: Frame, frame: Frame, regions: list[_Region], found_any: bool
    ) -> list[tuple[int, int]]:
        """Candidate 2-D shifts (dragged windows, horizontal scrolls) of any
        length for these regions: segments on anchor rows of the frame looked
        up among the reference's segments (``segment_shifts``) over the
        extent of the damage. Runs within the budget, or once regardless while
        nothing was found this frame (its cost is bounded by the extent's
        area, and a found move saves far more)."""
        if time.thread_time() > self._deadline:
            self.last.over_budget = True
            if found_any:
                return []
        self._free_pass = not found_any
        self._since_moves = 0
        hull = regions[0].box
        for r in regions[1:]:
            hull = hull.union(r.box)
        scan = self._extent
        if hull.w < self.segment:
            return []
        # A large extent is scanned on every step-th row only (the cost is its
        # area / step); anchor rows come in runs of step rows, one of which
        # meets the scanned rows whatever dy. Runs start among each region's
        # changed rows that no copy covers, tried in an order spread over them
        # until _RUNS runs had detail (blank lines between text have none).
        step = min(_ROW_STEP, -(-scan.area // _SCAN_AREA))
        rows = np.concatenate([r.rows for r in regions])
        if not len(rows):
            return []
        starts = _distinct_sorted(np.sort((rows - hull.y) // step)) * step + hull.y
        spread = np.argsort((np.arange(len(starts)) * 0.618034) % 1.0, kind="stable")
        self.last.searches += 1
        shifts = _rowhash.segment_shifts(
            ref, frame, (hull.x, hull.y, hull.w, hull.h), starts[spread][:_MAX_RUN_TRIES],
            scan=(scan.x, scan.y, scan.w, scan.h), k=self.segment, min_detail=3,
            row_step=step, max_runs=max(_RUNS, 4 * _RUNS // step), min_anchors=_MIN_RUN_ANCHORS,
            max_out=2 * _MAX_CANDIDATES, tables=self._segments,
        )  # fmt: skip
        ok = [
            (dx, dy)
            for dx, dy, votes in shifts.tolist()
            if votes >= _MIN_SEGMENT_VOTES and self._allowed(dx, dy)
        ]
        return ok[: _MAX_CANDIDATES + len(regions) - 1]

    def _finish(
        self, region: _Region, found: list[Copy], known: dict[tuple[int, int], None]
    ) -> list[Copy]:
        """The region's copies are final: take their room, remember the
        region's outcome (a region cut short by the budget did not fail) and
        its shifts for the regions after it."""
        self._room -= len(found)
        moved = sum(c.dest.area for c in found if c.dest.x != c.src_x)
        scrolled = sum(c.dest.area for c in found if c.dest.x == c.src_x)
        if 2 * scrolled >= region.area:
            top = max((c for c in found if c.dest.x == c.src_x), key=lambda c: c.dest.area)
            dy = top.dest.y - top.src_y
            area, box, x0, x1 = self._scrolled.get(dy, (0, region.box, 0, 0))
            if scrolled > area:  # the columns of the larger part
                x0, x1 = top.dest.x, top.dest.right
            self._scrolled[dy] = (area + scrolled, box.union(region.box), x0, x1)
        if 2 * moved >= region.area and not scrolled:
            # Mostly a 2-D move, and nothing beside it that row hashes found
            # (a pane scrolling next to the dragged window keeps its search).
            top = max((c for c in found if c.dest.x != c.src_x), key=lambda c: c.dest.area)
            self._moved.append((region.box, (top.dest.x - top.src_x, top.dest.y - top.src_y)))
        if found or not self.last.over_budget:
            self._misses.record(region.box, bool(found))
        for c in found:
            known[(c.dest.x - c.src_x, c.dest.y - c.src_y)] = None
        return found

    def _uncovered(self, box: Rect, members: Rects, found: list[Copy]) -> npt.NDArray[np.bool_]:
        """For each row of ``box``, whether its damage is wider than what the
        copies cover by two segments, room for the 2-D search's anchors: a row
        a scrolling pane's copy crosses can still hold a window dragged beside
        it. (Copies may cover unchanged pixels too, which errs towards fewer
        anchor rows, never towards a wrong copy: copies are verified.)"""
        return _member_cols(box, members) - _row_cover(box, found) >= 2 * self.segment

    def _allowed(self, dx: int, dy: int) -> bool:
        """Within the configured limits on 2-D moves and horizontal scrolls."""
        if dy == 0:
            return self.max_hscroll is None or abs(dx) <= self.max_hscroll
        return self.max_move is None or max(abs(dx), abs(dy)) <= self.max_move

    def _guess_move(
        self, ref: Frame, frame: Frame, box: Rect, step: tuple[int, int],
        known: dict[tuple[int, int], None],
    ) -> list[_Verified]:  # fmt: skip
        """The likeliest of a dragged window's guessed shifts (its last
        ``step`` and the steps a pixel away from it, twice and half it: one
        or two pointer events a frame), verified over ``box``; none when what
        the best guess matches on the sampled rows beyond the typical guess
        does not amount to a copy (all failed).
        The screening (up to 11 guesses, outside the budget) is one kernel
        pass over every _SCREEN_STEP-th row of the box, each row read once
        for all guesses, a guess that does not hold costing a probe every
        ``min_run`` pixels plus what it matches by chance: guesses that all
        fail cost that pass and, unless one matched a copy's worth more than
        the others, nothing else (no verification), far less than the search
        that follows."""
        dx, dy = step
        guesses = [(dx, dy)]  # first: it wins ties (blank rows match its neighbours too)
        guesses += [(dx + ex, dy + ey) for ey in (-1, 0, 1) for ex in (-1, 0, 1) if ex or ey]
        guesses.append((2 * dx, 2 * dy))
        if dx % 2 == 0 and dy % 2 == 0:
            guesses.append((dx // 2, dy // 2))
        guesses = [g for g in guesses if g != (0, 0) and g not in known and self._allowed(*g)]
        self.last.guessed += 1
        if not guesses:
            return []
        min_run = min(self.min_run, box.w)
        matched = _rowhash.screen_shifts(
            ref, frame, (box.x, box.y, box.w, box.h), guesses, row_step=_SCREEN_STEP,
            min_run=min_run,
        )  # fmt: skip
        self.last.guess_calls += 1
        best = int(np.argmax(matched))  # the first of equals: the last step leads
        # What every guess matches (a terminal's blank margins, a title bar)
        # tells none apart: the best is verified over the whole box only when
        # it matched a copy's worth more than the typical guess (the median).
        typical = int(np.sort(matched)[(len(matched) - 1) // 2]) if len(matched) >= 3 else 0
        if (int(matched[best]) - typical) * _SCREEN_STEP < self.min_copy_area:
            return []
        self.last.guess_calls += 1
        return self._verify(ref, frame, box, [guesses[best]])

    def _verify(
        self, ref: Frame, frame: Frame, box: Rect, cands: list[tuple[int, int]]
    ) -> list[_Verified]:
        """Each candidate shift checked pixel by pixel over the whole box: its
        copy rectangles, every pixel of which equals the frame."""
        out: list[_Verified] = []
        for dx, dy in cands:
            if not self._free_pass and time.thread_time() > self._deadline:
                self.last.over_budget = True
                break
            # The first candidate of a frame is always verified: its hashes are
            # paid for, and a scroll it finds saves far more than it costs.
            self._free_pass = False
            self.last.candidates += 1
            starts, ends = _rowhash.match_runs(
                ref, frame, (box.x, box.y, box.w, box.h), dx, dy,
                min_run=min(self.min_run, box.w), most=_ROW_RUNS,
            )  # fmt: skip
            dests = _rowhash.runs_to_boxes(
                starts, ends, box.y, self.min_run, self.min_copy_area, _KEEP
            )
            if dests:
                area = sum(w * h for _, _, w, h in dests)
                out.append(_Verified(dx, dy, np.array(dests, np.int32).reshape(-1, 4), area))
        return out

    def _select(self, verified: list[_Verified]) -> list[Copy]:
        """Copies with disjoint destinations from overlapping verified rects:
        the candidates with the most area first, each keeping what the ones
        before it left (parts at least ``min_run`` wide and ``min_copy_area``
        large), at most the frame's remaining room of COPY ops, the largest
        pieces first. One subtraction per candidate."""
        out: list[Copy] = []
        if not verified:
            return out
        taken = self._taken
        # A few candidates of a few rects each: plain Python over lists costs
        # less than NumPy calls on arrays that small.
        min_run, min_area = self.min_run, self.min_copy_area
        for v in sorted(verified, key=lambda v: -v.area):
            room = self._room - len(out)
            if room <= 0:
                break
            holes = taken + [c.dest for c in out]
            parts = subtract_rects(v.rects, holes) if holes else v.rects
            kept = [p for p in parts.tolist() if p[2] >= min_run and p[2] * p[3] >= min_area]
            if len(kept) > room:
                largest = sorted(range(len(kept)), key=lambda i: -kept[i][2] * kept[i][3])
                kept = [kept[i] for i in sorted(largest[:room])]
            dx, dy = v.dx, v.dy
            out += [Copy(x - dx, y - dy, Rect(x, y, w, h)) for x, y, w, h in kept]
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

    def _remember(
        self, rects: Rects, fresh: list[_Fresh], copies: list[Copy],
        compared: Sequence[tuple[int, int]] | None,
    ) -> None:
        """Keep the cache in step with the reference after this update: rows the
        damage and the copies touch change (a copy may reach rows that were
        not compared, where the frame differs from the reference); the frame
        rows just hashed are what they become where they were compared
        (elsewhere the frame may hold changes not sent yet)."""  # fmt: skip
        self._hashes.invalidate(rects)
        if copies:
            dests = [(c.dest.x, c.dest.y, c.dest.w, c.dest.h) for c in copies]
            self._hashes.invalidate(np.array(dests, np.int32))
        for strips, y0, hashes in fresh:
            y1 = y0 + hashes.shape[1]
            for lo, hi in [(y0, y1)] if compared is None else compared:
                a, b = max(lo, y0), min(hi, y1)
                if a < b:
                    part = np.ascontiguousarray(hashes[:, a - y0 : b - y0])
                    self._hashes.store_strips(strips, a, part)


def _first_strips(strips: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The strips of a span that vote first: _FIRST_STRIPS of them spread
    across it (all, when there are no more)."""
    n = len(strips)
    if n <= _FIRST_STRIPS:
        return strips
    picks = (strips[n * (i + 1) // (_FIRST_STRIPS + 1)] for i in range(_FIRST_STRIPS))
    return list(dict.fromkeys(picks))


def _touches(hint: npt.NDArray[np.int64], box: Rect) -> bool:
    """Whether any (x, y, w, h) rect of ``hint`` overlaps ``box``."""
    x, y, w, h = hint.T
    hit = (x < box.right) & (x + w > box.x) & (y < box.bottom) & (y + h > box.y) & (w > 0) & (h > 0)
    return bool(hit.any())


def _outside(rects: Rects, holes: Sequence[Rect]) -> Rects:
    """``rects`` minus the holes (the parts of the damage to search)."""
    return subtract_rects(rects, holes)


def _distinct_sorted(a: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
    """The distinct values of sorted ``a`` (np.unique without its sort)."""
    keep = np.ones(len(a), np.bool_)
    keep[1:] = a[1:] != a[:-1]
    return a[keep]


def _extent(rects: Rects) -> Rect:
    """The bounding box of the rects (empty for none)."""
    if not len(rects):
        return Rect(0, 0, 0, 0)
    x0, y0 = rects[:, :2].min(axis=0).tolist()
    x1, y1 = (rects[:, :2] + rects[:, 2:]).max(axis=0).tolist()
    return Rect(x0, y0, x1 - x0, y1 - y0)


def _step_near(box: Rect, moved: list[tuple[Rect, tuple[int, int]]]) -> tuple[int, int] | None:
    """The step of the region of ``moved`` that ``box`` mostly is (a dragged
    window's region moves by a step each update), or None."""
    for b, step in moved:
        if 2 * box.intersection(b).area >= max(box.area, b.area):
            return step
    return None


def _move_explains(
    ref: Frame, frame: Frame, members: Rects, found: list[Copy], *, area: int, min_area: int,
    min_copy_area: int,
) -> bool:  # fmt: skip
    """Whether ``found`` leaves of a region's damage (``members``, ``area``
    pixels) less than ``min_area`` (what the plain rule leaves unsearched),
    or less than the smallest copy that changed outside the copies'
    destinations and sources (what a move reveals lies in its source: a
    strip as wide as the step along each moving edge of each window). A
    second window moving in the same region by another step is left to the
    search; windows dragged together by one step are explained. (The damage
    outside is diffed again, a few small rects: merged damage spans the gap
    between windows and the corners beside a diagonal move.)"""
    if not found:
        return False
    if area - sum(c.dest.area for c in found) < min_area:
        return True
    outside = subtract_rects(members, [c.dest for c in found] + [c.src for c in found])
    if not len(outside):
        return True
    changed = _rowhash.rects_tile_diff(ref, frame, outside, 32)
    return int((changed[:, 2].astype(np.int64) * changed[:, 3]).sum()) < min_copy_area


def _area_in(members: Rects, rect: Rect) -> int:
    """Pixels of the damage rects (they do not overlap) inside ``rect``."""
    x, y = members[:, 0].astype(np.int64), members[:, 1].astype(np.int64)
    w = np.minimum(x + members[:, 2], rect.right) - np.maximum(x, rect.x)
    h = np.minimum(y + members[:, 3], rect.bottom) - np.maximum(y, rect.y)
    return int((np.maximum(w, 0) * np.maximum(h, 0)).sum())


def _member_cols(box: Rect, members: Rects) -> npt.NDArray[np.int64]:
    """For each row of ``box``, how many of its columns the damage rects
    cover (they do not overlap)."""
    edges = np.zeros(box.h + 1, np.int64)
    w = members[:, 2].astype(np.int64)
    np.add.at(edges, members[:, 1] - box.y, w)
    np.add.at(edges, members[:, 1] + members[:, 3] - box.y, -w)
    return np.cumsum(edges[:-1])


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
