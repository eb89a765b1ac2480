"""CONTROL in the web bridge (:mod:`screencodec.web.bridge`): the level the page
may use, its input forwarded, asking for CONTROL and giving it back.

Input is forwarded only while the host has granted CONTROL and the agent has
not given it back; what this bridge pressed on the host is tracked, so that
giving control back (or the page going away) releases every key and button.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import Any

from screencodec.errors import SessionClosedError
from screencodec.transport.session.permissions import CONTROL, VIEW, Permission
from screencodec.transport.session.viewer import Viewer
from screencodec.web.bridge_chat import BridgeChat
from screencodec.web.bridge_words import UNANSWERED, USER_DID_NOT_ACCEPT

__all__ = ["BridgeControl"]


class BridgeControl(BridgeChat):
    """The bridge's CONTROL side (its level's first grant sends the held chat
    lines: :meth:`send_level`)."""

    def send_level(self) -> None:
        """Tell the page the level it can use: the host's grant, without
        CONTROL while it is held back or the link is down (:attr:`link_down`:
        the page shows no level and lets go of its keys until the session
        is taken up again), and why CONTROL cannot be had, if so. The first
        grant (web/run.py tells it once the session is joined) sends the
        chat lines typed before it."""
        self._start_flush()
        level = self.viewer.level if self.viewer is not None else Permission()
        control = CONTROL in level and not self.held_back and not self.link_down
        if control and self._state.get("banner", {}).get("kind") == "revoked":
            # Control came again: "you can only watch now" is not replayed
            # to a reloaded page (the page takes its banner down itself).
            del self._state["banner"]
        msg = {"t": "level", "view": VIEW in level, "control": control,
               "unavailable": self.unavailable}  # fmt: skip
        if self.link_down:
            # page46: the badge said "View only" or "Control" over a frozen
            # picture; the page says "Reconnecting" (app/link.js) until the
            # next level (the resumed session's grant). Every level sent
            # meanwhile says it (a page that went away gives control back,
            # and its level replaced the reconnecting one: found reloading).
            msg["reconnecting"] = True
        self.send(msg)

    async def _input(self, viewer: Viewer, msg: dict[str, Any]) -> None:
        kind = msg["t"]
        if kind == "move":
            await viewer.pointer_move(msg["x"], msg["y"])
        elif kind == "button":
            b = msg["b"]
            await self._press(self._buttons_down, b, msg["down"], viewer.button(b, msg["down"]))
        elif kind == "wheel":
            await viewer.wheel(msg["dx"], msg["dy"])
        else:
            keysym = msg["keysym"]
            sent = viewer.key(keysym, msg["down"], msg["text"])
            await self._press(self._keys_down, keysym, msg["down"], sent)

    async def _press(self, down: dict[int, None], what: int, pressed: bool,
                     sending: Awaitable[bool]) -> None:  # fmt: skip
        """A key or button going down or up on the host: tracked before it is
        sent (a give-back meanwhile releases it), and as it was if the viewer
        withheld it (False: blind after a resume, docs/api.md) or could not
        send it (a closed channel): only what was sent is pressed there, and
        released later."""
        was = what in down
        _track(down, what, pressed)
        sent = False
        try:
            sent = await sending
        finally:
            if not sent and not self.held_back:
                _track(down, what, was)

    async def hold_back(self, viewer: Viewer) -> None:
        """Stop using CONTROL (the agent gave it back, or the page went away):
        release on the host what this bridge pressed, in reverse, forward no
        more input, and give CONTROL back to the host (its user sees it)."""
        if self.held_back or CONTROL not in viewer.level:
            return
        self.held_back = True
        self.send_level()
        buttons, keys = list(self._buttons_down), list(self._keys_down)
        self._buttons_down.clear()
        self._keys_down.clear()
        for b in reversed(buttons):
            await viewer.button(b, False)
        for keysym in reversed(keys):
            await viewer.key(keysym, False, "")
        await viewer.release(CONTROL)
        self.send_level()

    async def ask_control(self, viewer: Viewer) -> None:
        """Ask the host's user for CONTROL; the page sees the question and the
        answer. A refusal the user was not asked about comes with the host's
        own notice (shown as it came): only the user's own is said here, once
        this request's answer is known (a late answer to an earlier one is
        not taken for it), and no answer within :attr:`ask_timeout`."""
        self.status("Asking the user for remote control...")
        refusal = None
        unanswered = False
        loop = asyncio.get_running_loop()
        start = loop.time()
        with contextlib.suppress(RuntimeError, SessionClosedError):  # one already pending
            if not await viewer.request(CONTROL, self.ask_timeout):
                refusal = viewer.refusal
                # No refusal and no timeout: the session ended, which is told.
                unanswered = refusal is None and loop.time() - start >= self.ask_timeout
                if self.on_refused is not None and (refusal is not None or unanswered):
                    self.on_refused(refusal)
        if refusal is not None and refusal.by_user:
            # Its no and its question's timeout are one answer (walk43).
            self.send({"t": "notice", "text": USER_DID_NOT_ACCEPT, "code": 0})
        elif unanswered:
            self.send({"t": "notice", "text": UNANSWERED, "code": 0})
        # A give-back under way stays one (held_back is cleared by the host's
        # revoke only); a grant that came after the page went away is given
        # back at once, as the page's going away gives it back.
        if self._out is None:
            await self._quietly(self.hold_back, viewer)
        self.send_level()
        self.status("Connected")


def _track(down: dict[int, None], what: int, pressed: bool) -> None:
    """Keep ``down`` the set of what is pressed, in the order it was pressed."""
    if pressed:
        down[what] = None
    else:
        down.pop(what, None)
