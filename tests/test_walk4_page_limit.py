"""A file over the page's upload limit (walk4: the page of ``view --web`` in
headless Chromium, files sent from its Send file). A bug the walk found,
strict xfail until it was fixed: the page refuses such a file in its row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By

import test_walk3_page as walk3
from screencodec.transport import HostConfig
from screencodec.web import WebOptions
from screencodec.web.files import MAX_UPLOAD
from web.conftest import page_state, wait_page
from web.harness import LiveSession
from web.test_page_file_rows import _rows

browser = walk3.browser  # the module's headless Chromium (a fixture)
_source, _watching = walk3._source, walk3._watching


def test_walk4_page_file_over_the_upload_limit_is_refused_in_its_row_not_the_session(
    browser: Any, tmp_path: Path
) -> None:
    """walk4: the agent picks a 1.2 GB file in the page's Send file: the page offers it
    without a look at its size, the view process takes that for a page breaking the
    protocol and closes its socket; the page keeps 'uploading 0%' with the banner 'upload
    larger than the limit' (no limit named), does not reconnect, and 10 s later the session
    ends: 'session ended: you closed the web viewer page (it did not come back within 10 s)',
    exit 0, the host told 'the agent closed the web viewer'. Expected: the row says the file
    is too large (over 1 GiB) and the page stays in the session"""
    huge = tmp_path / "huge.bin"
    with huge.open("wb") as f:
        f.truncate(MAX_UPLOAD + 1)  # sparse: nothing of it is read before the offer
    live = LiveSession(_source(), options=WebOptions(grace=5.0),
                       config=HostConfig(adaptive=False, download_dir=tmp_path))  # fmt: skip
    with _watching(browser, live):
        browser.find_element(By.ID, "file-input").send_keys(str(huge))
        # Expected: told in its row, and the session goes on.
        wait_page(browser, lambda s: "large" in _rows(browser)[-1], timeout=10,
                  what=f"the row to say the file is too large: {_rows(browser)}")  # fmt: skip
        assert _rows(browser)[-1] == ("huge.bin 1.1 GB not sent: too large: the page sends"
                                      " files of up to 1.07 GB")  # fmt: skip
        assert page_state(browser)["connected"], page_state(browser)
        assert not live.result.done()
