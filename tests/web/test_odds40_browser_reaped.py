"""odds40: ``view --web`` reaps the browser processes it starts, its own
list of them, without CPython's private ``subprocess._cleanup`` and
``_active`` (web39 reaped what ``webbrowser`` forgot through them).

Found with them: a browser ``webbrowser`` knows by name (Chromium,
Firefox: its ``UnixBrowser`` kinds) is asked to open the link and waited
for up to 5 s; one still running then was dropped, to ``_active``. A page
that opened before that (as a browser does, a second or two in) started
the reaping when ``_active`` was still empty, so it stopped at once, and
the browser's process, ending mid-session, stayed a zombie of ``view``
until it ended. Now each process is kept as it is started and polled
(its own pid only: no other child is waited for) until it has ended.

Real ``view --web`` processes, a real host on loopback, headless
Chromium; ``$BROWSER`` names a program called ``chromium`` (first on
``$PATH``), which ``webbrowser`` takes for Chromium."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from loop_thread import LoopThread
from screencodec.web.browser import Started
from screencodec.web.run import REAP_EVERY

from .conftest import wait_page
from .test_web39_view_web_cli import URL, _close, _host, _View
from .test_webopen38_page_not_opened import _env, _zombies

#: How long the fake Chromium runs: past webbrowser's 5 s wait for it.
RUNS = 8.0


@pytest.fixture
def loop() -> Iterator[LoopThread]:
    with LoopThread() as loop:
        yield loop


def _chromium(where: Path, record: Path, gone: Path) -> Path:
    """``chromium``: writes its arguments to ``record``, runs :data:`RUNS`
    seconds, writes ``gone`` as it exits (0)."""
    where.mkdir(parents=True, exist_ok=True)
    prog = where / "chromium"
    prog.write_text(f'#!/bin/sh\nprintf "%s" "$*" > {record}\nsleep {RUNS:g}\n'
                    f": > {gone}\nexit 0\n")  # fmt: skip
    prog.chmod(0o755)
    return prog


def test_a_known_browser_that_ends_after_the_page_opened_is_reaped(
    tmp_path: Path, browser: Any, loop: LoopThread
) -> None:
    record, gone = tmp_path / "args", tmp_path / "gone"
    prog = _chromium(tmp_path / "bin", record, gone)
    env = _env(prog)
    env["PATH"] = f"{prog.parent}{os.pathsep}{env['PATH']}"  # webbrowser registers it by name
    host, listener, creds = _host(loop)
    view = _View([f"127.0.0.1:{listener.port}", "--code", creds.code, "--password",
                  creds.password], env)  # fmt: skip
    try:
        url = URL.search(view.until(r"^web viewer: "))
        assert url is not None
        deadline = time.monotonic() + 20
        while not record.exists() or not record.read_text():
            assert time.monotonic() < deadline, "the browser was not started"
            time.sleep(0.05)
        # As webbrowser asks Chromium: the link alone (its remote_args, action "").
        assert record.read_text() == url[0]
        browser.get(url[0])  # the page opens while the browser still runs
        view.until(r"^page opened; ")
        view.until(r"granted: view")
        wait_page(browser, lambda s: s["applied"] >= 2, what="pictures")
        assert not gone.exists(), "the browser ended before the session began"
        deadline = time.monotonic() + RUNS + 10
        while not gone.exists():
            assert time.monotonic() < deadline, "the browser did not end"
            time.sleep(0.05)
        time.sleep(REAP_EVERY + 1.5)  # reaped within REAP_EVERY, and the shell's exit
        assert view.proc.poll() is None, view.lines
        assert _zombies(view.proc.pid) == [], view.lines  # found: [".. Z chromium"]
        browser.find_element(By.ID, "leave").click()
        view.proc.wait(timeout=30)
        assert view.proc.returncode == 0, view.lines
    finally:
        view.close()
        loop.call(_close(listener, host))
    said = view.lines
    assert not any(line.startswith(("no page has opened yet", "no browser")) for line in said)


def _state(pid: int) -> str:
    """``pid``'s state letter (/proc): "Z" once it has exited, unreaped."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_reaping_waits_for_the_browsers_started_there_and_no_other_child() -> None:
    """An embedder's own child that has exited is left for it to wait for
    (no ``waitpid(-1)``), while an ended browser is reaped."""
    started = Started()
    ours = started.keep(subprocess.Popen(["true"]))
    theirs = os.posix_spawn("/bin/true", ["true"], os.environ)
    deadline = time.monotonic() + 10
    while _state(ours.pid) != "Z" or _state(theirs) != "Z":
        assert time.monotonic() < deadline, "the two children did not exit"
        time.sleep(0.01)
    assert started.reap() is False  # none left
    assert ours.returncode == 0
    assert _state(theirs) == "Z"
    assert os.waitpid(theirs, 0) == (theirs, 0)  # the embedder's, still there
