"""files41: the page's upload to a host that takes no files (no download
folder). Found: nothing the host sent said so up front; the row said
"waiting for the user" while the host refused it unasked. Now the host
says it as the session is joined (``Notice.TAKES_NO_FILES``, to a viewer
that declared ``Capabilities.FILE_NOTICES``): the bridge's viewer knows
it before any upload (the page is not shown it as a notice: nothing to do
about it until a file is sent), and the first upload's row says it, never
"waiting for the user". Real host, ``view --web``'s bridge and page in headless
Chromium (tests/web harness)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By

from screencodec.capture import open_source
from screencodec.transport import HostConfig
from screencodec.web import WebOptions

from .conftest import wait_page
from .harness import LiveSession, StillSource
from .test_page_file_rows import _WATCH, _rows


def test_files41_the_first_upload_to_a_host_that_takes_no_files_says_so(
    browser: Any, tmp_path: Path
) -> None:
    report = tmp_path / "report.txt"
    report.write_text("the log\n")
    source = StillSource(open_source("synthetic", width=320, height=200, scenario="idle"))
    live = LiveSession(source, options=WebOptions(grace=5.0),
                       config=HostConfig(adaptive=False))  # fmt: skip (no folder, no consent)
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the picture")
        live.wait(lambda: live.web.viewer is not None and live.web.viewer.sender.peer_takes_none,
                  what="the host's notice")  # fmt: skip
        # Not shown as a notice at each join: the upload's row says it.
        assert browser.execute_script("return window.screencodecPage.notice") is None
        browser.execute_script(_WATCH)  # every state of the rows from now on
        browser.find_element(By.ID, "file-input").send_keys(str(report))
        wait_page(browser, lambda s: "not accepted" in "".join(_rows(browser)), what="the no")
        seen = {row for rows in browser.execute_script("return window.rowsSeen") for row in rows}
        assert "report.txt offered to the host: the host said this session that it takes no" \
               " files" in seen, seen
        assert not any("waiting for the user" in row for row in seen), seen
        (row,) = _rows(browser)
        assert row.startswith("report.txt not accepted by the host: "), row
    finally:
        live.close()
