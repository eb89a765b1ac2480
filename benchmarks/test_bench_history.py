"""History compression (ZSTREAM) at 1080p: the same encoder with and without
``history=True``, fed the same frames in the same run.

Workloads: every scenario of the synthetic desktop, and every clip of the
real-screen corpus in ``corpus/`` when there is one (terminal-log, vim-typing,
browser-scroll, window-drag, idle; ``make corpus``). Both encoders run on one
thread, encode each frame in turn (alternating which goes first) and each has
its own decoder; every decoded frame is checked bit-exact. Reported per
workload: the delta updates' rate in kbit/s at the workload's frame rate
(the keyframe apart, in kB), the ratio with/without, and the median and mean
encode and decode times per update. Targets, as ratios to the encoder without
history in the same run: a scrolling build log (corpus/terminal-log) at most
0.15x the bytes (0.10x measured); no workload more than 1.02x. Run with ``make bench`` or
``pytest benchmarks/test_bench_history.py -s``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from _report import CORPUS
from screencodec.capture.replay import Recording
from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.decoder import ScreenDecoder
from screencodec.encoder import ScreenEncoder
from screencodec.wire import Op

Frame = npt.NDArray[np.uint8]

W, H = 1920, 1080
SYNTHETIC_FRAMES = 120  # after the keyframe
SCENARIOS = ["typing", "terminal", "browser", "drag", "video", "idle"]
CLIPS = ["terminal-log", "vim-typing", "browser-scroll", "window-drag", "idle"]
#: Targets, as byte ratios to the encoder without history in the same run.
TARGETS = {"corpus/terminal-log": 0.15}
TARGET_ANY = 1.02


@dataclass
class Side:
    """One encoder's figures over a workload (delta updates only)."""

    keyframe: int = 0
    sizes: list[int] = field(default_factory=list)
    enc: list[float] = field(default_factory=list)
    dec: list[float] = field(default_factory=list)
    streamed: int = 0  # ZSTREAM ops

    def kbps(self, fps: float) -> float:
        return sum(self.sizes) * 8 * fps / len(self.sizes) / 1000


@dataclass
class Run:
    name: str
    fps: float
    off: Side = field(default_factory=Side)
    on: Side = field(default_factory=Side)

    @property
    def ratio(self) -> float:
        return sum(self.on.sizes) / max(1, sum(self.off.sizes))

    def row(self) -> str:
        def ms(v: list[float]) -> str:
            return f"{statistics.median(v) * 1e3:.2f} / {statistics.fmean(v) * 1e3:.2f}"

        return (
            f"| {self.name} | {self.off.kbps(self.fps):,.0f} | {self.on.kbps(self.fps):,.0f} | "
            f"{self.ratio:.3f} | {self.off.keyframe / 1000:.0f} / {self.on.keyframe / 1000:.0f} | "
            f"{ms(self.off.enc)} | {ms(self.on.enc)} | {ms(self.off.dec)} | {ms(self.on.dec)} | "
            f"{self.on.streamed / len(self.on.sizes):.1f} |"
        )


def run_workload(name: str, fps: float, frames: Iterator[Frame]) -> Run:
    run = Run(name, fps)
    sides = [
        (run.off, ScreenEncoder(W, H, threads=1), ScreenDecoder()),
        (run.on, ScreenEncoder(W, H, threads=1, history=True), ScreenDecoder()),
    ]
    for i, frame in enumerate(frames):
        for side, enc, dec in sides if i % 2 else sides[::-1]:
            t0 = time.perf_counter()
            data = enc.encode(frame)
            t1 = time.perf_counter()
            fb = dec.decode(data)
            t2 = time.perf_counter()
            assert np.array_equal(fb[..., :3], frame[..., :3]), f"{name} frame {i}"
            if i == 0:
                side.keyframe = len(data)
                continue
            side.sizes.append(len(data))
            side.enc.append(t1 - t0)
            side.dec.append(t2 - t1)
            side.streamed += enc.last.ops.get(Op.ZSTREAM, 0)
    for _, enc, _ in sides:
        enc.close()
    return run


def _synthetic(scenario: str) -> tuple[float, Iterator[Frame]]:
    src = SyntheticDesktop(W, H, scenario=scenario, seed=0)
    return src.fps, (src.frame_at(i) for i in range(SYNTHETIC_FRAMES + 1))


def _recorded(clip: str) -> tuple[float, Iterator[Frame]]:
    rec = Recording.open(CORPUS / clip)
    if (rec.width, rec.height) != (W, H):
        pytest.skip(f"corpus/{clip} is {rec.width}x{rec.height}, not 1080p")
    return rec.fps, (rec.frame(i) for i in range(len(rec.times)))


RUNS: dict[str, Run] = {}


@pytest.fixture(scope="module", autouse=True)
def _report() -> Any:
    yield
    if RUNS:
        print(
            "\n\n| workload | kbit/s today | kbit/s history | ratio | keyframe kB today / "
            "history | encode ms today (median / mean) | encode ms history | decode ms "
            "today | decode ms history | ZSTREAM ops/update |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
        for run in RUNS.values():
            print(run.row())


def _check(run: Run, benchmark: Any) -> None:
    RUNS[run.name] = run
    benchmark.extra_info.update(
        kbps_today=run.off.kbps(run.fps), kbps_history=run.on.kbps(run.fps), ratio=run.ratio,
        encode_ms_today=statistics.median(run.off.enc) * 1e3,
        encode_ms_history=statistics.median(run.on.enc) * 1e3,
        decode_ms_today=statistics.median(run.off.dec) * 1e3,
        decode_ms_history=statistics.median(run.on.dec) * 1e3,
    )  # fmt: skip
    assert run.ratio <= TARGETS.get(run.name, TARGET_ANY), run.row()


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_history_synthetic(scenario: str, benchmark: Any) -> None:
    fps, frames = _synthetic(scenario)
    run = benchmark.pedantic(run_workload, args=(scenario, fps, frames), rounds=1, iterations=1)
    _check(run, benchmark)


@pytest.mark.parametrize("clip", CLIPS)
def test_history_real_screen(clip: str, benchmark: Any) -> None:
    if not (CORPUS / clip / "manifest.json").exists():
        pytest.skip("no real-screen corpus in corpus/ (make corpus)")
    fps, frames = _recorded(clip)
    name = f"corpus/{clip}"
    run = benchmark.pedantic(run_workload, args=(name, fps, frames), rounds=1, iterations=1)
    _check(run, benchmark)
