"""The page shows what became of a file both ways (docs/transport.md, "File
results"). Before: a host's file the agent accepted that could not be saved
stayed "receiving..." in the page for ever (the viewer's "could not be saved"
event went nowhere), and an upload the host could not save was shown "sent".
Real host, web viewer and headless Chromium; the disk filling up is the
process's file size limit (RLIMIT_FSIZE, the write fails with EFBIG as it
would with ENOSPC), set only once the file is under way: the page's upload
is stored whole before the host is asked."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By
from tests.transport.test_attack3_file_space import _file_size_limit

from screencodec.capture import open_source
from screencodec.transport import HostConfig
from screencodec.transport.session.sidechannels import FileOfferInfo
from screencodec.web import WebOptions

from .conftest import wait_page
from .harness import LiveSession, StillSource
from .test_page_file_rows import _rows

KiB = 1024


def _source() -> StillSource:
    return StillSource(open_source("synthetic", width=320, height=200, scenario="idle"))


def _until_row(browser: Any, words: str) -> str:
    wait_page(browser, lambda s: any(words in r for r in _rows(browser)), what=words)
    return next(r for r in _rows(browser) if words in r)


def test_a_hosts_file_the_agent_accepted_and_could_not_save_is_shown_not_saved(
        browser: Any, tmp_path: Path) -> None:
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(2048 * KiB))
    live = LiveSession(_source(), options=WebOptions(grace=5.0, download_dir=downloads))
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the picture")
        peer = live.run(lambda: live.host.viewers[0])
        with _file_size_limit(900 * KiB):
            sent = live.run(lambda: asyncio.ensure_future(live.host.send_file(big, peer)))
            xpath = "//li[span[text()='big.bin']]/button[text()='Accept']"
            wait_page(browser, lambda s: browser.find_elements(By.XPATH, xpath), what="offer")
            browser.find_element(By.XPATH, xpath).click()
            live.wait(sent.done, what="the host's send of big.bin")
        assert live.run(sent.result) is False  # the host's side is told: failed
        row = _until_row(browser, "could not be saved")
        assert row == "big.bin 2.1 MB from the user: could not be saved: File too large"
        assert list(downloads.iterdir()) == []
        assert browser.find_elements(By.CSS_SELECTOR, "#file-list a") == []  # nothing to Save
        browser.refresh()  # the row is replayed to a reloaded page
        wait_page(browser, lambda s: s["connected"], what="reloaded page")
        assert _until_row(browser, "could not be saved") == row
    finally:
        live.close()


def test_an_upload_the_host_could_not_save_is_shown_failed_and_one_it_saved_delivered(
        browser: Any, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    limits = contextlib.ExitStack()

    async def file_consent(info: FileOfferInfo) -> bool:
        if info.name == "big.bin":  # stored whole by the viewer: the host's disk fills up now
            limits.enter_context(_file_size_limit(900 * KiB))
        return True

    live = LiveSession(_source(), options=WebOptions(grace=5.0),
                       config=HostConfig(adaptive=False, download_dir=inbox),
                       file_consent=file_consent)  # fmt: skip
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the picture")
        browser.execute_script("document.getElementById('file-input').hidden = false")
        big, small = tmp_path / "big.bin", tmp_path / "small.txt"
        big.write_bytes(os.urandom(2048 * KiB))
        small.write_text("fits\n")
        browser.find_element(By.ID, "file-input").send_keys(str(big))
        row = _until_row(browser, "failed")
        limits.close()
        assert row == "big.bin failed: the host could not save it: File too large"
        browser.find_element(By.ID, "file-input").send_keys(str(small))
        assert _until_row(browser, "small.txt") is not None
        assert _until_row(browser, "delivered") == "small.txt delivered: the host saved it"
        assert [p.name for p in inbox.iterdir()] == ["small.txt"]
    finally:
        limits.close()
        live.close()
