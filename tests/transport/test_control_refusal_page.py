"""The browser page (``view --web``) shows why the host refused control, as
text, in the bar's notice area. Headless Chromium against a live host and
web viewer (tests/web's harness and fixtures)."""

from __future__ import annotations

from typing import Any

from selenium.webdriver.common.by import By

from screencodec.capture import open_source
from screencodec.web import WebOptions
from web.conftest import browser, wait_page  # noqa: F401  (browser is a fixture)
from web.harness import LiveSession

#: What the host says, HTML, escape sequences and a bidi override included.
REASON = "view only <img src=x onerror=alert(1)> \x1b[2J\u202eoff\x1b]0;pwned\x07 today"


def _text(drv: Any, element_id: str) -> str:
    return str(drv.execute_script(
        "return document.getElementById(arguments[0]).textContent", element_id))


def _refused(browser: Any) -> LiveSession:  # noqa: F811
    """A host that shares for viewing only, and a page that asks for control;
    returns once the page has everything the refusal made the viewer send."""
    live = LiveSession(
        open_source("synthetic", width=320, height=200, scenario="idle", seed=1),
        options=WebOptions(control=True, grace=5.0),
        control_unavailable=REASON,
    )
    browser.get(live.url)
    # The notice sets the status line; after it, only the end of the request
    # sets it back to "Connected": then every message of the refusal is in.
    wait_page(browser, lambda s: "view only" in _text(browser, "chat-log")
              and _text(browser, "status") == "Connected", what="the refusal shown")
    return live


def test_the_page_shows_the_hosts_reason_as_text(browser: Any) -> None:  # noqa: F811
    live = _refused(browser)
    try:
        assert _text(browser, "level") == "View only"
        log = _text(browser, "chat-log")
        assert "view only <img src=x onerror=alert(1)> " in log  # as text
        for bad in ("\x1b", "\u202e", "\x07", "pwned"):
            assert bad not in log
        assert browser.find_elements(By.CSS_SELECTOR, "#chat-log img, #notice img") == []
        assert live.run(lambda: live.injector.events) == []
    finally:
        live.close()


def test_the_notice_area_keeps_the_reason_not_a_users_refusal(browser: Any) -> None:  # noqa: F811
    live = _refused(browser)
    try:
        assert "declined" not in _text(browser, "chat-log")
        assert _text(browser, "notice").startswith("view only <img")
    finally:
        live.close()
