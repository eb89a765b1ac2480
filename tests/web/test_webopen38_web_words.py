"""``view --web``'s terminal in a support agent's words (walk38):

- a lost link is told as ``view`` tells it, with why: "the connection was
  lost (nothing came from the host for 10 s); reconnecting ..." (it said
  "the connection was lost; reconnecting ..." whatever the cause);
- the page's video support is said as what it means for the agent, not as
  "(H.264 in the browser: 4:4:4 yes, 4:2:0 yes)".

Both through a real ``view --web`` with headless Chromium on its page, a
host gone silent under it: test_left51_web_reconnecting (time53a: it waits
the same 10 s for the same silence; this module's own test, a host stopped
with ``kill -STOP``, did so once more for the same words); here, the
functions that make the words.
"""

from __future__ import annotations

from typing import Any

import pytest

from screencodec.cli.view_ending import _plain
from screencodec.transport.connect.reconnect import LOST_WORDS, lost_words
from screencodec.web.run import lost_banner, page_words


@pytest.mark.parametrize("reason", [
    "channel closed: nothing received for 10 s (peer gone)",
    "channel closed: closed by peer: nothing received for 45 s (peer gone)",
    "channel closed: the connection broke (reset)",
    "channel closed: read timed out\x1b[2J",
])  # fmt: skip
def test_one_function_words_a_lost_link_for_both(reason: str) -> None:
    assert lost_words(reason) == _plain(reason)
    assert "\x1b" not in str(lost_words(reason))


@pytest.mark.parametrize(("reason", "why"), [
    ("channel closed: nothing received for 10 s (peer gone)",
     " (nothing came from the host for 10 s)"),
    ("channel closed: the connection broke (reset)", ""),
    ("channel closed: read timed out\x1b[2J\u202e<b>", " (read timed out??<b>)"),
])  # fmt: skip
def test_the_pages_lost_banner_says_why_in_the_terminals_words(reason: str, why: str) -> None:
    """web39: the banner said "...was lost: reconnecting..." whatever the
    cause; the reason's peer text is sanitised (the page shows it as text)."""
    said = f"The connection to the user's computer was lost{why}: reconnecting..."
    assert lost_banner(reason) == said
    assert why == str(lost_words(reason)).removeprefix(LOST_WORDS)


def test_a_hosts_own_end_is_not_a_lost_link() -> None:
    assert lost_words("host said bye: host ended") is None
    assert lost_words("channel closed: closed by peer: the connection was lost") is None


def _hello(h444: bool, h420: bool) -> dict[str, Any]:
    return {"h264_444": h444, "h264_420": h420, "zstream": True}


def test_page_words_say_what_the_agent_gets() -> None:
    full = page_words(_hello(True, True))
    assert full == "page opened; video areas play in the browser; connecting to the host"
    softer = page_words(_hello(False, True))
    assert softer == ("page opened; video areas look softer (this browser cannot show full"
                      " colour detail); connecting to the host")
    none = page_words(_hello(False, False))
    assert none.startswith("page opened; this browser cannot play video:"), none
    for words in (full, softer, none):
        assert "H.264" not in words and "4:4:4" not in words and "4:2:0" not in words
