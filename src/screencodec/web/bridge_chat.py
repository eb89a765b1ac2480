"""The agent's chat lines in the web bridge (:mod:`screencodec.web.bridge`).

A line the page says is sent and shown as said, or held: typed while the
link is down, or before the session is joined, or met the closed channel.
Held lines go in order once the session is taken up (or granted); each
sent line's state on the page follows its ChatDelivery.
"""

from __future__ import annotations

import re
from typing import Any

from screencodec.errors import SessionClosedError
from screencodec.transport.session.chat import ChatBacklogError
from screencodec.transport.session.viewer import Viewer
from screencodec.web.bridge_base import HISTORY, BridgeBase

__all__ = ["CHAT_PART", "BridgeChat", "sendable"]

#: The most characters (code points) of one chat message the bridge sends:
#: what every side shows whole, and at most 4000 bytes (the wire takes
#: 4096). The page splits the same way (ui.js chatParts); a page of an
#: older version sent up to 2000 UTF-16 units, 6000 bytes of CJK.
CHAT_PART = 1000
#: What the wire cannot take in a chat line: a NUL, a lone surrogate (the
#: page's JSON can carry one: half an emoji cut by a script).
_UNSENDABLE = re.compile("[\x00\ud800-\udfff]")


def sendable(text: str) -> list[str]:
    """The page's line as the messages it goes in: each of at most
    :data:`CHAT_PART` characters, U+FFFD for what the wire cannot take
    (walk46: a lone surrogate went nowhere, "UnicodeEncodeError" on the
    agent's terminal; before, it was kept and ended the session at the
    next resume)."""
    text = _UNSENDABLE.sub("\ufffd", text)
    return [text[i : i + CHAT_PART] for i in range(0, len(text), CHAT_PART)]


class BridgeChat(BridgeBase):
    """The bridge's chat side: the agent's lines held, sent, and marked."""

    def _hold(self, text: str) -> None:
        self._chat_ids += 1
        state = ("lost" if self._settled else "held" if self.link_down or self.joined
                 else "waiting")  # fmt: skip
        line = {"t": "chat", "from": "me", "text": text, "id": self._chat_ids, "state": state}
        if not self._settled:
            self._held.append(line)
        self.send(line)

    def _start_flush(self) -> None:
        """Send the held chat lines, if the session is joined and up and no
        sending of them is under way already."""
        if self._held and self.joined and not self.link_down and not self._flushing:
            assert self.viewer is not None
            self._flushing = True  # one at a time: two would send a line twice
            self._spawn(self._flush(self.viewer))

    async def _flush(self, viewer: Viewer) -> None:
        """Send the held chat lines on ``viewer``, lines held meanwhile too;
        those left when the link is lost again wait for the next resume."""
        try:
            while self._held and not self.link_down and self.joined:
                line = self._held[0]
                try:
                    line_id = await viewer.chat(line["text"])
                except SessionClosedError:
                    return
                except ChatBacklogError:
                    line_id = None
                self._held.pop(0)
                self._sent_line(line, line_id)
        finally:
            self._flushing = False

    async def _say_in_turn(self, viewer: Viewer | None, text: str) -> None:
        """:meth:`_say`, after the lines the page sent before. Not awaited by
        the page's loop: a line may wait up to BACKLOG_WAIT for room (64 of
        the agent's lines wait for the host's confirmation), and the page's
        other messages (its input, Leave, what it applied) do not wait
        behind it."""
        async with self._saying:
            for part in sendable(text):
                await self._say(viewer, part)

    async def _say(self, viewer: Viewer | None, text: str) -> None:
        """The agent's chat line: sent and shown as said, or held (the link
        is down, or its send met the closed channel) until :meth:`resumed`,
        or (not joined yet) until the host grants the session."""
        if self.link_down or self._held or self._settled or viewer is None or not self.joined:
            self._hold(text)
            return
        try:
            line_id: int | None = await viewer.chat(text)
        except SessionClosedError:
            self._hold(text)  # the link broke under it, or the session ended
            return
        except ChatBacklogError:
            line_id = None
        self._chat_ids += 1
        line = {"t": "chat", "from": "me", "text": text, "id": self._chat_ids}
        self._add_logged(self._chat, line)  # replayed as its latest state: the same dict
        self._sent_line(line, line_id)

    def _sent_line(self, line: dict[str, Any], line_id: int | None) -> None:
        """The page's ``line`` went to the viewer as ``line_id`` ("sent",
        until its ChatDelivery), or was refused (None: too many lines wait
        for the host's confirmation)."""
        if line_id is None:
            line["state"] = "backlog"
        else:
            line["state"] = "sent"
            self._sent[line_id] = line
            while len(self._sent) > HISTORY:
                del self._sent[next(iter(self._sent))]
        self._to_page(line)

    def _mark(self, line_id: int, state: str) -> None:
        """The page's line sent as ``line_id`` is now ``state``."""
        line = self._sent.pop(line_id, None) if state != "sent" else self._sent.get(line_id)
        if line is not None and line.get("state") != state:
            line["state"] = state
            self._to_page(line)
