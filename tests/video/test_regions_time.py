"""Video-region detection on the time clock (``observe(..., now=t)``), with an
injected clock: film is found at any capture rate within three frames of its
own rate; typing, scrolling and drags never become video."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.damage import copy_rects, merge_rects, tile_diff
from screencodec.geometry import Rect
from screencodec.motion import MotionStage
from screencodec.video.regions import DetectorOptions, RegionDetector, _label
from screencodec.video.stage import _post_copy

from .helpers import Frame, film, text_desktop

W, H = 640, 360


class Pipeline:
    """The encoder's stages in front of the detector, on a lossless reference:
    tile diff, motion (COPY ops), the damage the copies left; ``feed`` hands
    one captured frame at time ``now`` to the detector."""

    def __init__(self, first: Frame, options: DetectorOptions | None = None) -> None:
        h, w = first.shape[:2]
        self.detector = RegionDetector(w, h, options)
        self.motion = MotionStage()
        self.ref = first.copy()
        self.motion.process(self.ref, self.ref, np.array([[0, 0, w, h]], np.int32), keyframe=True)

    def feed(self, frame: Frame, now: float, *, copies: bool = True) -> list[Rect]:
        h, w = frame.shape[:2]
        boxes = tile_diff(self.ref, frame, 64)
        rects = merge_rects(boxes, w, h) if len(boxes) else boxes
        _, rects = self.motion.process(self.ref, frame, rects)
        left = _post_copy(boxes, rects)
        found = self.detector.observe(left, frame, now=now, damage=boxes if copies else None)
        if len(rects):
            copy_rects(self.ref, frame, rects)
        return found


def capture(
    scenario: str,
    fps: int,
    hz: int,
    seconds: float,
    *,
    size: tuple[int, int] = (W, H),
    seed: int = 0,
    copies: bool = True,
    options: DetectorOptions | None = None,
) -> Iterator[tuple[int, int, list[Rect], SyntheticDesktop]]:
    """A capture at ``hz`` ticks of ``scenario`` played at ``fps``: per tick
    (tick number, content frame shown, regions found, source); tick k is at
    k / hz seconds, frame 0 at tick 0 is the keyframe."""
    src = SyntheticDesktop(*size, scenario=scenario, fps=fps, seed=seed)
    pipe = Pipeline(src.frame_at(0), options)
    for k in range(1, int(seconds * hz) + 1):
        index = k * fps // hz
        yield k, index, pipe.feed(src.frame_at(index), k / hz, copies=copies), src


def even(r: Rect) -> Rect:
    return Rect(r.x, r.y, r.w & ~1, r.h & ~1)


@pytest.mark.parametrize("first_change", [True, False])
@pytest.mark.parametrize(
    ("fps", "hz"), [(24, 60), (30, 60), (24, 20), (30, 20), (30, 10), (24, 10), (20, 20)]
)
def test_film_is_found_at_its_first_or_third_change_at_any_capture_rate(
    fps: int, hz: int, first_change: bool
) -> None:
    """Clearly film goes at the first change the capture sees (``first_change``),
    or else at the third: repeated frames (a 60 Hz capture of 24 fps) are no
    evidence, a slow capture (10 Hz of 30 fps) sees a change in every tick."""
    changes, first = 0, None
    shown = 0
    opts = DetectorOptions(first_change=first_change)
    for k, index, found, src in capture("video", fps, hz, 1.0, options=opts):
        if index != shown:
            changes, shown = changes + 1, index
            first = k if first is None else first
        if found:
            assert found == [src.layout["video"]]
            assert changes == (1 if first_change else 3)
            assert first is not None
            # Three changes: two change intervals of the content (or of the
            # capture, if slower) after the first, within a tick.
            interval = math.ceil(hz / fps) / hz
            assert (k - first) / hz <= (0 if first_change else 2 * interval)
            assert k / hz <= (1 if first_change else 3) / min(fps, hz) + 1 / hz
            return
    pytest.fail("the film was not found")


@pytest.mark.parametrize(("copies", "ticks"), [(True, 1), (False, 5)])
def test_film_is_found_on_a_slow_link(copies: bool, ticks: int) -> None:
    """2 Hz ticks of a 30 fps film: a change in every tick, 0.5 s apart. With
    COPY information clearly film goes at its first change; without it a
    change counts only if it covered exactly the bounds;
    the player's clock, which changes in every other tick in tiles it shares
    with the film, spoils those changes: the fifth tick instead of the third."""
    for k, _, found, src in capture("video", 30, 2, 4.0, copies=copies):
        if found:
            assert found == [src.layout["video"]]
            assert k == ticks
            return
    pytest.fail("the film was not found")


def test_odd_bounds_are_kept_unless_even_is_asked() -> None:
    """The synthetic player's video is 369 px wide: its bounds are exact (the
    stage grows the picture, not the region); ``even`` shrinks them."""
    src = SyntheticDesktop(W, H, scenario="video", fps=30)
    video = src.layout["video"]
    assert video.w % 2 or video.h % 2
    pipe = Pipeline(src.frame_at(0), DetectorOptions(first_change=False))
    found = [pipe.feed(src.frame_at(k), k / 30) for k in range(1, 4)]
    assert found == [[], [], [video]]
    pipe = Pipeline(src.frame_at(0), DetectorOptions(even=True))
    assert pipe.feed(src.frame_at(1), 1 / 30) == [even(video)]


@pytest.mark.parametrize(("fps", "hz"), [(24, 60), (30, 10)])
def test_content_that_is_not_clearly_film_needs_the_sustain_time(fps: int, hz: int) -> None:
    opts = DetectorOptions(video_flat=0.0)  # no sampled tile counts as film
    src = SyntheticDesktop(W, H, scenario="video", fps=fps)
    pipe = Pipeline(src.frame_at(0), opts)
    first = math.ceil(hz / fps)  # the first tick that shows frame 1
    k = 0
    while not (found := pipe.feed(src.frame_at((k := k + 1) * fps // hz), k / hz)):
        assert k < 2 * hz, "not found within 2 s"
    assert found == [src.layout["video"]]
    waited = (k - first) / hz
    assert opts.sustain <= waited <= opts.sustain + math.ceil(hz / fps) / hz
    assert k - first + 1 >= opts.sustain_changes


@pytest.mark.parametrize("scenario", ["typing", "terminal", "browser", "drag"])
def test_desktop_activity_never_becomes_video(scenario: str) -> None:
    """Six captures of the scenario played at 60 fps (60, 20, 10 and 2 Hz
    with COPY information, 10 and 2 Hz without), each its own pipeline, fed
    in step: a frame two captures show is drawn once (they were six tests,
    each drawing its own; the terminal's frames cost most)."""
    captures = [(60, True), (20, True), (10, True), (2, True), (10, False), (2, False)]
    src = SyntheticDesktop(W, H, scenario=scenario, fps=60, seed=0)
    pipes = [Pipeline(src.frame_at(0)) for _ in captures]
    ticks = sorted(  # (content frame, capture, tick), tick k at k / hz seconds
        (k * 60 // hz, n, k)
        for n, (hz, _) in enumerate(captures)
        for k in range(1, int((2.5 if hz >= 20 else 6.0) * hz) + 1)
    )
    index, frame = -1, src.frame_at(0)
    for shown, n, k in ticks:
        if shown != index:
            index, frame = shown, src.frame_at(shown)
        hz, copies = captures[n]
        found = pipes[n].feed(frame, k / hz, copies=copies)
        assert found == [], f"{scenario} at {hz} Hz (copies {copies}) became video at tick {k}"


def test_a_drag_over_a_photo_wallpaper_at_1080p_is_not_video() -> None:
    """The window's corner passes through tiles whose boxes (the L of the two
    uncovered strips) still intersect; those tiles stay in their run a little
    while after the corner left, and must not make the area look still."""
    for k, _, found, _ in capture("drag", 60, 60, 0.5, size=(1920, 1080)):
        assert found == [], f"tick {k}"


def scroll_frames(step: int, n: int) -> list[Frame]:
    """A 480x300 viewport over a tall photo, scrolled by ``step`` px a frame,
    on a text desktop."""
    photo = film(480, 300 + step * n, 0)
    out = []
    for i in range(n):
        f = text_desktop(W, H)
        f[30:330, 80:560] = photo[i * step : i * step + 300]
        out.append(f)
    return out


def test_a_steady_scroll_on_a_slow_link_is_not_video_next_to_its_copies() -> None:
    """3 Hz ticks of a page of photos scrolling by 120 px a tick: the strip it
    uncovers has the same size and place in every tick, like video. The COPY
    ops beside it say it is a scroll."""
    frames = scroll_frames(120, 12)
    with_copies, blind = Pipeline(frames[0]), Pipeline(frames[0])
    fooled = False
    for k, f in enumerate(frames[1:], 1):
        assert with_copies.feed(f, k / 3) == [], f"tick {k}"
        fooled |= bool(blind.feed(f, k / 3, copies=False))
    assert fooled, "the scenario no longer shows what damage= is for"


def test_a_moving_film_is_not_video_until_it_stops_moving() -> None:
    """A playing film dragged by a few pixels per frame (no COPY can explain
    it): its bounds change with every change. Once it stays put, it is found
    within three changes."""
    bg = text_desktop(W, H)
    det = RegionDetector(W, H)
    prev = bg
    for i in range(60):  # 30 fps film, 60 Hz ticks
        x, y = 40 + min(i // 2, 20) * 5, 30 + min(i // 2, 20) * 3
        f = bg.copy()
        f[y : y + 160, x : x + 240] = film(240, 160, i // 2)
        found = det.observe(tile_diff(prev, f, 64), f, now=i / 60)
        prev = f
        if i // 2 <= 20:
            assert found == [], f"moving film reported at tick {i}"
        elif found:
            assert found == [Rect(x, y, 240, 160)]
            assert i // 2 - 20 <= 3
            return
    pytest.fail("the film was not found once it stood still")


def test_a_film_fading_in_from_black_is_found_while_it_fades_in() -> None:
    """Dark frames look flat (text-like): the verdict is taken again every
    ``recheck`` seconds, so the film is found before the fade (1 s) ends;
    without the recheck the first verdict would stand."""
    bg = text_desktop(W, H)
    frames = []
    for i in range(45):  # 30 fps film, 30 Hz ticks
        f = bg.copy()
        gain = min(1.0, i / 30) ** 2
        f[40:280, 100:500, :3] = (film(400, 240, i)[..., :3] * gain).astype(np.uint8)
        frames.append(f)

    def run(options: DetectorOptions) -> float | None:
        det = RegionDetector(W, H, options)
        prev = bg
        for i, f in enumerate(frames):
            if det.observe(tile_diff(prev, f, 64), f, now=i / 30):
                return i / 30
            prev = f
        return None

    t = run(DetectorOptions())
    assert t is not None and t < 1.0
    assert run(DetectorOptions(recheck=1e9)) is None


def test_a_region_is_reported_only_while_it_changes() -> None:
    """Once the film stops, no tick reports it, even while its tiles' runs
    last (the stage drops a still region after its refresh delay, which may
    be shorter than ``max_gap``)."""
    bg = text_desktop(W, H)
    det = RegionDetector(W, H)
    prev, seen = bg, False
    for i in range(12):
        f = bg.copy()
        f[40:280, 100:500] = film(400, 240, min(i, 5))  # still from frame 5
        found = det.observe(tile_diff(prev, f, 64), f, now=i / 30)
        seen |= bool(found)
        if i > 5:
            assert found == []
        prev = f
    assert seen


def test_a_clock_that_goes_back_is_held_at_its_latest_time() -> None:
    bg = text_desktop(W, H)
    det = RegionDetector(W, H)
    prev, found = bg, []
    for i, now in enumerate([1.0, 1.04, 0.5, 1.08, 1.12]):
        f = bg.copy()
        f[40:280, 100:500] = film(400, 240, i)
        found = det.observe(tile_diff(prev, f, 64), f, now=now)
        prev = f
    assert found == [Rect(100, 40, 400, 240)]


def test_forget_restarts_the_runs() -> None:
    bg = text_desktop(W, H)
    det = RegionDetector(W, H)
    prev = bg
    hits = []
    for i in range(8):
        if i == 4:
            det.forget(Rect(100, 40, 400, 240))
        f = bg.copy()
        f[40:280, 100:500] = film(400, 240, i)
        hits.append(bool(det.observe(tile_diff(prev, f, 64), f, now=i / 30)))
        prev = f
    # Found at the third change; forgotten at the fifth, found again at the seventh.
    assert hits == [False, False, True, True, False, False, True, True]


def flood_fill(mask: np.ndarray) -> list[set[tuple[int, int]]]:
    h, w = mask.shape
    seen: set[tuple[int, int]] = set()
    parts = []
    for start in zip(*np.nonzero(mask), strict=True):
        s = (int(start[0]), int(start[1]))
        if s in seen:
            continue
        part, stack = {s}, [s]
        seen.add(s)
        while stack:
            y, x = stack.pop()
            for n in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= n[0] < h and 0 <= n[1] < w and mask[n] and n not in seen:
                    seen.add(n)
                    part.add(n)
                    stack.append(n)
        parts.append(part)
    return parts


@pytest.mark.parametrize("density", [0.2, 0.45, 0.6, 0.9])
def test_component_labels_match_a_flood_fill(density: float) -> None:
    rng = np.random.default_rng(int(density * 100))
    for _ in range(20):
        mask = rng.random((17, 30)) < density
        labels, n = _label(mask)
        parts = flood_fill(mask)
        assert n == len(parts)
        assert {frozenset(zip(*np.nonzero(labels == i), strict=True)) for i in range(1, n + 1)} == {
            frozenset(p) for p in parts
        }
        assert not labels[~mask].any()


def test_a_snake_across_a_4k_grid_is_one_component() -> None:
    mask = np.zeros((34, 60), np.bool_)
    mask[::2] = True
    mask[1::4, -1] = True
    mask[3::4, 0] = True
    labels, n = _label(mask)
    assert n == 1 and (labels[mask] == 1).all()
