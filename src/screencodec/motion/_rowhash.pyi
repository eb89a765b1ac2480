"""Typed surface of the compiled ``_rowhash`` module (what mypy sees)."""

from typing import Final

import numpy as np
import numpy.typing as npt

Frame = npt.NDArray[np.uint8]
RectLike = tuple[int, int, int, int]

MAX_DIM: Final[int]
MAX_RADIUS: Final[int]
MAX_SEGMENT: Final[int]

def row_hashes(frame: Frame, rect: RectLike) -> npt.NDArray[np.uint64]:
    """One 64-bit hash per row of ``rect`` (x, y, w, h) over its columns, B, G, R
    only (the X byte is ignored), as defined by ``reference.row_hashes_reference``.
    ``frame`` is (H, W, 4) uint8 with packed pixels (row-strided allowed).
    FrameError on any other layout or a rect outside the frame. Runs without the GIL."""

def match_runs(
    prev: Frame,
    cur: Frame,
    rect: RectLike,
    dx: int,
    dy: int,
    *,
    min_run: int = 1,
    row_mask: npt.ArrayLike | None = None,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """Exact verification of a shift: for each row of ``rect`` in ``cur``, the
    longest run of columns (at least ``min_run``; the leftmost of equals) whose
    pixels equal ``prev`` at (x - dx, y - dy). Returns (starts, ends), ends
    exclusive, both ``rect.x`` for rows without such a run or masked out by
    ``row_mask`` (h booleans). Runs without the GIL."""

def find_segment(
    prev: Frame,
    cur: Frame,
    ax: int,
    ay: int,
    k: int,
    radius: int,
    *,
    radius_y: int | None = None,
    min_detail: int = 0,
    max_out: int = 4,
) -> npt.NDArray[np.int32] | None:
    """(n, 2) int32 shifts (dx, dy), |dx| <= radius, |dy| <= radius_y (default:
    radius), (0, 0) excluded, under
    which the ``k``-pixel row segment of ``cur`` at (ax, ay) equals ``prev``,
    dy-major. At most ``max_out + 1`` rows: n > max_out means "ambiguous"
    (repeating content). None when the segment is no anchor: equal to
    ``prev`` at the same place, or with fewer than ``min_detail`` neighbouring
    pixel pairs that differ. Runs without the GIL."""

def row_votes(
    hp: npt.NDArray[np.uint64], hc: npt.NDArray[np.uint64], changed: npt.NDArray[np.bool_]
) -> npt.NDArray[np.int32]:
    """Vertical shift votes from (strips, rows) reference / frame row hashes, as
    an (strips, 2 * rows) int32 array: ``votes[s, dy + rows]``. A changed frame
    row votes for the distance to the reference row with its hash when that
    hash occurs exactly once in the strip (repeating rows do not vote); see
    ``reference.row_votes_reference``. Runs without the GIL."""

def move_rect(buf: Frame, rect: RectLike, dx: int, dy: int) -> None:
    """Move the pixels of ``rect`` by (dx, dy) inside the writable ``buf`` (source
    and destination may overlap), as a COPY op does. Both must lie inside the
    frame (FrameError, nothing written). Runs without the GIL."""

def rect_tile_diff(
    prev: Frame, cur: Frame, rect: RectLike, tile: int = 16
) -> npt.NDArray[np.int32]:
    """``damage.tile_diff`` of ``rect`` alone (tiles aligned to its corner), as an
    (N, 4) int32 array of (x, y, w, h) in frame coordinates. Runs without the GIL."""
