"""input46: the page shows the host's count of the agent's input it ignored
in the words the host's status line says it (``6 keys``), in its stats
panel; never as a bare number among its notices (words45).

Before, the page got nothing of the count (the bridge dropped code 9): an
agent on the page could not compare with what the customer's terminal said
(``their input ignored: 12``, each press and release). The real host, the
page's viewer and headless Chromium; the local user is the host's
``local_input_activity`` hook, called as each of the agent's keys reaches
the viewer (as test_words45_page_keys_ignored)."""

from __future__ import annotations

from typing import Any

from selenium.webdriver.common.by import By

from .conftest import wait_page
from .harness import local_user_before_keys, paused_control_page
from .test_page_notices import _js


def _stats(browser: Any) -> list[str]:
    return _js(browser, "return [...document.getElementById('stats').children]"
                        ".map((d) => d.textContent)")  # fmt: skip


def test_the_page_says_how_much_of_its_input_the_host_ignored(browser: Any) -> None:
    with paused_control_page(browser) as live:
        viewer = local_user_before_keys(live)
        browser.find_element(By.ID, "ime").send_keys("abcdef")
        live.wait(lambda: viewer.input_ignored == (6, 0, 0, 0), what="the host's count of 6")
        assert [s.input_ignored for s in live.host.stats()] == [(6, 0, 0, 0)]
        browser.find_element(By.ID, "stats-toggle").click()
        wait_page(browser, lambda s: "your input ignored: 6 keys" in _stats(browser),
                  what="the count in the stats panel")  # fmt: skip
        assert _stats(browser)[-1].startswith("screen:"), _stats(browser)  # the badge's last
