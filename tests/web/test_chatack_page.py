"""Chat delivery on the agent's page (transport/session/chat.py,
web/bridge.py): each of the agent's lines is marked sent, then delivered
once the host's program has it, or not confirmed when the session ended
first (it went; its confirmation never came); a line lost in a cut link
reaches the host's user once after the resume. Real host, web viewer
through a cuttable proxy, headless Chromium."""

from __future__ import annotations

from typing import Any

from screencodec.capture import open_source
from screencodec.transport import ChatReceived

from .conftest import wait_page
from .harness import StillSource
from .test_newuser2_page_states import _text
from .test_page_resume import _LinkedSession

_MARKS = ("return [...document.querySelectorAll('#chat-log li.me')].map((l) =>"
          " [l.textContent, l.querySelector('.state').textContent, l.className])")


def _chat(browser: Any, text: str) -> None:
    browser.execute_script(
        "document.getElementById('chat-input').value = arguments[0];"
        "document.getElementById('chat-form').requestSubmit()", text)  # fmt: skip


def _mine(browser: Any) -> list[list[str]]:
    return list(browser.execute_script(_MARKS))


def _live() -> _LinkedSession:
    return _LinkedSession(StillSource(open_source("synthetic", width=320, height=200,
                                                  scenario="idle")))  # fmt: skip


def _said(live: _LinkedSession, events: Any, count: int) -> list[str]:
    async def said() -> list[str]:
        texts: list[str] = []
        async for ev in events:
            if isinstance(ev, ChatReceived):
                texts.append(ev.text)
                if len(texts) == count:
                    break
        return texts

    return live.call(said)  # type: ignore[no-any-return]


def test_the_page_marks_each_line_delivered_or_not_delivered(browser: Any) -> None:
    live = _live()
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the first picture")
        _chat(browser, "first line")
        wait_page(browser, lambda s: "(delivered)" in _text(browser, "chat-log"), what="delivered")
        assert _mine(browser) == [["You: first line (delivered)", " (delivered)", "me delivered"]]
        live.run(lambda: live.proxy.mute("viewer"))  # the agent's uplink dies
        _chat(browser, "<b>second</b> line")
        wait_page(browser, lambda s: "(sent)" in _text(browser, "chat-log"), what="sent")

        async def end() -> None:
            await live.host.disconnect(reason="done")

        live.call(end)
        wait_page(browser, lambda s: "not confirmed" in _text(browser, "chat-log"),
                  what="not confirmed")  # fmt: skip
        # It went, and no confirmation came: the page cannot know more (words32).
        assert _mine(browser)[1] == ["You: <b>second</b> line (not confirmed: the session ended)",
                                     " (not confirmed: the session ended)", "me unconfirmed"]
        assert _mine(browser)[0][1] == " (delivered)"
    finally:
        live.close()


def test_a_line_lost_in_a_cut_reaches_the_host_once_after_the_resume(browser: Any) -> None:
    live = _live()
    try:
        events = live.run(live.host.events)
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the first picture")
        live.run(lambda: live.proxy.mute("viewer"))
        _chat(browser, "lost in the cut")
        wait_page(browser, lambda s: "(sent)" in _text(browser, "chat-log"), what="sent")

        async def host_says() -> None:
            await live.host.send_chat("from the host")

        live.call(host_says)  # it arrives; the page's ack of it is lost: sent again
        wait_page(browser, lambda s: "User: from the host" in _text(browser, "chat-log"),
                  what="the host's line")  # fmt: skip

        def cut() -> None:
            live.proxy.muted = None
            live.proxy.cut()

        live.run(cut)
        wait_page(browser, lambda s: s["banner"] == "Reconnected: the session goes on.",
                  what="the resumed banner")  # fmt: skip
        _chat(browser, "after the resume")
        assert _said(live, events, 2) == ["lost in the cut", "after the resume"]
        wait_page(browser, lambda s: _text(browser, "chat-log").count("(delivered)") == 2,
                  what="both delivered")  # fmt: skip
        assert [row[1] for row in _mine(browser)] == [" (delivered)", " (delivered)"]
        host_lines = browser.execute_script(
            "return document.querySelectorAll('#chat-log li.host').length")
        assert host_lines == 1  # the line the host sent again is not shown twice
        viewer = live.run(lambda: live.web.viewer)
        assert viewer.chats.duplicates == 1
        assert len(live.asked) == 1
    finally:
        live.close()
