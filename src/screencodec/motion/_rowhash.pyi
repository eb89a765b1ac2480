"""Typed surface of the compiled ``_rowhash`` module (what mypy sees)."""

import threading
from typing import Final

import numpy as np
import numpy.typing as npt

from screencodec.frames import Frame

_RectLike = tuple[int, int, int, int]

MAX_DIM: Final[int]
MAX_SEGMENT: Final[int]
#: Largest anchor index of segment_shifts; past half of it anchors are dropped.
MAX_ANCHOR_SLOTS: Final[int]
#: Runs per row that match_runs (``most``) and screen_shifts report at most.
MAX_ROW_RUNS: Final[int]

def row_hashes(frame: Frame, rect: _RectLike) -> npt.NDArray[np.uint64]:
    """One 64-bit hash per row of ``rect`` (x, y, w, h) over its columns, B, G, R
    only (the X byte is ignored), as defined by ``reference.row_hashes_reference``.
    ``frame`` is (H, W, 4) uint8 with packed pixels (row-strided allowed).
    FrameError on any other layout or a rect outside the frame. Runs without the GIL."""

def match_runs(
    prev: Frame,
    cur: Frame,
    rect: _RectLike,
    dx: int,
    dy: int,
    *,
    min_run: int = 1,
    row_mask: npt.ArrayLike | None = None,
    most: int = 1,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """Exact verification of a shift: for each row of ``rect`` in ``cur``, the
    longest run of columns (at least ``min_run``; the leftmost of equals) whose
    pixels equal ``prev`` at (x - dx, y - dy). Returns (starts, ends), ends
    exclusive, both ``rect.x`` for rows without such a run or masked out by
    ``row_mask`` (h booleans). With ``most`` > 1 (at most ``MAX_ROW_RUNS``),
    every such maximal run of a row, or its ``most`` longest (of equals, the
    leftmost), left to right, as (h, most) arrays whose unused slots hold
    ``rect.x``: windows side by side moved by one shift each keep their run.
    Runs without the GIL."""

def screen_shifts(
    prev: Frame,
    cur: Frame,
    rect: _RectLike,
    shifts: npt.ArrayLike,
    *,
    row_step: int,
    min_run: int = 1,
) -> npt.NDArray[np.int64]:
    """Screening of candidate shifts ((n, 2) integers dx, dy) in one pass over
    the sampled rows ``rect.y + row_step // 2``, ``+ row_step``, ... of ``rect``:
    for each shift, the total length of the runs of at least ``min_run`` columns
    equal to ``prev`` at (x - dx, y - dy) over those rows (up to
    ``MAX_ROW_RUNS`` runs a row, the longest). Each frame row is read once for
    all shifts. Runs without the GIL."""

def row_votes(
    hp: npt.NDArray[np.uint64], hc: npt.NDArray[np.uint64], changed: npt.NDArray[np.bool_]
) -> npt.NDArray[np.int32]:
    """Vertical shift votes from (strips, rows) reference / frame row hashes, as
    an (strips, 2 * rows) int32 array: ``votes[s, dy + rows]``. A changed frame
    row votes for the distance to the reference row with its hash when that
    hash occurs exactly once in the strip (repeating rows do not vote); see
    ``reference.row_votes_reference``. Runs without the GIL."""

class SegmentTables:
    """Scratch of ``segment_shifts``, kept between calls so that no call pays
    for tables sized for its worst case (every column of every anchor row):
    one per caller, used by one call at a time (a second concurrent call
    raises ConcurrentUseError)."""

    SHIFT_SLOTS: int
    cap: int
    #: held while a call uses the tables (taken without waiting: a second
    #: caller is refused, not queued)
    lock: threading.Lock
    @property
    def busy(self) -> bool:
        """Whether a call is using the tables."""
    #: the anchors' hash index, (key, anchor) per slot, all ones when empty
    index: npt.NDArray[np.uint64]
    def reserve(self, cap: int) -> None:
        """Room for an anchor index of ``cap`` slots (a power of two); arrays a
        caller replaced are made again. Whatever a caller wrote into them is
        ignored by the kernel (a slot counts only if its anchor points back at it)."""

def segment_shifts(
    prev: Frame,
    cur: Frame,
    rect: _RectLike,
    rows: npt.ArrayLike,
    *,
    scan: _RectLike | None = None,
    k: int = 32,
    min_detail: int = 3,
    row_step: int = 1,
    run: int | None = None,
    max_runs: int | None = None,
    min_anchors: int = 1,
    max_out: int = 8,
    tables: SegmentTables | None = None,
) -> npt.NDArray[np.int32]:
    """Candidate shifts of any length: (n, 3) int32 rows (dx, dy, votes), most
    votes first, n <= max_out. Anchors are the ``k``-pixel segments of
    ``cur`` at every column of ``rect`` with detail (``min_detail``
    neighbouring pairs that differ), not at rest and unique among the
    anchors, on runs of ``run`` rows (default: ``row_step``) from each of
    ``rows`` (inside the rect, runs not overlapping) in the order given, until
    ``max_runs`` runs (default: all) gave ``min_anchors`` anchors each. Each
    anchor votes for the shifts to the 1 to 3 places where it is found among
    ``prev``'s segments on a ``k``-column grid of every ``row_step``-th row of
    ``scan`` (default: the rect). See csrc/motion.h and
    ``reference.segment_shifts_reference``. ``k`` a multiple of 4. Linear in
    the rows tried and the scanned area; runs without the GIL. ``tables``:
    scratch kept by the caller (default: allocated for this call)."""

def move_rect(buf: Frame, rect: _RectLike, dx: int, dy: int) -> None:
    """Move the pixels of ``rect`` by (dx, dy) inside the writable ``buf`` (source
    and destination may overlap), as a COPY op does. Both must lie inside the
    frame (FrameError, nothing written). Runs without the GIL."""

def apply_copies(
    buf: Frame, ops: npt.ArrayLike, scratch: npt.NDArray[np.uint8] | None = None
) -> npt.NDArray[np.uint8] | None:
    """Apply COPY ops, an (n, 6) array of (src_x, src_y, x, y, w, h), to the
    writable ``buf`` as the decoder does: every source read before any write,
    destinations written in op order (a later op wins where they overlap).
    Linear in n and the copied area. ``scratch`` (1-D uint8) holds the saved
    sources when large enough, else a new one is made; the one used is
    returned, to be passed again. FrameError (nothing written) for a rect
    that is empty or outside the frame. Runs without the GIL."""

def rect_tile_diff(
    prev: Frame, cur: Frame, rect: _RectLike, tile: int = 16
) -> npt.NDArray[np.int32]:
    """``damage.tile_diff`` of ``rect`` alone (tiles aligned to its corner), as an
    (N, 4) int32 array of (x, y, w, h) in frame coordinates. Runs without the GIL."""

def rects_tile_diff(
    prev: Frame, cur: Frame, rects: npt.ArrayLike, tile: int = 16
) -> npt.NDArray[np.int32]:
    """``rect_tile_diff`` of each (x, y, w, h) row of ``rects``, concatenated in
    their order: one call, one validation pass, the kernels run back to back
    without the GIL. FrameError for any rect that is empty or outside."""

def scroll_diff(
    prev: Frame,
    cur: Frame,
    rows: tuple[int, int],
    cols: tuple[int, int],
    dy: int,
    *,
    min_run: int = 1,
    tile: int = 64,
) -> tuple[
    npt.NDArray[np.uint8], npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.int32]
]:
    """Change detection of rows [y0, y1) (whole tile rows) where a scroll by
    ``dy`` in columns [x0, x1) is expected, one pass over each row. Per row,
    the run [start, end) of those columns equal to ``prev`` dy rows up: all
    of them when they all match, else the longest of at least ``min_run``
    (leftmost of equals), else none (start == end). A row with a run moved
    (1; 2 when the run equals ``prev`` in place as well), and only its
    columns outside the run are compared; other rows (0) are compared
    whole. Returns (moved, starts, ends, the changed boxes as tile_diff
    gives them, in the frame's tile grid). Once each moved row's run is
    copied from dy above, ``cur`` differs from ``prev`` only inside the
    boxes. FrameError for rows, columns, shift, min_run or tile out of
    range."""

