"""Who receives the MED filter: only a viewer whose Capabilities declare
ZSTD_MED. The message's flag bit, the session's encoder choice, and real Host
and Viewer sessions over in-memory channels showing a photo."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from screencodec.capture.replay import PacedSource
from screencodec.transport import VIEW, Host, Viewer, allow, channel_pair
from screencodec.transport.channel.memory import MemoryChannel
from screencodec.transport.session import messages as m
from screencodec.transport.session.encoding import choose_encoder
from screencodec.wire import MessageType, Op, ZstdFlags, parse_update, split_message

Frame = npt.NDArray[np.uint8]
FULL = m.Capabilities.full()
#: Everything but VIDEO, so the session's encoder is the lossless one.
NO_VIDEO = m.Capabilities(FULL.ops & ~(1 << Op.VIDEO), 0, FULL.flags, FULL.max_cache)
WITHOUT_MED = dataclasses.replace(NO_VIDEO, flags=NO_VIDEO.flags & ~m.Capabilities.ZSTD_MED)


def test_the_flag_bit_on_the_wire() -> None:
    assert FULL.flags & m.Capabilities.ZSTD_MED
    assert not m.Capabilities.legacy().flags & m.Capabilities.ZSTD_MED
    for caps in (FULL, WITHOUT_MED):
        assert m.decode(m.encode(caps)) == caps
    # a newer viewer's unknown bits are dropped, the known ones kept
    newer = dataclasses.replace(FULL, flags=0xFFFF)
    got = m.decode(m.encode(newer))
    assert isinstance(got, m.Capabilities)
    assert got.flags == m.Capabilities.KNOWN_FLAGS


def test_the_encoder_choice_follows_the_bit() -> None:
    assert choose_encoder(FULL).photo_filter == "med"
    assert choose_encoder(NO_VIDEO).photo_filter == "med"
    assert choose_encoder(WITHOUT_MED).photo_filter == "delta"
    assert choose_encoder(m.Capabilities.legacy()).photo_filter == "delta"


def photo(h: int, w: int) -> Frame:
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([(xx + yy) % 256, (2 * yy) % 256, (255 - xx) % 256], axis=-1)
    grain = rng.integers(-5, 6, (h, w, 1)) + rng.integers(-1, 2, (h, w, 3))
    out = np.full((h, w, 4), 255, np.uint8)
    out[..., :3] = (base + grain).clip(0, 255)
    return out


class StillPhoto:
    """A one-frame :class:`FrameSequence` of a photo-like picture."""

    def __init__(self, w: int = 256, h: int = 160) -> None:
        self.frame_ = photo(h, w)
        self.width, self.height = w, h
        self.times: Sequence[float] = [0.0]

    def __len__(self) -> int:
        return 1

    def frame(self, index: int, /) -> Frame:
        return self.frame_


async def _until(cond: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.005)


def zstd_flags_sent(viewer_factory: Callable[[MemoryChannel], Viewer]) -> tuple[list[int], bool]:
    """Run a session until the viewer applied its first picture; the op flags
    of every ZSTD op the host sent, and whether the viewer shows the photo."""
    picture = StillPhoto()
    source = PacedSource(picture, prefetch=False)

    async def main() -> tuple[list[int], bool]:
        host = Host(source, consent=allow())
        hc, vc = channel_pair()
        assert isinstance(hc, MemoryChannel)
        assert isinstance(vc, MemoryChannel)
        hc.record = True
        serve = asyncio.ensure_future(host.serve(hc))
        viewer = viewer_factory(vc)
        await viewer.start(VIEW)
        task = asyncio.ensure_future(viewer.run())
        try:
            await _until(lambda: viewer.decoded >= 1, 20)
            fb = viewer.framebuffer
            exact = fb is not None and bool(np.array_equal(fb[..., :3], picture.frame_[..., :3]))
            assert viewer.decode_errors == 0
        finally:
            await viewer.bye()
            await asyncio.gather(serve, task, return_exceptions=True)
            await host.close()
        flags = []
        for data in hc.sent:
            msg = m.decode(data)
            if isinstance(msg, m.Update):
                kind, body = split_message(msg.data)
                assert kind is MessageType.UPDATE
                flags += [op.flags for op in parse_update(body).ops if op.op is Op.ZSTD]
        return flags, exact

    return asyncio.run(asyncio.wait_for(main(), 60))


def test_a_viewer_without_the_bit_never_receives_med() -> None:
    flags, exact = zstd_flags_sent(lambda ch: Viewer(ch, capabilities=WITHOUT_MED))
    assert flags, "the photo was not sent as ZSTD"
    assert all(f == ZstdFlags.DELTA_UP | ZstdFlags.PLANAR for f in flags)
    assert exact


def test_a_viewer_that_declares_nothing_never_receives_med() -> None:
    """A version-0.1 viewer (no Capabilities message at all)."""

    class OldViewer(Viewer):
        async def _send(self, msg: m.Message) -> None:
            if not isinstance(msg, m.Capabilities):
                await super()._send(msg)

    flags, _ = zstd_flags_sent(OldViewer)
    assert not [f for f in flags if f & ZstdFlags.MED]


def test_a_viewer_with_the_bit_receives_med() -> None:
    flags, exact = zstd_flags_sent(lambda ch: Viewer(ch, capabilities=NO_VIDEO))
    assert flags
    assert all(f == ZstdFlags.MED | ZstdFlags.PLANAR for f in flags)
    assert exact
