"""``view --web`` when the browser it starts does not open the page (walk38):
run as root, Chromium refuses to start without --no-sandbox and exits at
once, Python's ``webbrowser`` reports success all the same, and the terminal
said "(opening it in your browser)" and nothing more while the agent waited
for a page that never came; ``xdg-open``, started in the background, was
left a zombie. Now, when no page has connected within a few seconds, one
line says to open the link by hand, once, and the browser's process is
reaped. A page that does connect is not told about.

``$BROWSER`` points ``webbrowser`` at a program that exits at once: a plain
one (``webbrowser`` waits for it), and one named ``xdg-open`` with a
``$DISPLAY`` set (``webbrowser`` starts it in the background and forgets
it, as it does the desktop's ``xdg-open``: the zombie). No X server is
needed: nothing connects to the display."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from loop_thread import LoopThread
from screencodec.capture import open_source
from screencodec.transport import Host, HostConfig, SessionCredentials, allow, listen_direct
from screencodec.web.run import NO_BROWSER, PAGE_NUDGE_AFTER, not_opened_line

from .conftest import wait_page

CLI = [sys.executable, "-m", "screencodec"]
URL = re.compile(r"http://127\.0\.0\.1:\d+/#k=[A-Za-z0-9_-]+")


@pytest.fixture
def loop() -> Iterator[LoopThread]:
    """An event loop in a background thread, for the host the CLI talks to."""
    with LoopThread() as loop:
        yield loop


def _browser_program(where: Path, name: str, record: Path | None = None) -> Path:
    """A program that exits at once (having written its argument to ``record``)."""
    where.mkdir(parents=True, exist_ok=True)
    prog = where / name
    write = f'printf "%s" "$1" > {record}\n' if record is not None else ""
    prog.write_text(f"#!/bin/sh\n{write}exit 0\n")
    prog.chmod(0o755)
    return prog


def _env(browser: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "WAYLAND_DISPLAY"}
    # Any display name: webbrowser only reads it (to start xdg-open in the background).
    return {**env, "DISPLAY": ":97", "BROWSER": str(browser), "PYTHONUNBUFFERED": "1"}


def _zombies(pid: int) -> list[str]:
    """The children of ``pid`` that have exited and were not reaped."""
    out = subprocess.run(["ps", "-o", "pid=,stat=,comm=", "--ppid", str(pid)],
                         capture_output=True, text=True, check=False).stdout  # fmt: skip
    return [line for line in out.splitlines() if line.split()[1].startswith("Z")]


class _Run:
    """A ``view --web`` run against port 9 (no page opens, so the host is
    never contacted; --duration ends it), its output read in a thread that
    looks for zombies the moment the nudge line comes, while it still runs."""

    def __init__(self, tmp: Path, prog: Path, duration: float) -> None:
        self.err_file = tmp / f"{prog.parent.name}-{prog.name}.err"
        with self.err_file.open("w") as err:
            self.proc = subprocess.Popen(
                [*CLI, "view", "127.0.0.1:9", "--code", "123 456 789", "--password", "abcd2345",
                 "--web", "--duration", str(duration)],
                stdout=subprocess.PIPE, stderr=err, text=True, env=_env(prog),
            )  # fmt: skip
        self.lines: list[str] = []
        self.zombies_at_nudge: list[str] | None = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.startswith("no page has opened yet") and self.zombies_at_nudge is None:
                self.zombies_at_nudge = _zombies(self.proc.pid)

    def result(self, timeout: float = 60) -> tuple[list[str], str, int]:
        """The run's stdout lines, stderr and exit status, once it ended."""
        try:
            returncode = self.proc.wait(timeout=timeout)
        finally:
            self.close()
        return self.lines, self.err_file.read_text(), returncode

    def close(self) -> None:
        """Killed if it still runs, its output read to the end and closed (an
        open pipe left was the next test's ResourceWarning, an error there)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture(scope="module", autouse=True)
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, _Run]]:
    """The module's page-less ``view --web`` runs, started side by side at
    its start: each mostly waits (PAGE_NUDGE_AFTER, then --duration), 11,
    11, 4 and 9 s one after another (time53a); each test reads its own.
    Autouse, so they also run while the first test (Chromium's page) does."""
    tmp = tmp_path_factory.mktemp("webopen38")
    started: dict[str, _Run] = {}
    try:
        # A browser program that fetches the page (its HTML) and exits. Started
        # first: its fetch must come within PAGE_NUDGE_AFTER (flake48e), and
        # the other runs' start is a burst of CPU.
        record = tmp / "fetched"
        fetch = "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=20).read()"
        fetches = tmp / "fetches" / "fetches"
        fetches.parent.mkdir()
        fetches.write_text(
            f"#!/bin/sh\n{sys.executable} -c '{fetch}' \"$1\" && printf ok > {record}\n"
        )
        fetches.chmod(0o755)
        started["fetches"] = _Run(tmp, fetches, PAGE_NUDGE_AFTER + 4)
        for name in ("quits", "xdg-open"):
            started[name] = _Run(tmp, _browser_program(tmp / name, name), PAGE_NUDGE_AFTER + 6)
        # An xdg-open that fails: exit 3 (no program for the link, as the real one says).
        fails = tmp / "fails" / "xdg-open"
        fails.parent.mkdir()
        fails.write_text("#!/bin/sh\nexit 3\n")
        fails.chmod(0o755)
        started["fails"] = _Run(tmp, fails, 4)
        yield started
    finally:
        for run in started.values():
            run.close()


def test_view_web_page_that_connects_gets_no_such_line(
    tmp_path: Path, browser: Any, loop: LoopThread
) -> None:
    """The browser program hands the link to headless Chromium (the test's),
    which opens it: no "no page has opened yet" line, however long it runs."""
    record = tmp_path / "url"
    prog = _browser_program(tmp_path / "bin", "opens", record)
    creds = SessionCredentials()
    source = open_source("synthetic", width=320, height=200, scenario="typing")

    async def start() -> Any:
        host = Host(source, consent=allow(), config=HostConfig(adaptive=False))
        return host, await listen_direct("127.0.0.1", 0, creds, host.serve)

    host, listener = loop.call(start())
    proc = subprocess.Popen(
        [*CLI, "view", f"127.0.0.1:{listener.port}", "--code", creds.code,
         "--password", creds.password, "--web", "--name", "Alice"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(prog),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not record.exists() or not record.read_text():
            assert time.monotonic() < deadline and proc.poll() is None, "no browser was started"
            time.sleep(0.05)
        opened = time.monotonic()
        browser.get(record.read_text())
        wait_page(browser, lambda s: s["applied"] >= 3, what="pictures through the CLI")
        # Past the time the line would come, with the session going on.
        time.sleep(max(0.0, opened + PAGE_NUDGE_AFTER + 2 - time.monotonic()))
        browser.find_element(By.ID, "leave").click()
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
    finally:
        proc.kill()
        proc.communicate()
        loop.call(_close(listener, host))
    assert "page opened" in out and "granted:" in out, out
    assert "no page has opened yet" not in out + err, out


@pytest.mark.parametrize("name", ["quits", "xdg-open"])
def test_view_web_says_to_open_the_link_when_no_page_came(runs: dict[str, _Run], name: str) -> None:
    lines, err, returncode = runs[name].result()
    url = next((m.group(0) for m in map(URL.search, lines) if m), None)
    assert url is not None, lines
    assert not_opened_line(url) in lines, lines
    # Said once the browser's process was reaped: none is left a zombie.
    assert runs[name].zombies_at_nudge == [], lines
    assert not_opened_line(url) == f"no page has opened yet: open {url} in your browser"
    assert lines.count(not_opened_line(url)) == 1, lines  # once
    assert returncode == 1, err  # no page opened and connected before --duration


def test_view_web_says_no_browser_when_xdg_open_fails(runs: dict[str, _Run]) -> None:
    """An ``xdg-open`` that fails (exit 3: no program for the link, as the
    real one says) is no browser; one that exits 0 at once, as it does when
    it handed the link to the desktop's browser, is one (the parametrized
    test above: the nudge comes instead). ``webbrowser`` asks only whether
    it is still running, so the answer was a race (the last CI)."""
    lines, err, returncode = runs["fails"].result()
    assert NO_BROWSER in lines, (lines, err)
    assert not any("no page has opened yet" in line for line in lines), lines
    assert returncode == 1


def test_view_web_page_a_browser_asked_for_gets_no_such_line(runs: dict[str, _Run]) -> None:
    """A browser that asked for the page (the link opened, its page still
    loading: flake48e, headless Chromium at load 23-30 connected more than
    PAGE_NUDGE_AFTER after it was started) is not told to open the link by
    hand. Found: "no page has opened yet: open ... in your browser" all the
    same. The browser program fetches the page (its HTML) and exits."""
    lines, err, returncode = runs["fetches"].result()
    record = runs["fetches"].err_file.parent / "fetched"
    assert record.read_text() == "ok", err  # the page was asked for
    stdout = "\n".join(lines)
    assert URL.search(stdout), stdout
    assert "no page has opened yet" not in stdout + err, stdout
    assert returncode == 1  # no page connected before --duration


async def _close(listener: Any, host: Host) -> None:
    await listener.close()
    await host.close()
