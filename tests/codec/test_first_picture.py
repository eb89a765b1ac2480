"""A keyframe re-planned as a first picture leaves nothing of the plan it
dropped in the encoder's reference (found in review)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from screencodec.decoder import ScreenDecoder
from screencodec.encoder import ScreenEncoder
from screencodec.quality import LossyOptions

pytest.importorskip("av")

W, H = 640, 360
#: the video region: its first column is where the photo strip's still grows
RX, RY, RW, RH = 201, 64, 256, 128
Frame = npt.NDArray[np.uint8]


def smooth(h: int, w: int, seed: int) -> npt.NDArray[np.uint8]:
    """Photo-like: blurred blocks with grain."""
    r = np.random.default_rng(seed)
    small = r.integers(0, 256, (h // 8 + 2, w // 8 + 2, 3)).astype(np.float32)
    big = np.kron(small, np.ones((8, 8, 1)))[:h, :w]
    return np.clip(big + r.normal(0, 12, (h, w, 3)), 0, 255).astype(np.uint8)


def desktop() -> Frame:
    """Text-like noise (two colours) with a photo strip 201 px wide (odd: its
    still grows a column into the region) left of the video region."""
    base = np.zeros((H, W, 4), np.uint8)
    base[..., 3] = 255
    rng = np.random.default_rng(1)
    base[..., :3] = np.where(rng.random((H, W, 1)) < 0.5, 20, 235).astype(np.uint8)
    base[RY : RY + RH, :RX, :3] = smooth(RH, RX, 7)
    return base


def frame(base: Frame, i: int) -> Frame:
    f = base.copy()
    f[RY : RY + RH, RX : RX + RW, :3] = smooth(RH, RW, 100 + i)
    f[RY : RY + RH, RX, :3] = (37 * i) % 200 + 20  # a line in the region's first column
    return f


@pytest.mark.parametrize("max_stills", [1, 6])
def test_a_dropped_plan_leaves_no_pixels_in_the_reference(max_stills: int) -> None:
    """A keyframe during video, re-planned as a first picture: the first plan
    had copied the exact pixels of a column grown into the video region into
    the reference; with one still allowed the new plan does not cover it, so
    they stayed there, over the region's decoded picture, and the viewer's
    hash check refused the update (128 px differed)."""
    base = desktop()
    enc = ScreenEncoder(
        W, H, lossy=True, integrity=True, video=True,
        lossy_options=LossyOptions(max_stills=max_stills),
    )  # fmt: skip
    enc.set_rate(2e5, interval=1 / 30)
    dec = ScreenDecoder()
    keyframes_in_video = 0
    for i in range(40):
        if i == 30:
            enc.request_keyframe()
        f = frame(base, i)
        fb = dec.decode(enc.encode(f, now=i / 30))  # verifies the framebuffer hash
        assert np.array_equal(fb[..., :3], enc.reference[..., :3]), f"update {i}"
        if i == 30:
            assert enc.video_stage is not None and enc.video_stage.regions
            assert enc.last.lossy_pixels > 0
            keyframes_in_video += 1
    assert keyframes_in_video == 1
