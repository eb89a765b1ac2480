"""files36: the host's program stops sending a file the agent accepted in
the page (the task running ``Host.send`` cancelled mid-way, the session
going on). Expected: the file's row says the user stopped sending it, how
much of it had come, and that none of it was kept; the download folder is
empty; the session goes on (a file sent after it arrives). Before, the page
kept "receiving..." and the view process its hidden
``.big.bin.part-XXXXXXXX`` until the session ended; then the row read that
the session's end had cut it short.

Real host and ``view --web``'s bridge and page in headless Chromium (the
tests/web harness, over a real sealed channel)."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By

from screencodec.transport.channel.display import amount

from .conftest import wait_page
from .test_page_file_rows import _rows
from .test_walk34_left_upload import _linked_page

SIZE = 8_000_000


def test_a_download_the_host_stopped_says_so_in_its_row(browser: Any, tmp_path: Path) -> None:
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(SIZE))
    after = tmp_path / "after.txt"
    after.write_text("after the cut\n")
    with _linked_page(browser, downloads) as live:
        peer = live.run(lambda: live.host.viewers[0])
        went: list[int] = []

        def sending(sent: int, size: int) -> None:
            went.append(sent)
            if sent and len(went) == 2:  # the first chunk went: the host's program stops it
                sent_task.cancel()

        sent_task = live.run(lambda: asyncio.ensure_future(
            live.host.send(big, peer, on_sending=sending)))  # fmt: skip
        accept = "//li[span[text()='big.bin']]/button[text()='Accept']"
        wait_page(browser, lambda s: browser.find_elements(By.XPATH, accept), what="the offer")
        browser.find_element(By.XPATH, accept).click()
        live.wait(sent_task.done, what="the host's send of big.bin")
        assert live.run(sent_task.cancelled)
        came = re.escape(amount(went[-1]))  # all that went had come
        row = (rf"big\.bin 8\.0 MB from the user: not saved: the user stopped sending it"
               rf" \({came} of 8\.0 MB had come\); nothing of it was kept")  # fmt: skip
        wait_page(browser, lambda s: any(re.fullmatch(row, r) for r in _rows(browser)),
                  what=f"a row {row!r}: {_rows(browser)}")  # fmt: skip
        wait_page(browser, lambda s: not any(downloads.iterdir()), what="an empty folder")
        # The session goes on: the next file comes whole.
        second = live.run(lambda: asyncio.ensure_future(live.host.send(after, peer)))
        accept = "//li[span[text()='after.txt']]/button[text()='Accept']"
        wait_page(browser, lambda s: browser.find_elements(By.XPATH, accept), what="the next")
        browser.find_element(By.XPATH, accept).click()
        live.wait(second.done, what="the host's send of after.txt")
        assert live.run(lambda: second.result().outcome) == "delivered"
        assert (downloads / "after.txt").read_text() == "after the cut\n"
