"""The picture a joining viewer gets first, on a 1080p screen with a photo
wallpaper and a terminal (corpus window-drag's join: 1.07 MB lossless, 4 s of
a 4 Mbit/s link before it was lossy-first). Real Host and Viewer over SPAKE2
+ AEAD on loopback. The join picture is planned before the link has been
timed, at the controller's first guess of its rate (``FlowConfig.
initial_rate``): one keyframe, lossy, at least at ``LossyOptions.
first_min_psnr`` (a first picture's floor: it is refined at once), within
twice ``LossyOptions.first_picture`` seconds of that guess (180 kB: 0.36 s
of 4 Mbit/s), and the whole screen exact soon after. Over fine grain, where
the usual floor (``min_psnr``) asks a picture several times that, the
terminal is exact in it and only the wallpaper coarse."""

from __future__ import annotations

import asyncio
import functools

import numpy as np
import numpy.typing as npt
import pytest

from screencodec.capture.base import FrameSource
from screencodec.decoder import ScreenDecoder
from screencodec.encoder import ScreenEncoder
from screencodec.geometry import Monitor
from screencodec.linkbench.shaper import Link, ShapingProxy
from screencodec.quality import LossyOptions
from screencodec.quality.metrics import psnr, sse
from screencodec.transport import VIEW, Host, SessionCredentials, Viewer, allow
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session.flow import FlowConfig
from screencodec.wire import Op, UpdateFlags, parse_update, split_message

from .helpers import bgr_equal, run, until

pytest.importorskip("av")

W, H = 1920, 1080
#: the terminal over the wallpaper (x, y, w, h)
WIN = (400, 240, 800, 480)
Frame = npt.NDArray[np.uint8]


