"""walk42: the level badge while the host's user is asked. The agent's first
sight of the page, once it reached the host: the bold badge read "Not
connected" beside the status "Waiting for the user to accept..." (it was
connected; nothing was granted yet), and the stats' last line "screen:
0x0, view only". They now read "Waiting" and "no picture yet, waiting"
then, "View only" once the user said yes, and "Not connected" again once
the session is over. A real host and web viewer on a loop, headless Chromium."""

from __future__ import annotations

from typing import Any

from selenium.webdriver.common.by import By

from screencodec.capture import open_source
from screencodec.transport import VIEW, Grant, HostConfig

from .conftest import wait_page
from .harness import LiveSession, StillSource
from .test_newuser2_page_states import _text
from .test_pagelive_chat import _Asked


def _stats_end(browser: Any) -> str:
    return str(browser.execute_script(
        "const last = document.getElementById('stats').lastChild;"
        " return last ? last.textContent : ''"))  # fmt: skip


def test_the_badge_says_waiting_while_the_user_is_asked(browser: Any) -> None:
    asked = _Asked()
    source = StillSource(open_source("synthetic", width=320, height=200, scenario="idle"))
    live = LiveSession(source, consent=asked, config=HostConfig(adaptive=False,
                                                                consent_timeout=600))  # fmt: skip
    try:
        browser.get(live.url)
        asking = "Waiting for the user to accept..."
        wait_page(browser, lambda s: _text(browser, "status") == asking, what="the question")
        live.wait(lambda: asked.pending is not None, what="the host's user asked")
        assert _text(browser, "level") == "Waiting"  # found: "Not connected"
        # The stats' last line as the badge: found "screen:   0x0, view only".
        browser.find_element(By.ID, "stats-toggle").click()
        wait_page(browser, lambda s: _stats_end(browser).startswith("screen:"), what="the stats")
        assert _stats_end(browser) == "screen:   no picture yet, waiting"

        async def yes() -> None:
            assert asked.pending is not None
            asked.pending.set_result(Grant(VIEW))

        live.call(yes)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the first picture")
        assert _text(browser, "level") == "View only"
        wait_page(browser, lambda s: "320x200" in _stats_end(browser), what="the size in the stats")
        assert _stats_end(browser) == "screen:   320x200, view only"
    finally:
        live.close()
    wait_page(browser, lambda s: s["closed"], what="the page's socket closed")
    assert _text(browser, "level") == "Not connected"
