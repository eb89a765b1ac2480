"""Change detection at 1080p and 2160p, each measured against libc memcmp of the
same two frames in the same run (the physical floor: both frames must be read).

Run with ``make bench``. Each result's ``extra_info["x_memcmp"]`` holds its best
time divided by memcmp's best time, both taken in alternating calls right after
the benchmark (robust to load from other processes); a table is printed at the end.
"""

from __future__ import annotations

import time
import timeit
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from _report import write_lines
from screencodec.damage import any_change, memcmp_equal, merge_rects, tile_diff
from screencodec.damage.reference import tile_diff_numpy_fast

Frame = npt.NDArray[np.uint8]
RESOLUTIONS = {"1080p": (1080, 1920), "2160p": (2160, 3840)}


@dataclass
class Scene:
    """A previous frame and three current ones, plus memcmp's best time."""

    name: str
    prev: Frame
    cur: dict[str, Frame]
    memcmp_s: float
    ratios: dict[str, float] = field(default_factory=dict)


def make_frames(height: int, width: int) -> tuple[Frame, dict[str, Frame]]:
    rng = np.random.default_rng(0)
    prev = rng.integers(0, 256, (height, width, 4), dtype=np.uint8)
    prev[..., 3] = 255
    typed = prev.copy()
    for i in range(5):  # five 8x16 glyphs typed on one text line
        typed[400:416, 300 + 9 * i : 308 + 9 * i, :3] ^= 0x3C
    large = prev.copy()  # a window redraw over about half the screen
    large[height // 10 : height * 8 // 10, width // 20 : width * 3 // 4, :3] ^= 0x11
    # Equal colours, X bytes changed by the X server: must still report nothing.
    x_noise = prev.copy()
    x_noise[..., 3] = rng.integers(0, 256, (height, width), dtype=np.uint8)
    return prev, {"equal": prev.copy(), "typed": typed, "large": large, "x_noise": x_noise}


def best_of(func: Callable[[], object], number: int = 20, repeat: int = 15) -> float:
    return min(timeit.repeat(func, number=number, repeat=repeat)) / number


SCENES: dict[str, Scene] = {}


@pytest.fixture(scope="module", params=list(RESOLUTIONS))
def scene(request: pytest.FixtureRequest) -> Scene:
    name: str = request.param
    if name not in SCENES:
        prev, cur = make_frames(*RESOLUTIONS[name])
        base = cur["equal"]
        SCENES[name] = Scene(name, prev, cur, best_of(lambda: memcmp_equal(prev, base)))
    return SCENES[name]


@pytest.fixture(scope="module", autouse=True)
def ratio_table(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    lines = ["damage: best time as a multiple of memcmp of the same frames"]
    for scene in SCENES.values():
        lines.append(f"  {scene.name}: memcmp {scene.memcmp_s * 1e3:.3f} ms")
        lines += [f"    {case:28s} {ratio:6.2f}x" for case, ratio in scene.ratios.items()]
    write_lines(request, lines)


def interleaved_ratio(scene: Scene, func: Callable[[], object], rounds: int) -> float:
    """Best time of func over best time of memcmp, calls alternating, so that load
    from other processes on this machine hits both alike."""
    base = scene.cur["equal"]
    best_f = best_m = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        memcmp_equal(scene.prev, base)
        t1 = time.perf_counter()
        func()
        t2 = time.perf_counter()
        best_m, best_f = min(best_m, t1 - t0), min(best_f, t2 - t1)
    return best_f / best_m


def run(benchmark: Any, scene: Scene, case: str, func: Callable[[], object]) -> None:
    benchmark(func)
    rounds = max(10, int(0.5 / max(benchmark.stats.stats.min, 1e-6)))
    ratio = interleaved_ratio(scene, func, min(rounds, 400))
    benchmark.extra_info["x_memcmp"] = round(ratio, 3)
    benchmark.extra_info["x_memcmp_separate_runs"] = round(
        benchmark.stats.stats.min / scene.memcmp_s, 3
    )
    scene.ratios[case] = ratio


def test_memcmp(benchmark: Any, scene: Scene) -> None:
    cur = scene.cur["equal"]
    run(benchmark, scene, "memcmp", lambda: memcmp_equal(scene.prev, cur))


@pytest.mark.parametrize("case", ["equal", "typed", "large", "x_noise"])
@pytest.mark.parametrize("tile", [64, 16])
def test_tile_diff(benchmark: Any, scene: Scene, case: str, tile: int) -> None:
    cur = scene.cur[case]
    run(benchmark, scene, f"tile_diff {case} t{tile}", lambda: tile_diff(scene.prev, cur, tile))


@pytest.mark.parametrize("case", ["equal", "typed", "large", "x_noise"])
def test_numpy_fast(benchmark: Any, scene: Scene, case: str) -> None:
    cur = scene.cur[case]
    run(benchmark, scene, f"numpy_fast {case} t64", lambda: tile_diff_numpy_fast(scene.prev, cur))


def test_any_change_equal(benchmark: Any, scene: Scene) -> None:
    cur = scene.cur["equal"]
    run(benchmark, scene, "any_change equal", lambda: any_change(scene.prev, cur))


def test_merge_large_t16(benchmark: Any, scene: Scene) -> None:
    h, w = scene.prev.shape[:2]
    boxes = tile_diff(scene.prev, scene.cur["large"], 16)
    run(benchmark, scene, f"merge_rects {len(boxes)} boxes", lambda: merge_rects(boxes, w, h))
