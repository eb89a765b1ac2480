"""What a page keeps across a reload and what it says when things go:
the last 100 chat lines and the file rows come back to a reloaded tab; a
file the host refused without asking its user is not said to be "declined
by the user"; and a page whose viewer program is gone says what to do."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By

from screencodec.capture import open_source
from screencodec.transport import HostConfig
from screencodec.web import WebOptions

from .conftest import wait_page
from .harness import LiveSession, StillSource


def _source() -> StillSource:
    return StillSource(open_source("synthetic", width=320, height=200, scenario="idle"))


def _text(browser: Any, element_id: str) -> str:
    return str(browser.execute_script(
        f"return document.getElementById('{element_id}').textContent"))  # fmt: skip


def _lines(browser: Any) -> list[str]:
    script = "return [...document.querySelectorAll('#chat-log li')].map((l) => l.textContent)"
    return list(browser.execute_script(script))


def test_reload_brings_back_chat_and_file_rows(browser: Any, tmp_path: Path) -> None:
    # A host without a download directory refuses every file without asking.
    live = LiveSession(_source(), config=HostConfig(adaptive=False, download_dir=None),
                       options=WebOptions(grace=5.0, download_dir=tmp_path))  # fmt: skip
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the picture")
        upload = tmp_path / "report.txt"
        upload.write_text("for the user\n")
        browser.execute_script("document.getElementById('file-input').hidden = false")
        browser.find_element(By.ID, "file-input").send_keys(str(upload))
        wait_page(browser, lambda s: "not accepted by the host" in _text(browser, "file-list"),
                  what="the refusal")  # fmt: skip
        assert "declined" not in _text(browser, "file-list")

        # A file from the host, declined by the agent; then 105 chat lines.
        gift = tmp_path / "gift.txt"
        gift.write_text("from the host\n")
        peer = live.run(lambda: live.host.viewers[0])
        offered = live.run(lambda: asyncio.ensure_future(live.host.send_file(gift, peer)))
        wait_page(browser, lambda s: browser.find_elements(By.XPATH, "//button[text()='Decline']"),
                  what="the host's offer")  # fmt: skip
        browser.find_element(By.XPATH, "//button[text()='Decline']").click()
        live.wait(offered.done, what="the host told")

        async def chat() -> None:
            for i in range(105):
                await live.host.send_chat(f"line {i}")

        live.call(chat)
        browser.execute_script("document.getElementById('chat-input').value = 'my answer'")
        browser.execute_script("document.getElementById('chat-form').requestSubmit()")
        wait_page(browser, lambda s: "my answer" in _text(browser, "chat-log"), what="own line")
        before = _lines(browser)

        browser.refresh()
        wait_page(browser, lambda s: s["connected"] and s["applied"] >= 1, what="reloaded page")
        wait_page(browser, lambda s: "my answer" in _text(browser, "chat-log"), what="the replay")
        after = _lines(browser)
        assert len(after) == 100 and after == before[-100:]
        assert after[0] == "User: line 6" and after[-1] == "You: my answer (delivered)"
        files = _text(browser, "file-list")
        assert "report.txt" in files and "not accepted by the host" in files
        assert "gift.txt" in files and "declined" in files
        assert not browser.find_elements(By.XPATH, "//button[text()='Decline']")  # answered

        # A new upload after the reload gets a row of its own.
        second = tmp_path / "second.txt"
        second.write_text("again\n")
        browser.execute_script("document.getElementById('file-input').hidden = false")
        browser.find_element(By.ID, "file-input").send_keys(str(second))
        wait_page(browser, lambda s: "second.txt" in _text(browser, "file-list")
                  and _text(browser, "file-list").count("not accepted") == 2,
                  what="the second row")  # fmt: skip
        assert "report.txt" in _text(browser, "file-list")
    finally:
        live.close()


def test_a_page_whose_viewer_is_gone_says_what_to_do(browser: Any) -> None:
    live = LiveSession(_source(), options=WebOptions(grace=5.0))
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the picture")
        server = live.web.server
        assert server is not None
        live.call(server.close)  # as when `screencodec view` is stopped
        st = wait_page(browser, lambda s: s["closed"], what="the socket closed")
        assert st["banner"] is None
        assert _text(browser, "banner-text") == (
            "The viewer program stopped or lost this page: if it still runs, reload;"
            " otherwise run screencodec view again."
        )
    finally:
        live.close()
