"""rstop36: the agent stops a host's file it is receiving, from the page.
Each row of a host's file the agent accepted has a Cancel button while it
comes (an ``input type=button``, as cancel36's upload rows: keyboard
reachable, no text in the row's). Before there was none: the only way to
stop a download was to leave the session (the protocol had no stop on the
receiving side).

Real ``screencodec host`` on a pty (its terminal read as its user reads
it) /sends big.bin (4 MiB); ``view --web``'s bridge in this process, with a
download folder, and its page in headless Chromium (the tests/web harness),
over a real sealed channel; the viewer's receiving is slowed (each chunk
waits 50 ms before it is taken), so that Cancel lands mid-file.

Expected: the host's user reads "'support' (ADDR) stopped receiving
big.bin (X of 4.2 MB had gone); nothing of it was kept there"; no part
file stays in the page's download folder; the row says the agent stopped
it and how much had come, and has no button left; the session goes on."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By
from tests.transport.test_attack_prompts import PtyHost
from tests.transport.test_host_cli_commands import AGENT, inbox_big

from .conftest import wait_page
from .harness import LiveSession
from .test_cancel36_page_upload import _joined_closing, _upload_under_way, _wait_row

_ROW = "//li[span[text()='big.bin']]"
_CANCEL = _ROW + "/input[@type='button' and @value='Cancel']"


def _slowed(live: LiveSession) -> None:
    """Each chunk the page's viewer receives waits 50 ms before it is taken."""
    receiver = live.run(lambda: live.web.viewer.files)  # type: ignore[union-attr]
    real = receiver.chunk

    async def chunk(msg: Any, send: Any) -> None:
        await asyncio.sleep(0.05)
        await real(msg, send)

    receiver.chunk = chunk  # type: ignore[method-assign]


def test_cancel_on_a_download_row_stops_it_at_both_ends(browser: Any, tmp_path: Path) -> None:
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(4 << 20))
    host = PtyHost()
    with _joined_closing(host, browser, downloads) as live:
        _slowed(live)
        mark = len(host.text)
        host.type(f"/send {big}")
        host.wait_for(r"offering .*big\.bin \(4\.2 MB\) to ", mark)
        wait_page(browser, lambda s: bool(browser.find_elements(By.XPATH, _ROW + "/button")),
                  what="the offer's Accept")  # fmt: skip
        assert browser.find_elements(By.XPATH, _CANCEL) == []  # nothing to stop yet
        browser.find_element(By.XPATH, _ROW + "/button[text()='Accept']").click()
        wait_page(browser, lambda s: any(p.name.startswith(".big.bin.part-")
                                         for p in downloads.iterdir()),
                  what="its first bytes in the download folder")  # fmt: skip
        cancel = browser.find_element(By.XPATH, _CANCEL)
        assert cancel.get_attribute("tabIndex") == "0"
        assert cancel.get_attribute("aria-label") == "Cancel receiving big.bin"
        cancel.click()
        host.wait_for(AGENT.format(who="support") + r" stopped receiving big\.bin \([\d.]+"
                      r" [kM]?B of 4\.2 MB had gone\); nothing of it was kept there\n",
                      mark)  # fmt: skip
        row = (r"big\.bin 4\.2 MB from the user: not saved: you stopped receiving it"
               r" \([\d.]+ [kM]?B of 4\.2 MB had come\); nothing of it was kept")  # fmt: skip
        _wait_row(browser, row)
        wait_page(browser, lambda s: list(downloads.iterdir()) == [],
                  what=f"no part file: {list(downloads.iterdir())}")  # fmt: skip
        assert browser.find_elements(By.XPATH, _CANCEL) == []
        assert "could not save" not in host.text
        assert live.result.done() is False
    assert list(downloads.iterdir()) == []


def test_the_hosts_stop_on_an_upload_reads_as_its_users(browser: Any, tmp_path: Path) -> None:
    """The other way: the page uploads big.bin to ``host --download-dir``
    and the host's user types ``/stop`` mid-file. The row said "failed: the
    host could not save it: ..."; now it says the user there stopped it."""
    inbox, big = inbox_big(tmp_path)
    host = PtyHost("--download-dir", str(inbox))
    with _joined_closing(host, browser) as live:
        asked = _upload_under_way(host, browser, live, big)
        host.type("/stop")
        host.wait_for(r"you stopped receiving 'big\.bin' from " + AGENT.format(who="support")
                      + r" \([\d.]+ [kM]?B of 4\.2 MB had come\); nothing of it was kept\n",
                      asked.end())  # fmt: skip
        row = (r"big\.bin failed: the user stopped receiving it \([\d.]+ [kM]?B of 4\.2 MB had"
               r" been sent\); nothing of it was kept there")  # fmt: skip
        _wait_row(browser, row)
        assert list(inbox.iterdir()) == []
        assert browser.find_elements(By.XPATH, _CANCEL) == []
        assert live.result.done() is False
    assert list(inbox.iterdir()) == []
