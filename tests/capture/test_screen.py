"""Real capture through mss from a private Xvfb (see tests/conftest.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest

from screencodec.capture import ScreenSource, has_display, list_monitors, open_source
from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.errors import CaptureError
from screencodec.geometry import Rect

if TYPE_CHECKING:
    from conftest import Painter

W, H = 1280, 720  # the xvfb_display fixture's screen


def bgr(frame: np.ndarray, x: int, y: int) -> tuple[int, int, int]:
    b, g, r = (int(v) for v in frame[y, x, :3])
    return r, g, b


def test_monitors_describe_the_xvfb_screen(xvfb_display: str) -> None:
    with ScreenSource(display=xvfb_display) as src:
        mons = src.monitors
        assert len(mons) >= 2
        assert (mons[0].left, mons[0].top, mons[0].width, mons[0].height) == (0, 0, W, H)
        assert (mons[1].width, mons[1].height) == (W, H)
        assert (src.width, src.height) == (W, H)
    assert [m.rect for m in list_monitors(display=xvfb_display)] == [m.rect for m in mons]


def test_grab_shape_dtype_and_known_pixels(x_painter: Painter) -> None:
    x_painter.fill(Rect(100, 50, 40, 30), (255, 0, 0))
    x_painter.fill(Rect(700, 400, 10, 10), (12, 200, 99))
    with ScreenSource(1, display=x_painter.display) as src:
        frame = src.grab()
    assert frame.shape == (H, W, 4)
    assert frame.dtype == np.uint8
    # B is byte 0: pure red is (0, 0, 255) in memory.
    assert tuple(frame[60, 110, :3]) == (0, 0, 255)
    assert bgr(frame, 100, 50) == (255, 0, 0)
    assert bgr(frame, 139, 79) == (255, 0, 0)
    assert bgr(frame, 140, 79) == (0, 0, 0)  # just outside the rectangle
    assert bgr(frame, 99, 50) == (0, 0, 0)
    assert bgr(frame, 705, 405) == (12, 200, 99)
    red = np.all(frame[..., :3] == (0, 0, 255), axis=-1)
    assert int(red.sum()) == 40 * 30


def test_grabs_are_fresh_buffers(x_painter: Painter) -> None:
    """What lets a host give its frames up to the encoder (keep=True): each
    grab is a new writable C-contiguous array that no later grab touches."""
    x_painter.fill(Rect(0, 0, 8, 8), (9, 9, 9))
    with ScreenSource(display=x_painter.display) as src:
        assert src.fresh_buffers
        first = src.grab()
        second = src.grab()
        assert not np.shares_memory(first, second)
        assert first.flags.writeable and first.flags.c_contiguous
        x_painter.fill(Rect(0, 0, 8, 8), (1, 2, 3))
        third = src.grab()
    assert bgr(first, 3, 3) == (9, 9, 9) and bgr(third, 3, 3) == (1, 2, 3)
    assert not np.shares_memory(third, first) and not np.shares_memory(third, second)


def test_grab_sees_the_screen_change(x_painter: Painter) -> None:
    with ScreenSource(display=x_painter.display) as src:
        before = src.grab().copy()
        x_painter.fill(Rect(0, 0, 8, 8), (1, 2, 3))
        after = src.grab()
    assert bgr(before, 3, 3) == (0, 0, 0)
    assert bgr(after, 3, 3) == (1, 2, 3)


def test_region_returns_exactly_its_pixels(x_painter: Painter) -> None:
    rng = np.random.default_rng(1)
    for y in range(200, 260, 10):
        for x in range(300, 400, 10):
            x_painter.fill(Rect(x, y, 10, 10), tuple(int(v) for v in rng.integers(0, 256, 3)))
    region = Rect(305, 203, 77, 41)
    with ScreenSource(display=x_painter.display) as full_src:
        full = full_src.grab().copy()
    with ScreenSource(region=region, display=x_painter.display) as src:
        assert (src.width, src.height) == (77, 41)
        part = src.grab()
    assert part.shape == (41, 77, 4)
    np.testing.assert_array_equal(part[..., :3], full[region.slices()][..., :3])
    assert len(np.unique(part[..., :3].reshape(-1, 3), axis=0)) > 10


def test_select_monitor_switches_mid_stream(x_painter: Painter) -> None:
    with ScreenSource(region=Rect(0, 0, 64, 32), display=x_painter.display) as src:
        assert src.grab().shape == (32, 64, 4)
        src.select_monitor(0)
        assert src.grab().shape == (H, W, 4)
        with pytest.raises(CaptureError, match="out of range"):
            src.select_monitor(len(src.monitors))
        assert src.grab().shape == (H, W, 4)  # a refused switch changes nothing


@pytest.mark.parametrize("index", [-1, 2, 99])
def test_monitor_index_out_of_range(xvfb_display: str, index: int) -> None:
    with pytest.raises(CaptureError, match="out of range"):
        ScreenSource(index, display=xvfb_display)


@pytest.mark.parametrize(
    "region",
    [Rect(W - 10, 0, 11, 10), Rect(-1, 0, 10, 10), Rect(0, H, 10, 1), Rect(5, 5, 0, 10)],
)
def test_region_outside_the_screen(xvfb_display: str, region: Rect) -> None:
    with pytest.raises(CaptureError, match="not inside the screen"):
        ScreenSource(region=region, display=xvfb_display)


def test_no_display_is_a_capture_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(CaptureError, match="cannot open the screen") as info:
        ScreenSource()
    assert isinstance(info.value, OSError)
    with pytest.raises(CaptureError):
        ScreenSource(display=":4095")  # nothing listens there
    assert not has_display()


def test_grab_after_close(xvfb_display: str) -> None:
    src = ScreenSource(display=xvfb_display)
    src.close()
    src.close()  # idempotent
    with pytest.raises(CaptureError, match="closed"):
        src.grab()
    assert src.cursor() is None


def test_xfixes_cursor_follows_the_pointer(x_painter: Painter) -> None:
    assert x_painter.has_extension("XFIXES")  # Xvfb always builds it in
    x_painter.warp_pointer(321, 123)
    with ScreenSource(display=x_painter.display) as src:
        state = src.cursor()
        assert state is not None
        assert (state.x, state.y) == (321, 123)
        assert state.visible
        shape = state.shape
        assert shape is not None
        assert shape.ndim == 3
        assert shape.shape[2] == 4
        assert shape.dtype == np.uint8
        assert 0 <= state.hotspot[0] < shape.shape[1]
        assert 0 <= state.hotspot[1] < shape.shape[0]
        assert shape[..., 3].max() == 255  # Xvfb's default cursor has opaque pixels
        # Straight alpha: no colour where nothing shows.
        assert not shape[..., :3][shape[..., 3] == 0].any()
    with ScreenSource(region=Rect(300, 100, 50, 50), display=x_painter.display) as src:
        state = src.cursor()
        assert state is not None
        assert (state.x, state.y, state.visible) == (21, 23, True)
        src.select_region(Rect(0, 0, 50, 50))
        state = src.cursor()
        assert state is not None
        assert state.visible is False


def test_open_source_picks_the_screen_when_there_is_one(
    xvfb_display: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISPLAY", xvfb_display)
    assert has_display()
    with open_source() as src:
        assert isinstance(src, ScreenSource)
        assert src.grab().shape == (H, W, 4)
    with open_source("auto", monitor=0, width=128, height=96) as src:
        assert isinstance(src, ScreenSource)


def test_open_source_falls_back_to_synthetic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    with open_source("auto", width=128, height=96, scenario="idle") as src:
        assert isinstance(src, SyntheticDesktop)
        assert src.grab().shape == (96, 128, 4)
    with pytest.raises(CaptureError):
        open_source("screen")
    with pytest.raises(ValueError, match="unknown source kind"):
        open_source("webcam")
