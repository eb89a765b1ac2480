"""A stream opened under its rate's ceiling decodes in the page (video44).

A video stream whose rate can move is opened as CBR at a ceiling above its
rate (video.codec.ceiling), and x264 writes the level of that ceiling into
the SPS; the page configures WebCodecs' VideoDecoder with the SPS's profile
and level (static/app/video.js). These streams go through the page's own
sink, WebCodecsVideo, in headless Chromium: every picture must come out,
with no decoder error, byte for byte the picture the host's reference
decoder made.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import numpy as np
import pytest

from screencodec.capture import open_source
from screencodec.geometry import Rect

from .conftest import wait_page
from .harness import LiveSession, StillSource

pytest.importorskip("av")

from screencodec.video.codec import FLAG_IDR, VIDEO_HEADER, VideoStream, ceiling
from screencodec.video.h264 import H264Options

M = 1_000_000
#: pictures at the opening rate, then as many at the ceiling (moved live)
PICTURES = 6

# The page's sink, fed the ops one by one: per picture the SHA-256 of its
# RGBA, or the error that stopped it.
_DECODE = """
const [base, ops, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
(async () => {
  const { WebCodecsVideo } = await import(base + "app/video.js");
  const sink = new WebCodecsVideo();
  const digests = [];
  for (const op of ops) {
    const payload = Uint8Array.from(atob(op.payload), (c) => c.charCodeAt(0));
    const picture = await sink.decode({ ...op, payload });
    const sum = await crypto.subtle.digest("SHA-256", picture.data);
    digests.push(Array.from(new Uint8Array(sum), (b) => b.toString(16).padStart(2, "0")).join(""));
  }
  sink.reset();
  return { digests, pictures: sink.pictures };
})().then(done, (e) => done({ error: String(e && e.message || e) }));
"""


def _film(width: int, height: int, i: int) -> np.ndarray:
    """A moving picture: diagonal bands and noise, new in every frame."""
    y, x = np.mgrid[0:height, 0:width]
    rng = np.random.default_rng(i)
    frame = np.zeros((height, width, 4), np.uint8)
    frame[..., 0] = (x + 7 * i) % 256
    frame[..., 1] = (y * 2 + 5 * i) % 256
    frame[..., 2] = rng.integers(0, 256, (height, width), np.uint8)
    return frame


def _stream(
    width: int, height: int, rate: int, chroma: str
) -> tuple[list[dict[str, Any]], str, list[str]]:
    """The ops of a stream opened at ``rate`` under its ceiling and then moved
    live to the ceiling, its SPS's codec string (as the page builds it) and
    the RGBA digests of what the host's reference decoder made of each picture."""
    top = ceiling(rate)
    opts = H264Options(chroma=chroma, bitrate=rate, max_bitrate=top)  # type: ignore[arg-type]
    stream = VideoStream(1, width, height, opts)
    ref = np.zeros((height, width, 4), np.uint8)
    rect = Rect(0, 0, width, height)
    ops, digests = [], []
    for i in range(2 * PICTURES):
        if i == PICTURES:
            stream.set_bitrate(top)
        op = stream.encode(_film(width, height, i), ref, rect)
        au = op.payload[VIDEO_HEADER.size :]
        ops.append({
            "stream": 1, "keyframe": bool(op.payload[1] & FLAG_IDR), "width": width,
            "height": height, "payload": base64.b64encode(au).decode(),
        })  # fmt: skip
        rgba = np.dstack([ref[..., 2], ref[..., 1], ref[..., 0], np.full_like(ref[..., 0], 255)])
        digests.append(hashlib.sha256(rgba.tobytes()).hexdigest())
    assert [o["keyframe"] for o in ops].count(True) == 1  # the move to the ceiling was live
    first = base64.b64decode(ops[0]["payload"])
    sps = first.index(b"\x00\x00\x01\x67") + 4
    return ops, "avc1." + first[sps : sps + 3].hex(), digests


@pytest.mark.parametrize(
    "case",
    [
        # (ultrafast 4:2:0 is Constrained Baseline: no CABAC, no 8x8 transform)
        # the rate-follow test's stream: 1 Mbit/s under a 2 Mbit/s ceiling, level 3.0
        (640, 360, 1 * M, "420", "avc1.42c01e"),
        # 1080p at 30 Mbit/s: its ceiling the 50 Mbit/s cap, level 4.1 (4.0 in
        # High 4:4:4, whose levels allow 4x the bits); the page's probe asks 5.1
        (1920, 1080, 30 * M, "420", "avc1.42c029"),
        (1920, 1080, 30 * M, "444", "avc1.f40028"),
    ],
)
def test_a_stream_at_its_ceiling_decodes_in_the_page(
    browser: Any, case: tuple[int, int, int, str, str]
) -> None:
    width, height, rate, chroma, codec = case
    live = LiveSession(
        StillSource(open_source("synthetic", width=320, height=200, scenario="idle"))
    )
    try:
        browser.get(live.url)
        st = wait_page(browser, lambda s: s["applied"] >= 1, what="first picture")
        if not st["probe"]["h264_444" if chroma == "444" else "h264_420"]:
            pytest.skip(f"this Chromium's WebCodecs decodes no H.264 {chroma}")
        base = browser.execute_script(
            "return performance.getEntriesByType('resource').map((e) => e.name)"
            ".find((n) => n.includes('/s/')).replace(/(\\/s\\/[^/]+\\/).*/, '$1');"
        )
        ops, declared, digests = _stream(width, height, rate, chroma)
        assert declared == codec
        browser.set_script_timeout(120)
        got = browser.execute_async_script(_DECODE, base, ops)
        assert "error" not in got, got
        assert got["pictures"] == 2 * PICTURES
        assert got["digests"] == digests
    finally:
        live.close()
