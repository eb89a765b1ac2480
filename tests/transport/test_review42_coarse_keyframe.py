"""review42's attacks on first41: a keyframe over fine grain is made again
with its text and UI exact over coarse stills, within twice the allowance
(``first_picture`` seconds of the rate; ``RateController._coarse_stills``:
"one over fine grain takes at most twice first_picture seconds").

test_join_picture's grainy screen has its terminal at (400, 240), on the
encoder's block grid. Windows stand anywhere on a real desktop: the same
terminal a pixel or two off the grid, and a wallpaper grainier than sigma 6,
here at 1 Mbit/s (the allowance 50 kB). The encoder and decoder are the
real ones; the session's transport does not change the keyframe's bytes
(test_join_picture sends the aligned one through a link)."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from screencodec.decoder import ScreenDecoder
from screencodec.encoder import ScreenEncoder
from screencodec.quality import LossyOptions

from .test_join_picture import WIN, Frame, kept_screen, kept_wallpaper, wallpaper

pytest.importorskip("av")

RATE = 1e6  #: bits a second
ALLOWANCE = LossyOptions().first_picture * RATE / 8


def keyframe(frame: Frame) -> tuple[int, Frame]:
    """The first update at RATE: its size and the picture it decodes to."""
    h, w = frame.shape[:2]
    with ScreenEncoder(w, h, video=True, video_chroma="444", lossy=True) as enc:
        enc.set_rate(RATE, interval=1 / 30)
        data = enc.encode(frame.copy())
    return len(data), np.array(ScreenDecoder().decode(data))


@functools.cache
def moved_terminal(dx: int, dy: int) -> tuple[Frame, tuple[int, int, int, int]]:
    """test_join_picture's grainy screen with its terminal moved by (dx, dy).
    Kept for the module (read-only): both tests of a position judge the
    same frame."""
    grainy = kept_screen(6.0, True)
    x, y, w, h = WIN
    frame = kept_wallpaper(6.0).copy()
    frame[y + dy : y + dy + h, x + dx : x + dx + w] = grainy[y : y + h, x : x + w]
    frame.setflags(write=False)
    return frame, (x + dx, y + dy, w, h)


@functools.cache
def moved_keyframe(dx: int, dy: int) -> tuple[int, Frame]:
    """:func:`keyframe` of :func:`moved_terminal`, encoded once for the module
    (time49): the exactness test and the size test of a position judge the
    one update the product would send for that screen. The file runs in one
    process (make test's ``--dist loadfile``); alone, a test encodes it
    itself."""
    size, picture = keyframe(moved_terminal(dx, dy)[0])
    picture.setflags(write=False)
    return size, picture


@pytest.mark.parametrize(("dx", "dy"), [(0, 0), (1, 0), (0, 1), (1, 1), (2, 2), (4, 4), (7, 5)])
def test_a_grainy_keyframe_has_its_terminal_exact_wherever_the_terminal_stands(
    dx: int, dy: int
) -> None:
    # Found: off the grid its last column or rows stayed in the still, lossy
    # (64-432 px; of 28 positions 0-7 px off, 2 were exact): the blocks and
    # text cells are on an 8-pixel grid, and a 1-2 px sliver of text has too
    # few runs for a cell. plan._slivers takes it (28 of 28 exact).
    frame, (x, y, w, h) = moved_terminal(dx, dy)
    _, picture = moved_keyframe(dx, dy)
    wrong = np.any(picture[y : y + h, x : x + w, :3] != frame[y : y + h, x : x + w, :3], axis=2)
    assert int(wrong.sum()) == 0


@pytest.mark.parametrize(("dx", "dy"), [(0, 0), (1, 0), (1, 1), (2, 2), (4, 4), (7, 5)])
def test_a_grainy_keyframe_stays_within_twice_the_allowance_wherever_the_terminal_stands(
    dx: int, dy: int
) -> None:
    # Found: off the grid the terminal's edge cells, and the blocks across its
    # edge, were sent whole and losslessly over the grain beside them (ZSTD
    # 29 -> 101-107 kB): 164-180 kB at 1 Mbit/s, 98 kB on the grid; of 28
    # positions 0-7 px off, 100-195 kB. plan._grainless cuts them down to
    # the text's own pixels, the grain beside it goes in the still: 78-95 kB
    # at all 64 positions 0-7 px off (84 kB on the grid).
    size, _ = moved_keyframe(dx, dy)
    assert size <= 2.2 * ALLOWANCE, size


@pytest.mark.parametrize("grain", [10.0, 12.0, 14.0])
def test_a_keyframe_over_heavy_grain_stays_within_twice_the_allowance(grain: float) -> None:
    # Found: its stills were encoded finer until they made first_min_psnr
    # (26 dB), whatever that took: 880 kB at sigma 12 (805 kB of stills at
    # qp 26), 289 kB at sigma 10, 1.03 MB at 14; 1.88 MB at sigma 12 before
    # first41. Then 97, 100 and 105 kB, the stills at qp_max (24-26 dB), the
    # terminal exact (the exact part took 75 kB of 100); since grid42 cut
    # the exact part to the text's own pixels (45 kB), 68, 70 and 74 kB.
    frame = wallpaper(grain)
    x, y, w, h = WIN
    frame[y : y + h, x : x + w] = kept_screen(6.0, True)[y : y + h, x : x + w]
    size, picture = keyframe(frame)
    assert np.array_equal(picture[y : y + h, x : x + w, :3], frame[y : y + h, x : x + w, :3])
    assert size <= 2.2 * ALLOWANCE, size
