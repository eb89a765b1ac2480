"""Capture cost against its floors, measured in the same run.

* ``ScreenSource.grab`` on a private Xvfb (1920x1080) against a plain
  ``mss`` grab of the same area on its own connection: what our capture adds
  to mss (the full screen, and an 800x600 region);
* the synthetic desktop's ``grab`` (the codec benchmarks grab thousands of
  frames) against copying a frame of the same size: the memory floor of
  producing one.

Each ratio comes from calls alternating with the baseline (load from other
processes hits both alike), is stored in ``extra_info`` and printed in a table
at the end. Run by ``make bench``; not part of ``make test``. Xvfb is required.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from _report import write_lines
from screencodec.capture import ScreenSource, SyntheticDesktop, scenario_names
from screencodec.capture.xvfb import private_xvfb
from screencodec.geometry import Rect

SIZES = {"1080p": (1920, 1080), "4k": (3840, 2160)}
RATIOS: dict[str, tuple[float, float, float]] = {}  # case -> (ours s, baseline s, ratio)


def interleaved(
    ours: Callable[[], object], base: Callable[[], object], rounds: int
) -> tuple[float, float]:
    """Best times of ``ours`` and ``base`` from alternating calls."""
    best_a = best_b = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        base()
        t1 = time.perf_counter()
        ours()
        t2 = time.perf_counter()
        best_b, best_a = min(best_b, t1 - t0), min(best_a, t2 - t1)
    return best_a, best_b


def record(benchmark: Any, case: str, baseline: str, times: tuple[float, float]) -> float:
    ours, base = times
    benchmark.extra_info[f"x_{baseline}"] = round(ours / base, 3)
    benchmark.extra_info[f"{baseline}_ms"] = round(base * 1e3, 3)
    RATIOS[f"{case} / {baseline}"] = (ours, base, ours / base)
    return ours / base


@pytest.fixture(scope="module", autouse=True)
def ratio_table(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if RATIOS:
        write_lines(request, [
            "capture: best time / same-run baseline's best (alternating calls)",
            *(f"  {case:50s} {ours * 1e3:8.3f} ms / {base * 1e3:8.3f} ms = {ratio:6.2f}x"
              for case, (ours, base, ratio) in RATIOS.items()),
        ])  # fmt: skip


@pytest.fixture(scope="module")
def xvfb() -> Iterator[str]:
    with private_xvfb(1920, 1080) as display:
        yield display


AREAS = {"screen": None, "region800x600": Rect(100, 100, 800, 600)}


@pytest.mark.parametrize("area", list(AREAS))
def test_screen_grab_vs_mss(benchmark: BenchmarkFixture, xvfb: str, area: str) -> None:
    import mss

    region = AREAS[area]
    src = ScreenSource(1, region=region, display=xvfb)
    factory = getattr(mss, "MSS", None) or mss.mss
    sct = factory(display=xvfb)
    box = src.box
    mon = {"left": box.x, "top": box.y, "width": box.w, "height": box.h}
    try:
        frame = benchmark.pedantic(src.grab, rounds=100, warmup_rounds=5)
        plain = sct.grab(mon)
        assert frame.shape == (box.h, box.w, 4)
        assert bytes(plain.raw) == frame.tobytes()  # the same pixels, the same layout
        record(
            benchmark,
            f"ScreenSource {area}",
            "mss grab",
            interleaved(src.grab, lambda: sct.grab(mon), 100),
        )
    finally:
        sct.close()
        src.close()


@pytest.mark.parametrize("mode", ["full", "incremental"])
@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("scenario", scenario_names())
def test_grab(benchmark: BenchmarkFixture, scenario: str, size: str, mode: str) -> None:
    w, h = SIZES[size]
    src = SyntheticDesktop(w, h, scenario=scenario, seed=0, incremental=mode == "incremental")
    for _ in range(30):  # warm the text caches, as a long run would be
        src.grab()
    rounds = 200 if size == "1080p" else 60
    frame = benchmark.pedantic(src.grab, rounds=rounds, warmup_rounds=5)
    assert frame.shape == (h, w, 4)
    # The floor: writing every byte of a frame this size (one copy).
    source, target = np.ones((h, w, 4), np.uint8), np.empty((h, w, 4), np.uint8)
    times = interleaved(src.grab, lambda: np.copyto(target, source), rounds // 2)
    record(benchmark, f"synthetic {scenario} {size} {mode}", "frame copy", times)
