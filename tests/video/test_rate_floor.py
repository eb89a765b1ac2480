"""A video region on a slow link sends no more than its share (video45).

Grainy film costs more than 1 Mbit/s at 30 fps even at x264's coarsest
quantiser allowed (``LossyOptions.video_qp_max``): on main the encoder,
every frame encoded, sent 1.6 Mbit/s at 1 Mbit/s (a queue that grows 0.6 s
a second on such a link). Past the floor the frame rate gives way: the
region skips pictures while over its share.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest

from screencodec.decoder import ScreenDecoder
from screencodec.encoder import ScreenEncoder
from screencodec.geometry import Rect
from screencodec.wire import Op

from .helpers import FPS, exact_where, film, outside, psnr, text_desktop

if TYPE_CHECKING:
    from screencodec.video.stage import VideoStage

pytest.importorskip("av")

W, H = 960, 540
VIDEO = Rect(320, 90, 640, 360)
SECONDS = 6


def _frames() -> list[np.ndarray]:
    base = text_desktop(W, H)
    films = [film(VIDEO.w, VIDEO.h, i) for i in range(60)]
    out = []
    for i in range(SECONDS * FPS):
        f = base.copy()
        f[VIDEO.slices()] = films[i % len(films)]
        out.append(f)
    return out


def _until_skipped(
    frames: list[np.ndarray], seconds: int
) -> tuple[ScreenEncoder, ScreenDecoder, VideoStage, int]:
    """At 1 Mbit/s, ``frames`` encoded and decoded for ``seconds``, then on
    until the video region skips a picture: the encoder, the decoder, the
    encoder's video stage and the number of frames played."""
    enc = ScreenEncoder(W, H, threads=1, video=True, lossy=True, history=True)
    enc.set_rate(1_000_000, interval=1 / FPS)
    dec = ScreenDecoder()
    stage = enc.video_stage
    assert stage is not None
    i = 0
    while i < seconds * FPS or not stage.skipped:
        dec.decode(enc.encode(frames[i], now=i / FPS))
        i += 1
    return enc, dec, stage, i


def test_grainy_film_at_1_mbit_keeps_to_the_rate_with_text_exact() -> None:
    """1 Mbit/s, 30 fps for 6 s (injected clock): every update's bytes add
    up to at most 1.1 x the rate's; the text beside the film is exact in
    every frame; every picture sent is at least 27 dB (x264 at its floor);
    the film still moves at 8 pictures a second or more, the last picture
    less than 0.25 s before the end. Main: 1.6 Mbit/s, 30 pictures a second."""
    rate = 1_000_000
    frames = _frames()
    enc = ScreenEncoder(W, H, threads=1, video=True, lossy=True, history=True)
    enc.set_rate(rate, interval=1 / FPS)
    dec = ScreenDecoder()
    mask = outside((H, W), VIDEO)
    sent, pictures, worst = 0, [], float("inf")
    for i, f in enumerate(frames):
        data = enc.encode(f, now=i / FPS)
        sent += len(data)
        fb = dec.decode(data)
        assert exact_where(fb, f, mask), f"frame {i}: the text beside the film is not exact"
        if enc.last.ops.get(Op.VIDEO):
            pictures.append(i)
            worst = min(worst, psnr(fb[VIDEO.slices()], f[VIDEO.slices()]))
    assert enc.video_stage is not None and enc.video_stage.regions == [VIDEO]
    mbit = sent * 8 / SECONDS / 1e6
    assert mbit <= 1.1 * rate / 1e6, f"{mbit:.3f} Mbit/s at 1 Mbit/s, {len(pictures)} pictures"
    assert worst >= 27, worst
    assert len(pictures) >= 8 * SECONDS, len(pictures)
    assert (len(frames) - 1 - pictures[-1]) / FPS < 0.25, pictures[-5:]


def test_a_film_that_stops_while_skipped_gets_its_last_picture() -> None:
    """The film stops on a picture the region skipped: that picture is
    still sent once the region's debt is paid (the stage's deadline asks
    for the update), so the viewer shows the film's last frame, not an
    older one."""
    frames = _frames()
    # Play 2 s, then on until a picture is skipped: the film stops there.
    enc, dec, stage, i = _until_skipped(frames, 2)
    last, t = frames[i - 1], (i - 1) / FPS
    due = stage.deadline
    assert due is not None and t < due < t + 1, (t, due)
    fb = dec.decode(enc.encode(last, now=due))
    assert enc.last.ops.get(Op.VIDEO), "the skipped picture was not sent when its debt was paid"
    assert psnr(fb[VIDEO.slices()], last[VIDEO.slices()]) >= 27


def test_a_skipped_picture_goes_at_once_when_the_rate_is_lifted() -> None:
    """Unlimited again (``set_rate(None)``) while a picture is skipped: the
    next update sends it (no budget is left to wait for), and with no rate
    none is skipped after."""
    frames = _frames()[:90]
    enc, dec, stage, i = _until_skipped(frames, 1)
    enc.set_rate(None)
    for j in range(i, i + 10):
        dec.decode(enc.encode(frames[j], now=j / FPS))
        assert not stage.skipped and enc.last.ops.get(Op.VIDEO), j