def copy_runs(
    moved: npt.ArrayLike, starts: npt.ArrayLike, ends: npt.ArrayLike, tile: int
) -> list[tuple[int, int, int, int]]:
    """(y0, y1, x0, x1) of the copies ``scroll_diff``'s rows make: consecutive
    rows that moved and changed (``moved`` 1) over the same run [start, end),
    joined across rows whose same run moved onto equal pixels (2) in a tile
    row (of ``tile`` rows) that also holds a changed row, each cut to begin
    and end on changed rows, top to bottom."""

def runs_to_boxes(
    starts: npt.ArrayLike, ends: npt.ArrayLike, y0: int, min_run: int, min_area: int, keep: float
) -> list[_RectLike]:
    """Copy rectangles (x, y, w, h) from per-row verified runs [starts, ends) of
    rows y0, y0 + 1, ...: consecutive rows join while their common span keeps
    ``keep`` of both runs (and ``min_run``); rects narrower than ``min_run`` or
    smaller than ``min_area`` are dropped. Every column of a rect lies inside
    the run of each of its rows. ``starts`` and ``ends`` are 1-D (a run a
    row) or (h, k) as ``match_runs(most=k)`` gives them: each run of a row
    continues the box above it that it keeps, so side-by-side runs make
    side-by-side rects. See ``_regions.runs_to_rects``."""

