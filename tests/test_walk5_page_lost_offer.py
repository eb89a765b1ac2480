"""A file the agent offered from the page when the link to the host is lost
before the host's user answered (walk5: ``view --web`` through a relay in
headless Chromium, the link cut while the host's question was open)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By

import test_walk3_page as walk3
from screencodec.transport import HostConfig
from screencodec.transport.session.sidechannels import FileOfferInfo
from screencodec.web import WebOptions
from screencodec.web.bridge import LINK_DOWN
from web.conftest import wait_page
from web.test_page_file_rows import _rows
from web.test_page_resume import _LinkedSession

browser = walk3.browser  # the module's headless Chromium (a fixture)


def test_walk5_an_offer_the_lost_link_cut_short_is_not_said_refused_by_the_host(
    browser: Any, tmp_path: Path
) -> None:
    """walk5: the agent sent report.bin from the page; while the host's user was asked,
    the link was cut (and resumed 13 s later, the session going on). The row said
    'report.bin not accepted by the host: the session ended before an answer': the host
    did not refuse it and the session had not ended. The terminal says '(not sent:
    report.bin: the connection to the host was lost; send it again once back in the
    session)'. Expected: the row says the file was not sent because the connection was
    lost, and to send it again once reconnected (the words of a file chosen while the link
    is down), and the session goes on."""
    report = tmp_path / "report.bin"
    report.write_bytes(b"r" * 5000)
    inbox = tmp_path / "in"
    inbox.mkdir()
    asked: list[FileOfferInfo] = []

    async def never(info: FileOfferInfo) -> bool:
        asked.append(info)
        await asyncio.Event().wait()  # the host's user does not answer
        return False

    source = walk3._source()
    live = _LinkedSession(source, options=WebOptions(grace=5.0), file_consent=never,
                          config=HostConfig(adaptive=False, download_dir=inbox))  # fmt: skip
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the first picture")
        browser.find_element(By.ID, "file-input").send_keys(str(report))
        wait_page(browser, lambda s: _rows(browser) == ["report.bin waiting for the user"],
                  what="the host's user asked")  # fmt: skip
        assert len(asked) == 1
        live.run(live.proxy.cut)
        wait_page(browser, lambda s: "waiting" not in _rows(browser)[0], what="the row to end")
        assert _rows(browser) == [f"report.bin failed: {LINK_DOWN}"]
        st = wait_page(browser, lambda s: s["banner"] == "Reconnected: the session goes on.",
                       what="the resumed banner")  # fmt: skip
        assert st["ended"] is None and st["connected"], st
        assert _rows(browser) == [f"report.bin failed: {LINK_DOWN}"]
    finally:
        live.close()
    assert list(inbox.iterdir()) == []


def test_walk5_view_web_says_back_in_the_session_after_a_resume(browser: Any) -> None:
    """walk5: after a lost link taken up again, `view --web`'s terminal said 'connected to
    relay 127.0.0.1:7152, granted: view', the words of the first connection, where `view`
    in a terminal says 'back in the session, granted: view'. Expected: the same words as
    `view`, so the agent reading the terminal can tell the session went on."""
    steps: list[str] = []
    live = _LinkedSession(walk3._source(), options=WebOptions(grace=5.0, on_step=steps.append))
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the first picture")
        live.run(live.proxy.cut)
        wait_page(browser, lambda s: s["banner"] == "Reconnected: the session goes on.",
                  what="the resumed banner")  # fmt: skip
        wait_page(browser, lambda s: steps[-1].startswith("back"), what=f"the line: {steps}")
    finally:
        live.close()
    joined = [s for s in steps if "granted" in s]
    assert len(joined) == 2 and joined[0].startswith("connected to "), steps
    assert joined[1] == "back in the session, granted: view", steps
    lost = steps.index("the connection was lost; reconnecting for up to 60 s (Ctrl-C to stop)")
    assert steps.index(joined[1]) > lost
