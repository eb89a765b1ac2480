"""A lossy first picture in the page: a keyframe too large for its rate comes
as H.264 stills (text included), the page shows it through WebCodecs, and the
updates after it refine the canvas to bit-exact."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from screencodec.capture import open_source
from screencodec.encoder import ScreenEncoder
from screencodec.quality import LossyOptions
from screencodec.wire import Op

from .conftest import canvas_bgr, wait_page
from .harness import LiveSession, StillSource

W, H = 480, 320


def page_decodes_h264_420(browser: Any) -> bool:
    live = LiveSession(StillSource(open_source("synthetic", width=W, height=H, scenario="idle")))
    try:
        browser.get(live.url)
        st = wait_page(browser, lambda s: s["probe"] is not None, what="the decoder probe")
        return bool(st["probe"]["h264_420"])
    finally:
        live.close()


class Recorded(ScreenEncoder):
    """The session's encoder at a fixed rate, keeping each update's op counts."""

    def __init__(self, width: int, height: int) -> None:
        super().__init__(
            width, height, lossy=True, video_chroma="420", history=True, photo_filter="med",
            lossy_options=LossyOptions(first_picture=0.05),
        )  # fmt: skip
        self.set_rate(1e6, interval=1 / 20)
        self.updates: list[dict[Op, int]] = []

    def encode(self, frame: Any, /, **kw: Any) -> bytes:
        data = super().encode(frame, **kw)
        self.updates.append(dict(self.last.ops))
        return data


def test_a_lossy_first_picture_is_refined_to_exact_on_the_canvas(browser: Any) -> None:
    if not page_decodes_h264_420(browser):
        pytest.skip("this Chromium's WebCodecs decodes no H.264")
    encoders: list[Recorded] = []

    def factory(width: int, height: int) -> Recorded:
        encoders.append(Recorded(width, height))
        return encoders[-1]

    source = StillSource(open_source("synthetic", width=W, height=H, scenario="typing"))
    expect = source.freeze()[..., :3]
    live = LiveSession(source, encoder_factory=factory)
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the first picture")
        (enc,) = encoders
        # The keyframe went lossy as a whole: stills only, no lossless text.
        first = enc.updates[0]
        assert first.get(Op.VIDEO, 0) >= 1 and not first.get(Op.ZSTREAM), first
        wait_page(browser, lambda s: np.array_equal(canvas_bgr(browser), expect),
                  what="the canvas refined to the host's screen")  # fmt: skip
        assert enc.lossy_area == 0
        st = wait_page(browser, lambda s: True)
        assert st["refused"] == 0
    finally:
        live.close()
