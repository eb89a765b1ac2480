"""``view --web``'s terminal in a support agent's words (walk38):

- a lost link is told as ``view`` tells it, with why: "the connection was
  lost (nothing came from the host for 10 s); reconnecting ..." (it said
  "the connection was lost; reconnecting ..." whatever the cause);
- the page's video support is said as what it means for the agent, not as
  "(H.264 in the browser: 4:4:4 yes, 4:2:0 yes)".

A real host CLI, stopped (``kill -STOP``: a frozen machine) while a real
``view --web`` runs with headless Chromium on its page.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from typing import Any

import pytest

from screencodec.cli.view_ending import _plain
from screencodec.transport.connect.reconnect import LOST_WORDS, lost_words
from screencodec.web.run import lost_banner, page_words
from transport.test_attack_prompts import PtyHost, _credentials
from transport.test_view_cli_ux import read_until

from .conftest import wait_page

URL = re.compile(r"http://127\.0\.0\.1:\d+/#k=[A-Za-z0-9_-]+")


def test_view_web_says_whose_silence_lost_the_link(browser: Any) -> None:
    host = PtyHost()
    view = None
    try:
        port, code, password = _credentials(host)
        view = subprocess.Popen(
            [sys.executable, "-m", "screencodec", "view", f"127.0.0.1:{port}", "--code", code,
             "--password", password, "--web", "--no-open", "--name", "Dave"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )  # fmt: skip
        url = URL.search(read_until(view, URL))
        assert url is not None
        browser.get(url.group(0))
        host.say_yes(1)
        seen = read_until(view, "granted: view")
        assert "page opened; video areas " in seen, seen
        wait_page(browser, lambda s: s["applied"] >= 1, what="the first picture")
        os.kill(host.proc.pid, signal.SIGSTOP)  # the host's machine froze: nothing comes
        seen = read_until(view, "reconnecting for up to", timeout=60)
        assert re.search(r"^the connection was lost \(nothing came from the host for \S+ s\);"
                         r" reconnecting for up to 60 s \(Ctrl-C to stop\)$", seen, re.M), seen
        # The page's banner says why in the same words (web39: found "The
        # connection to the user's computer was lost: reconnecting...").
        silent = re.search(r"nothing came from the host for \S+ s", seen)
        assert silent is not None
        banner = f"The connection to the user's computer was lost ({silent[0]}): reconnecting..."
        wait_page(browser, lambda s: s["banner"] == banner, what="the lost banner, with why")
    finally:
        os.kill(host.proc.pid, signal.SIGCONT)
        if view is not None:
            view.kill()
            view.communicate()
        host.close()


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
