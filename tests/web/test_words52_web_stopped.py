"""words52: ``view --web`` stopped by SIGTERM or SIGHUP, as the host's
user and the page tell it. The host's terminal reads that the agent's
viewer program was stopped, by which signal (it read "the agent left the
session", the words of the agent's own leaving). The page's stats panel
shows no figure once the session has ended (it showed the last "sent: 47
fps" and "RTT: 0.8 ms" until its next second, then "0 fps" each second as
if the session went on). The page's Leave pressed just before the signal
is the end, not the stop: the host, the terminal and the page tell one
story (the host read "the agent left the session" while the terminal and
the page said the viewer was stopped by SIGTERM).

A real ``host`` (on a pty), the real ``view --web --no-open`` and its page
in headless Chromium, signals sent to the real process."""

from __future__ import annotations

import re
import signal
import time
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from tests.transport.test_attack_prompts import PtyHost
from tests.transport.test_view_cli_signals import host_ended
from tests.transport.test_view_cli_ux import read_until

from .conftest import wait_page
from .test_web_cli_signals import (  # noqa: F401 (the fixtures)
    _URL,
    View,
    _ended_cleanly,
    _open_and_accept,
    _page_ended,
    host,
    view,
)

_STATS = "return document.getElementById('stats').innerText"
#: A figure of a running session: "shown: 53 fps", "sent: 47 fps, 187 kbit/s".
_FIGURE = re.compile(r"\d+ fps|\d+ kbit/s|\d+(\.\d+)? ms")


def _joined(browser: Any, host: PtyHost, view: View) -> tuple[Any, str]:  # noqa: F811
    """``view --web`` joined, its page showing the host's figures."""
    proc = view()
    seen = read_until(proc, _URL)
    _open_and_accept(browser, host, seen)
    seen += read_until(proc, "connected to")
    wait_page(browser, lambda s: re.search(r"sent: +\d+ fps", browser.execute_script(_STATS))
              is not None, what="the host's figures in the stats panel")  # fmt: skip
    return proc, seen


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_stop_is_told_to_the_host_and_the_figures_go(
        browser: Any, host: PtyHost, view: View,  # noqa: F811
        sig: signal.Signals) -> None:  # fmt: skip
    proc, seen = _joined(browser, host, view)
    proc.send_signal(sig)
    wait_page(browser, lambda s: bool(s["ended"]), what="the ended page")
    shown = browser.execute_script(_STATS)
    assert _FIGURE.search(shown) is None, shown  # found: "sent: 47 fps, 187 kbit/s"
    assert "RTT:      -" in shown.splitlines(), shown
    _ended_cleanly(proc, seen, f"session ended: the viewer was stopped by {sig.name}")
    host.wait_for(host_ended(sig))
    assert "the agent left" not in host.text, host.text
    _page_ended(browser, sig)
    time.sleep(1.5)  # the panel's next second: still none (found: "shown: 0 fps, ...")
    shown = browser.execute_script(_STATS)
    assert _FIGURE.search(shown) is None, shown


#: What each side says after the page's Leave, and after a SIGTERM.
_LEAVE = ("the agent left the session", "session ended: you left the session (Leave in the"
          " web page)", signal.SIGINT)  # fmt: skip
_STOP = (
    "the agent's viewer program was stopped by SIGTERM",
    "session ended: the viewer was stopped by SIGTERM",
    signal.SIGTERM,
)


@pytest.mark.parametrize("gap", [0.0, 0.01, 0.03], ids=["at_once", "10ms", "30ms"])
def test_leave_then_a_signal_at_once_tells_one_end(
        browser: Any, host: PtyHost, view: View, gap: float) -> None:  # noqa: F811  # fmt: skip
    """The page's Leave, then SIGTERM at once (``gap`` after the click
    returned): whichever reached the viewer first is the end, said alike on
    the host's terminal, the agent's and the page. The Leave's Bye, once
    sent, is not rewritten by the stop."""
    proc, seen = _joined(browser, host, view)
    browser.find_element(By.ID, "leave").click()
    time.sleep(gap)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    last = (seen + out.decode()).splitlines()[-1]
    said = host.wait_for(r"session with [^\n]* ended: ([^\n]*)\n").group(1)
    host_words, line, page = next((e for e in (_LEAVE, _STOP) if e[0] == said), (said, "", 0))
    assert (said, last) == (host_words, line), (said, last, err.decode())
    # A SIGTERM that comes once the end is told, as the page's server and
    # browser close, is noted and let be (ends53: its default action, given
    # back, made it -15).
    assert proc.returncode == 0, (proc.returncode, err.decode())
    _page_ended(browser, page)
