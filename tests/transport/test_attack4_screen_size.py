"""A hostile host declares a screen the wire allows (up to 16384 per side)
but no real setup has: a 16384x16384 keyframe of one FILL op is a few dozen
bytes on the link and 1 GiB of framebuffer in the viewer. The viewer ends
the session on the update's header, before allocating anything of that
size, and says why ("the host's screen is WxH, over this viewer's limit of
N pixels"), to its caller and in a Bye to the host. Real sockets on
loopback; the host is scripted, so it can say what a real one never would.
"""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import pytest

from screencodec.decoder import ScreenDecoder
from screencodec.errors import DecodeError
from screencodec.geometry import Monitor, Rect
from screencodec.transport import Viewer
from screencodec.transport.session import messages as m
from screencodec.transport.session.viewer import DEFAULT_MAX_PIXELS
from screencodec.wire import Op
from screencodec.wire.build import EncodedOp, build_update

from .helpers import GrantingHost, run, tcp_pair, until

MB = 1_000_000


def _keyframe(seq: int, w: int, h: int, colour: bytes = b"\x10\x20\x30") -> bytes:
    """A whole picture of ``w`` x ``h`` in one FILL: tiny on the wire."""
    return build_update(seq, w, h, [EncodedOp(Op.FILL, Rect(0, 0, w, h), colour)],
                        keyframe=True)  # fmt: skip


class _Host(GrantingHost):
    """Grants VIEW, then sends what the test says; keeps what the viewer sends."""

    async def monitors(self, *sizes: tuple[int, int], current: int = 1) -> None:
        mons = tuple(Monitor(i + 1, 0, 0, w, h, i == 0) for i, (w, h) in enumerate(sizes))
        await self.channel.send(m.encode(m.MonitorList(mons, current)))

    async def picture(self, w: int, h: int) -> None:
        self.seq += 1
        await self.channel.send(m.encode(m.Update(self.seq, _keyframe(self.seq, w, h))))

    def receipts(self) -> int:
        return sum(isinstance(x, m.Receipt | m.CompactReceipt) for x in self.got)

    def byes(self) -> list[str]:
        return [x.reason for x in self.got if isinstance(x, m.Bye)]


Script = Callable[[_Host, Viewer, "asyncio.Future[str]"], Awaitable[None]]


async def _scripted(script: Script, **viewer_kw: Any) -> tuple[Viewer, _Host, str, int]:
    """``(viewer, host, what run() returned, peak bytes traced while it ran)``."""
    host_ch, viewer_ch, server = await tcp_pair()
    viewer = Viewer(viewer_ch, **viewer_kw)
    host = _Host(host_ch)
    hello = asyncio.ensure_future(host.hello())
    await viewer.start()
    await hello
    reader = asyncio.ensure_future(host.read())
    tracemalloc.start()
    try:
        running = asyncio.ensure_future(viewer.run())
        try:
            await script(host, viewer, running)
        finally:
            if not running.done():
                await viewer.bye()
            outcome = await running
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        await until(lambda: reader.done() or bool(host.byes()), what="the host reads the end")
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        await host_ch.close()
        server.close()
        await server.wait_closed()
    return viewer, host, outcome, peak


def _limit(w: int, h: int, n: int = DEFAULT_MAX_PIXELS) -> str:
    return f"the host's screen is {w}x{h}, over this viewer's limit of {n} pixels"


def test_a_16384_square_screen_ends_the_session_without_allocating_it() -> None:
    """The monitor list says 16384x16384 (only words), then its keyframe
    comes: the session ends on it, nothing near 1 GiB is allocated, the
    host is told why, and no receipt answers the update."""

    async def script(host: _Host, viewer: Viewer, running: Any) -> None:
        await host.monitors((16384, 16384))
        await host.picture(16384, 16384)
        await until(running.done, what="the session's end")

    viewer, host, outcome, peak = run(_scripted(script), 30)
    assert outcome == _limit(16384, 16384)
    assert viewer.framebuffer is None and viewer.decoded == 0
    assert peak < 50 * MB  # the picture would be 1074 MB
    assert host.byes() == [_limit(16384, 16384)]
    assert host.receipts() == 0
    assert viewer.channel.closed


def test_a_screen_that_grows_mid_session_ends_it_and_keeps_the_last_picture() -> None:
    """A 64x48 session whose host then switches to a screen just over the
    default budget (12000x4001 = 48.0 M + 12000): the first picture stays,
    the second is never allocated."""

    async def script(host: _Host, viewer: Viewer, running: Any) -> None:
        await host.monitors((64, 48))
        await host.picture(64, 48)
        await until(lambda: viewer.decoded == 1, what="the first picture")
        await host.monitors((64, 48), (12000, 4001), current=2)
        await host.picture(12000, 4001)
        await until(running.done, what="the session's end")

    viewer, host, outcome, peak = run(_scripted(script), 30)
    assert outcome == _limit(12000, 4001)
    assert viewer.framebuffer is not None and viewer.framebuffer.shape == (48, 64, 4)
    assert (viewer.framebuffer[0, 0, :3] == (0x10, 0x20, 0x30)).all()
    assert viewer.monitors[1].width == 12000  # the list is kept: only words
    assert peak < 50 * MB  # the picture would be 192 MB
    assert host.byes() == [_limit(12000, 4001)]


@pytest.mark.parametrize(("w", "h"), [(7680, 4320), (11520, 2160)], ids=["8K", "three-4K"])
def test_real_screens_are_shown_under_the_default_limit(w: int, h: int) -> None:
    async def script(host: _Host, viewer: Viewer, _: Any) -> None:
        await host.picture(w, h)
        await until(lambda: viewer.decoded == 1, timeout=20, what="the picture")

    viewer, host, outcome, _ = run(_scripted(script), 40)
    assert viewer.framebuffer is not None and viewer.framebuffer.shape == (h, w, 4)
    assert host.receipts() == 1
    assert "limit" not in outcome


def test_a_service_sets_its_own_limit() -> None:
    """``Viewer(max_pixels=...)``: a picture at the limit is shown, one pixel
    row over it ends the session in the same words, with its number."""

    async def script(host: _Host, viewer: Viewer, running: Any) -> None:
        await host.picture(100, 100)
        await until(lambda: viewer.decoded == 1, what="the picture at the limit")
        await host.picture(100, 101)
        await until(running.done, what="the session's end")

    viewer, _, outcome, _ = run(_scripted(script, max_pixels=10_000), 30)
    assert outcome == _limit(100, 101, 10_000)
    assert viewer.framebuffer is not None and viewer.framebuffer.shape == (100, 100, 4)


def test_the_decoder_refuses_a_picture_over_its_limit_and_keeps_its_own() -> None:
    dec = ScreenDecoder(max_pixels=10_000)
    before = np.array(dec.decode(_keyframe(0, 100, 100)))
    with pytest.raises(DecodeError, match="100x101, over this viewer's limit of 10000 pixels"):
        dec.decode(_keyframe(1, 100, 101))
    assert dec.framebuffer is not None and (dec.framebuffer == before).all()
    assert dec.needs_keyframe
