"""The bench's time to exact of the still pixels beside a film (video47):
``extra["beside_exact_ms"]``, from the framebuffer samples."""

from __future__ import annotations

import numpy as np

from screencodec.linkbench.metrics import BesideExact


def _frame(film: int, text: int) -> np.ndarray:
    f = np.zeros((8, 16, 4), np.uint8)
    f[:, :8, :3] = film  # changes in every source frame: never counted
    f[:, 8:, :3] = text
    return f


def test_the_still_pixels_count_from_the_first_sample_that_stays_exact() -> None:
    b = BesideExact()
    src = [_frame(i, 200) for i in range(5)]
    shown = [_frame(0, 190), _frame(9, 200), _frame(9, 199), _frame(9, 200), _frame(9, 200)]
    shown[3][0, 8, 3] = 7  # the 4th byte is padding: not compared
    for t, (fb, s) in enumerate(zip(shown, src, strict=True)):
        b.add(0.5 * t, fb, s)
    assert b.at() == 1.5  # the 2nd sample was exact, the 3rd not


def test_none_when_the_last_sample_is_not_exact_or_nothing_is_still() -> None:
    b = BesideExact()
    b.add(0.0, _frame(0, 200), _frame(0, 200))
    b.add(1.0, _frame(1, 201), _frame(1, 200))
    assert b.at() is None
    b = BesideExact()
    b.add(0.0, _frame(0, 0), _frame(0, 0))
    b.add(1.0, _frame(1, 1), _frame(1, 1))
    assert b.at() is None
    assert BesideExact().at() is None
