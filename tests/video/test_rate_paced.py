"""A live film gets its share of the rate whatever its frame rate (video45b).

A live session encodes 6-17 updates a second, not 30 (its pacing skips
ticks). x264 sized every picture at the region's share / 30 all the same,
so such a film carried 20-55 % of its share (video45, live at 1 Mbit/s:
101-336 kbit/s of VIDEO). Each picture is now sized at the share times the
real interval since the region's last one (video.stage, "Rate").
"""

from __future__ import annotations

import pytest

from screencodec.encoder import ScreenEncoder
from screencodec.geometry import Rect
from screencodec.video.stage import VideoStage

from .helpers import film, text_desktop

pytest.importorskip("av")

W, H = 960, 540
VIDEO = Rect(320, 90, 640, 360)
#: pictures 100 ms apart: 10 a second, as a live session on 2 Mbit/s sends
STEP = 0.1
WARM, SECONDS = 1.0, 5.0


def _observe(stage: VideoStage, sent: list[tuple[float, int]]) -> None:
    """Record the time and payload bytes of every VIDEO op the stage makes."""
    process = stage.process

    def observed(*args, **kwargs):  # type: ignore[no-untyped-def]
        ops, rects = process(*args, **kwargs)
        sent.extend((kwargs["now"], len(op.payload)) for op in ops)
        return ops, rects

    stage.process = observed  # type: ignore[method-assign]


@pytest.mark.parametrize("rate", [2_000_000, 4_000_000])
def test_a_film_at_10_pictures_a_second_carries_its_share(rate: int) -> None:
    """Frames 100 ms apart (injected clock) under a rate: over 5 s after the
    first second, the region's pictures carry at least 0.8 x its share and
    never more than 1.1 x it. Main: about a third of it (x264 sized each
    picture at share / 30)."""
    base = text_desktop(W, H)
    films = [film(VIDEO.w, VIDEO.h, 3 * i) for i in range(30)]
    enc = ScreenEncoder(W, H, threads=1, video=True, lossy=True, history=True)
    enc.set_rate(rate, interval=STEP)
    stage = enc.video_stage
    assert stage is not None
    sent: list[tuple[float, int]] = []
    _observe(stage, sent)
    steps = round((WARM + SECONDS) / STEP)
    for i in range(steps + 1):
        f = base.copy()
        f[VIDEO.slices()] = films[i % len(films)]
        enc.encode(f, now=i * STEP)
    assert stage.regions == [VIDEO]
    share = stage.total_bitrate
    assert share is not None
    window = [n for t, n in sent if t > WARM + 1e-9]
    carried = sum(window) * 8 / SECONDS
    assert len(window) >= 0.8 * SECONDS / STEP, len(window)
    assert 0.8 * share <= carried <= 1.1 * share, (carried / share, len(window))
