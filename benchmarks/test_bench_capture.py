"""grab() cost per synthetic scenario (the codec benchmarks grab thousands of frames).

Run by ``make bench``; not part of ``make test``.
"""

from __future__ import annotations

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from screencodec.capture import SyntheticDesktop, scenario_names

SIZES = {"1080p": (1920, 1080), "4k": (3840, 2160)}


@pytest.mark.parametrize("mode", ["full", "incremental"])
@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("scenario", scenario_names())
def test_grab(benchmark: BenchmarkFixture, scenario: str, size: str, mode: str) -> None:
    src = SyntheticDesktop(
        *SIZES[size], scenario=scenario, seed=0, incremental=mode == "incremental"
    )
    for _ in range(30):  # warm the text caches, as a long run would be
        src.grab()
    frame = benchmark.pedantic(src.grab, rounds=200 if size == "1080p" else 60, warmup_rounds=5)
    assert frame.shape == (SIZES[size][1], SIZES[size][0], 4)
