"""Which blocks of a frame look like photos: the text test of video.regions,
vectorised over any number of blocks at once.

A block is *text-like* (and so always lossless) when its pixels are mostly
flat (``flat`` of them equal their left neighbour: text and UI ~0.75, photos
with grain ~0.03) or when it holds few colours (``colours``, 128 in the
samples: anti-aliased text on a plain background is flat anyway, while a
smooth photo-like wallpaper with fine grain shows 200-400 colours in the
samples at a flat share of 0.2-0.3; with 256 such wallpapers stayed lossless
and a 1080p join picture of the real-screen corpus was 825 kB at 4 Mbit/s,
with 128 it is 417-498 kB); otherwise it is *photo-like*, a candidate for
lossy coding under a rate. These are the two tests of
``video.regions.looks_like_text``, made cheap enough to run on every block of
every update: both are measured on a fixed grid of samples per block (16 rows
of 64 pixels spread over it, and each sample's left neighbour), gathered for
all blocks in one fancy-indexing pass, and the colours are counted by sorting
each block's samples. A block of 1,024 samples with more than 256 distinct
colours certainly has more than 256; one with fewer almost always has few.
The cost is one gather and one row-wise sort of 1,024 values per block (about
1-2 ms for the 136 blocks of a 1080p keyframe), whatever the block's size.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from screencodec.frames import Frame

__all__ = ["SAMPLES_X", "SAMPLES_Y", "photo_like"]


#: Samples per block: this many columns on each of ``SAMPLES_Y`` rows.
SAMPLES_X = 64
SAMPLES_Y = 16
_RGB = np.uint32(0x00FFFFFF)


def photo_like(
    frame: Frame, blocks: npt.ArrayLike, /, *, colours: int = 128, flat: float = 0.4
) -> npt.NDArray[np.bool_]:
    """For each (x, y, w, h) block of ``frame`` (an (H, W, 4) BGRX array, rows
    may be strided), whether it looks like a photo: less than ``flat`` of its
    sampled pixels equal their left neighbour and its samples hold more than
    ``colours`` colours (scaled down for blocks too small to hold that many
    distinct samples). Blocks narrower than 2 pixels are never photo-like."""
    b = np.asarray(blocks, np.int64).reshape(-1, 4)
    out = np.zeros(len(b), np.bool_)
    ok = b[:, 2] >= 2
    if not ok.any():
        return out
    b = b[ok]
    words = frame.view(np.uint32)[..., 0]
    i = np.arange(SAMPLES_X, dtype=np.int64)
    j = np.arange(SAMPLES_Y, dtype=np.int64)
    # Sample positions spread evenly over each block (repeats in small blocks).
    xs = b[:, 0, None] + (b[:, 2, None] * (2 * i + 1)) // (2 * SAMPLES_X)
    ys = b[:, 1, None] + (b[:, 3, None] * (2 * j + 1)) // (2 * SAMPLES_Y)
    left = np.maximum(xs - 1, b[:, 0, None])
    rows = ys[:, :, None]
    s = words[rows, xs[:, None, :]] & _RGB
    same = s == (words[rows, left[:, None, :]] & _RGB)
    flat_share = same.reshape(len(b), -1).mean(axis=1)
    srt = np.sort(s.reshape(len(b), -1), axis=1)
    distinct = 1 + np.count_nonzero(np.diff(srt, axis=1), axis=1)
    # A block with few distinct sample positions cannot show many colours.
    positions = np.minimum(b[:, 2], SAMPLES_X) * np.minimum(b[:, 3], SAMPLES_Y)
    enough = np.minimum(colours, np.maximum(8, positions // 4))
    out[ok] = (flat_share < flat) & (distinct > enough)
    return out
