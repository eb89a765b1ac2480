"""walk34: the agent chose a file in the page's Send file, the host's user
accepted it, and the agent pressed Leave while it was being sent: its row
then read "failed: the session ended", as if something had gone wrong.
Expected: it says the agent left, "cancelled: you left the session before
it was all sent". A session the host ends still says failed (its words
unchanged: tests/web/test_walk33_page_cut_file.py for the host's side).

Real host and ``view --web``'s bridge and page in headless Chromium (the
tests/web harness, over a real sealed channel); the agent's link to the
host is a slow one: each chunk of the file after the first waits 50 ms
before it goes, so that Leave lands while the 4 MB file is under way
(it would take over 5 s to go)."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from screencodec.capture import open_source
from screencodec.transport import HostConfig
from screencodec.transport.session import messages as m
from screencodec.transport.session.sidechannels import FileOfferInfo
from screencodec.web import WebOptions
from screencodec.web.run import LEFT_HERE

from .conftest import wait_page
from .harness import LiveSession, StillSource
from .test_page_file_rows import _rows
from .test_page_resume import _LinkedSession

_CANCELLED = "big.bin cancelled: you left the session before it was all sent"
#: The same row when a signal stopped the viewer program (page51: it said
#: "you left the session" to an agent who had not).
_STOPPED = "big.bin cancelled: the viewer program was stopped by SIGTERM before it was all sent"
#: How the agent leaves: the page's Leave button, or the viewer program
#: stopped by SIGTERM (a service manager, a logout: view --web's handler
#: calls WebViewer.leave with the signal's name, tests/web/test_web_cli_signals.py).
_HOW = ["Leave", "SIGTERM"]
#: What came of it, from the viewer's FileCut (walkfix35a): part of the 4 MiB.
_AMOUNT = re.compile(r" \([\d.]+ [kM]?B of 4\.2 MB had arrived; nothing of it was kept there\)")


def _cancelled(rows: list[str], said: str = _CANCELLED) -> bool:
    """The one row, cancelled, with how much of the file had arrived."""
    return (len(rows) == 1 and rows[0].startswith(said)
            and _AMOUNT.fullmatch(rows[0][len(said):]) is not None)  # fmt: skip


def _leave(browser: Any, live: LiveSession, how: str) -> None:
    """The agent leaves by ``how`` (:data:`_HOW`)."""
    if how == "Leave":
        browser.find_element(By.ID, "leave").click()
    else:
        live.run(lambda: live.web.leave(stopped_by=how))


async def _yes(info: FileOfferInfo) -> bool:
    return True


@contextmanager
def _linked_page(
    browser: Any, downloads: Path | None = None, **kw: Any
) -> Iterator[_LinkedSession]:
    """A :class:`_LinkedSession` of a still 320x200 picture (*kw* as its;
    the view's download folder *downloads*), the page open on it and
    showing it; closed however the test went."""
    source = StillSource(open_source("synthetic", width=320, height=200, scenario="idle"))
    live = _LinkedSession(source, options=WebOptions(grace=5.0, download_dir=downloads), **kw)
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the picture")
        yield live
    finally:
        live.close()


def _slow_link(live: LiveSession) -> None:
    """Each FileChunk after the first waits 50 ms before it goes."""
    sender = live.run(lambda: live.web.viewer.sender)  # type: ignore[union-attr]
    real = sender._send

    async def send(msg: m.Message) -> None:
        if isinstance(msg, m.FileChunk) and msg.offset > 0:
            await asyncio.sleep(0.05)
        await real(msg)

    sender._send = send


@pytest.mark.parametrize("how", _HOW)
def test_walk34_leave_during_an_upload_says_you_cancelled_it(
    browser: Any, tmp_path: Path, how: str
) -> None:
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(4 << 20))

    config = HostConfig(adaptive=False, download_dir=downloads)
    with _linked_page(browser, file_consent=_yes, config=config) as live:
        _slow_link(live)
        browser.find_element(By.ID, "file-input").send_keys(str(big))
        wait_page(browser, lambda s: any(r.startswith("big.bin accepted by the host: sending ")
                                         for r in _rows(browser)), what="the file under way")
        _leave(browser, live, how)
        said = _CANCELLED if how == "Leave" else _STOPPED
        seen: list[list[str]] = []
        try:
            wait_page(browser, lambda s: seen.append(_rows(browser)) or _cancelled(seen[-1], said),
                      what=said)  # fmt: skip
        except AssertionError as exc:
            raise AssertionError(f"rows: {seen[-1:]}") from exc
        assert live.result.result(20) == LEFT_HERE
        assert _cancelled(_rows(browser), said)


@pytest.mark.parametrize("how", _HOW)
def test_walk34_leave_while_the_host_asks_says_you_cancelled_it(
    browser: Any, tmp_path: Path, how: str
) -> None:
    """Leave while the host's user is asked about the file: the offer is
    withdrawn by the agent's leaving, no refusal ("not accepted by the
    host: the session ended before an answer" before)."""
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    notes = tmp_path / "notes.txt"
    notes.write_text("notes\n" * 100)

    async def never(info: FileOfferInfo) -> bool:
        await asyncio.Event().wait()  # the host's user does not answer
        return False

    config = HostConfig(adaptive=False, download_dir=downloads)
    with _linked_page(browser, file_consent=never, config=config) as live:
        browser.find_element(By.ID, "file-input").send_keys(str(notes))
        asked = "notes.txt waiting for the user"
        wait_page(browser, lambda s: _rows(browser) == [asked], what=asked)
        _leave(browser, live, how)
        said = "notes.txt cancelled: " + ("you left the session" if how == "Leave" else
                                          "the viewer program was stopped by SIGTERM"
                                          ) + " before the user answered"  # fmt: skip
        wait_page(browser, lambda s: _rows(browser) == [said], what=said)
        assert live.result.result(20) == LEFT_HERE


@pytest.mark.parametrize("how", _HOW)
def test_walk34_leave_while_the_page_copies_the_file_says_you_cancelled_it(
    browser: Any, tmp_path: Path, how: str
) -> None:
    """Leave while the page still copies a large file to the view process
    (the host's /end then reads "failed: the session ended":
    tests/web/test_pagefiles_rows.py)."""
    big = tmp_path / "big.bin"
    with big.open("wb") as f:
        f.truncate(256 << 20)  # sparse: only what the page copies is read
    config = HostConfig(adaptive=False, download_dir=tmp_path / "in")
    with _linked_page(browser, config=config) as live:
        browser.find_element(By.ID, "file-input").send_keys(str(big))
        wait_page(browser, lambda s: "uploading " in "".join(_rows(browser)), what="the copy")
        _leave(browser, live, how)
        wait_page(browser, lambda s: s["ended"] is not None, what="the end")
        wait_page(browser, lambda s: "uploading" not in _rows(browser)[0], timeout=5,
                  what=f"the row to end: {_rows(browser)}")  # fmt: skip
        assert _rows(browser) == [_CANCELLED if how == "Leave" else _STOPPED]
        assert live.result.result(20) == LEFT_HERE


@pytest.mark.parametrize("left", [True, False, "SIGHUP"])
def test_walk34_an_upload_the_end_cut_short_says_who_ended_it(left: bool | str) -> None:
    """The bridge alone: an upload whose send met the closed channel, told
    when the session's end is known (settle); the agent left, or a signal
    stopped the viewer program (page51)."""
    from screencodec.web.bridge import WebBridge

    sent: list[dict[str, Any]] = []

    async def settled() -> None:
        bridge = WebBridge("Alice")
        bridge.send = sent.append  # type: ignore[method-assign]
        bridge._unsettled[7] = None
        if isinstance(left, str):
            bridge.stopped_by = left
        bridge.settle(left=bool(left))

    asyncio.run(settled())
    state, text = ("cancelled", "you left the session before it was all sent") if left else (
        "failed", "the session ended")
    if isinstance(left, str):
        text = f"the viewer program was stopped by {left} before it was all sent"
    assert sent == [{"t": "file_progress", "id": 7, "state": state, "text": text}]
