"""tail39b: clipboard sync turned off while its XFixes watch was still
opening (``/clip on`` then ``/clip off`` at once) left that watch's X
connection open for the process's life: the opening thread ran on, and
its watch was never closed. Real Xvfb, the real watch (an X connection
and a wake-up pipe: three file descriptors of this process)."""

from __future__ import annotations

import asyncio
import os
import time

from screencodec.cli.clipboard_x11 import XClipboard
from screencodec.cli.selection_watch import SelectionWatch

from .helpers import run, until
from .test_clip39_session import _session


class SlowToWatch(XClipboard):
    """The real X clipboard, whose watch takes 0.5 s to open (as over a
    slow X link): long enough for sync to be turned off meanwhile."""

    opened: list[SelectionWatch | None]

    def watch(self) -> SelectionWatch | None:
        time.sleep(0.5)
        watch = super().watch()
        self.opened.append(watch)
        return watch


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_sync_off_while_the_watch_opens_closes_it(xvfb_display: str) -> None:
    async def main() -> None:
        clip = SlowToWatch(xvfb_display)
        clip.opened = []
        async with _session(clip=clip) as s:  # type: ignore[arg-type]
            before = _fds()
            assert s.host.set_clipboard_sync(True) is True
            await asyncio.sleep(0.1)  # the watch is opening, in its thread
            assert s.host.set_clipboard_sync(False) is False
            await until(lambda: clip.opened, 10, "the watch opened")
            assert clip.opened[0] is not None  # a real watch: XFIXES is there
            await asyncio.sleep(0.2)  # its close, had it come, has come
            assert _fds() == before  # found: before + 3 (the X socket, the pipe's two ends)

    run(main())
