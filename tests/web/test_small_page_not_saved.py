"""A host's file the agent accepted and the page's viewer could not save is
worded once in the page: "could not be saved: No space left on device".
Before, the page put its own "not saved: " before the viewer's words and the
row read "not saved: could not be saved: No space left on device". A file
refused keeps "not saved: WHY" (there is nothing else to say it).

The terminals say it once already: the host's of a file it could not save
("the file 'NAME' (N bytes) from AGENT could not be saved: ...",
tests/transport/test_host_cli_files_told.py), and both of a file the other
side could not save ("... could not save NAME: No space left on device": a
FileResult carries the OS's words only).

Real host, web viewer and headless Chromium; the disk really fills up: the
download folder is a tmpfs of 1 MiB (mounted as root), the file 2 MiB."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from screencodec.capture import open_source
from screencodec.web import WebOptions

from .conftest import wait_page
from .harness import LiveSession, StillSource
from .test_page_file_rows import _rows
from .test_pagefiles_rows import _asked


@pytest.fixture
def full_soon(tmp_path: Path) -> Iterator[Path]:
    """A folder on a file system of 1 MiB."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    folder = tmp_path / "downloads"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def test_small_a_file_the_disk_could_not_take_is_worded_once(
    browser: Any, tmp_path: Path, full_soon: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_bytes(os.urandom(2 << 20))
    source = StillSource(open_source("synthetic", width=320, height=200, scenario="idle"))
    live = LiveSession(source, options=WebOptions(grace=5.0, download_dir=full_soon))
    try:
        sent = _asked(live, browser, notes)
        accept = "//li[span[text()='notes.txt']]/button[text()='Accept']"
        browser.find_element(By.XPATH, accept).click()
        live.wait(sent.done, what="the host's send of notes.txt")
        assert live.run(sent.result) is False  # the host's side is told: not saved
        words = "notes.txt 2.1 MB from the user: could not be saved: No space left on device"
        wait_page(browser, lambda s: words in _rows(browser), what=words)
        assert _rows(browser) == [words]
        assert os.listdir(full_soon) == []  # no part left
        browser.refresh()  # replayed to a reloaded page, the same
        wait_page(browser, lambda s: s["connected"], what="the reloaded page")
        wait_page(browser, lambda s: _rows(browser) == [words], what=words)
    finally:
        live.close()
