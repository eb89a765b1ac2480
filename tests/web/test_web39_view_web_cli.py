"""``view --web``'s terminal and the browser it starts (web39). Real
``view --web`` processes, a real host on loopback, headless Chromium.

- A browser that opens its page late, after "no page has opened yet" (a
  browser slow to start cold): the page works and the terminal says "page
  opened" after that line.
- A browser process that exits mid-session (a launcher that hands the link
  on and ends, a window closed): found a zombie of the view process until
  it ended (reaped once, 5 s after the start, only); now reaped.
- The host's user's line written while asked whether to let the agent in:
  found on the page only; ``view`` prints it ("host says: ..."), and now
  ``view --web``'s terminal too, sanitised.

``$BROWSER`` names a program ``xdg-open`` and ``$DISPLAY`` is set, so that
``webbrowser`` starts it in the background and forgets it, as it does the
desktop's (test_webopen38_page_not_opened)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from loop_thread import LoopThread
from screencodec.capture import open_source
from screencodec.transport import Host, HostConfig, SessionCredentials, allow, listen_direct
from screencodec.transport.session.permissions import VIEW, Grant
from screencodec.web.run import PAGE_NUDGE_AFTER, REAP_EVERY

from .conftest import wait_page
from .test_pagelive_chat import _Asked
from .test_webopen38_page_not_opened import _env, _zombies

CLI = [sys.executable, "-m", "screencodec"]
URL = re.compile(r"http://127\.0\.0\.1:\d+/#k=[A-Za-z0-9_-]+")
#: How long the browser program runs: past the nudge and the page's opening.
BROWSER_RUNS = PAGE_NUDGE_AFTER + 5


@pytest.fixture
def loop() -> Iterator[LoopThread]:
    with LoopThread() as loop:
        yield loop


class _View:
    """A ``view --web`` process whose stdout lines are read as they come."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([*CLI, "view", *args, "--web", "--name", "Alice"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=env)  # fmt: skip
        self.lines: list[str] = []

    def until(self, pattern: str) -> str:
        """Lines up to the one matching ``pattern`` (which is returned)."""
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            assert line, f"view ended before {pattern!r}: {self.lines}"
            self.lines.append(line.rstrip("\n"))
            if re.search(pattern, line):
                return self.lines[-1]

    def close(self) -> None:
        self.proc.kill()
        self.proc.communicate()


def _host(loop: LoopThread, consent: Any = None) -> tuple[Host, Any, SessionCredentials]:
    creds = SessionCredentials()
    source = open_source("synthetic", width=320, height=200, scenario="typing")

    async def start() -> Any:
        host = Host(source, consent=consent or allow(), config=HostConfig(adaptive=False))
        return host, await listen_direct("127.0.0.1", 0, creds, host.serve)

    host, listener = loop.call(start())
    return host, listener, creds


async def _close(listener: Any, host: Host) -> None:
    await listener.close()
    await host.close()


def _launcher(where: Path, record: Path, gone: Path) -> Path:
    """``xdg-open``: writes its argument to ``record``, runs
    :data:`BROWSER_RUNS` seconds, writes ``gone`` as it exits."""
    where.mkdir(parents=True, exist_ok=True)
    prog = where / "xdg-open"
    prog.write_text(f'#!/bin/sh\nprintf "%s" "$1" > {record}\nsleep {BROWSER_RUNS:g}\n'
                    f": > {gone}\nexit 0\n")  # fmt: skip
    prog.chmod(0o755)
    return prog


def test_a_late_page_works_and_a_browser_that_exits_mid_session_is_reaped(
    tmp_path: Path, browser: Any, loop: LoopThread
) -> None:
    record, gone = tmp_path / "url", tmp_path / "gone"
    host, listener, creds = _host(loop)
    view = _View([f"127.0.0.1:{listener.port}", "--code", creds.code, "--password",
                  creds.password], _env(_launcher(tmp_path / "bin", record, gone)))  # fmt: skip
    try:
        url = URL.search(view.until(r"^web viewer: "))
        assert url is not None
        nudge = view.until(r"^no page has opened yet")
        assert nudge == f"no page has opened yet: open {url[0]} in your browser"
        assert record.read_text() == url[0]  # the browser program had it, and opened nothing
        browser.get(url[0])  # the page, late
        view.until(r"^page opened; ")
        view.until(r"granted: view")
        wait_page(browser, lambda s: s["applied"] >= 2, what="pictures in the late page")
        assert not gone.exists(), "the browser program ended before the session began"
        deadline = time.monotonic() + BROWSER_RUNS + 10
        while not gone.exists():
            assert time.monotonic() < deadline, "the browser program did not end"
            time.sleep(0.05)
        # It has ended, mid-session: reaped within REAP_EVERY (and a
        # moment for the shell to exit after writing `gone`).
        time.sleep(REAP_EVERY + 1.5)
        assert view.proc.poll() is None, view.lines
        assert _zombies(view.proc.pid) == [], view.lines  # found: [".. Z xdg-open"]
        wait_page(browser, lambda s: s["connected"] and s["ended"] is None, what="the session")
        browser.find_element(By.ID, "leave").click()
        out, err = view.proc.communicate(timeout=30)
        assert view.proc.returncode == 0, (view.lines, out, err)
    finally:
        view.close()
        loop.call(_close(listener, host))
    assert view.lines.count(nudge) == 1, view.lines
    assert "no page has opened yet" not in out


