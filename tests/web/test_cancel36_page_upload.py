"""cancel36: the agent stops a file they are sending from the page. Each
row of an upload in progress has a Cancel button (keyboard reachable: an
``input type=button``, which also leaves the row's text as it was). Before
there was none: a file under way could only be stopped by leaving the
session.

Real ``screencodec host --download-dir`` on a pty (its terminal read as its
user reads it), ``view --web``'s bridge in this process and its page in
headless Chromium (the tests/web harness), over a real sealed channel; the
agent's link is slow (each chunk after the first waits 50 ms), so that
Cancel lands while the 4 MiB file is under way.

- Cancel mid-file: the host withdraws it (files36's STOPPED), keeps no
  ``.part`` file and its user reads "'support' (ADDR) stopped sending the
  file 'big.bin' (... of 4.2 MB had come); nothing of it was kept"; the row
  reads "cancelled: you stopped sending it (... of 4.2 MB had arrived;
  nothing of it was kept there)".
- Cancel (by the keyboard) while the host's user is asked: the question
  closes there ("withdrew the file"), the row reads "cancelled: you
  withdrew it before the user answered", and the session goes on.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from tests.transport.test_attack_prompts import PtyHost, _credentials
from tests.transport.test_host_cli_commands import AGENT, inbox_big

from screencodec.capture import open_source
from screencodec.transport.connect import connect_direct
from screencodec.web import WebOptions

from .conftest import wait_page
from .harness import LiveSession, StillSource
from .test_page_file_rows import _rows
from .test_walk34_left_upload import _slow_link

_CANCEL = "//li[span[text()='{name}']]/input[@type='button' and @value='Cancel']"


class _CliHostSession(LiveSession):
    """The page's view --web run, with *downloads* as its download folder if
    given, joining a ``screencodec host`` on a pty (whose user lets it in:
    the test types y)."""

    def __init__(self, host: PtyHost, downloads: Path | None = None) -> None:
        self.pty = host
        self.at = _credentials(host)
        source = StillSource(open_source("synthetic", width=64, height=64, scenario="idle"))
        super().__init__(source, options=WebOptions(grace=5.0, download_dir=downloads))

    async def _make_host(self, consent: Any, config: Any, kw: dict[str, Any]) -> Any:
        return None  # the host is the process on the pty

    async def _connect(self) -> Any:
        return await connect_direct("127.0.0.1", *self.at)


def _joined(host: PtyHost, browser: Any, downloads: Path | None = None) -> _CliHostSession:
    live = _CliHostSession(host, downloads)
    browser.get(live.url)
    host.wait_for(r"Question 1: .*?\[y/N\] ")
    host.type("y")
    wait_page(browser, lambda s: s["applied"] >= 1, what="the picture")
    return live


@contextmanager
def _joined_closing(
    host: PtyHost, browser: Any, downloads: Path | None = None
) -> Iterator[_CliHostSession]:
    """:func:`_joined`; the session, then the host, closed however it went."""
    live = None
    try:
        live = _joined(host, browser, downloads)
        yield live
    finally:
        if live is not None:
            live.close()
        host.close()


def _upload_under_way(host: PtyHost, browser: Any, live: LiveSession, path: Path) -> re.Match[str]:
    """The page sends *path* over a slow link; the host's user accepts it
    (Question 2, whose match this returns) and its row reads under way."""
    _slow_link(live)
    mark = len(host.text)
    browser.find_element(By.ID, "file-input").send_keys(str(path))
    asked = host.wait_for(r"Question 2: .*?\[y/N\] ", mark)
    host.type("y")
    name = path.name
    wait_page(browser, lambda s: any(r.startswith(f"{name} accepted by the host: sending ")
                                     for r in _rows(browser)), what="the file under way")
    return asked


def _wait_row(browser: Any, row: str) -> None:
    """Until one of the page's file rows reads *row* (a pattern), whole."""
    wait_page(browser, lambda s: [r for r in _rows(browser) if re.fullmatch(row, r)] != [],
              what=f"a row {row!r}: {_rows(browser)}")  # fmt: skip


def test_cancel_mid_upload_withdraws_it_at_the_host(browser: Any, tmp_path: Path) -> None:
    inbox, big = inbox_big(tmp_path)
    host = PtyHost("--download-dir", str(inbox))
    with _joined_closing(host, browser) as live:
        asked = _upload_under_way(host, browser, live, big)
        assert any(p.name.startswith(".big.bin.part-") for p in inbox.iterdir())
        browser.find_element(By.XPATH, _CANCEL.format(name="big.bin")).click()
        host.wait_for(AGENT.format(who="support") + r" stopped sending the file 'big\.bin'"
                      r" \([\d.]+ [kM]?B of 4\.2 MB had come\); nothing of it was kept\n",
                      asked.end())  # fmt: skip
        row = (r"big\.bin cancelled: you stopped sending it \([\d.]+ [kM]?B of 4\.2 MB had"
               r" arrived; nothing of it was kept there\)")  # fmt: skip
        _wait_row(browser, row)
        assert list(inbox.iterdir()) == []
        # No button is left on the ended row, and the session goes on.
        assert browser.find_elements(By.XPATH, _CANCEL.format(name="big.bin")) == []
        assert live.result.done() is False
    assert list(inbox.iterdir()) == []


def test_cancel_by_keyboard_while_the_user_is_asked(browser: Any, tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    notes = tmp_path / "notes.txt"
    notes.write_text("notes\n" * 100)
    host = PtyHost("--download-dir", str(inbox))
    with _joined_closing(host, browser) as live:
        mark = len(host.text)
        browser.find_element(By.ID, "file-input").send_keys(str(notes))
        host.wait_for(r"Question 2: .*?\[y/N\] ", mark)
        wait_page(browser, lambda s: _rows(browser) == ["notes.txt waiting for the user"],
                  what="the question")  # fmt: skip
        cancel = browser.find_element(By.XPATH, _CANCEL.format(name="notes.txt"))
        assert cancel.get_attribute("tabIndex") == "0"
        assert cancel.get_attribute("aria-label") == "Cancel sending notes.txt"
        cancel.send_keys(Keys.SPACE)
        said = "notes.txt cancelled: you withdrew it before the user answered"
        wait_page(browser, lambda s: _rows(browser) == [said], what=f"{said}: {_rows(browser)}")
        host.wait_for(AGENT.format(who="support") + r" withdrew the file 'notes\.txt'", mark)
        assert list(inbox.iterdir()) == []
        assert live.result.done() is False
