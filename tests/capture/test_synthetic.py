"""The synthetic desktop: validation, determinism, sizes, padding, cursor, ground truth."""

from __future__ import annotations

import numpy as np
import pytest

from screencodec.capture import SCENARIOS, SyntheticDesktop, scenario_names
from screencodec.errors import CaptureError, FrameError
from screencodec.geometry import Rect

ALL = scenario_names()


def test_registry() -> None:
    assert ALL == ["typing", "terminal", "browser", "drag", "video", "idle"]
    assert list(SCENARIOS) == ALL
    for name, cls in SCENARIOS.items():
        assert cls.name == name
        assert cls.summary


@pytest.mark.parametrize(
    ("size", "kw"),
    [
        ((63, 64), {}),
        ((64, 63), {}),
        ((3841, 2160), {}),
        ((3840, 2161), {}),
        ((0, 0), {}),
        ((640, 480), {"scenario": "spreadsheet"}),
        ((640, 480), {"fps": 0}),
    ],
)
def test_invalid_arguments(size: tuple[int, int], kw: dict[str, object]) -> None:
    with pytest.raises(FrameError) as info:
        SyntheticDesktop(*size, **kw)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)
    # check() refuses with the same words, without making a desktop (the
    # host checks its --size and --scenario with it at start: startup39).
    with pytest.raises(FrameError) as checked:
        SyntheticDesktop.check(*size, **kw)  # type: ignore[arg-type]
    assert str(checked.value) == str(info.value)


def test_check_passes_what_can_be_made() -> None:
    for scenario in scenario_names():
        assert SyntheticDesktop.check(64, 64, scenario=scenario) is None
        assert SyntheticDesktop.check(3840, 2160, scenario=scenario, fps=1) is None


def test_non_int_size() -> None:
    with pytest.raises(FrameError, match="must be int"):
        SyntheticDesktop(640.0, 480)  # type: ignore[arg-type]
    with pytest.raises(FrameError, match="must be int"):
        SyntheticDesktop.check(640.0, 480)  # type: ignore[arg-type]


@pytest.mark.parametrize("scenario", ALL)
def test_same_seed_same_frames_other_seed_other_frames(scenario: str) -> None:
    a = SyntheticDesktop(320, 200, scenario=scenario, seed=7)
    b = SyntheticDesktop(320, 200, scenario=scenario, seed=7)
    c = SyntheticDesktop(320, 200, scenario=scenario, seed=8)
    for _ in range(12):
        fa = a.grab().copy()
        assert np.array_equal(fa, b.grab())
    assert not np.array_equal(a.frame_at(0), c.frame_at(0))


@pytest.mark.parametrize("scenario", ALL)
def test_random_access_matches_sequential(scenario: str) -> None:
    seq = SyntheticDesktop(400, 300, scenario=scenario, seed=3)
    frames = [seq.grab().copy() for _ in range(40)]
    rnd = SyntheticDesktop(400, 300, scenario=scenario, seed=3)
    for i in (39, 5, 17, 0, 38):
        assert np.array_equal(rnd.frame_at(i), frames[i]), f"frame {i}"
    assert rnd.frame_index == 39
    rnd.reset()
    assert np.array_equal(rnd.grab(), frames[0])


@pytest.mark.parametrize("scenario", ALL)
def test_incremental_frames_are_the_full_frames(scenario: str) -> None:
    full = SyntheticDesktop(480, 320, scenario=scenario, seed=12, junk_padding=True)
    inc = SyntheticDesktop(
        480, 320, scenario=scenario, seed=12, junk_padding=True, incremental=True
    )
    for i in [*range(45), 90, 91, 92, 10, 11]:  # sequential runs and seeks
        assert np.array_equal(inc.frame_at(i), full.frame_at(i)), f"frame {i}"


@pytest.mark.parametrize("size", [(64, 64), (97, 71), (1280, 720), (3840, 64), (64, 2160)])
@pytest.mark.parametrize("scenario", ALL)
def test_sizes(scenario: str, size: tuple[int, int]) -> None:
    w, h = size
    with SyntheticDesktop(w, h, scenario=scenario) as src:
        assert (src.width, src.height) == (w, h)
        assert [m.rect for m in src.monitors] == [Rect(0, 0, w, h)] * 2
        for _ in range(3):
            frame = src.grab()
            assert frame.shape == (h, w, 4)
            assert frame.dtype == np.uint8
            assert frame.flags.c_contiguous
            assert not frame[..., 3].any()  # padding is 0 unless junk_padding
        for rect in src.layout.values():
            assert Rect(0, 0, w, h).contains(rect), rect


