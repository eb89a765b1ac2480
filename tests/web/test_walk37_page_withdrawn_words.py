"""walk37: the host's user /sends a file and /stops it while the agent's
page still asks about it. The row read "big.bin 4.2 MB from the user: not
saved: the sender withdrew it", the transport's word for the other end,
where the page calls that person "the user" everywhere else (the same
file stopped mid-way: "the user stopped sending it ..."). Expected: "not
saved: the user withdrew it", no button left, the session going on.

Real ``screencodec host`` on a pty; ``view --web``'s bridge in this process
with a download folder, its page in headless Chromium (the tests/web
harness)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By
from tests.transport.test_attack_prompts import PtyHost

from .conftest import wait_page
from .test_cancel36_page_upload import _joined_closing, _wait_row
from .test_files37_page_download_cancel import _ROW, _offered


def test_walk37_a_withdrawn_question_reads_the_user_withdrew_it(
    browser: Any, tmp_path: Path
) -> None:
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    host = PtyHost()
    with _joined_closing(host, browser, downloads) as live:
        mark = _offered(host, browser, tmp_path)
        host.type("/stop")
        host.wait_for(r"you withdrew big\.bin from .* before they answered; none of it went\n",
                      mark)  # fmt: skip
        _wait_row(browser, r"big\.bin 4\.2 MB from the user: not saved: the user withdrew it")
        wait_page(browser, lambda s: browser.find_elements(By.XPATH, _ROW + "/button") == [],
                  what="the row's buttons gone")  # fmt: skip
        assert list(downloads.iterdir()) == []
        assert live.result.done() is False
