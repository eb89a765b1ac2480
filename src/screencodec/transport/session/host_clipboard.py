"""The host's user's clipboard commands (a mixin of :class:`~.host.Host`):
send the clipboard to the agents, turn sync on or off. Apart from
:mod:`.clipboard_host` (each link's clipboard and the sync), which
runtime.py and link.py import: this one names the runtime's class."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from screencodec.errors import ScreencodecError
from screencodec.transport.aio import wait_for
from screencodec.transport.session.clipboard import (
    NO_CLIPBOARD,
    ClipboardError,
    ClipboardLike,
    check_text,
)
from screencodec.transport.session.clipboard_host import read_clipboard

if TYPE_CHECKING:
    from screencodec.transport.session.runtime import HostRuntime

__all__ = ["HostClipboard"]


class HostClipboard:
    """Host's mixin: its user's clipboard commands."""

    _runtime: HostRuntime

    @property
    def clipboard(self) -> ClipboardLike | None:
        return self._runtime.clipboard

    async def send_clipboard(self, text: str | None = None,
                             peer: str | None = None) -> tuple[str, ...]:  # fmt: skip
        """The host's user's command: send ``text`` (None: what is on the
        host's clipboard now) to one agent (by peer name) or every one that
        shares clipboards; returns the peers it went to. Whether the agent
        holds CONTROL does not matter: the user chose to send it.
        :class:`~.clipboard.ClipboardError` when there is no text (an empty
        clipboard, no clipboard) or it is over 64 KiB, before anything is
        sent."""
        if text is None:
            clipboard = self._runtime.clipboard
            if clipboard is None:
                raise ClipboardError("this host has no clipboard", NO_CLIPBOARD)
            try:
                text = await read_clipboard(clipboard)
            except (OSError, ScreencodecError, asyncio.TimeoutError) as exc:
                raise ClipboardError(f"the clipboard could not be read: {exc!r}") from exc
            if text is None:
                raise ClipboardError("the clipboard holds no text")
        check_text(text)
        went = []
        for link in list(self._runtime.links):
            if link.clip.shares and link.named(peer):
                await link.clip.send_text(text, sync=False)
                went.append(link.peer)
        return tuple(went)

    @property
    def clipboard_sync(self) -> bool:
        """Whether the host's clipboard changes go to agents that hold CONTROL."""
        return self._runtime.clip_sync.on

    def set_clipboard_sync(self, on: bool) -> bool:
        """Turn sync on or off (off by default); returns whether it is on
        (never without a clipboard)."""
        sync = self._runtime.clip_sync
        sync.start() if on else sync.stop()
        return sync.on

    async def clipboard_sync_looked(self, timeout: float) -> bool:
        """Once sync, just turned on, has read what the clipboard held (or
        found no agent holding CONTROL: the first read after a grant takes
        what is there then), so that a copy made from now on goes; False
        after ``timeout`` seconds, or when sync is off."""
        sync = self._runtime.clip_sync
        if not sync.on:
            return False
        with contextlib.suppress(asyncio.TimeoutError):
            await wait_for(sync.looked.wait(), timeout)
        return sync.looked.is_set()
