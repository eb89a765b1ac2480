"""clipfix39: sync learns of a copy from the X server (XFixes selection
events, python-xlib: the x11 extra) instead of starting an ``xclip -o``
process every second. Real Xvfb, real xclip: the watch wakes on a copy
and stays asleep without one; the host's sync, given the real X
clipboard, reads it (each read an xclip process) only after a copy."""

from __future__ import annotations

import asyncio
import threading
import time

from screencodec.cli.clipboard_x11 import XClipboard
from screencodec.transport.session.events import ClipboardReceived

from .helpers import run, until
from .test_clip39_session import MemoryClipboard, _session


def test_the_watch_wakes_on_a_copy_and_not_without_one(xvfb_display: str) -> None:
    clip = XClipboard(xvfb_display)
    watch = clip.watch()
    assert watch is not None
    try:
        assert watch.wait(0.3) is False  # nothing copied
        clip.set_text("copied once")
        assert watch.wait(5.0) is True
        # A close from another thread ends a wait at once.
        closer = threading.Timer(0.2, watch.close)
        closer.start()
        start = time.monotonic()
        assert watch.wait(10.0) is False
        assert time.monotonic() - start < 5.0
        closer.join()
    finally:
        watch.close()


class CountingX(XClipboard):
    """The real X clipboard, counting its reads (each one xclip process)."""

    reads = 0

    def get_text(self) -> str | None:
        self.reads += 1
        return super().get_text()


def test_sync_reads_the_x_clipboard_only_after_a_copy(xvfb_display: str) -> None:
    async def main() -> None:
        clip = CountingX(xvfb_display)
        await asyncio.to_thread(XClipboard(xvfb_display).set_text, "before")
        async with _session(clip=clip) as s:  # type: ignore[arg-type]
            s.host._runtime.clip_sync.period = 0.05
            assert s.host.set_clipboard_sync(True) is True
            await until(lambda: clip.reads >= 1, 10, "the first read")
            await asyncio.sleep(1.0)  # 20 periods: no copy, so no read
            reads = clip.reads
            assert reads <= 2, reads
            await asyncio.to_thread(XClipboard(xvfb_display).set_text, "df -h")
            await until(lambda: s.of("viewer", ClipboardReceived), 10, "the copy sent")
            (got,) = s.of("viewer", ClipboardReceived)
            assert (got.text, got.reason) == ("df -h", "sync")
            assert s.host.set_clipboard_sync(False) is False

    run(main())


class BrokenWatch:
    """A watch whose X connection is lost at its first wait."""

    closed = False

    def wait(self, timeout: float) -> bool:
        raise ConnectionResetError("the X server went away")

    def close(self) -> None:
        self.closed = True


class WatchedMemory(MemoryClipboard):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.watching = BrokenWatch()

    def watch(self) -> BrokenWatch:
        return self.watching


def test_a_watch_that_fails_leaves_sync_reading_every_period() -> None:
    async def main() -> None:
        clip = WatchedMemory("before")
        async with _session(clip=clip) as s:
            s.host._runtime.clip_sync.period = 0.05
            assert s.host.set_clipboard_sync(True) is True
            await until(lambda: clip.reads >= 3, 10, "reading every period")
            clip.text = "after the watch failed"
            await until(lambda: s.of("viewer", ClipboardReceived), 10, "the change sent")
            assert s.host.set_clipboard_sync(False) is False
            await until(lambda: clip.watching.closed, 10, "the watch closed")

    run(main())
