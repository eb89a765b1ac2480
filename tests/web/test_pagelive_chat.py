"""Chat the agent types on the page before the session is joined (the host's
user has not answered yet) waits, marked so, and reaches the host's user
once the session is granted; if it never is, the line says it was not sent.
Before, the bridge dropped it without a word. Real host and web viewer over
sealed channels on loopback (through the shaping proxy), headless Chromium."""

from __future__ import annotations

import asyncio
from typing import Any

from selenium.webdriver.common.by import By

from screencodec.transport import ChatReceived
from screencodec.transport.session.consent import ConsentRequest
from screencodec.transport.session.permissions import VIEW, Grant
from test_walk3_page import _chat, _log

from .conftest import wait_page
from .test_newuser2_page_states import _text
from .test_pagelive_silence import _ShapedSession, _still

_WAITING = " (not sent yet: it goes once the user lets you in)"


class _Asked:
    """The host's user, who answers the first question when the test says
    (:meth:`answer` from the test's thread)."""

    def __init__(self) -> None:
        self.pending: asyncio.Future[Grant] | None = None

    async def __call__(self, request: ConsentRequest) -> Grant:
        self.pending = asyncio.get_running_loop().create_future()
        return await self.pending


def _asking(browser: Any, live: _ShapedSession, asked: _Asked) -> None:
    browser.get(live.url)
    wait_page(browser, lambda s: _text(browser, "status") == "Waiting for the user to accept...",
              what="the question asked")  # fmt: skip
    live.wait(lambda: asked.pending is not None, what="the host's user asked")


def _refused(browser: Any, live: _ShapedSession, asked: _Asked) -> None:
    """The host's user says no to the question :func:`_asking` waited for;
    returns once the page shows it."""

    async def refuse() -> None:
        assert asked.pending is not None
        asked.pending.set_result(Grant.deny())

    live.call(refuse)
    wait_page(browser, lambda s: (s["banner"] or "").startswith("Not shared"),
              what="the refusal")  # fmt: skip


def test_chat_typed_before_the_join_is_sent_once_the_user_lets_the_agent_in(
    browser: Any,
) -> None:
    asked = _Asked()
    live = _ShapedSession(_still(), consent=asked)
    try:
        events = live.run(live.host.events)
        _asking(browser, live, asked)
        _chat(browser, "hello, I am from support")
        _chat(browser, "please click Accept")
        wait_page(browser, lambda s: "please click Accept" in _log(browser), what="the lines")
        log = _log(browser)
        assert f"You: hello, I am from support{_WAITING}" in log
        assert f"You: please click Accept{_WAITING}" in log

        async def answer() -> None:
            assert asked.pending is not None
            asked.pending.set_result(Grant(VIEW))

        live.call(answer)

        async def said() -> list[str]:
            texts: list[str] = []
            async for ev in events:
                if isinstance(ev, ChatReceived):
                    texts.append(ev.text)
                    if len(texts) == 2:
                        break
            return texts

        # The host's user reads both, in the order typed.
        assert live.call(said) == ["hello, I am from support", "please click Accept"]
        wait_page(browser, lambda s: "not sent" not in _log(browser), what="the marks gone")
        log = _log(browser)
        assert "You: hello, I am from support" in log and "You: please click Accept" in log
        assert log.count("You: ") == 2
    finally:
        live.close()


def test_chat_typed_before_a_refusal_says_it_was_not_sent(browser: Any) -> None:
    asked = _Asked()
    live = _ShapedSession(_still(), consent=asked)
    try:
        _asking(browser, live, asked)
        _chat(browser, "may I?")
        wait_page(browser, lambda s: f"You: may I?{_WAITING}" in _log(browser), what="the line")
        _refused(browser, live, asked)
        wait_page(browser, lambda s: "You: may I? (not sent: the session ended)" in _log(browser),
                  what="the line's end")  # fmt: skip
        assert not browser.find_element(By.ID, "chat-input").is_enabled()
    finally:
        live.close()
