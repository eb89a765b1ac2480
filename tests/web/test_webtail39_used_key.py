"""A copy of the viewer's tab holding a resume key another admission spent
(webtail39): the tab and its copy (a duplicate copies sessionStorage) hold
the same key; the tab reloads (its key spent, a new one drawn); the copy,
reloaded, presents the spent key. Found: its page read "The viewer program
stopped or lost this page: if it still runs, reload; ...", and a reload
gave the same. Expected: that this page's key was used by another tab, once,
and the first tab goes on. Real web viewer and host, headless Chromium."""

from __future__ import annotations

from typing import Any

from screencodec.capture import open_source
from screencodec.transport import HostConfig

from .conftest import wait_page
from .harness import LiveSession, StillSource
from .test_web39_second_tab import _refused_page

USED = (
    "This page's key was already used by another tab or window (a copy of this tab, or"
    " this tab's original): the session is there, if that tab is still open. If you closed it,"
    " run screencodec view again for a new link."
)


def test_a_copy_of_the_tab_with_a_spent_key_says_it_was_used(browser: Any) -> None:
    live = LiveSession(
        StillSource(open_source("synthetic", width=320, height=200, scenario="idle")),
        config=HostConfig(adaptive=False, download_dir=None),
    )  # fmt: skip
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["connected"] and s["applied"] >= 1, what="the picture")
        first = browser.current_window_handle
        store = browser.execute_script("return sessionStorage.getItem('screencodec-web')")
        assert store
        browser.refresh()  # the tab reloads: its key spent, a new one drawn
        wait_page(browser, lambda s: s["connected"] and s["applied"] >= 1, what="the reload")
        assert browser.execute_script("return sessionStorage.getItem('screencodec-web')") != store
        # The copy made before the reload (its sessionStorage copied by hand).
        browser.switch_to.new_window("tab")
        browser.get(live.url.split("#")[0])
        browser.execute_script("sessionStorage.setItem('screencodec-web', arguments[0])", store)
        browser.refresh()
        assert _refused_page(browser, live, 0) == USED
        browser.switch_to.window(first)
        st = wait_page(browser, lambda s: s["connected"], what="the first tab")
        assert not st["closed"] and st["ended"] is None, st
    finally:
        live.close()
