"""walk46 (the page in headless Chromium, a host in tmux): the agent asked
for control, the user said no, the agent asked again at once. The host
refused without asking its user (a question refused less than 10 s ago is
not asked again), and the page's bar and chat log said only "the host's
user refused this less than 10 s ago": refused what, and was anyone asked?
The terminal said "control refused (the host's user was not asked): ...".
The page now says "The user was not asked for remote control: ...". Real
Host and web viewer over a channel pair, headless Chromium."""

from __future__ import annotations

from typing import Any

from selenium.webdriver.common.by import By

from screencodec.capture import open_source
from screencodec.transport import CONTROL, ConsentRequest, Grant, Permission
from screencodec.web import WebOptions

from .conftest import wait_page
from .harness import LiveSession, StillSource

_LOG = "return [...document.querySelectorAll('#chat-log li.notice')].map((li) => li.textContent)"


def test_walk46_a_request_refused_unasked_says_the_user_was_not_asked(browser: Any) -> None:
    asked: list[Permission] = []

    async def no_control(request: ConsentRequest) -> Grant:
        asked.append(request.level)
        return Grant(request.level - CONTROL)

    source = StillSource(open_source("synthetic", width=320, height=200, scenario="idle"))
    live = LiveSession(source, consent=no_control, options=WebOptions(grace=5.0))
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the picture")
        ask = browser.find_element(By.ID, "control")
        ask.click()
        wait_page(browser, lambda s: len(browser.execute_script(_LOG)) == 1, what="the no")
        ask.click()  # at once: the host refuses it without asking
        wait_page(browser, lambda s: len(browser.execute_script(_LOG)) == 2, what="the 2nd")
        assert live.run(lambda: len(asked)) == 2  # the join, then control once
        want = ("The user was not asked for remote control: the host's user refused this less"
                " than 10 s ago")  # fmt: skip
        # Found: "the host's user refused this less than 10 s ago", nothing more.
        assert browser.execute_script(_LOG)[1] == want
        assert browser.find_element(By.ID, "notice").text == want
    finally:
        live.close()
