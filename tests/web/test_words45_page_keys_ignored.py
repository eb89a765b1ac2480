"""words45: the host's count of an agent's keys it ignored (Notice.KEYS_IGNORED,
code 9, sent to every viewer of this version, the page's too) is for the
terminal's /type: the page shows the local user's notice (code 2) in its
words, and never a count as a notice of its own. The real host, the page's
viewer and headless Chromium; the local user is the host's
``local_input_activity`` hook (what its watchers call), called as each of the
agent's keys reaches the viewer, as test_page_notices does for the mouse."""

from __future__ import annotations

import re
from typing import Any

from selenium.webdriver.common.by import By

from .conftest import wait_page
from .harness import local_user_before_keys, paused_control_page
from .test_page_notices import _RECORD, _js, _shown

LOCAL = ("the user is using their own mouse or keyboard: yours is ignored until they stop"
         " for 0.3 s")  # fmt: skip


def test_the_page_never_shows_the_hosts_count_of_ignored_keys(browser: Any) -> None:
    with paused_control_page(browser) as live:
        _js(browser, _RECORD)
        viewer = local_user_before_keys(live)
        ime = browser.find_element(By.ID, "ime")
        ime.send_keys("abcdef")
        live.wait(lambda: (viewer.keys_ignored or 0) >= 6, what="the host's count of 6")
        wait_page(browser, lambda s: LOCAL in _shown(browser), what="the local user's notice")
        shown = [t for t in _shown(browser) if t is not None]
        log = _js(browser, "return document.getElementById('chat-log').textContent")
        assert not any(re.fullmatch(r"\s*\d+\s*", t) for t in shown), shown
        assert not re.search(r"(^|\n)\s*\d+\s*($|\n)", log), log
