"""walk46 (headless Chromium on ``view --web``, a host in tmux): the agent
pasted a 10 kB log line into the chat field. The field kept its first 2000
characters (its maxlength) without a word, the page sent them, and marked
the line "(delivered)"; the user's terminal showed its first 1000 and
"...". A long line now goes as several messages of 1000 characters (what
every side shows whole), in order; a paste past what the field holds says
what was left out. Real Host and web viewer, headless Chromium."""

from __future__ import annotations

from typing import Any

from selenium.webdriver.common.by import By

from .conftest import wait_page
from .test_chatack_page import _chat, _live, _mine, _said

#: A pasted log line, each place its own; a character of two UTF-16 units
#: and one of three UTF-8 bytes where a part could end.
_LONG = "".join(f"{n:05d}" for n in range(2000)) + "\U0001f600" * 999 + "\u00e9" + "END"


def test_walk46_a_long_chat_line_goes_whole_in_parts(browser: Any) -> None:
    live = _live()
    try:
        events = live.run(live.host.events)
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the first picture")
        _chat(browser, _LONG)
        parts = [_LONG[i : i + 1000] for i in range(0, len(_LONG), 1000)]
        # Found: one line, its first 2000 UTF-16 units, marked delivered.
        assert _said(live, events, len(parts)) == parts
        wait_page(browser, lambda s: len(_mine(browser)) == len(parts), what="each part shown")
        assert [row[0] for row in _mine(browser)] == [f"You: {p} (delivered)" for p in parts]
    finally:
        live.close()


def test_walk46_a_paste_past_what_the_field_holds_says_what_was_left_out(
        browser: Any) -> None:  # fmt: skip
    live = _live()
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the first picture")
        field = browser.find_element(By.ID, "chat-input")
        most = int(field.get_attribute("maxlength"))
        assert most >= 20000  # a pasted 10 kB line fits
        browser.find_element(By.ID, "chat-toggle").click()
        browser.execute_script(
            "const t = new DataTransfer(); t.setData('text/plain', arguments[1]);"
            "arguments[0].focus();"
            "arguments[0].dispatchEvent(new ClipboardEvent('paste', {clipboardData: t,"
            " bubbles: true, cancelable: true}));", field, "x" * (most + 5))  # fmt: skip
        notes = ("return [...document.querySelectorAll('#chat-log li.notice')]"
                 ".map((l) => l.textContent)")  # fmt: skip
        wait_page(browser, lambda s: browser.execute_script(notes), what="the note")
        assert browser.execute_script(notes) == [
            f"The message field holds at most {most} characters: the last 5 of what you pasted"
            " were left out."]  # fmt: skip
    finally:
        live.close()
