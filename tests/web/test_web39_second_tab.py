"""A second page on a live session's link, opened by hand (web39): the
link's token admits one page, once, so a second tab on it (or a duplicate
of the first, which carries its resume key) is refused. Found: the refused
page showed the whole toolbar, "Not connected" and "The viewer program
stopped or lost this page: if it still runs, reload; otherwise run
screencodec view again.": neither was true (the program ran, the session
went on in the first tab) and a reload only led to "This address has no
viewer key". Expected: it says plainly that the session is open in another
tab or window and where to watch it, with no toolbar, once (no reconnecting),
and the first tab goes on. Real web viewer and host, headless Chromium."""

from __future__ import annotations

import time
from typing import Any

from selenium.webdriver.common.by import By

from screencodec.capture import open_source
from screencodec.transport import HostConfig

from .conftest import wait_page
from .harness import LiveSession, StillSource

IN_USE = (
    "This session is open in another tab or window: watch it there. A viewer link opens"
    " in one page only, so this page cannot show it."
)
SPENT = (
    "This viewer link was already opened in another tab or window, and it opens in one page"
    " only: go back to that tab (a reload there keeps the session). If you closed it, run"
    " screencodec view again for a new link."
)


def _shown_text(browser: Any) -> str:
    """What the person sees: the body's rendered text (hidden parts left out)."""
    return str(browser.find_element(By.TAG_NAME, "body").text).strip()


def _refused(browser: Any, live: LiveSession, before: int) -> tuple[str, float]:
    """The page of the tab now in front, once its socket was refused, and when."""
    live.wait(lambda: live.web.server.access.refused > before, what="the refusal")  # type: ignore[union-attr]
    wait_page(browser, lambda s: s["closed"], what="the refused socket closed")
    return _shown_text(browser), time.monotonic()


def _stays(
    browser: Any, live: LiveSession, tabs: dict[str, tuple[str, float]], refused: int
) -> None:
    """Each refused tab (handle: its page, when refused) shows the same a
    few seconds on, and the server refused ``refused`` pages in all, no
    more: no reconnecting, one refusal each. The tabs' few seconds run
    side by side (time53a: 3 s each, one after the other, before)."""
    # A page that reconnected or reloaded would have done so by now.
    time.sleep(max(0.0, max(at for _, at in tabs.values()) + 3 - time.monotonic()))
    for handle, (shown, _) in tabs.items():
        browser.switch_to.window(handle)
        assert _shown_text(browser) == shown
    assert live.run(lambda: live.web.server.access.refused) == refused  # type: ignore[union-attr]


def _refused_page(browser: Any, live: LiveSession, before: int) -> str:
    """The page of the tab now in front, once its socket was refused; what it
    shows after a few seconds more (no reconnecting: one refusal only)."""
    shown = _refused(browser, live, before)
    _stays(browser, live, {browser.current_window_handle: shown}, before + 1)
    return shown[0]


def test_a_second_tab_on_the_link_says_where_the_session_is(browser: Any) -> None:
    live = LiveSession(
        StillSource(open_source("synthetic", width=320, height=200, scenario="idle")),
        config=HostConfig(adaptive=False, download_dir=None),
    )  # fmt: skip
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["connected"] and s["applied"] >= 1, what="the picture")
        first = browser.current_window_handle
        browser.switch_to.new_window("tab")  # the link opened again, by hand
        browser.get(live.url)
        second = browser.current_window_handle
        refused = {second: _refused(browser, live, 0)}
        assert refused[second][0] == IN_USE
        # A duplicate of the first tab (it copies the tab's sessionStorage,
        # where the resume key is): made here by hand, the key copied over.
        browser.switch_to.window(first)
        store = browser.execute_script("return sessionStorage.getItem('screencodec-web')")
        assert store
        browser.switch_to.new_window("tab")
        base = live.url.split("#")[0]
        browser.get(base)  # "This address has no viewer key": nothing connects
        browser.execute_script("sessionStorage.setItem('screencodec-web', arguments[0])", store)
        browser.refresh()
        refused[browser.current_window_handle] = _refused(browser, live, 1)
        assert refused[browser.current_window_handle][0] == IN_USE
        _stays(browser, live, refused, 2)  # both tabs, a few seconds on: refused once each
        # The first tab's session goes on, untouched.
        browser.switch_to.window(first)
        st = wait_page(browser, lambda s: s["connected"], what="the first tab")
        assert not st["closed"] and st["ended"] is None, st
    finally:
        live.close()


def test_a_tab_on_the_used_link_while_no_page_holds_it_says_to_go_back(browser: Any) -> None:
    """The first tab gone (closed, within the session's grace): the link's
    token is spent, and a new tab on it says so."""
    live = LiveSession(
        StillSource(open_source("synthetic", width=320, height=200, scenario="idle")),
        config=HostConfig(adaptive=False, download_dir=None),
    )  # fmt: skip
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["connected"] and s["applied"] >= 1, what="the picture")
        browser.get("about:blank")  # the page goes (its tab would close)
        live.wait(lambda: not live.web.server.access.live, what="the page gone")  # type: ignore[union-attr]
        browser.get(live.url)
        assert _refused_page(browser, live, 0) == SPENT
    finally:
        live.close()
