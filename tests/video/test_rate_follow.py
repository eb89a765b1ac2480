"""A video stream follows its target back up after a drop (video43).

x264 follows a live target only up to the rate its encoder was opened with
(video.h264): a stream dropped to 1 Mbit/s and asked for 2.7 and then 4
again must reach 4 without an IDR per step.
"""

from __future__ import annotations

import numpy as np
import pytest

from screencodec.geometry import Rect
from screencodec.video.codec import FLAG_IDR, VIDEO_HEADER, VideoStream
from screencodec.video.h264 import H264Options

from .helpers import FPS, film

W, H = 640, 360
RECT = Rect(0, 0, W, H)
M = 1_000_000
#: pictures per rate: 3 s of the film at 30 fps
SPAN = 90
#: the pictures of the window that must carry the rate: from 0.5 s after the step
SETTLE = 15


def _film() -> list[np.ndarray]:
    return [film(W, H, i) for i in range(60)]


def _play(stream: VideoStream, frames: list[np.ndarray], start: int) -> list[tuple[int, bool]]:
    """SPAN pictures of ``frames`` (cycled from ``start``): payload sizes and IDR flags."""
    ref = np.zeros((H, W, 4), np.uint8)
    out = []
    for i in range(start, start + SPAN):
        op = stream.encode(frames[i % len(frames)], ref, RECT)
        out.append((len(op.payload) - VIDEO_HEADER.size, bool(op.payload[1] & FLAG_IDR)))
    return out


def _rate(pictures: list[tuple[int, bool]]) -> float:
    sizes = [n for n, _ in pictures[SETTLE:]]
    return sum(sizes) * 8 * FPS / len(sizes)


@pytest.mark.xfail(
    strict=True,
    reason="found: a stream reopened at 2.7 Mbit/s and then asked for 4 stays capped at 2.7 "
    "(x264 follows a live target only up to the maxrate its encoder was opened with; the "
    "restart rule needs 1.5x): 2.3 Mbit/s sent; expected: >= 80 % of 4 with one IDR at most "
    "beyond the first. video43's fix (a CBR stream opened at a 4x ceiling, its VBV one picture "
    "at the target) passes it but was not merged: the step row's lag after the drop came "
    "higher in 5 of 6 session pairs and the SPS level it writes was not tried in a browser",
)
def test_a_stream_follows_its_target_back_up_with_one_idr() -> None:
    """1 -> 2.7 -> 4 Mbit/s: from 0.5 s after the last step the stream sends
    at least 80 % of 4 Mbit/s, with one IDR beyond its first (main: capped at
    the 2.7 its encoder was reopened with, 2.3 Mbit/s)."""
    frames = _film()
    stream = VideoStream(1, W, H, H264Options(bitrate=1 * M))
    low = _play(stream, frames, 0)
    stream.set_bitrate(int(2.7 * M))
    mid = _play(stream, frames, SPAN)
    stream.set_bitrate(4 * M)
    high = _play(stream, frames, 2 * SPAN)
    idrs = [i for i, (_, idr) in enumerate(low + mid + high) if idr]
    assert idrs[0] == 0 and len(idrs) <= 2, idrs
    assert _rate(high) >= 0.8 * 4 * M, (_rate(low), _rate(mid), _rate(high))
    assert _rate(mid) < 2.7 * M, _rate(mid)
