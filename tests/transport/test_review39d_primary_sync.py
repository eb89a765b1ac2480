"""review39d: the host's clipboard sets PRIMARY too (clipwalk39), but sync
never sends it: a selection (text the customer only highlighted) is not a
choice to share; only a copy (CLIPBOARD) goes, and only under /clip on.
Real Xvfb and xclip, the host's XClipboard(primary=True), sync on, an
agent holding control (test_clipfix39_watch's session)."""

from __future__ import annotations

import asyncio

from screencodec.cli.clipboard_x11 import XClipboard
from screencodec.transport.session.events import ClipboardReceived

from .helpers import run, until
from .test_clip39_session import _session


def _select(display: str, text: str) -> None:
    """The customer highlights ``text``: PRIMARY alone (xclip's default)."""
    XClipboard(display)._run("-i", data=text.encode(), selection="primary")


def test_sync_sends_a_copy_and_never_a_selection(xvfb_display: str) -> None:
    async def main() -> None:
        clip = XClipboard(xvfb_display, primary=True)
        await asyncio.to_thread(XClipboard(xvfb_display).set_text, "before")
        async with _session(clip=clip) as s:  # type: ignore[arg-type]
            s.host._runtime.clip_sync.period = 0.05
            assert s.host.set_clipboard_sync(True) is True
            await asyncio.sleep(0.5)  # sync has read "before" (not a change)
            await asyncio.to_thread(_select, xvfb_display, "my bank password hunter2")
            await asyncio.sleep(1.5)  # 30 periods
            assert s.of("viewer", ClipboardReceived) == []
            await asyncio.to_thread(XClipboard(xvfb_display).set_text, "df -h")
            await until(lambda: s.of("viewer", ClipboardReceived), 10, "the copy sent")
            assert [e.text for e in s.of("viewer", ClipboardReceived)] == ["df -h"]
            assert s.host.set_clipboard_sync(False) is False

    run(main())
