"""review44: walk44's saved-as row (``view --web --download-dir DIR``)
attacked with a file name of markup from the host's user and a folder of
the agent's whose name holds markup and a control character.

Expected: the row says the name and the folder as text (no element made
of them, no script run), the escape sequence not passed on (safe_text: one
"?"), and the file saved, and named in the row, under the view's safe form
of the name (< and > dropped). Passes as merged: a check, not a fix.

Real ``screencodec host`` on a pty, a real ``view --web`` process,
headless Chromium.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By

from .conftest import wait_page
from .harness import view_web_page

NAME = "<img src=x onerror=document.title=7>.log"
SAVED = "img src=x onerror=document.title=7.log"
_ROWS = "//li[span[@class='name']]"


def test_the_saved_as_row_shows_markup_in_names_as_text(browser: Any, tmp_path: Path) -> None:
    sent = tmp_path / NAME
    sent.write_text("customer log\n")
    into = tmp_path / "agent <i>files\x1b[31m"
    into.mkdir()
    with view_web_page(browser, "--download-dir", str(into)) as (host, _):
        title = browser.title
        mark = len(host.text)
        host.type(f"/send {sent}")
        wait_page(browser, lambda s: bool(browser.find_elements(By.XPATH, _ROWS + "/button")),
                  what="the question about the file")  # fmt: skip
        browser.find_element(By.XPATH, _ROWS + "/button[text()='Accept']").click()
        wait_page(browser, lambda s: bool(browser.find_elements(By.XPATH, _ROWS + "/a")),
                  what="its Save link")  # fmt: skip
        # words45: the host's user reads the name the agent's view saved it as.
        host.wait_for(rf"delivered .* to .*: saved there as {re.escape(SAVED)}\n", mark)
        row = browser.find_element(By.XPATH, _ROWS)
        text = str(row.text)
        made = browser.execute_script(
            "return document.querySelectorAll('#file-list img, #file-list i').length")
        assert made == 0, row.get_attribute("innerHTML")
        assert browser.title == title
        kept = [p.name for p in into.iterdir()]
        assert kept == [SAVED], kept  # the view's own safe name (< and > dropped)
        shown_dir = str(into).replace("\x1b[31m", "?")  # the whole sequence, one mark
        assert text == (f"{SAVED} 13 bytes from the user: saved as {shown_dir}/{SAVED};"
                        " Save a copy"), text  # fmt: skip
        assert "\x1b" not in str(row.get_attribute("textContent"))
