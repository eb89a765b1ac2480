"""``view --web --download-dir DIR``: the page's row of a file from the
host's user says it is kept in DIR.

Found (walk44, a real session through a relay, the page in headless
Chromium): the agent accepted the customer's error.log; the terminal said
"saved 'error.log' (13 bytes) from the user in DIR/error.log" (walk43), and
the page's row read "error.log 13 bytes from the user: received [Save]":
the page never said the file was already in DIR, and its Save link read as
the only way to keep it. Expected: "saved as DIR/error.log; [Save a copy]"
(the name it was saved under: "second (1).txt" beside an older one). Without
--download-dir the row is as before (the folder is removed at the end).

Real ``screencodec host`` on a pty, a real ``view --web`` process,
headless Chromium.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .harness import view_web_page
from .test_walk42_page_save_after_end import _accept


def _row_after_accepting(browser: Any, tmp_path: Path, *more: str) -> str:
    sent = tmp_path / "error.log"
    sent.write_text("customer log\n")
    with view_web_page(browser, *more) as (host, _):
        row = _accept(browser, host, sent)
        return str(row.text)


def test_walk44_the_pages_row_says_the_file_is_kept_in_the_download_dir(
    browser: Any, tmp_path: Path
) -> None:
    into = tmp_path / "agent-files"
    into.mkdir()
    text = _row_after_accepting(browser, tmp_path, "--download-dir", str(into))
    # Found: "error.log 13 bytes from the user: received Save".
    assert text == (f"error.log 13 bytes from the user: saved as {into / 'error.log'};"
                    " Save a copy"), text  # fmt: skip
    assert (into / "error.log").read_text() == "customer log\n"


def test_walk44_without_a_download_dir_the_row_is_as_before(browser: Any, tmp_path: Path) -> None:
    text = _row_after_accepting(browser, tmp_path)
    assert text == "error.log 13 bytes from the user: received Save", text
