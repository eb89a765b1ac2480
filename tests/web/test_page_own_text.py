"""The agent's own strings in its page are cleaned like the host's: a chat
line, a file name or a --name with a bidi override (U+202E turns what follows
right to left: "invoice", U+202E, "exe.pdf" reads "invoicefdp.exe") or another
invisible character is shown with "?" in its place, live and after a reload;
the host's text, cleaned by the Python side already, is shown unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By

from screencodec.capture import open_source
from screencodec.transport import HostConfig
from screencodec.web import WebOptions

from .conftest import wait_page
from .harness import LiveSession, StillSource

RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE


def _text(browser: Any, element_id: str) -> str:
    return str(browser.execute_script(
        f"return document.getElementById('{element_id}').textContent"))  # fmt: skip


def test_own_chat_file_names_and_name_are_cleaned(browser: Any, tmp_path: Path) -> None:
    live = LiveSession(
        StillSource(open_source("synthetic", width=320, height=200, scenario="idle")),
        config=HostConfig(adaptive=False, download_dir=None),
        options=WebOptions(grace=5.0, who=f"Al{RLO}ice"),
    )  # fmt: skip
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the picture")
        assert browser.title == "screencodec viewer: Al?ice"

        said = f"see the file invoice{RLO}exe.pdf\u200b, then\treply"
        browser.execute_script(
            "document.getElementById('chat-input').value = arguments[0];"
            "document.getElementById('chat-form').requestSubmit()",
            said,
        )
        shown = "You: see the file invoice?exe.pdf?, then reply"
        wait_page(browser, lambda s: shown in _text(browser, "chat-log"), what="own line")
        upload = tmp_path / f"invoice{RLO}exe.pdf"
        upload.write_text("for the user\n")
        browser.execute_script("document.getElementById('file-input').hidden = false")
        browser.find_element(By.ID, "file-input").send_keys(str(upload))
        wait_page(browser, lambda s: "not accepted by the host" in _text(browser, "file-list"),
                  what="the upload's row")  # fmt: skip
        assert _text(browser, "file-list").startswith("invoice?exe.pdf ")
        # Sent as typed (the host cleans what it shows): only the showing is cleaned here.
        assert live.run(lambda: live.web.bridge._chat[-1][1]["text"]) == said  # type: ignore[union-attr]

        # The host's own words (the Python side cleaned them) come unchanged.
        live.call(live.host.send_chat, "plain ?words? \u00e9")
        wait_page(browser, lambda s: "User: plain ?words? \u00e9" in _text(browser, "chat-log"),
                  what="the host's line")  # fmt: skip

        browser.refresh()  # the replayed chat line and file row are cleaned too
        wait_page(browser, lambda s: s["connected"] and "not accepted" in _text(
            browser, "file-list"), what="the replay")  # fmt: skip
        wait_page(browser, lambda s: shown in _text(browser, "chat-log"), what="own line again")
        assert _text(browser, "file-list").startswith("invoice?exe.pdf ")
        assert RLO not in _text(browser, "chat-log") + browser.title
    finally:
        live.close()
