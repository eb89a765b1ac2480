"""Damaged H.264 is refused, never concealed (docs/protocol.md, VIDEO op,
"Decoding rules"), and every picture still comes out at once.

The pictures are 640x480: large enough that libavcodec's slice threads would
be used if the decoder allowed them, and x264 cuts them into several slices.
With slice threads a damaged slice is concealed and reported nowhere.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("av")

from screencodec.decoder import ScreenDecoder
from screencodec.errors import DecodeError
from screencodec.geometry import Rect
from screencodec.video.codec import VIDEO_HEADER, VideoStream
from screencodec.video.h264 import H264Options
from screencodec.wire import build_update

W, H = 640, 480


def picture(seed: int) -> np.ndarray:
    """Photo-like content: gradients plus grain, so slices carry real data."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:H, 0:W]
    f = np.empty((H, W, 4), np.uint8)
    f[..., 0] = (xx + 3 * seed) % 256
    f[..., 1] = (yy * 2 + seed) % 256
    f[..., 2] = ((xx + yy) // 3) % 256
    f[..., :3] += rng.integers(0, 24, (H, W, 3), dtype=np.uint8)
    f[..., 3] = 255
    return f


def corrupt(message: bytes, seed: int, n: int = 40) -> bytes:
    """``n`` bytes of the access unit's second half XORed with non-zero values
    (the parameter sets at its start stay intact: the slices are damaged)."""
    b = bytearray(message)
    start = len(b) - (len(b) - 8 - 16 - 14 - VIDEO_HEADER.size) // 2
    rng = np.random.default_rng(seed)
    for pos in rng.choice(np.arange(start, len(b)), n, replace=False):
        b[pos] ^= int(rng.integers(1, 256))
    return bytes(b)


@pytest.mark.parametrize("chroma", ["444", "420"])
def test_a_damaged_idr_is_refused_and_a_later_keyframe_recovers(chroma: str) -> None:
    stream = VideoStream(1, W, H, H264Options(chroma=chroma))
    rect = Rect(0, 0, W, H)
    host = np.zeros((H, W, 4), np.uint8)
    dec = ScreenDecoder()
    dec.decode(build_update(0, W, H, [stream.encode(picture(1), host, rect)], keyframe=True))
    assert np.array_equal(dec.framebuffer, host)
    shown = host.copy()
    for seed in range(3):
        stream.request_idr()
        ref = host.copy()
        good = build_update(1, W, H, [stream.encode(picture(2 + seed), ref, rect)], keyframe=True)
        dec.needs_keyframe = True  # each try starts from "waiting for a keyframe"
        with pytest.raises(DecodeError, match=r"H\.264"):
            dec.decode(corrupt(good, seed))
        assert dec.needs_keyframe
        assert np.array_equal(dec.framebuffer, shown)  # unchanged: nothing concealed
    dec.decode(good)  # the last keyframe, undamaged
    assert not dec.needs_keyframe
    assert np.array_equal(dec.framebuffer, ref)


def test_every_picture_comes_out_at_once() -> None:
    """One access unit in, its picture out, in the same update (no output
    delay): the viewer equals the host's copy after every update."""
    stream = VideoStream(2, W, H, H264Options())
    rect = Rect(0, 0, W, H)
    host = np.zeros((H, W, 4), np.uint8)
    dec = ScreenDecoder()
    for i in range(5):
        op = stream.encode(picture(10 + i), host, rect)
        dec.decode(build_update(i, W, H, [op], keyframe=i == 0))
        assert np.array_equal(dec.framebuffer, host), i
