"""``view --web --download-dir DIR``: the terminal says where a file from
the host's user was saved.

Found (walk43, a real session, the page in headless Chromium): the agent
accepted the customer's error.log in the page; its row read "received
[Save]", the host's user read "saved there", and the agent's terminal
said nothing: the file was in DIR, and nothing told the agent so (the
Save link offers the browser's own copy too).

Real ``screencodec host`` on a pty, a real ``view --web`` process,
headless Chromium.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .harness import view_web_page
from .test_walk42_page_save_after_end import _accept


def test_a_file_accepted_into_the_download_dir_is_said_where_it_is(
    browser: Any, tmp_path: Path
) -> None:
    sent = tmp_path / "error.log"
    sent.write_text("customer log\n")
    into = tmp_path / "agent-files"
    into.mkdir()
    with view_web_page(browser, "--download-dir", str(into)) as (host, view):
        _accept(browser, host, sent)
        host.type("/end")
        out, _ = view.proc.communicate(timeout=30)
        assert view.proc.returncode == 0, view.lines
        said = view.lines + out.splitlines()
        # Found: no line.
        assert f"saved 'error.log' (13 bytes) from the user in {into / 'error.log'}" in said, said
        assert (into / "error.log").read_text() == "customer log\n"
