"""The 2-D search's tables are given back once a drag is over.

They grow to what the largest search needed (megabytes for a window dragged
across a wide screen); a session that dragged one window must not hold that
for the rest of its life. Through a real encoder and decoder: a dragged
window is one COPY, the tables are held while the drag goes on and for
``_TABLES_IDLE`` updates after its last 2-D search, then given back, and a later drag finds
the window again (exact, one COPY) with fresh tables.
"""

from __future__ import annotations

import numpy as np

from screencodec.motion import detect

from .motion_helpers import make_pair, noise, roundtrip, textish

W, H = 960, 600
#: the shift vote slots (48 kB) that every SegmentTables holds from the start
_SMALL = 64 * 1024


def _frame(bg: np.ndarray, win: np.ndarray, x: int, y: int, caret: int) -> np.ndarray:
    f = bg.copy()
    h, w = win.shape[:2]
    f[y : y + h, x : x + w] = win
    f[8:20, 8 + 10 * (caret % 40) : 16 + 10 * (caret % 40), :3] = 0  # typing elsewhere
    return f


def test_tables_given_back_after_a_drag_and_made_again() -> None:
    rng = np.random.default_rng(7)
    bg, win = textish(rng, H, W), noise(rng, 300, 420)
    enc, dec = make_pair(W, H)
    stage = enc.motion_stage
    assert stage is not None and stage.scratch_bytes <= _SMALL  # nothing reserved yet
    roundtrip(enc, dec, _frame(bg, win, 40, 60, 0))
    x, y = 40, 60
    for i in range(6):  # a diagonal drag by a hand, its step never guessed
        x, y = (x + 24, y + 16) if i % 2 == 0 else (x + 31, y + 9)
        copies, _ = roundtrip(enc, dec, _frame(bg, win, x, y, 0))
        assert copies == 1, (i, copies)
        assert stage.last.searches == 1, i  # the tables were used this update
    held = stage.scratch_bytes
    assert held >= 256 * 1024, held
    # The drag is over; typing goes on. Held up to the idle limit, then freed.
    for i in range(1, detect._TABLES_IDLE):
        roundtrip(enc, dec, _frame(bg, win, x, y, i))
        assert stage.scratch_bytes == held, i
    roundtrip(enc, dec, _frame(bg, win, x, y, detect._TABLES_IDLE))
    assert stage.scratch_bytes <= _SMALL
    # A new drag: one COPY again, exact, with tables made anew.
    for i in range(3):
        x, y = x + 24, y - 16
        copies, _ = roundtrip(enc, dec, _frame(bg, win, x, y, 0))
        assert copies == 1, (i, copies)
    assert stage.scratch_bytes >= 256 * 1024
