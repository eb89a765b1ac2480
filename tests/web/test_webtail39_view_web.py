"""``view --web``'s terminal and the browser it starts, continued
(webtail39). Real ``view --web`` processes, a real host on loopback,
headless Chromium, real signals.

- A second page refused (a tab opened on the link again, a copy of the
  tab): found, the page said why and the terminal nothing; now one line
  per burst of refusals, not one per page.
- A ``$BROWSER`` program ``webbrowser`` runs in the foreground and waits
  for (a name it does not know: the browser itself, or a wrapper): found
  in ``view``'s process group, so the agent's Ctrl-C at ``view --web``
  reached it too (its trap recorded SIGINT), and the agent's browser could
  end with the viewer; now in a session of its own, as ``webbrowser``
  starts the browsers it knows."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from loop_thread import LoopThread
from screencodec.web.run import REFUSED_LINES

from .conftest import wait_page
from .test_web39_view_web_cli import CLI, URL, _close, _host, _View
from .test_webopen38_page_not_opened import _env


@pytest.fixture
def loop() -> Iterator[LoopThread]:
    with LoopThread() as loop:
        yield loop


def _refusal(browser: Any) -> Any:
    return browser.execute_script("return window.screencodecPage && window.screencodecPage.refusal")


def test_the_terminal_says_once_that_a_second_page_was_refused(
    browser: Any, loop: LoopThread
) -> None:
    host, listener, creds = _host(loop)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    view = _View([f"127.0.0.1:{listener.port}", "--code", creds.code, "--password",
                  creds.password, "--no-open"], env)  # fmt: skip
    try:
        url = URL.search(view.until(r"^web viewer: "))
        assert url is not None
        browser.get(url[0])
        view.until(r"granted: view")
        wait_page(browser, lambda s: s["applied"] >= 1, what="the picture")
        first = browser.current_window_handle
        tabs = []
        for _ in range(3):  # the link opened again, by hand, three times in a row
            browser.switch_to.new_window("tab")
            browser.get(url[0])
            tabs.append(browser.current_window_handle)
        for tab in tabs:  # (not waited for in between: a burst, whatever the load)
            browser.switch_to.window(tab)
            deadline = time.monotonic() + 20
            while not _refusal(browser):
                assert time.monotonic() < deadline, "the second page was not refused"
                time.sleep(0.05)
            browser.close()
        browser.switch_to.window(first)
        wait_page(browser, lambda s: s["connected"] and s["ended"] is None, what="the session")
        browser.find_element(By.ID, "leave").click()
        out, err = view.proc.communicate(timeout=30)
        assert view.proc.returncode == 0, (view.lines, out, err)
    finally:
        view.close()
        loop.call(_close(listener, host))
    said = view.lines + out.splitlines()
    refused = [line for line in said if "tried to open this session" in line]
    assert refused == [REFUSED_LINES[True]], said  # found: []


def _interruptible(where: Path, record: Path, pid: Path, sigs: Path) -> Path:
    """A browser program ``webbrowser`` runs in the foreground: writes its
    argument to ``record`` and its pid to ``pid``, each SIGINT it gets to
    ``sigs``, and runs on (25 s at most) whatever it gets but a kill."""
    where.mkdir(parents=True, exist_ok=True)
    prog = where / "my-browser"
    prog.write_text(f"#!/bin/sh\ntrap 'echo INT >> {sigs}' INT\n"
                    f'printf "%s" "$1" > {record}\necho $$ > {pid}\n'
                    "i=0\nwhile [ $i -lt 100 ]; do sleep 0.25; i=$((i+1)); done\n")  # fmt: skip
    prog.chmod(0o755)
    return prog


def test_ctrl_c_at_view_web_does_not_reach_the_browser_program(tmp_path: Path) -> None:
    record, pid_file, sigs = tmp_path / "url", tmp_path / "pid", tmp_path / "sigs"
    prog = _interruptible(tmp_path / "bin", record, pid_file, sigs)
    # view as a terminal's foreground job: a process group of its own, which
    # the terminal's Ctrl-C signals as a whole. No host: no page opens.
    proc = subprocess.Popen([*CLI, "view", "127.0.0.1:9", "--code", "123 456 789", "--password",
                             "abcd2345", "--web", "--name", "Alice"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(prog), start_new_session=True)  # fmt: skip
    pid = 0
    try:
        deadline = time.monotonic() + 20
        while not pid_file.exists() or not pid_file.read_text().strip():
            assert time.monotonic() < deadline, "the browser program did not start"
            time.sleep(0.05)
        pid = int(pid_file.read_text())
        assert URL.fullmatch(record.read_text())
        os.killpg(proc.pid, signal.SIGINT)  # the agent's Ctrl-C
        out, err = proc.communicate(timeout=30)
        assert "session ended: you left the session" in out, (out, err)  # Ctrl-C's words
        time.sleep(0.5)  # a trap's line would be written by now
        assert not sigs.exists(), "the browser program got the Ctrl-C"  # found: "INT"
        os.kill(pid, 0)  # and runs on
    finally:
        proc.kill()
        proc.communicate()
        if pid:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)  # its session's group: it and its sleep
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
