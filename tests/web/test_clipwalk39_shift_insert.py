"""clipwalk39: Shift+Insert in the page pastes as Ctrl+V does.

Found, with a real xterm (bash) on the host's Xvfb and the page in headless
Chromium: the page's Ctrl+V put the agent's text on the host's clipboard,
and the Ctrl+V the host then injected pasted nothing there, 5 of 5 (bash
reads it as literal-next); a terminal pastes on Shift+Insert, which the
page sent as a key alone (the text stayed behind). Now Shift+Insert is a
paste too: the browser's paste event brings the text, which is on the
host's clipboard (and PRIMARY, the host's XClipboard) before Insert goes
down. Measured into the xterm: the text once, 30-49 ms after the key, 5
of 5 (tests/transport/test_clipwalk39_xterm.py for the terminal view).
"""

from __future__ import annotations

from typing import Any

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from .conftest import wait_page
from .test_clip39_page import (
    _browser_clipboard,
    _events,
    _grant_clipboard,
    _live,
    wait_page_notice,
)

SHIFT, INSERT = 0xFFE1, 0xFF63


def test_shift_insert_puts_the_text_on_the_host_clipboard_before_the_key(browser: Any) -> None:
    live, clip = _live(control=True)
    try:
        browser.get(live.url)
        _grant_clipboard(browser, live.url)
        wait_page(browser, lambda s: (s["level"] or {}).get("control", False), what="control")
        command = "sudo apt install foo"
        assert _browser_clipboard(browser, command) == command
        browser.find_element(By.ID, "screen").click()
        chain = ActionChains(browser).key_down(Keys.SHIFT).send_keys(Keys.INSERT)
        chain.key_up(Keys.SHIFT).perform()
        live.wait(lambda: sum(e[0] == "key" for e in live.injector.events) >= 4,
                  what="Shift and Insert down and up")  # fmt: skip
        got = _events(live)
        keys = [(e[1], e[2]) for e in got if e[0] == "key"]
        assert keys == [(SHIFT, True), (INSERT, True), (INSERT, False), (SHIFT, False)], got
        assert got.index(("clipboard", command)) == 1, got  # after Shift, before Insert
        assert clip.text == command
        assert browser.execute_script("return window.screencodecPage.clip.sent") == 1
    finally:
        live.close()


def test_a_paste_without_control_says_it_needs_control(browser: Any) -> None:
    """Found: a view-only agent's Ctrl+V in the screen did nothing and said
    nothing (the page sent nothing, rightly)."""
    live, clip = _live(control=False)
    try:
        browser.get(live.url)
        _grant_clipboard(browser, live.url)
        wait_page(browser, lambda s: (s["level"] or {}).get("view", False), what="view")
        _browser_clipboard(browser, "sudo apt install foo")
        browser.find_element(By.ID, "screen").click()
        ActionChains(browser).key_down(Keys.CONTROL).send_keys("v").key_up(Keys.CONTROL).perform()
        wait_page_notice(browser, "Not pasted on the host: pasting needs control of it (Request"
                         " control asks for it)")  # fmt: skip
        assert browser.execute_script("return window.screencodecPage.clip.sent") == 0
        assert clip.text == "the customer's own" and _events(live) == []
    finally:
        live.close()
