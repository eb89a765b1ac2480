"""The page's clipboard in the view process (clip39; the page's side is
static/app/clipboard.js, the session's rules transport/session/clipboard.py).

The agent's Ctrl+V: the page sends ``{"t": "clip", "text"}`` and then the V
key. The bridge awaits :func:`clip_from_page` before it reads the page's
next message, so the text goes on the link before the key, and the host
puts it on its clipboard before it injects the key. The host's user's
clipboard comes as a ClipboardReceived and goes to the page raw
(:func:`clip_to_page`): the page offers it (a preview, controls escaped)
and writes it on the browser's clipboard only when the agent presses "Copy
to my clipboard" (clipfix39: never unasked); the notices are made here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from screencodec.errors import SessionClosedError
from screencodec.transport.channel.display import safe_text
from screencodec.transport.session.clipboard import ClipboardError
from screencodec.transport.session.events import ClipboardReceived, ClipboardRefused
from screencodec.transport.session.permissions import CONTROL

__all__ = ["clip_from_page", "clip_to_page"]


async def clip_from_page(viewer: Any, text: str, held_back: bool,
                         send: Callable[[dict[str, Any]], None]) -> None:  # fmt: skip
    """The page's pasted ``text`` for the host's clipboard (no control, or
    control given back on the page: nothing goes, as for its keys)."""
    if viewer is None or CONTROL not in viewer.level or held_back:
        return
    try:
        await viewer.send_clipboard(text)
    except ClipboardError as exc:
        send({"t": "notice", "text": f"Not pasted on the host: {safe_text(exc, 200)}"})
    except SessionClosedError:
        pass  # the session is ending: its end says so


def clip_to_page(ev: ClipboardReceived | ClipboardRefused) -> dict[str, Any]:
    """The page's message for a clipboard event of the viewer's."""
    if isinstance(ev, ClipboardReceived):
        return {"t": "clip", "text": ev.text, "reason": ev.reason}
    return {"t": "notice", "text": f"Not pasted on the host: {safe_text(ev.why, 200)}"}
