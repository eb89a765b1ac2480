"""Video regions at 1080p against full-frame x264, in the same run.

Scenario: the synthetic ``video`` desktop (a film with grain in a player window
of about a third of the screen, a still chat window and wallpaper around it).
Ours: ``ScreenEncoder(video=True)`` with its other settings at their defaults
(tile diff, motion detection outside the video regions, region detection, BGRX -> YUV of
the region in the native kernel, x264 on the region, the encoder's own
reference decode, lossless for the rest). Baseline: the whole frame through
swscale (``reformat(format="yuv444p")``) and libx264 with ultrafast,
zerolatency, no B-frames, the same CRF, 4:4:4. A second baseline converts with
our kernel instead of swscale, to show what region-only encoding alone buys.

Frames are encoded alternately by ours and the baselines, so load from other
processes hits all alike; the medians of the per-frame times are compared.
The first ``WARMUP`` frames (keyframes, and the frames before the region is
detected, which go lossless) are reported separately and not in the ratios.
Run with ``make bench`` or ``pytest benchmarks/test_bench_video.py -s``.
"""

from __future__ import annotations

import fractions
import time
import timeit
from dataclasses import dataclass, field
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.decoder import ScreenDecoder
from screencodec.encoder import ScreenEncoder
from screencodec.video import _yuv
from screencodec.video.h264 import DEFAULT_CRF

Frame = npt.NDArray[np.uint8]
W, H, FPS = 1920, 1080, 30
WARMUP, MEASURED = 16, 45


def baseline_encoder() -> Any:
    ctx: Any = av.CodecContext.create("libx264", "w")
    ctx.width, ctx.height, ctx.pix_fmt = W, H, "yuv444p"
    ctx.time_base = fractions.Fraction(1, FPS)
    ctx.options = {
        "preset": "ultrafast",
        "tune": "zerolatency",
        "crf": str(DEFAULT_CRF),
        "x264-params": "bframes=0:keyint=infinite:scenecut=0",
    }
    ctx.open()
    return ctx


def sws_frame(f: Frame) -> av.VideoFrame:
    return av.VideoFrame.from_ndarray(f, format="bgra").reformat(format="yuv444p")


def kernel_frame(f: Frame) -> av.VideoFrame:
    out = av.VideoFrame(W, H, "yuv444p")
    planes = [np.frombuffer(memoryview(p), np.uint8).reshape(H, -1) for p in out.planes]
    _yuv.bgrx_to_yuv(f, 0, 0, W, H, *planes)
    return out


@dataclass
class Run:
    times: dict[str, list[float]] = field(default_factory=dict)
    sizes: dict[str, list[int]] = field(default_factory=dict)
    warmup_bytes: dict[str, int] = field(default_factory=dict)
    text_exact: bool = True

    def add(self, name: str, i: int, seconds: float, size: int) -> None:
        if i < WARMUP:
            self.warmup_bytes[name] = self.warmup_bytes.get(name, 0) + size
            return
        self.times.setdefault(name, []).append(seconds)
        self.sizes.setdefault(name, []).append(size)

    def ms(self, name: str) -> float:
        return float(np.median(self.times[name])) * 1e3

    def kb(self, name: str) -> float:
        return float(np.mean(self.sizes[name])) / 1e3


@pytest.fixture(scope="module")
def run() -> Run:
    src = SyntheticDesktop(W, H, scenario="video", fps=FPS)
    video = src.layout["video"]
    still = np.ones((H, W), bool)
    still[video.slices()] = False
    # The encoder's defaults (motion detection on: it skips the video regions).
    ours = ScreenEncoder(W, H, video=True)
    viewer = ScreenDecoder()
    base, base_k = baseline_encoder(), baseline_encoder()
    r = Run()
    for i in range(WARMUP + MEASURED):
        f = src.frame_at(i).copy()
        t0 = time.perf_counter()
        data = ours.encode(f, now=i / FPS)
        t1 = time.perf_counter()
        frame = sws_frame(f)
        frame.pts = i
        size_b = sum(p.size for p in base.encode(frame))
        t2 = time.perf_counter()
        frame = kernel_frame(f)
        frame.pts = i
        size_k = sum(p.size for p in base_k.encode(frame))
        t3 = time.perf_counter()
        r.add("ours", i, t1 - t0, len(data))
        r.add("x264 full frame (swscale)", i, t2 - t1, size_b)
        r.add("x264 full frame (our kernel)", i, t3 - t2, size_k)
        fb = viewer.decode(data)
        r.text_exact &= bool(np.array_equal(fb[..., :3][still], f[..., :3][still]))
    assert ours.video_stage is not None and ours.video_stage.regions
    print(f"\nvideo 1080p, {MEASURED} frames after {WARMUP} warm-up (CRF {DEFAULT_CRF}, 4:4:4):")
    for name in r.times:
        print(
            f"  {name:30s} {r.kb(name):8.1f} kB/frame  {r.ms(name):6.1f} ms/frame  "
            f"warm-up {r.warmup_bytes[name] / 1e6:.2f} MB"
        )
    return r