def wallpaper(grain: float) -> Frame:
    """Photo-like: colour blobs 32 px apart, blended, with ``grain`` (sigma)."""
    rng = np.random.default_rng(5)
    small = rng.integers(30, 230, (H // 32 + 2, W // 32 + 2, 3)).astype(np.float32)
    big = np.kron(small, np.ones((32, 32, 1), np.float32))[:H, :W]
    big = (big + np.roll(big, 16, 0) + np.roll(big, 16, 1) + np.roll(big, 16, (0, 1))) / 4
    grain = rng.normal(0, grain, (H, W, 3))
    out = np.zeros((H, W, 4), np.uint8)
    out[..., :3] = np.clip(big + grain, 0, 255).astype(np.uint8)
    out[..., 3] = 255
    return out


def screen(grain: float, dense: bool) -> Frame:
    """The wallpaper with a terminal: 8x16 glyphs of 96 shapes, light on dark,
    in lines of words (``dense``: every cell a glyph)."""
    frame = wallpaper(grain)
    x, y, w, h = WIN
    rng = np.random.default_rng(9)
    glyphs = rng.random((96, 16, 8)) < 0.3
    glyphs[0] = False  # a space
    rows, cols = h // 16, w // 8
    idx = rng.integers(1, 96, (rows, cols))
    if not dense:
        idx[rng.random((rows, cols)) < 0.18] = 0
        idx[np.arange(cols)[None, :] >= rng.integers(10, cols, (rows, 1))] = 0
    text = glyphs[idx]  # (rows, cols, 16, 8)
    ink = text.transpose(0, 2, 1, 3).reshape(rows * 16, cols * 8)
    frame[y : y + h, x : x + w, :3] = np.where(ink[..., None], 220, 24).astype(np.uint8)
    return frame


@functools.cache
def kept_wallpaper(grain: float) -> Frame:
    """:func:`wallpaper`, made once for the worker process and read-only
    (0.3 s of CPU at 1920x1080; test_review42_coarse_keyframe and
    test_grid42_keyframe_edges start from it again and again)."""
    frame = wallpaper(grain)
    frame.setflags(write=False)
    return frame


@functools.cache
def kept_screen(grain: float, dense: bool) -> Frame:
    """:func:`screen`, made once for the worker process and read-only."""
    frame = screen(grain, dense)
    frame.setflags(write=False)
    return frame


class Still(FrameSource):
    def __init__(self, frame: Frame) -> None:
        self.frame = frame

    @property
    def width(self) -> int:
        return W

    @property
    def height(self) -> int:
        return H

    @property
    def monitors(self) -> list[Monitor]:
        return [Monitor(0, 0, 0, W, H, True)]

    def grab(self) -> Frame:
        return self.frame


class Noting(ScreenDecoder):
    """Keeps each update it decodes and the picture after the first."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[bytes] = []
        self.first: Frame | None = None

    def decode(self, data, /):  # type: ignore[no-untyped-def]
        out = super().decode(data)
        self.seen.append(bytes(data))
        if self.first is None:
            self.first = np.array(out, copy=True)
        return out


@pytest.mark.parametrize(
    ("grain", "dense", "text_exact"),
    [pytest.param(2.0, False, False, id="photo"),
     # 572 kB at 31.5 dB before first41 (the text lossy in one still at the
     # 30 dB floor, which over grain of sigma 6 asks qp 26)
     pytest.param(6.0, True, True, id="grainy-dense-text")],
)  # fmt: skip
def test_a_join_on_a_photo_wallpaper_is_one_lossy_first_picture_then_exact(
    grain: float, dense: bool, text_exact: bool
) -> None:
    frame = screen(grain, dense)
    decoder = Noting()

    async def main() -> Viewer:
        host = Host(Still(frame), consent=allow())
        creds = SessionCredentials()
        async with host, await listen_direct("127.0.0.1", 0, creds, host.serve) as listener:
            channel = await connect_direct("127.0.0.1", listener.port, creds.code, creds.password)
            viewer = Viewer(channel, decoder=decoder)
            await viewer.start(VIEW)
            task = asyncio.ensure_future(viewer.run())
            try:
                await until(lambda: bgr_equal(viewer.framebuffer, frame), 60, "exact")
            finally:
                await viewer.bye()
                await task
        return viewer

    viewer = run(main(), 120)
    assert viewer.decode_errors == 0
    parsed = [parse_update(split_message(u)[1]) for u in decoder.seen]
    keyframes = [i for i, u in enumerate(parsed) if u.flags & UpdateFlags.KEYFRAME]
    assert keyframes == [0]  # one full picture, the first
    join = parsed[0]
    lossy = sum(len(op.payload) for op in join.ops if op.op is Op.VIDEO)
    assert lossy > 0, "the wallpaper went lossless: no lossy-first picture"
    # The first picture's text may take first_picture seconds of the
    # controller's guess of the rate (before the link was timed); its stills
    # the same, unless the quality floor asks for more: twice that at most.
    flow = FlowConfig()
    allowance = flow.initial_rate * flow.headroom * LossyOptions().first_picture
    assert len(decoder.seen[0]) <= 2 * allowance, (lossy, allowance)
    assert len(decoder.seen[0]) <= len(ScreenEncoder(W, H).encode(frame)) / 4
    assert decoder.first is not None
    err, n = sse(decoder.first, frame)
    quality = psnr(err, n)
    assert quality is not None and LossyOptions().first_min_psnr <= quality < 99
    # Over grain, the terminal is exact in the first picture: every glyph,
    # the rows at its edges (which share encoder blocks with the wallpaper)
    # too. (On the photo its text goes lossy in the one still, as before.)
    x, y, w, h = WIN
    exact = bgr_equal(decoder.first[y : y + h, x : x + w], frame[y : y + h, x : x + w])
    assert exact == text_exact


class Keyframes(Noting):
    """A Noting that also keeps the picture after each keyframe, and its size."""

    def __init__(self) -> None:
        super().__init__()
        self.keyframes: list[tuple[int, Frame]] = []

    def decode(self, data, /):  # type: ignore[no-untyped-def]
        out = super().decode(data)
        if parse_update(split_message(data)[1]).flags & UpdateFlags.KEYFRAME:
            self.keyframes.append((len(data), np.array(out, copy=True)))
        return out


def test_grainy_at_1_mbit_a_keyframe_request_and_a_viewer_joining_mid_refinement() -> None:
    """The grainy screen through a 1 Mbit/s link: the join picture (planned at
    the first guess of the rate) and the keyframe the viewer asks for once
    the link has been timed (572 kB before first41: 4.6 s of the link) both
    have the terminal exact and take at most twice the join's allowance. A
    second viewer joining (on loopback) while the first still refines gets
    its own such first picture and is exact soon after."""
    frame = screen(6.0, True)
    slow, fast = Keyframes(), Keyframes()
    x, y, w, h = WIN
    flow = FlowConfig()
    most = 2 * flow.initial_rate * flow.headroom * LossyOptions().first_picture

    def text_exact(picture: Frame) -> bool:
        return bgr_equal(picture[y : y + h, x : x + w], frame[y : y + h, x : x + w])

    async def main() -> None:
        host = Host(Still(frame), consent=allow())
        creds = SessionCredentials()
        async with host, await listen_direct("127.0.0.1", 0, creds, host.serve) as listener:
            proxy = ShapingProxy(listener.port, Link.symmetric(125_000, 0.04))
            await proxy.start()
            viewers: list[tuple[Viewer, asyncio.Future[str]]] = []
            try:
                ch = await connect_direct("127.0.0.1", proxy.port, creds.code, creds.password)
                a = Viewer(ch, decoder=slow)
                await a.start(VIEW)
                viewers.append((a, asyncio.ensure_future(a.run())))
                await until(lambda: len(slow.keyframes) == 1, 60, "the first picture")
                # The link timed by now: the keyframe asked for is planned at it.
                await asyncio.sleep(2)
                await a.request_keyframe()
                await until(lambda: len(slow.keyframes) == 2, 60, "the keyframe asked for")
                assert not bgr_equal(a.framebuffer, frame)  # 3.7 MB exact: refining
                ch = await connect_direct("127.0.0.1", listener.port, creds.code, creds.password)
                b = Viewer(ch, decoder=fast)
                await b.start(VIEW)
                viewers.append((b, asyncio.ensure_future(b.run())))
                await until(lambda: bgr_equal(b.framebuffer, frame), 60, "the second exact")
            finally:
                for v, task in viewers:
                    await v.bye()
                    await task
                await proxy.close()

    run(main(), 180)
    for decoder in (slow, fast):
        for size, picture in decoder.keyframes:
            assert size <= most, (size, most)
            assert text_exact(picture)
    assert len(slow.keyframes) == 2 and len(fast.keyframes) == 1
