"""idle51: the pointer's image is read from the X server once per change of
shape (XFixes DisplayCursorNotify), not at every poll; the position still
follows every move. On a real Xvfb with an xterm (its I-beam) on a black
root (the server's X): xdotool moves the pointer."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator

import numpy as np
import pytest

from screencodec.capture import ScreenSource
from screencodec.capture.x11cursor import XFixesCursor
from screencodec.capture.xvfb import xvfb_xterm

SIZE = (640, 400)
AT = (20, 20)  # the xterm's top-left corner: 60x12 cells, about 370x170 px


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    with xvfb_xterm(*SIZE, at=AT) as d:
        yield d


def _move(display: str, x: int, y: int) -> None:
    subprocess.run(["xdotool", "mousemove", str(x), str(y)], check=True,
                   env={**os.environ, "DISPLAY": display})  # fmt: skip


def _until(cursor: XFixesCursor, x: int, y: int) -> tuple[np.ndarray, int]:
    """Poll until the pointer is at (x, y): its shape, and the polls it took."""
    deadline = time.monotonic() + 10
    polls = 0
    while True:
        px, py, shape, _ = cursor.query()
        polls += 1
        if (px, py) == (x, y):
            return shape, polls
        assert time.monotonic() < deadline, f"the pointer stayed at {(px, py)}, not {(x, y)}"
        time.sleep(0.01)


def test_the_image_is_read_once_while_the_shape_stays(display: str) -> None:
    _move(display, AT[0] + 60, AT[1] + 40)
    cursor = XFixesCursor(display)
    try:
        shape, _ = _until(cursor, AT[0] + 60, AT[1] + 40)
        for _ in range(100):
            x, y, again, _ = cursor.query()
            assert (x, y) == (AT[0] + 60, AT[1] + 40)
            assert again is shape
        # Every move inside the xterm is seen; the I-beam is not read again.
        for i in range(1, 11):
            _move(display, AT[0] + 60 + 7 * i, AT[1] + 40 + 3 * i)
            assert _until(cursor, AT[0] + 60 + 7 * i, AT[1] + 40 + 3 * i)[0] is shape
        assert cursor.image_reads == 1
    finally:
        cursor.close()


def test_a_change_of_shape_is_read_and_only_then(display: str) -> None:
    over_xterm, over_root = (AT[0] + 100, AT[1] + 60), (SIZE[0] - 40, SIZE[1] - 40)
    _move(display, *over_xterm)
    cursor = XFixesCursor(display)
    try:
        ibeam, _ = _until(cursor, *over_xterm)
        reads = cursor.image_reads
        _move(display, *over_root)
        cross, _ = _until(cursor, *over_root)
        # The X server's own cursor on the root, not the xterm's I-beam.
        assert cross.shape != ibeam.shape or not np.array_equal(cross, ibeam)
        assert cursor.image_reads == reads + 1
        for _ in range(20):
            assert cursor.query()[2] is cross
        _move(display, *over_xterm)
        back, _ = _until(cursor, *over_xterm)
        assert np.array_equal(back, ibeam)
        assert cursor.image_reads == reads + 2
    finally:
        cursor.close()


def test_the_source_reports_the_shape_it_read(display: str) -> None:
    """ScreenSource.cursor (the host's poll) through the tracker: the
    shape of the window under the pointer, in the captured area's terms."""
    _move(display, SIZE[0] - 30, SIZE[1] - 30)
    with contextlib.closing(XFixesCursor(display)) as fresh:
        cross = _until(fresh, SIZE[0] - 30, SIZE[1] - 30)[0]
    with ScreenSource(display=display) as src:
        state = src.cursor()
        assert state is not None and state.shape is not None
        assert (state.x, state.y, state.visible) == (SIZE[0] - 30, SIZE[1] - 30, True)
        assert np.array_equal(state.shape, cross)
