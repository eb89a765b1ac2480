"""The page's file rows end in words for the agent, whatever the session did
meanwhile (pagefiles). Real host, ``view --web``'s bridge and page in
headless Chromium (tests/web harness), over a cuttable proxy."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from screencodec.capture import open_source
from screencodec.transport import HostConfig
from screencodec.transport.session import link as link_module
from screencodec.transport.session.chat import ChatLedger
from screencodec.web import WebOptions

from .conftest import wait_page
from .harness import LiveSession, StillSource
from .test_page_file_rows import _rows
from .test_page_resume import _LinkedSession

_ROW = "notes.txt 1.4 kB from the user: not saved: "


def _host_file(tmp_path: Path) -> tuple[Path, Path, StillSource]:
    """The page's download folder, the host's user's file (notes.txt, 1.4
    KiB) and an idle screen."""
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"from the host\n" * 100)
    source = StillSource(open_source("synthetic", width=320, height=200, scenario="idle"))
    return downloads, notes, source


def _asked(live: LiveSession, browser: Any, notes: Path) -> asyncio.Future[Any]:
    """The page shows its picture, then the host's user's offer of ``notes``
    (the host's send_file, under way)."""
    browser.get(live.url)
    wait_page(browser, lambda s: s["applied"] >= 1, what="the picture")
    peer = live.run(lambda: live.host.viewers[0])
    sent = live.run(lambda: asyncio.ensure_future(live.host.send_file(notes, peer)))
    accept = "//li[span[text()='notes.txt']]/button[text()='Accept']"
    wait_page(browser, lambda s: browser.find_elements(By.XPATH, accept), what="the offer")
    return sent


@pytest.mark.parametrize("cut", ["the session ends", "the link is lost"])
def test_a_question_open_when_the_session_is_cut_says_so_and_loses_its_buttons(
    browser: Any, tmp_path: Path, cut: str
) -> None:
    """The host's user offers a file, and before the agent answered the host's user
    ends the session (/end), or the link is lost and the session resumed. Before, the
    row kept its Accept and Decline ('The session has ended', or 'Reconnected: the
    session goes on.'), and an Accept then made it say 'receiving...' for good."""
    downloads, notes, source = _host_file(tmp_path)
    live = _LinkedSession(source, options=WebOptions(grace=5.0, download_dir=downloads))
    sent = None
    try:
        sent = _asked(live, browser, notes)
        if cut == "the session ends":
            live.call(live.host.disconnect)  # what the host's /end does
            wait_page(browser, lambda s: s["ended"] is not None, what="the end")
            why = "the session ended before you answered"
        else:
            live.run(live.proxy.cut)
            wait_page(browser, lambda s: s["banner"] == "Reconnected: the session goes on.",
                      what="the resumed banner")  # fmt: skip
            why = ("the connection to the user's computer was lost before you answered;"
                   " the user may send it again")  # fmt: skip
        buttons = "#file-list button"
        wait_page(browser, lambda s: not browser.find_elements(By.CSS_SELECTOR, buttons),
                  timeout=5, what=f"the question to close: {_rows(browser)}")  # fmt: skip
        assert _rows(browser) == [_ROW + why]
        assert list(downloads.iterdir()) == []
    finally:
        if sent is not None:
            live.call(_stop, sent)  # the host's send waits for its offer's timeout
        live.close()


def test_a_file_the_page_still_copies_when_the_session_ends_is_told_not_sent(
    browser: Any, tmp_path: Path
) -> None:
    """The agent sends a large file from the page and the host's user ends the
    session (/end) while the page still copies it to the view process. Before,
    its row kept 'uploading N%' for good (and the page went on reading it)."""
    big = tmp_path / "big.bin"
    with big.open("wb") as f:
        f.truncate(256 << 20)  # sparse: only what the page copies is read
    source = StillSource(open_source("synthetic", width=320, height=200, scenario="idle"))
    live = LiveSession(source, options=WebOptions(grace=5.0),
                       config=HostConfig(adaptive=False, download_dir=tmp_path / "in"))  # fmt: skip
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the picture")
        browser.find_element(By.ID, "file-input").send_keys(str(big))
        wait_page(browser, lambda s: "uploading " in "".join(_rows(browser)), what="the copy")
        live.call(live.host.disconnect)  # what the host's /end does
        wait_page(browser, lambda s: s["ended"] is not None, what="the end")
        wait_page(browser, lambda s: "uploading" not in _rows(browser)[0], timeout=5,
                  what=f"the row to end: {_rows(browser)}")  # fmt: skip
        assert _rows(browser) == ["big.bin failed: the session ended"]
    finally:
        live.close()


@pytest.mark.parametrize("host", ["current", "previous"])
def test_a_file_the_host_refuses_says_what_that_can_mean(
    browser: Any, tmp_path: Path, host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The host's user says no to a file from the page. Before, the row said only
    'not accepted by the host', where the terminal names the reasons it can have.
    A current host gives a code when it refuses unasked (no files, too large),
    so its plain no is its user's, as the terminal says it (Viewer.host_gives_reasons);
    to a host of the version before the codes (no chat hello, no code), a no
    may also mean it takes no files."""
    if host == "previous":
        monkeypatch.setattr(link_module, "ChatLedger", lambda: ChatLedger(enabled=False))
    report = tmp_path / "report.txt"
    report.write_text("the log\n")

    async def no(info: Any) -> bool:
        return False

    source = StillSource(open_source("synthetic", width=320, height=200, scenario="idle"))
    live = LiveSession(source, options=WebOptions(grace=5.0), file_consent=no,
                       config=HostConfig(adaptive=False, download_dir=tmp_path))  # fmt: skip
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the picture")
        browser.find_element(By.ID, "file-input").send_keys(str(report))
        wait_page(browser, lambda s: "not accepted" in "".join(_rows(browser)), what="the no")
        words = {"current": "its user said no or did not answer in time",
                 "previous": "its user said no, or it takes no files (or none this large)"}
        assert _rows(browser) == [f"report.txt not accepted by the host: {words[host]}"]
    finally:
        live.close()


def test_a_question_left_unanswered_closes_with_words_when_the_viewer_stops_waiting(
    browser: Any, tmp_path: Path
) -> None:
    """The agent does not answer the host's user's file: the viewer stops waiting
    (its FileReceiver's timeout, 30 s; 2 s here) and refuses it. Before, the row
    kept Accept and Decline for good, an answer going nowhere ('receiving...')."""
    downloads, notes, source = _host_file(tmp_path)
    live = LiveSession(source, options=WebOptions(grace=5.0, download_dir=downloads))
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the picture")

        def shorten() -> None:
            viewer, files = live.web.viewer, live.web.bridge.files
            viewer.files.timeout = files.timeout = 2.0

        live.run(shorten)
        peer = live.run(lambda: live.host.viewers[0])
        sent = live.run(lambda: asyncio.ensure_future(live.host.send_file(notes, peer)))
        live.wait(sent.done, what="the host's send_file")
        assert live.run(sent.result) is False
        buttons = "#file-list button"
        wait_page(browser, lambda s: not browser.find_elements(By.CSS_SELECTOR, buttons),
                  timeout=5, what=f"the question to close: {_rows(browser)}")  # fmt: skip
        assert _rows(browser) == [_ROW + "not answered within 2 s"]
    finally:
        live.close()


def test_the_hosts_send_of_a_file_still_asked_about_ends_with_the_session(
    browser: Any, tmp_path: Path
) -> None:
    """The host's user sends a file (/send) and ends the session before the agent
    answered: the host's send_file, whose outcome its terminal prints ('(not sent to
    ...)'), goes on waiting for the answer for up to 60 s after the session ended."""
    downloads, notes, source = _host_file(tmp_path)
    live = LiveSession(source, options=WebOptions(grace=5.0, download_dir=downloads))
    sent = None
    try:
        sent = _asked(live, browser, notes)
        live.call(live.host.disconnect)  # what the host's /end does
        wait_page(browser, lambda s: s["ended"] is not None, what="the end")
        live.wait(sent.done, timeout=10, what="the host's send to end with the session")
        assert sent.result() is False  # not delivered: failed, the session ended
    finally:
        if sent is not None:
            live.call(_stop, sent)
        live.close()


async def _stop(task: asyncio.Future[Any]) -> None:
    task.cancel()
    with contextlib.suppress(BaseException):
        await task