def group_boxes(rects: npt.ArrayLike, gap: int) -> list[tuple[_RectLike, list[int]]]:
    """(x, y, w, h) rects grouped: rects less than ``gap`` apart connect (0:
    touching), then groups whose bounding boxes share a pixel merge until none
    do. Each group as (bounding box, ascending indices of its rects), groups in
    the order of their first rect. See ``_regions.groups``."""

def strip_shifts(votes: npt.NDArray[np.int32], min_votes: int) -> list[tuple[int, int]]:
    """Per strip (row) of a ``row_votes`` array with any votes, its best two
    columns (most votes first, ties to the lower column) that have at least
    max(``min_votes``, the strip's votes // 4): (column, votes) pairs, strips in order."""

def strip_hashes(
    frame: Frame, strips: list[tuple[int, int]], y: int, h: int
) -> npt.NDArray[np.uint64]:
    """``row_hashes`` of rows [y, y + h) over each column strip [x0, x1), as an
    (len(strips), h) array. FrameError for a strip outside the frame."""

def vertical_votes(
    hp: npt.NDArray[np.uint64], hc: npt.NDArray[np.uint64], min_rows: int, min_votes: int
) -> tuple[npt.NDArray[np.intp], list[tuple[int, int]]]:
    """The rows where ``hp`` and ``hc`` (strips, rows) differ in any strip
    (ascending), and the ``strip_shifts`` of the ``row_votes`` of the changed
    rows of the strips with at least ``min_rows`` of them."""

def gather_rows(
    hashes: npt.NDArray[np.uint64],
    valid: npt.NDArray[np.bool_],
    cols: list[int],
    y0: int,
    y1: int,
) -> npt.NDArray[np.uint64] | None:
    """``hashes[cols, y0:y1]`` of a (columns, rows) C-contiguous cache, or None
    when ``valid`` (same shape) is False at any of those places."""

def scatter_rows(
    hashes: npt.NDArray[np.uint64],
    valid: npt.NDArray[np.bool_],
    cols: list[int],
    y0: int,
    rows: npt.NDArray[np.uint64],
) -> None:
    """``hashes[cols[i], y0:y0 + h] = rows[i]`` and ``valid`` there True, for a
    (columns, rows) C-contiguous cache and an (len(cols), h) ``rows``."""

def clear_rects(valid: npt.NDArray[np.bool_], rects: npt.ArrayLike, strip: int) -> None:
    """Set a (columns, rows) C-contiguous validity map False over the (x, y, w,
    h) rects: rows y .. y + h - 1 of the ``strip``-px columns the rect touches."""

def refresh_rows(
    ref: Frame,
    hashes: npt.NDArray[np.uint64],
    valid: npt.NDArray[np.bool_],
    strips: list[tuple[int, int]],
    cols: list[int],
    y0: int,
    y1: int,
) -> int:
    """For each strip [x0, x1) of ``ref`` cached in column cols[i] of a
    (columns, rows) C-contiguous cache: the ``row_hashes`` of the span from its
    first to its last row in [y0, y1) that ``valid`` marks missing, stored and
    marked valid. Returns the pixels hashed."""
