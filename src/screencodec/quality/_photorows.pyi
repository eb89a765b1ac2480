"""Typed surface of the compiled ``_photorows`` module (quality/_photorows.pyx)."""

from typing import Final

import numpy as np
import numpy.typing as npt

from screencodec.frames import Frame

#: Most samples a row.
MAX_SAMPLES: Final[int]

def photo_rows(
    frame: Frame,
    blocks: npt.ArrayLike,
    ys: npt.ArrayLike,
    n: int,
    *,
    edge: int,
    flat: float,
    edges: float,
    mode: float,
    distinct: float,
) -> npt.NDArray[np.bool_]:
    """For each row ``ys[k]`` of its block ``blocks[k]`` (x, y, w, h), sampled at
    ``n`` columns spread over the block: whether under ``flat * n`` samples equal
    their left neighbour, at most ``edges * n`` step by ``edge`` or more from it,
    its most common colour holds under ``mode * n`` and it has at least
    ``distinct * min(w, n)`` colours (classify._photo_rows_reference).
    ``frame`` is (H, W, 4) uint8 with packed pixels (row-strided allowed).
    FrameError on any other layout, a block outside the frame or a row outside
    its block. Runs without the GIL."""

def photo_runs(
    frame: Frame,
    blocks: npt.ArrayLike,
    n: int,
    *,
    probe: int = 0,
    edge: int,
    flat: float,
    edges: float,
    mode: float,
    distinct: float,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """For each block (x, y, w, h): its rows that ``photo_rows`` calls a photo's
    at its top before its first other row (h when all are), and at its bottom
    after its last other row (0 when all are). Only the rows up to each end's
    first other row are measured. With ``probe`` samples, only the blocks
    (then at least 2 rows) whose second or second-to-last row is a photo's at
    that many samples are; the others are 0, 0 (classify._edge_runs_reference)."""