@pytest.mark.parametrize("scenario", ALL)
def test_4k(scenario: str) -> None:
    src = SyntheticDesktop(3840, 2160, scenario=scenario, seed=1)
    frame = src.frame_at(45)
    assert frame.shape == (2160, 3840, 4)
    # A real picture, not a blank: many colours. Each sampled pixel's RGB as
    # one number: np.unique over rows (axis=0) took 0.2-0.5 s a scenario.
    sample = frame[::7, ::7, :3].astype(np.uint32)
    rgb = sample[..., 0] << 16 | sample[..., 1] << 8 | sample[..., 2]
    assert len(np.unique(rgb)) > 200


def test_grab_reuses_one_buffer() -> None:
    src = SyntheticDesktop(200, 150, scenario="video")
    a = src.grab()
    kept = a.copy()
    b = src.grab()
    assert a is b
    assert not np.array_equal(kept, b)  # overwritten, as documented


def test_junk_padding_changes_only_the_padding() -> None:
    clean = SyntheticDesktop(320, 240, scenario="browser", seed=5)
    junk = SyntheticDesktop(320, 240, scenario="browser", seed=5, junk_padding=True)
    pads = []
    for _ in range(3):
        c, j = clean.grab(), junk.grab()
        assert np.array_equal(c[..., :3], j[..., :3])
        assert len(np.unique(j[..., 3])) > 200
        pads.append(j[..., 3].copy())
    assert not np.array_equal(pads[0], pads[1])
    assert not np.array_equal(pads[1], pads[2])


def test_frame_index_and_errors() -> None:
    src = SyntheticDesktop(128, 128, scenario="idle")
    assert src.frame_index == 0
    src.grab()
    src.grab()
    assert src.frame_index == 2
    with pytest.raises(FrameError):
        src.frame_at(-1)
    src.close()
    with pytest.raises(CaptureError, match="closed"):
        src.grab()
    assert "idle" in repr(src)


@pytest.mark.parametrize("scenario", ALL)
def test_cursor_is_an_arrow_on_screen(scenario: str) -> None:
    src = SyntheticDesktop(640, 400, scenario=scenario)
    src.grab()
    state = src.cursor()
    assert 0 <= state.x < 640
    assert 0 <= state.y < 400
    assert state.hotspot == (0, 0)
    assert state.shape is not None
    h, w, c = state.shape.shape
    assert c == 4
    assert 8 <= h <= 64
    assert 8 <= w <= 64
    alpha = state.shape[..., 3]
    assert alpha[0, 0] == 255  # the tip is the hotspot
    assert (alpha == 0).any()
    assert (alpha == 255).any()
    # White body, black outline.
    assert (state.shape[..., :3][alpha == 255] == 255).any()
    assert (state.shape[..., :3][alpha == 255] == 0).any()


def test_fps_sets_the_synthetic_clock() -> None:
    """The panel clock ticks after fps frames: the wall clock plays no part."""
    for fps in (10, 25):
        src = SyntheticDesktop(640, 400, scenario="idle", fps=fps)
        clock = src.layout["clock"]
        first = src.frame_at(0)[clock.slices()].copy()
        assert np.array_equal(src.frame_at(fps - 1)[clock.slices()], first)
        assert not np.array_equal(src.frame_at(fps)[clock.slices()], first)


def test_public_api_surface() -> None:
    from screencodec import capture

    assert sorted(capture.__all__) == sorted(
        [
            "SCENARIOS",
            "CursorState",
            "FrameSequence",
            "FrameSource",
            "LiveDesktop",
            "Motion",
            "PacedSource",
            "Recording",
            "RecordingWriter",
            "ScreenSource",
            "SourceWrapper",
            "SyntheticDesktop",
            "SyntheticSequence",
            "has_display",
            "list_monitors",
            "open_source",
            "scenario_names",
            "synthetic_sequence",
        ]
    )
    for name in capture.__all__:
        assert getattr(capture, name) is not None
