"""review39a: web39 asks ``webbrowser`` in a daemon thread, which for a
program it runs in the foreground (``$BROWSER`` naming the browser itself)
still waits in it while the session runs. Checked: ``view --web`` ends as
without it, in each way a session ends with that program still running:
Ctrl-C (SIGINT) and SIGTERM (the agent left: exit 0), the host ending the
session (exit 0); the process is gone (nothing holds its exit), and the
browser's program is left running (the agent's browser: not ours to
close). Real ``view --web`` processes, a real host on loopback, headless
Chromium."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loop_thread import LoopThread
from screencodec.transport import Host

from .conftest import wait_page
from .test_web39_view_web_cli import _close, _foreground, _host, _View
from .test_webopen38_page_not_opened import _env


@pytest.fixture
def loop() -> Iterator[LoopThread]:
    with LoopThread() as loop:
        yield loop


async def _end(listener: Any, host: Host) -> None:
    await host.close()  # the host's program ends the session: every agent leaves
    await listener.close()


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM", "host ends"])
def test_view_web_ends_as_before_with_the_browser_program_still_running(
    tmp_path: Path, browser: Any, loop: LoopThread, how: str
) -> None:
    record, pids = tmp_path / "url", tmp_path / "pids"
    host, listener, creds = _host(loop)
    view = _View([f"127.0.0.1:{listener.port}", "--code", creds.code, "--password",
                  creds.password], _env(_foreground(tmp_path / "bin", record, pids)))  # fmt: skip
    running: list[int] = []
    closed = False
    try:
        view.until(r"^web viewer: ")
        deadline = time.monotonic() + 20
        while not pids.exists() or not pids.read_text().strip():
            assert time.monotonic() < deadline, "the browser program did not start"
            time.sleep(0.05)
        running = [int(pid) for pid in pids.read_text().split()]
        browser.get(record.read_text())
        view.until(r"granted: view")
        wait_page(browser, lambda s: s["applied"] >= 1, what="the picture")
        if how == "host ends":
            loop.call(_end(listener, host))
            closed = True
        else:
            view.proc.send_signal(getattr(signal, how))
        # Not communicate(): the browser's program holds view's stdout too
        # (as a browser xdg-open starts does), so EOF waits for it.
        view.proc.wait(timeout=30)
        # It still runs (25 s): view's exit did not wait for it, nor end it.
        os.kill(running[0], 0)
        assert view.proc.returncode == 0, (how, view.lines)
    finally:
        for pid in running:  # first: it holds view's pipes
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        view.close()
        if not closed:
            loop.call(_close(listener, host))
