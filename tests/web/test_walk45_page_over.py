"""walk45 (the page in headless Chromium over a relay, the host's user's
/end): the page said "The session has ended: the user ended the session.",
and its Leave button stayed as it was: clicked, nothing happened (the
session it would leave was over, its view process gone). Its chat field
took nothing, but looked as it did while it did (only the buttons were
drawn faded). Now both are shown as what they are: Leave disabled, the chat
field faded as the Send button beside it. Real host and web viewer over
sealed channels on loopback, headless Chromium; the host's user refuses."""

from __future__ import annotations

from typing import Any

from selenium.webdriver.common.by import By

from .conftest import wait_page
from .test_pagelive_chat import _Asked, _asking, _refused
from .test_pagelive_silence import _ShapedSession, _still


def test_walk45_once_the_session_is_over_leave_and_the_chat_field_look_it(
    browser: Any,
) -> None:
    asked = _Asked()
    live = _ShapedSession(_still(), consent=asked)
    try:
        _asking(browser, live, asked)
        leave = browser.find_element(By.ID, "leave")
        chat = browser.find_element(By.ID, "chat-input")
        assert leave.is_enabled() and chat.is_enabled()
        faded = "return getComputedStyle(arguments[0]).opacity"
        assert float(browser.execute_script(faded, chat)) == 1.0
        _refused(browser, live, asked)
        # The refusal's banner comes before the session's end (the view
        # closes the page's socket), an event of its own: the controls are
        # judged once the page learnt the session is over (fresh126, load
        # 23-30: looked at between the two, Leave was still enabled).
        wait_page(browser, lambda s: s["closed"] or s["ended"], what="the session's end")
        # Found: Leave enabled (a click did nothing), the field as before.
        assert not leave.is_enabled()
        assert not chat.is_enabled()
        assert float(browser.execute_script(faded, chat)) == 0.5
    finally:
        live.close()
