"""A healthy session never trips the viewer's sequence check.

A real Host and Viewer over loopback TCP (the sealed direct transport), on the
synthetic desktop, with idle stretches: the host leaves every empty update
unsent, and the encoder does not count them (docs/protocol.md, "Sequence
numbers"), so the viewer sees no gap. The session ends bit-exact with zero
decode errors and no keyframe beyond the join.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from screencodec.capture.base import SourceWrapper
from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.decoder import ScreenDecoder
from screencodec.transport import (
    VIEW,
    Host,
    RecordingInjector,
    SessionCredentials,
    Viewer,
    allow,
    connect_direct,
    listen_direct,
)

Frame = npt.NDArray[np.uint8]


class Idling(SourceWrapper):
    """Plays the inner source; while ``idle`` it repeats its last frame (an
    unchanged screen) and counts those grabs in ``idle_grabs``. Grabbed on the
    host's worker thread; the counters are only read by the test."""

    def __init__(self, inner: SyntheticDesktop) -> None:
        super().__init__(inner)
        self.idle = False
        self.idle_grabs = 0
        self.last: Frame | None = None

    def grab(self) -> Frame:
        if self.idle and self.last is not None:
            self.idle_grabs += 1
        else:
            self.last = np.array(self.inner.grab(), copy=True)
        return self.last


class CountingDecoder(ScreenDecoder):
    """Counts the keyframes it applies (flags byte of the update header)."""

    def __init__(self) -> None:
        super().__init__()
        self.keyframes = 0

    def decode(self, data: bytes | bytearray | memoryview, /) -> Frame:
        fb = super().decode(data)
        if bytes(data[3:4]) == b"\x01" and data[12] & 1:
            self.keyframes += 1
        return fb


async def until(cond: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


def same_bgr(a: Frame | None, b: Frame | None) -> bool:
    return a is not None and b is not None and np.array_equal(a[..., :3], b[..., :3])


def test_idle_stretches_leave_no_gap_and_need_no_keyframe() -> None:
    async def main() -> None:
        screen = Idling(SyntheticDesktop(320, 200, scenario="typing", seed=3))
        host = Host(screen, consent=allow(), injector=RecordingInjector())
        creds = SessionCredentials()
        decoder = CountingDecoder()
        async with await listen_direct("127.0.0.1", 0, creds, host.serve) as listener:
            channel = await connect_direct("127.0.0.1", listener.port, creds.code, creds.password)
            viewer = Viewer(channel, decoder=decoder)
            await viewer.start(VIEW)
            task = asyncio.ensure_future(viewer.run())
            for stretch in range(3):
                start = viewer.decoded
                await until(lambda s=start: viewer.decoded >= s + 5, f"5 updates ({stretch})")
                screen.idle = True
                idle_from = screen.idle_grabs
                # 15 ticks on an unchanged screen: 15 empty updates, none sent
                await until(lambda i=idle_from: screen.idle_grabs >= i + 15, "15 idle ticks")
                screen.idle = False
            screen.idle = True  # the last picture stays: the viewer must reach it
            await until(lambda: same_bgr(viewer.framebuffer, screen.last), "bit-exact")
            await viewer.bye()
            await task
        await host.close()
        assert viewer.decode_errors == 0
        assert viewer.keyframe_requests == 0
        assert decoder.keyframes == 1  # the join
        assert decoder.skipped == 0 and not decoder.needs_keyframe
        assert decoder.sequence is not None and decoder.sequence == viewer.decoded - 1

    asyncio.run(asyncio.wait_for(main(), 60))
