"""Video-region detection: film becomes video; typing, scrolling and drags never do."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.damage import subtract_rects as subtract
from screencodec.damage import tile_diff
from screencodec.encoder import ScreenEncoder
from screencodec.geometry import Rect
from screencodec.video.regions import DetectorOptions, RegionDetector, looks_like_text

from .helpers import film, text_desktop


@pytest.mark.parametrize("name", ["typing", "terminal", "browser", "drag", "idle"])
def test_desktop_activity_never_becomes_video(name: str) -> None:
    src = SyntheticDesktop(640, 360, scenario=name)
    enc = ScreenEncoder(640, 360, video=True)
    assert enc.video_stage is not None
    for i in range(75):
        enc.encode(src.frame_at(i), now=i / 30)
        assert enc.video_stage.regions == [], f"{name} frame {i} became video"


def test_playing_video_is_found_with_pixel_exact_bounds() -> None:
    src = SyntheticDesktop(640, 360, scenario="video")
    video = src.layout["video"]
    enc = ScreenEncoder(640, 360, video=True)
    assert enc.video_stage is not None
    first = None
    for i in range(40):
        enc.encode(src.frame_at(i), now=i / 30)
        if enc.video_stage.regions and first is None:
            first = i
    assert first is not None and first <= 1  # clearly film: at its first change
    (r,) = enc.video_stage.regions
    assert r == video  # 369 px wide: odd sizes too
    # Its controls bar (changes once a second, in tiles shared with the video) stays out.
    assert r.intersection(src.layout["controls"]).is_empty()


def test_small_or_rarely_changing_areas_are_not_video() -> None:
    bg = text_desktop(320, 240)
    det = RegionDetector(320, 240, DetectorOptions())
    prev = bg.copy()
    for i in range(30):
        f = bg.copy()
        f[10:90, 10:130] = film(120, 80, i)  # 120x80 < 128x96
        if i % 3 == 0:
            f[120:220, 100:300] = film(200, 100, i)  # only every third frame
        assert det.observe(tile_diff(prev, f, 64), f) == []
        prev = f


def test_the_frame_clock_counts_frames_so_repeated_frames_hide_a_film() -> None:
    """Without ``now``: a tile is hot once it changed in 8 of a full window of
    10 frames, and the region goes once the same bounds were seen twice. A
    60 Hz capture of a 24 fps film changes in 40 % of the frames: never found
    on that clock (the time clock finds it: test_regions_time.py)."""
    bg = text_desktop(320, 240)

    def first_found(index_at: Callable[[int], int]) -> int | None:
        det = RegionDetector(320, 240)
        prev = bg
        for k in range(1, 61):
            f = bg.copy()
            f[20:200, 40:280] = film(240, 180, index_at(k))
            if det.observe(tile_diff(prev, f, 64), f):
                return k
            prev = f
        return None

    assert first_found(lambda k: k) == 11
    assert first_found(lambda k: k * 24 // 60) is None


def test_text_likeness() -> None:
    bg = text_desktop(256, 192)
    assert looks_like_text(bg, Rect(0, 0, 256, 192))
    clip = film(256, 192, 0)
    assert not looks_like_text(clip, Rect(0, 0, 256, 192))


def test_subtract_cuts_holes_into_disjoint_pieces() -> None:
    rects = np.array([[0, 0, 100, 100], [200, 0, 10, 10]], np.int32)
    holes = [Rect(20, 30, 40, 20), Rect(90, 90, 50, 50)]
    out = subtract(rects, holes)
    cover = np.zeros((150, 250), np.int32)
    for x, y, w, h in out:
        cover[y : y + h, x : x + w] += 1
    want = np.zeros_like(cover)
    want[0:100, 0:100] = 1
    want[0:10, 200:210] = 1
    for hole in holes:
        want[hole.slices()] = 0
    assert np.array_equal(cover, want)


def test_detector_options_are_checked() -> None:
    with pytest.raises(ValueError, match="min_hits"):
        DetectorOptions(window=4, min_hits=5)
    with pytest.raises(ValueError, match="tile"):
        DetectorOptions(tile=8)
    with pytest.raises(ValueError, match="stable"):
        DetectorOptions(stable=0)
    with pytest.raises(ValueError, match="max_gap"):
        DetectorOptions(max_gap=0)
    with pytest.raises(ValueError, match="video_share"):
        DetectorOptions(video_share=0)
