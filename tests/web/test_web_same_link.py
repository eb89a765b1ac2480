"""The link a tab already opened, pasted into that tab again, leaves the
live page alone: its token is spent (it admits one page, once), so starting
over with it (boot.js's hashchange, meant for the next session's link on the
same --web-port) would end the tab's session with a refused hello."""

from __future__ import annotations

from typing import Any

from screencodec.capture import open_source
from screencodec.transport import HostConfig

from .conftest import wait_page
from .harness import LiveSession, StillSource


def test_the_same_link_again_keeps_the_live_page(browser: Any) -> None:
    live = LiveSession(
        StillSource(open_source("synthetic", width=320, height=200, scenario="idle")),
        config=HostConfig(adaptive=False, download_dir=None),
    )  # fmt: skip
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["connected"] and s["applied"] >= 1, what="the picture")
        browser.execute_script("window.sameDocument = 'yes'")
        browser.get(live.url)  # only the fragment differs from the tab's address
        # boot.js takes the fragment off the address bar either way.
        wait_page(browser, lambda s: "#" not in browser.current_url, what="the fragment dropped")
        assert browser.execute_script("return window.sameDocument") == "yes"
        st = wait_page(browser, lambda s: s["connected"], what="the live page")
        assert not st["closed"] and not st["ended"], st
        assert live.run(lambda: live.web.server.access.refused) == 0  # type: ignore[union-attr]
    finally:
        live.close()
