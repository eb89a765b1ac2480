"""The page's file rows end in words for the agent, whatever the session did
meanwhile (pagefiles). Real host, ``view --web``'s bridge and page in
headless Chromium (tests/web harness)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By

from screencodec.capture import open_source
from screencodec.web import WebOptions

from .conftest import wait_page
from .harness import LiveSession, StillSource
from .test_page_file_rows import _rows


def test_a_question_open_when_the_session_ends_says_so_and_loses_its_buttons(
    browser: Any, tmp_path: Path
) -> None:
    """The host's user offers a file and ends the session (/end) before the agent
    answered. Before, the row kept its Accept and Decline after 'The session has
    ended', and an Accept then made it say 'receiving...' for good."""
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"from the host\n" * 100)
    source = StillSource(open_source("synthetic", width=320, height=200, scenario="idle"))
    live = LiveSession(source, options=WebOptions(grace=5.0, download_dir=downloads))
    sent = None
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the picture")
        peer = live.run(lambda: live.host.viewers[0])
        sent = live.run(lambda: asyncio.ensure_future(live.host.send_file(notes, peer)))
        accept = "//li[span[text()='notes.txt']]/button[text()='Accept']"
        wait_page(browser, lambda s: browser.find_elements(By.XPATH, accept), what="the offer")
        live.call(live.host.disconnect)  # what the host's /end does
        wait_page(browser, lambda s: s["ended"] is not None, what="the end")
        buttons = "#file-list button"
        wait_page(browser, lambda s: not browser.find_elements(By.CSS_SELECTOR, buttons),
                  timeout=5, what=f"the question to close: {_rows(browser)}")  # fmt: skip
        assert _rows(browser) == [
            "notes.txt 1.4 KiB from the user: not answered: the session ended"]  # fmt: skip
        assert list(downloads.iterdir()) == []
    finally:
        if sent is not None:
            live.call(_stop, sent)  # the host's send may wait for its offer's timeout
        live.close()


async def _stop(task: asyncio.Future[Any]) -> None:
    task.cancel()
    with contextlib.suppress(BaseException):
        await task
