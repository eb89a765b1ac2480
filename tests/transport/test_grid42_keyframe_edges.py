"""grid42: a keyframe that is not made again (its text exact, its stills at
the usual floor) has a terminal's text exact to its last pixel, as a remade
one has (``plan._slivers``, review42).

Found: its text cells were trimmed to their lines and the glyph pixels
beside them, on a terminal's edge rows, stayed in the still until refined:
on test_join_picture's grainy 1080p screen 125-128 pixels at 2 and 4 Mbit/s
(the terminal exact after 150 updates at 4 Mbit/s, not after 200 at 2), and
143-144 of a 160x96 terminal 1 px off the grid on a 333x211 screen (exact
after 28 updates at 1 Mbit/s, not after 90 at 0.25). The encoder and
decoder are the real ones."""

from __future__ import annotations

import numpy as np
import pytest

from screencodec.decoder import ScreenDecoder
from screencodec.encoder import ScreenEncoder

from .test_join_picture import WIN, Frame, kept_screen, kept_wallpaper

pytest.importorskip("av")


def first_picture(frame: Frame, rate: float) -> Frame:
    """The picture the first update at ``rate`` decodes to."""
    h, w = frame.shape[:2]
    with ScreenEncoder(w, h, video=True, video_chroma="444", lossy=True) as enc:
        enc.set_rate(rate, interval=1 / 30)
        data = enc.encode(frame.copy())
        assert enc.last.lossy_pixels > 0  # the wallpaper in stills: not all exact anyway
    return np.array(ScreenDecoder().decode(data))


def lossy(picture: Frame, frame: Frame, win: tuple[int, int, int, int]) -> int:
    x, y, w, h = win
    part = (slice(y, y + h), slice(x, x + w), slice(0, 3))
    return int(np.any(picture[part] != frame[part], axis=2).sum())


@pytest.mark.parametrize("rate", [2e6, 4e6])
def test_a_grainy_join_pictures_terminal_is_exact_to_its_edges(rate: float) -> None:
    frame = kept_screen(6.0, True)
    assert lossy(first_picture(frame, rate), frame, WIN) == 0


@pytest.mark.parametrize("rate", [0.25e6, 1e6])
def test_a_small_screens_keyframe_has_its_terminal_exact_off_the_grid(rate: float) -> None:
    # review42's: a 160x96 terminal at (67, 43) on a 333x211 grainy screen.
    x, y = WIN[:2]
    frame = kept_wallpaper(6.0)[:211, :333].copy()
    frame[43 : 43 + 96, 67 : 67 + 160] = kept_screen(6.0, True)[y : y + 96, x : x + 160]
    assert lossy(first_picture(frame, rate), frame, (67, 43, 160, 96)) == 0
