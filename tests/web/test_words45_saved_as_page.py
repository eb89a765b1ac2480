"""words45: the page says the name the host saved an upload as (walk45:
the terminal said ``the host saved it`` of a file the host had saved under
another name, made safe; the page's row too). The real host, web viewer and
headless Chromium; the name is markup, shown as text."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By

from screencodec.capture import open_source
from screencodec.transport import HostConfig
from screencodec.web import WebOptions

from .conftest import wait_page
from .harness import LiveSession, StillSource
from .test_page_file_rows import _rows


def test_the_page_says_the_name_the_host_saved_an_upload_as(
        browser: Any, tmp_path: Path) -> None:  # fmt: skip
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    live = LiveSession(StillSource(open_source("synthetic", width=320, height=200,
                                               scenario="idle")),
                       options=WebOptions(grace=5.0),
                       config=HostConfig(adaptive=False, download_dir=inbox),
                       file_consent=_yes)  # fmt: skip
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the picture")
        browser.execute_script("document.getElementById('file-input').hidden = false")
        upload = tmp_path / "<img src=x onerror=document.title=7>n.txt"
        upload.write_text("fits\n")
        browser.find_element(By.ID, "file-input").send_keys(str(upload))
        wait_page(browser, lambda s: any("delivered" in r for r in _rows(browser)),
                  what="delivered")  # fmt: skip
        row = next(r for r in _rows(browser) if "delivered" in r)
        kept = [p.name for p in inbox.iterdir()]
        assert len(kept) == 1 and kept[0] != upload.name
        assert row == f"{upload.name} delivered: the host saved it as {kept[0]}"
        assert browser.find_elements(By.CSS_SELECTOR, "#file-list img") == []  # text, no markup
        assert browser.title != "7"
        assert re.fullmatch(r"[^<>]+", kept[0])
    finally:
        live.close()


async def _yes(_info: object) -> bool:
    return True
