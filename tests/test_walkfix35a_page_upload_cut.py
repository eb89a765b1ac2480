"""walk35: the agent sends a file from the page of ``view --web``, the
host's user says yes, and mid-way types /end. The host's terminal said how
much had come and that nothing of it was kept, the agent's terminal viewer
how much had arrived; the page's row said only "big.bin failed: the
session ended". Expected: the row says who ended it, how much had arrived
and that nothing of it was kept there (from the viewer's FileCut).

Real ``screencodec host`` on a pty with a download folder, ``view --web``'s
page in headless Chromium, over the 1 Mbit/s shaping proxy of
tests/test_walk4_files.py."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By

from test_walk4_files import _alice_through, _big, _partly_in, browser
from transport.helpers import run
from transport.test_attack_prompts import PtyHost, _credentials
from transport.test_view_cli_ux import read_until, stop
from web.conftest import wait_page
from web.test_page_file_rows import _rows

__all__ = ["browser"]


def test_page_row_of_an_upload_the_host_ended_says_how_much_arrived(
        browser: Any, tmp_path: Path) -> None:  # fmt: skip
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    big = _big(tmp_path)
    host = PtyHost("--download-dir", str(inbox))
    port, code, password = _credentials(host)

    async def main() -> str:
        way, view = await _alice_through(port, code, password, "--web", "--no-open")
        try:
            seen = await asyncio.to_thread(read_until, view, re.compile(r"http://\S+#k=\S+"))
            link = re.search(r"http://\S+#k=\S+", seen)
            assert link is not None
            await asyncio.to_thread(browser.get, link.group(0))
            await asyncio.to_thread(host.wait_for, r"Question 1: .*?\[y/N\] ")
            host.type("y")
            await asyncio.to_thread(host.wait_for, r"BEING SHARED WITH: 'Alice'")
            await asyncio.to_thread(
                lambda: browser.find_element(By.ID, "file-input").send_keys(str(big)))
            await asyncio.to_thread(host.wait_for, r"Question 2: .*?\[y/N\] ")
            host.type("y")
            while not _partly_in(inbox):
                await asyncio.sleep(0.05)
            host.type("/end")
            await asyncio.to_thread(wait_page, browser, lambda s: "sending" not in _rows(
                browser)[-1], timeout=8, what="the row's end")  # fmt: skip
            # A FileCut that comes after the ended row is told sends it again.
            await asyncio.to_thread(wait_page, browser, lambda s: "arrived" in _rows(
                browser)[-1], timeout=3, what=f"the amounts: {_rows(browser)}")  # fmt: skip
            return _rows(browser)[-1]
        finally:
            stop(view)
            await way.close()

    try:
        row = run(main(), 60)
    finally:
        host.close()
    assert list(inbox.iterdir()) == []  # nothing of it kept, as the row says
    assert re.fullmatch(r"big\.bin failed: the host ended the session, \d+(\.\d)? [kM]B of"
                        r" 4\.0 MB had arrived; nothing of it was kept there", row), row
