"""A file the user offers has one row in the page, from the offer to its Save
link, also after a reload. The offer's number (the page's question) and the
received file's (its Save link's) are not the same: the bridge ties them by
the host's transfer number. A declined offer before it keeps its own row, and
a file saved under another name (the download folder had one already) still
ends in its offer's row."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By

from screencodec.capture import open_source
from screencodec.web import WebOptions

from .conftest import wait_page
from .harness import LiveSession, StillSource


def _rows(browser: Any) -> list[str]:
    script = "return [...document.querySelectorAll('#file-list li')].map((l) => l.textContent)"
    return list(browser.execute_script(script))


_WATCH = """
window.rowsSeen = [];
new MutationObserver(() => window.rowsSeen.push(
    [...document.querySelectorAll('#file-list li')].map((l) => l.textContent)))
  .observe(document.getElementById('file-list'),
           {subtree: true, childList: true, characterData: true});
"""


def _offer(live: LiveSession, browser: Any, path: Path, button: str) -> None:
    """The host's user sends ``path``; the agent presses ``button`` in its row."""
    peer = live.run(lambda: live.host.viewers[0])
    sent = live.run(lambda: asyncio.ensure_future(live.host.send_file(path, peer)))
    xpath = f"//li[span[text()='{path.name}']]/button[text()='{button}']"
    wait_page(browser, lambda s: browser.find_elements(By.XPATH, xpath), what=path.name)
    browser.find_element(By.XPATH, xpath).click()
    live.wait(sent.done, what=f"the host's send_file of {path.name}")
    assert live.run(sent.result) is (button == "Accept")


def _saved(browser: Any) -> str:
    (link,) = browser.find_elements(By.CSS_SELECTOR, "#file-list a")
    assert link.text == "Save a copy"  # walk44: in the agent's folder already
    return str(browser.execute_async_script(
        "fetch(arguments[0]).then(r => r.text()).then(arguments[1])",
        link.get_attribute("href")))  # fmt: skip


def test_an_accepted_file_keeps_one_row_to_its_save_link(browser: Any, tmp_path: Path) -> None:
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    (downloads / "second.txt").write_text("already here\n")  # saved as "second (1).txt"
    source = StillSource(open_source("synthetic", width=320, height=200, scenario="idle"))
    live = LiveSession(source, options=WebOptions(grace=5.0, download_dir=downloads))
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the picture")
        first, second = tmp_path / "first.txt", tmp_path / "second.txt"
        first.write_text("not this one\n")
        second.write_bytes(b"from the host\n" * 100)
        _offer(live, browser, first, "Decline")
        browser.execute_script(_WATCH)  # every state of the rows from now on
        _offer(live, browser, second, "Accept")
        assert (downloads / "second (1).txt").read_bytes() == second.read_bytes()
        # walk44: in the agent's own folder, the row says under which name.
        final = ["first.txt 13 bytes from the user: declined",
                 f"second.txt 1.4 kB from the user: saved as {downloads / 'second (1).txt'};"
                 " Save a copy"]  # fmt: skip
        wait_page(browser, lambda s: "saved as" in "".join(_rows(browser)), what="the file")
        assert _rows(browser) == final
        assert _saved(browser) == second.read_text()
        seen = browser.execute_script("return window.rowsSeen")
        assert [final[0], "second.txt 1.4 kB from the user: receiving..."] in seen
        assert max(map(len, seen)) == 2

        browser.refresh()
        wait_page(browser, lambda s: s["connected"] and s["applied"] >= 1, what="reloaded page")
        wait_page(browser, lambda s: "saved as" in "".join(_rows(browser)), what="the replay")
        assert _rows(browser) == final
        assert _saved(browser) == second.read_text()
    finally:
        live.close()

