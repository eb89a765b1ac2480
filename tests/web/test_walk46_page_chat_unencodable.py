"""walk46 (headless Chromium on ``view --web``): a chat line holding a lone
UTF-16 surrogate (what a script, a broken clipboard or a page cut between
the two halves of an emoji gives) or a NUL, which the wire cannot take,
went nowhere: "Task exception was never retrieved ... UnicodeEncodeError"
on the agent's terminal, no mark on the line, nothing at the host. Before
walk46's ChatLedger check such a line was also kept, and sent again at the
next resume, ending the session. The bridge now sends it with U+FFFD in
their place. Real Host and web viewer, headless Chromium."""

from __future__ import annotations

from typing import Any

from .conftest import wait_page
from .test_chatack_page import _live, _mine, _said


def test_walk46_a_chat_line_the_wire_cannot_take_goes_with_replacements(browser: Any) -> None:
    live = _live()
    try:
        events = live.run(live.host.events)
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the first picture")
        browser.execute_script(
            "document.getElementById('chat-input').value = 'half \\ud83d of it, nul \\u0000 here';"
            "document.getElementById('chat-form').requestSubmit()")  # fmt: skip
        # Found: nothing reached the host (a UnicodeEncodeError in the bridge's task).
        assert _said(live, events, 1) == ["half \ufffd of it, nul \ufffd here"]
        wait_page(browser, lambda s: len(_mine(browser)) == 1 and "(delivered)" in _mine(
            browser)[0][0], what="delivered")  # fmt: skip
    finally:
        live.close()
