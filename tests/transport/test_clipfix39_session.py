"""clipfix39: an agent's clipboard text is set off the session's receive
loop. An X selection owner that does not answer held every later message
of that agent (chat, pointer, receipts) for up to CLIPBOARD_WAIT (5 s)
while the set waited in the loop. Now the set is a task per link, one in
flight, a later text replacing one still waiting (answered "replaced");
only a key press waits for it, so the page's Ctrl+V after its text still
pastes the new text (tests/web/test_clip39_page.py checks that order in
Chromium). Real host and viewer on loopback; the host's clipboard is the
embedder's object, here one whose set blocks until the test lets it, as a
selection owner that does not answer would."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from screencodec.transport.session.events import (
    ChatReceived,
    ClipboardRefused,
    ClipboardSet,
)

from .helpers import run, until
from .test_clip39_session import MemoryClipboard, _session

V = 0x76


class StuckClipboard(MemoryClipboard):
    """Its set waits for ``go`` (``entered`` once a set has begun); each
    write also goes into ``order``, beside the injector's keys."""

    def __init__(self) -> None:
        super().__init__("the customer's own")
        self.go = threading.Event()
        self.entered = threading.Event()
        self.order: list[tuple[Any, ...]] = []

    def set_text(self, text: str, /) -> None:
        self.entered.set()
        assert self.go.wait(20)
        super().set_text(text)
        self.order.append(("clipboard", text))


def test_a_stuck_clipboard_set_holds_no_chat_or_pointer_of_the_agent() -> None:
    async def main() -> None:
        clip = StuckClipboard()
        async with _session(clip=clip) as s:
            await s.viewer.send_clipboard("ls -la")
            await until(clip.entered.is_set, 10, "the set begun")
            await s.viewer.chat("are you there?")
            await s.viewer.pointer_move(5, 6)
            injector = s.host.injector
            await until(lambda: bool(s.of("host", ChatReceived))
                        and ("move", 5, 6) in injector.events, 10,  # type: ignore[union-attr]
                        "the chat and the move while the set is stuck")  # fmt: skip
            assert s.of("host", ClipboardRefused) == [] and clip.writes == []
            clip.go.set()
            await until(lambda: s.of("viewer", ClipboardSet), 10, "the set done")
            assert clip.text == "ls -la"

    run(main())


def test_a_key_after_the_text_waits_for_its_set() -> None:
    async def main() -> None:
        clip = StuckClipboard()
        async with _session(clip=clip) as s:
            injector: Any = s.host.injector
            clip.order = injector.events  # one record, in the host's order
            await s.viewer.send_clipboard("make deploy")
            await until(clip.entered.is_set, 10, "the set begun")
            await s.viewer.key(V, True)
            await asyncio.sleep(1.0)  # ample for a key on loopback (the set's bound is 5 s)
            assert [e for e in injector.events if e[0] == "key"] == []
            clip.go.set()
            await until(lambda: any(e[0] == "key" for e in injector.events), 10, "the key")
            got = [e for e in injector.events if e[0] in ("key", "clipboard")]
            assert got[:2] == [("clipboard", "make deploy"), ("key", V, True, "")], got

    run(main())


def test_a_later_text_replaces_one_still_waiting() -> None:
    async def main() -> None:
        clip = StuckClipboard()
        async with _session(clip=clip) as s:
            first = await s.viewer.send_clipboard("one")
            await until(clip.entered.is_set, 10, "the set begun")
            second = await s.viewer.send_clipboard("two")
            third = await s.viewer.send_clipboard("three")
            await until(lambda: s.of("viewer", ClipboardRefused), 10, "the replaced one")
            (refused,) = s.of("viewer", ClipboardRefused)
            assert (refused.number, refused.why) == (second, "replaced by a later text before"
                                                             " it was set")  # fmt: skip
            clip.go.set()
            await until(lambda: len(s.of("viewer", ClipboardSet)) == 2, 10, "both set")
            assert [e.number for e in s.of("viewer", ClipboardSet)] == [first, third]
            assert clip.writes == ["one", "three"]

    run(main())