def test_video_bytes_vs_fullframe_x264(run: Run, benchmark: Any) -> None:
    ratio = run.kb("ours") / run.kb("x264 full frame (swscale)")
    benchmark.extra_info.update(kb_ours=run.kb("ours"), x_baseline=ratio)
    benchmark.pedantic(lambda: None, rounds=1)
    print(f"\nbytes/frame: {ratio:.2f}x the full-frame baseline")
    assert ratio <= 1.0


def test_video_encode_time_vs_fullframe_x264(run: Run, benchmark: Any) -> None:
    ratio = run.ms("ours") / run.ms("x264 full frame (swscale)")
    ratio_k = run.ms("ours") / run.ms("x264 full frame (our kernel)")
    benchmark.extra_info.update(ms_ours=run.ms("ours"), x_baseline=ratio, x_kernel=ratio_k)
    benchmark.pedantic(lambda: None, rounds=1)
    print(f"\nencode ms/frame: {ratio:.2f}x swscale+x264, {ratio_k:.2f}x our-kernel+x264")
    assert ratio <= 0.6


def test_text_outside_video_stays_exact(run: Run) -> None:
    assert run.text_exact


def best(func: Any, number: int = 5, repeat: int = 7) -> float:
    return min(timeit.repeat(func, number=number, repeat=repeat)) / number


@pytest.mark.parametrize("direction", ["to_yuv444", "to_yuv420", "to_bgrx"])
def test_yuv_kernel_vs_swscale_1080p(direction: str, benchmark: Any) -> None:
    rng = np.random.default_rng(0)
    fb = rng.integers(0, 256, (H, W, 4), dtype=np.uint8)
    c420 = direction == "to_yuv420"
    fmt = "yuv420p" if c420 else "yuv444p"
    ch, cw = (H // 2, W // 2) if c420 else (H, W)
    y, u, v = np.empty((H, W), np.uint8), np.empty((ch, cw), np.uint8), np.empty((ch, cw), np.uint8)
    _yuv.bgrx_to_yuv(fb, 0, 0, W, H, y, u, v, c420)
    yuv = av.VideoFrame.from_ndarray(fb, format="bgra").reformat(format=fmt)
    if direction == "to_bgrx":

        def ours() -> None:
            _yuv.yuv_to_bgrx(y, u, v, fb, 0, 0, W, H)

        def theirs() -> None:
            yuv.reformat(format="bgra")
    else:

        def ours() -> None:
            _yuv.bgrx_to_yuv(fb, 0, 0, W, H, y, u, v, c420)

        def theirs() -> None:
            av.VideoFrame.from_ndarray(fb, format="bgra").reformat(format=fmt)

    benchmark(ours)
    t_ours, t_sws = [], []
    for _ in range(3):  # alternate, so load hits both alike
        t_ours.append(best(ours))
        t_sws.append(best(theirs, number=2, repeat=3))
    ratio = min(t_ours) / min(t_sws)
    benchmark.extra_info.update(ms=min(t_ours) * 1e3, ms_swscale=min(t_sws) * 1e3, x_sws=ratio)
    print(f"\n{direction} 1080p: ours {min(t_ours) * 1e3:.2f} ms, swscale "
          f"{min(t_sws) * 1e3:.2f} ms ({ratio:.3f}x)")  # fmt: skip
    assert ratio < 1.0
