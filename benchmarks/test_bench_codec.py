"""The lossless codec on every synthetic scenario, against its same-run baselines.

Run with ``make bench``. Reuses ``screencodec.bench`` (what ``screencodec bench``
prints), so the CLI table and this suite measure the same thing: per-frame
encode and decode medians on one thread, bytes per frame, and each as a ratio to
full-frame zstd level 1 of the same frames and to a plain 64x64-tile codec.
Times are reported, not asserted (they depend on the machine); the byte targets
and bit-exactness are asserted.
"""

from __future__ import annotations

import pytest

from screencodec import bench
from screencodec.capture import scenario_names

FRAMES = 31


@pytest.fixture(scope="module", params=["1080p", "4K"])
def resolution(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize("scenario", scenario_names())
def test_scenario(benchmark, resolution: str, scenario: str) -> None:  # type: ignore[no-untyped-def]
    width, height = bench.RESOLUTIONS[resolution]
    frames = bench.grab_frames(scenario, width, height, FRAMES if resolution == "1080p" else 9)
    result = benchmark.pedantic(
        bench.bench_scenario, args=(scenario, resolution, frames), rounds=1, iterations=1
    )
    benchmark.extra_info.update(
        encode_ms=result.encode_ms,
        decode_ms=result.decode_ms,
        bytes_per_frame=result.bytes_per_frame,
        zstd_ms=result.zstd_ms,
        **result.ratios,
    )
    print(f"\n{bench.format_table([result])}")
    assert result.exact
    if scenario == "typing":
        tiles = result.ratios["bytes/tiles64"]
        assert tiles is not None and tiles <= 0.5  # at most half a plain tile codec


@pytest.mark.parametrize("resolution_name", ["1080p", "4K"])
def test_change_detection(benchmark, resolution_name: str) -> None:  # type: ignore[no-untyped-def]
    result = benchmark.pedantic(bench.bench_detection, args=(resolution_name,), rounds=1)
    benchmark.extra_info.update(result.ratios)
    print(f"\n{bench.format_detection([result])}")


def test_thread_scaling(benchmark) -> None:  # type: ignore[no-untyped-def]
    result = benchmark.pedantic(bench.bench_scaling, args=("4K",), rounds=1)
    benchmark.extra_info.update(speedup=result.speedup)
    assert result.speedup > 1.0 or result.threads == 1
