"""Full-frame mode: one H.264 picture per update, an ordinary stream."""

from __future__ import annotations

import av
import numpy as np
import pytest

from screencodec.decoder import ScreenDecoder
from screencodec.errors import FrameError
from screencodec.video.fullframe import VideoStreamEncoder
from screencodec.wire import Op, parse_update, split_message

from .helpers import film, psnr


@pytest.mark.parametrize(("w", "h"), [(192, 128), (193, 129)])
def test_every_update_is_one_picture_and_the_viewer_matches_the_reference(w: int, h: int) -> None:
    enc = VideoStreamEncoder(w, h, integrity=True)
    dec = ScreenDecoder()
    for i in range(6):
        if i == 4:
            enc.request_keyframe()
        f = film(w, h, i)
        data = enc.encode(f)
        u = parse_update(split_message(data)[1])
        assert u.keyframe == (i in (0, 4))
        video = [o for o in u.ops if o.op is Op.VIDEO]
        assert len(video) == 1 and video[0].rect.w == w & ~1 and video[0].rect.h == h & ~1
        assert bool(video[0].payload[1] & 1) == u.keyframe  # IDR exactly on keyframes
        fb = dec.decode(data)  # hash verified
        assert np.array_equal(fb, enc.reference)
        assert psnr(fb, f) > 33  # fresh grain in every picture, at the default CRF
        if w % 2:  # the odd last column travels losslessly
            assert np.array_equal(fb[:, -1, :3], f[:, -1, :3])


def test_access_units_form_a_plain_h264_stream() -> None:
    enc = VideoStreamEncoder(160, 96, chroma="420")
    ctx = av.CodecContext.create("h264", "r")
    pictures = []
    for i in range(5):
        enc.encode(film(160, 96, i))
        pictures += ctx.decode(av.Packet(enc.last_access_unit))
    assert len(pictures) == 5
    assert all(p.format.name in ("yuv420p", "yuvj420p") for p in pictures)


def test_size_change_starts_a_new_stream() -> None:
    enc = VideoStreamEncoder(64, 64)
    dec = ScreenDecoder()
    dec.decode(enc.encode(film(64, 64, 0)))
    data = enc.encode(film(96, 80, 1))
    assert parse_update(split_message(data)[1]).keyframe
    assert dec.decode(data).shape == (80, 96, 4)


def test_tiny_frames_are_refused() -> None:
    with pytest.raises(FrameError):
        VideoStreamEncoder(1, 1).encode(np.zeros((1, 1, 4), np.uint8))
