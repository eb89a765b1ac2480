"""walk40: the page when the ``view --web`` program behind it stops running.

Found in a real session (the agent's ``view --web`` stopped 20 s with
``kill -STOP``, headless Chromium on its page): the page's status said
"Connected" the whole time over a still picture, while the customer's
terminal said "no word from 'Dave' ... for 6 s", then "lost". The page hears
the host only through that program, whose own silence check stopped with it.
Now the program says "alive" each second while the page shows "Connected",
and a page that hears nothing from it for 3.5 s says so; it says
"Connected" again as soon as the program runs.

A real CLI host (synthetic, idle), a real ``view --web`` process, the page
in headless Chromium."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from typing import Any

from selenium.webdriver.common.by import By

from transport.test_cli import CLI, ENV, answer_when_asked, start_host, stop

URL = re.compile(r"http://127\.0\.0\.1:\d+/#k=[A-Za-z0-9_-]+")
SILENT = re.compile(r"No word from the viewer program on this computer \(screencodec view\) for"
                    r" (\d+) s: the picture may not be live")  # fmt: skip
STOPPED = 6.0  # over the page's 3.5 s, well under the host's 15 s (Timeouts.cold)


def _status(browser: Any) -> str:
    return str(browser.find_element(By.ID, "status").text)


def _until(browser: Any, cond: Any, timeout: float, what: str) -> str:
    deadline = time.monotonic() + timeout
    while True:
        text = _status(browser)
        if cond(text):
            return text
        assert time.monotonic() < deadline, f"no {what}: {text!r}"
        time.sleep(0.1)


def test_the_page_says_when_the_viewer_program_is_silent(browser: Any) -> None:
    host, code, password, port = start_host("--scenario", "idle")
    view = subprocess.Popen([*CLI, "view", f"127.0.0.1:{port}", "--code", code, "--password",
                             password, "--web", "--no-open", "--name", "Dave"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=ENV)  # fmt: skip
    try:
        assert view.stdout is not None
        url = None
        while url is None:
            line = view.stdout.readline()
            assert line, "view --web ended before its link"
            found = URL.search(line)
            url = found.group(0) if found else None
        browser.get(url)
        answer_when_asked(host)
        _until(browser, lambda t: t == "Connected", 30, "Connected")
        time.sleep(2.5)  # the program's "alive" came
        assert _status(browser) == "Connected"
        os.kill(view.pid, signal.SIGSTOP)
        stopped = time.monotonic()
        try:
            said = _until(browser, SILENT.match, 10, "the program's silence")
            assert time.monotonic() - stopped >= 3.0, said
            time.sleep(max(0.0, stopped + STOPPED - time.monotonic()))
            later = _status(browser)
            assert SILENT.match(later) and int(SILENT.match(later).group(1)) >= 5, later  # type: ignore[union-attr]
        finally:
            os.kill(view.pid, signal.SIGCONT)
        _until(browser, lambda t: t == "Connected", 10, "Connected again")
        view.send_signal(signal.SIGTERM)  # leaves as the page's Leave does
        _, err = view.communicate(timeout=60)
        assert view.returncode == 0, err
    finally:
        stop(view)
        stop(host)
