"""files37: the Cancel of a host's file on the page (rstop36) at the moments
it did nothing, or was not there:

- clicked right after Accept, before the viewer took the file (the look at
  the download folder, held here): it found nothing to stop and the file
  came. Now the file is stopped as the yes goes;
- on a row replayed to a reloaded page ("accepted"): there was no Cancel;
- clicked once all of the file came, while it is saved (the save held here
  before it begins): it found nothing to stop, and the file was kept. Now
  it is not kept, and the host is told.

In each, expected: the host's user reads "'support' (ADDR) stopped receiving
big.bin (X of 4.2 MB had gone); nothing of it was kept there", the row says
"not saved: you stopped receiving it (X of 4.2 MB had come); nothing of it
was kept" and has no button left, nothing of the file is in the download
folder, and the session goes on.

Real ``screencodec host`` on a pty /sends big.bin (4 MiB); ``view --web``'s
bridge in this process with a download folder, its page in headless Chromium
(the tests/web harness). What is held is the viewer's disk thread, with
threading events (no sleeps)."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from tests.transport.test_attack_prompts import PtyHost
from tests.transport.test_host_cli_commands import AGENT

from screencodec.transport.session.files.incoming import Incoming
from screencodec.transport.session.sidechannels import FileReceiver

from .conftest import wait_page
from .harness import LiveSession
from .test_cancel36_page_upload import _joined_closing, _wait_row
from .test_rstop36_page_download import _slowed

_ROW = "//li[span[text()='big.bin']]"
_CANCEL = _ROW + "/input[@type='button' and @value='Cancel']"
_AMOUNT = r"(?:[\d.]+ [kM]?B|\d+ bytes)"


class _Held:
    """A call on the viewer's disk thread held until released: ``entered``
    is set when it is reached."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.go = threading.Event()

    def hold(self) -> None:
        self.entered.set()
        if not self.go.wait(30):
            raise AssertionError("never released")


def _offered(host: PtyHost, browser: Any, tmp_path: Path) -> int:
    """The host's user /sends big.bin (4 MiB); the page shows its question.
    Where the host's terminal was before the /send."""
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(4 << 20))
    mark = len(host.text)
    host.type(f"/send {big}")
    host.wait_for(r"offering .*big\.bin \(4\.2 MB\) to ", mark)
    wait_page(browser, lambda s: bool(browser.find_elements(By.XPATH, _ROW + "/button")),
              what="the offer's Accept")  # fmt: skip
    return mark


def _stopped_at_both_ends(host: PtyHost, browser: Any, live: LiveSession, downloads: Path,
                          mark: int, *, had: str) -> None:  # fmt: skip
    """What the host's user, the row and the folder say of the stop
    (``had``: the pattern of how much had come)."""
    host.wait_for(AGENT.format(who="support") + rf" stopped receiving big\.bin \({had} of"
                  r" 4\.2 MB had gone\); nothing of it was kept there\n", mark)  # fmt: skip
    _wait_row(browser, r"big\.bin 4\.2 MB from the user: not saved: you stopped receiving it"
                       rf" \({had} of 4\.2 MB had come\); nothing of it was kept")  # fmt: skip
    wait_page(browser, lambda s: list(downloads.iterdir()) == [],
              what=f"nothing in the folder: {list(downloads.iterdir())}")  # fmt: skip
    assert browser.find_elements(By.XPATH, _CANCEL) == []
    assert browser.find_elements(By.XPATH, _ROW + "/a") == []  # no Save link
    assert "could not save" not in host.text[mark:]
    assert "delivered" not in host.text[mark:]
    assert live.result.done() is False


def _downloads(tmp_path: Path) -> Path:
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    return downloads


def _viewer_files(live: LiveSession) -> FileReceiver:
    return live.run(lambda: live.web.viewer.files)  # type: ignore[union-attr,no-any-return]


def test_cancel_right_after_accept_stops_the_file(
        browser: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: the Cancel found no transfer (the viewer had not taken the
    file yet), the row went on to "received" and big.bin was saved."""
    held = _Held()
    real: Callable[[FileReceiver], None] = FileReceiver._usable

    def usable(self: FileReceiver) -> None:
        held.hold()
        real(self)

    monkeypatch.setattr(FileReceiver, "_usable", usable)
    downloads = _downloads(tmp_path)
    host = PtyHost()
    with _joined_closing(host, browser, downloads) as live:
        mark = _offered(host, browser, tmp_path)
        browser.find_element(By.XPATH, _ROW + "/button[text()='Accept']").click()
        assert held.entered.wait(10), "the folder look after the yes"
        browser.find_element(By.XPATH, _CANCEL).click()
        files = _viewer_files(live)
        live.wait(lambda: bool(files._stop_wanted), 10, "the stop taken by the viewer")
        held.go.set()
        _stopped_at_both_ends(host, browser, live, downloads, mark, had=_AMOUNT)
        assert re.search(r"you stopped receiving it \(0 bytes of", "".join(
            e.text for e in browser.find_elements(By.XPATH, _ROW)))  # fmt: skip
    assert list(downloads.iterdir()) == []


def test_a_reloaded_page_s_row_can_be_cancelled(browser: Any, tmp_path: Path) -> None:
    """Before: the row replayed to the reloaded page read "accepted" and had
    no Cancel: only Leave stopped the file."""
    downloads = _downloads(tmp_path)
    host = PtyHost()
    with _joined_closing(host, browser, downloads) as live:
        _slowed(live)
        mark = _offered(host, browser, tmp_path)
        browser.find_element(By.XPATH, _ROW + "/button[text()='Accept']").click()
        wait_page(browser, lambda s: any(p.name.startswith(".big.bin.part-")
                                         for p in downloads.iterdir()),
                  what="its first bytes in the download folder")  # fmt: skip
        browser.refresh()
        wait_page(browser, lambda s: s["connected"] and s["applied"] >= 1, what="reloaded page")
        _wait_row(browser, r"big\.bin 4\.2 MB from the user: receiving\.\.\.")
        cancel = browser.find_element(By.XPATH, _CANCEL)
        assert cancel.get_attribute("aria-label") == "Cancel receiving big.bin"
        assert cancel.get_attribute("tabIndex") == "0"
        cancel.click()
        _stopped_at_both_ends(host, browser, live, downloads, mark, had=_AMOUNT)
    assert list(downloads.iterdir()) == []


def test_cancel_while_the_whole_file_is_saved_keeps_nothing(
        browser: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: all of it had come, the Cancel found nothing to stop (its
    save was under way), and the row went on to "received [Save]"."""
    held = _Held()
    real: Callable[[Incoming], Path] = Incoming.save

    def save(self: Incoming) -> Path:
        held.hold()
        return real(self)

    monkeypatch.setattr(Incoming, "save", save)
    downloads = _downloads(tmp_path)
    host = PtyHost()
    with _joined_closing(host, browser, downloads) as live:
        mark = _offered(host, browser, tmp_path)
        browser.find_element(By.XPATH, _ROW + "/button[text()='Accept']").click()
        assert held.entered.wait(20), "the save of the whole file"
        browser.find_element(By.XPATH, _CANCEL).click()
        files = _viewer_files(live)
        live.wait(lambda: any(inc.stopped for inc in files._finishing.values()), 10,
                  "the stop taken by the viewer")  # fmt: skip
        held.go.set()
        _stopped_at_both_ends(host, browser, live, downloads, mark, had=r"4\.2 MB")
    assert list(downloads.iterdir()) == []
