"""``screencodec view --web`` left while it reconnects: no Bye can reach the
host (the link is down), so the agent is told that the host could not be
told, as the terminal ``view`` tells it (walk38). Found (words51, read in
the code): the web view's end line said "session ended: you left the
session", as if the host knew; after words51 a SIGTERM there said "the
viewer was stopped by SIGTERM", without the part that matters. On the
way (walk38, web39): the lost link is told with why, in the terminal and
in the page's banner, and the page's video support in the agent's words.

A real ``host``, a proxy that goes silent under the session, the real
``view --web --no-open`` and its page in headless Chromium."""

from __future__ import annotations

import re
import signal
import subprocess
from typing import Any

from tests.transport.test_cli import CLI, ENV, answer_when_asked, start_host, stop
from tests.transport.test_view_cli_ux import read_until
from tests.transport.test_walk38_reconnect_words import _DarkeningProxy

from screencodec.cli.view_ending import LEFT_AWAY

from .conftest import wait_page
from .test_web_cli_signals import _URL

#: The page's banner of a view stopped by SIGTERM while it reconnects (page51).
_STOPPED_AWAY = ("The session has ended: the viewer program (screencodec view --web) was stopped"
                 " by SIGTERM while reconnecting; the user's computer could not be told, and its"
                 " user may be told for a minute or more that you can still come back.")


class _Leaving:
    """One run of the scenario: a real host, a proxy that goes silent under
    the session, ``view --web --no-open`` and its page in a tab of its own,
    left by ``sig`` while it reconnects."""

    def __init__(self, sig: signal.Signals) -> None:
        self.sig = sig
        self.host, code, password, port = start_host()
        self.proxy = _DarkeningProxy(port)
        self.view = subprocess.Popen(
            [*CLI, "view", f"127.0.0.1:{self.proxy.port}", "--code", code, "--password",
             password, "--web", "--no-open"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)  # fmt: skip
        self.tab = ""

    def shown(self, browser: Any) -> None:
        """The page opened in a new tab, the host's user agrees, a picture."""
        seen = read_until(self.view, _URL)
        url = _URL.search(seen)
        assert url, seen
        self.seen = seen
        browser.switch_to.new_window("tab")
        self.tab = browser.current_window_handle
        browser.get(url.group(0))
        answer_when_asked(self.host)
        wait_page(browser, lambda s: s["applied"] > 0, what="the first picture")

    def reconnecting(self, browser: Any) -> None:
        self.seen += read_until(self.view, "reconnecting for up to 60 s", timeout=30)
        # walk38 (webopen38_web_words' own test before time53a, a host
        # stopped with SIGSTOP: the same silence, the same 10 s waited): the
        # lost link told with why, and the page's banner in the same words
        # (web39: found "The connection to the user's computer was lost:
        # reconnecting...").
        silent = re.search(r"nothing came from the host for \S+ s", self.seen)
        assert silent is not None, self.seen
        banner = f"The connection to the user's computer was lost ({silent[0]}): reconnecting..."
        browser.switch_to.window(self.tab)
        wait_page(browser, lambda s: s["banner"] == banner, what="the lost banner, with why")

    def left(self, browser: Any) -> None:
        view, sig = self.view, self.sig
        out, err = view.communicate(timeout=30)
        text = self.seen + out.decode()
        assert view.returncode == 0, (text, err.decode())
        # The page's video support said as what it means for the agent (walk38).
        assert "page opened; video areas " in text, text
        assert re.search(r"^the connection was lost \(nothing came from the host for \S+ s\);"
                         r" reconnecting for up to 60 s \(Ctrl-C to stop\)$", text, re.M), text
        last = text[text.index("session ended"):].splitlines()[0]
        stopped = LEFT_AWAY.replace("you left the session", "the viewer was stopped by SIGTERM")
        assert last == f"session ended: {LEFT_AWAY if sig == signal.SIGINT else stopped}", text
        # The page: the agent's own leaving, or (page51) the program stopped
        # while reconnecting, the host not told ("You left the session." before).
        browser.switch_to.window(self.tab)
        st = wait_page(browser, lambda s: bool(s["ended"]) and s["closed"], what="the end")
        assert st["banner"] == ("You left the session." if sig == signal.SIGINT else
                                _STOPPED_AWAY), st  # fmt: skip

    def close(self) -> None:
        if self.view.poll() is None:
            self.view.kill()
            self.view.communicate()
        self.proxy.close()
        stop(self.host)


def test_leaving_the_web_view_while_it_reconnects_says_the_host_was_not_told(
        browser: Any) -> None:  # fmt: skip
    """Ctrl-C (SIGINT) and SIGTERM, each its own host, proxy, view and tab,
    side by side: each waits the view's 10 s of silence (time53a: they were
    two runs of a parametrized test, one after the other)."""
    runs: list[_Leaving] = []
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            runs.append(_Leaving(sig))
        for run in runs:
            run.shown(browser)
        for run in runs:
            run.proxy.go_dark()
        for run in runs:
            run.reconnecting(browser)
        for run in runs:
            run.view.send_signal(run.sig)
        for run in runs:
            run.left(browser)
    finally:
        for run in runs:
            run.close()