def _foreground(where: Path, record: Path, pids: Path) -> Path:
    """A browser program ``webbrowser`` runs in the foreground and waits
    for (a name it does not know, as a browser itself or a wrapper around
    one): writes its argument to ``record`` and its pids to ``pids``, and
    runs until killed (25 s at most)."""
    where.mkdir(parents=True, exist_ok=True)
    prog = where / "my-browser"
    prog.write_text(f'#!/bin/sh\nprintf "%s" "$1" > {record}\nsleep 25 &\n'
                    f'echo "$$ $!" > {pids}\nwait $!\n')  # fmt: skip
    prog.chmod(0o755)
    return prog


def test_a_browser_program_that_keeps_running_does_not_hold_the_page(
    tmp_path: Path, browser: Any, loop: LoopThread
) -> None:
    """Found: ``webbrowser`` waits for such a program, and ``view --web``
    waited for ``webbrowser``: the page opened and stayed at "Opening..."
    (the host never contacted) until the program ended, which a browser
    does when it is closed. Now the session starts once the page opens,
    and ``view`` ends without waiting for the program either."""
    record, pids = tmp_path / "url", tmp_path / "pids"
    host, listener, creds = _host(loop)
    view = _View([f"127.0.0.1:{listener.port}", "--code", creds.code, "--password",
                  creds.password], _env(_foreground(tmp_path / "bin", record, pids)))  # fmt: skip
    running: list[int] = []
    try:
        url = URL.search(view.until(r"^web viewer: "))
        assert url is not None
        deadline = time.monotonic() + 20
        while not pids.exists() or not pids.read_text().strip():
            assert time.monotonic() < deadline, "the browser program did not start"
            time.sleep(0.05)
        running = [int(pid) for pid in pids.read_text().split()]
        browser.get(record.read_text())
        view.until(r"granted: view")
        wait_page(browser, lambda s: s["applied"] >= 1, what="the picture")
        browser.find_element(By.ID, "leave").click()
        # Not communicate(): it waited for EOF, which the program (holding
        # view's stdout) gave only as it ended, 25 s in (review39a: this
        # test took 27 s and did not see when view ended).
        view.proc.wait(timeout=30)
        # The program still runs: neither the session nor view's end waited for it.
        os.kill(running[0], 0)
        assert view.proc.returncode == 0, view.lines
    finally:
        for pid in running:  # first: it holds view's pipes
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        view.close()
        loop.call(_close(listener, host))
    said = view.lines
    assert not any(line.startswith(("no page has opened yet", "no browser")) for line in said)


def test_view_web_prints_the_users_line_written_while_asked(
    tmp_path: Path, browser: Any, loop: LoopThread
) -> None:
    asked = _Asked()
    host, listener, creds = _host(loop, consent=asked)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    view = _View([f"127.0.0.1:{listener.port}", "--code", creds.code, "--password",
                  creds.password, "--no-open"], env)  # fmt: skip
    try:
        url = URL.search(view.until(r"^web viewer: "))
        assert url is not None
        browser.get(url[0])
        deadline = time.monotonic() + 20
        while asked.pending is None:
            assert time.monotonic() < deadline, "the host's user was not asked"
            time.sleep(0.05)

        async def say() -> Any:
            return await host.say_to_asking("one moment\x1b[2J\u202e please <b>")

        assert len(loop.call(say())) == 1
        # Found: nothing (the page showed it, the terminal not).
        line = view.until(r"^host says: ")
        assert line == "host says: one moment?? please <b>", view.lines

        async def answer() -> None:
            assert asked.pending is not None
            asked.pending.set_result(Grant(VIEW))

        loop.call(answer())
        view.until(r"granted: view")
        wait_page(browser, lambda s: s["applied"] >= 1, what="the picture")
        browser.find_element(By.ID, "leave").click()
        view.proc.communicate(timeout=30)
        assert view.proc.returncode == 0, view.lines
    finally:
        view.close()
        loop.call(_close(listener, host))
    assert sum(line.startswith("host says: ") for line in view.lines) == 1, view.lines
