"""How a session that does not start, or stops, reads in the page: the real
``screencodec view --web`` against a real host on loopback. The banner says
why in plain words, and the status beside it no longer says it is waiting."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from loop_thread import LoopThread
from screencodec.capture import open_source
from screencodec.transport import Host, HostConfig, SessionCredentials, allow, deny, listen_direct
from screencodec.transport.session.consent import ConsentCallback

from .conftest import wait_page


class _RealHost(LoopThread):
    """A Host behind listen_direct on its own loop thread. ``views``: the
    viewer processes started for it, stopped (pipes closed) on close, also
    those of a test that failed half-way."""

    def __init__(self, consent: ConsentCallback) -> None:
        super().__init__()
        self.views: list[subprocess.Popen[str]] = []
        self.creds = SessionCredentials()
        source = open_source("synthetic", width=320, height=200, scenario="idle")

        async def start() -> tuple[Host, Any]:
            host = Host(source, consent=consent, config=HostConfig(adaptive=False))
            return host, await listen_direct("127.0.0.1", 0, self.creds, host.serve)

        self.host, self.listener = self.call(start())

    def close(self, timeout: float | None = None) -> None:
        for proc in self.views:
            proc.kill()  # if it still runs
            proc.communicate()  # closes its pipes, not a later test's GC
        super().close(timeout)

    async def aclose(self) -> None:
        await self.listener.close()
        await self.host.close()


@pytest.fixture
def allowing() -> Iterator[_RealHost]:
    with _RealHost(allow()) as host:
        yield host


@pytest.fixture
def declining() -> Iterator[_RealHost]:
    with _RealHost(deny()) as host:
        yield host


def _view(host: _RealHost, password: str | None = None) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "screencodec", "view", f"127.0.0.1:{host.listener.port}",
         "--code", host.creds.code, "--password", password or host.creds.password,
         "--web", "--no-open"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )  # fmt: skip
    host.views.append(proc)
    assert proc.stdout is not None
    url = re.search(r"http://127\.0\.0\.1:\d+/#k=[A-Za-z0-9_-]+", proc.stdout.readline())
    assert url
    return proc, url.group(0)


def _shown(browser: Any, element_id: str) -> str:
    return str(browser.execute_script(
        f"return document.getElementById('{element_id}').textContent"))  # fmt: skip


def _finish(proc: subprocess.Popen[str]) -> tuple[str, str]:
    try:
        return proc.communicate(timeout=20)
    finally:
        proc.kill()  # if it still runs
        proc.communicate()  # closes its pipes, not a later test's GC


def test_a_password_of_the_wrong_form_is_told_before_the_page_opens(allowing: _RealHost) -> None:
    # Nine symbols: the agent misheard it. The page once said only "The
    # connection to the viewer program was lost: reload this page"; now the
    # terminal the agent typed it in says why, and no page is opened at all.
    done = subprocess.run(
        [sys.executable, "-m", "screencodec", "view", f"127.0.0.1:{allowing.listener.port}",
         "--code", allowing.creds.code, "--password", "wrongpass", "--web", "--no-open"],
        check=False, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 2 and "that is not a session password" in done.stderr
    assert "http://" not in done.stdout and "Traceback" not in done.stderr


def test_declined_is_not_left_waiting(browser: Any, declining: _RealHost) -> None:
    proc, url = _view(declining)
    browser.get(url)
    st = wait_page(browser, lambda s: s["closed"], what="the refusal")
    assert st["banner"] == "Not shared: the host's user declined."
    # The status said "Waiting for the user to accept..." beside the refusal.
    assert _shown(browser, "status") == "Not connected"
    _finish(proc)
    assert proc.returncode == 3  # refused (cli.main.Exit)


def test_the_host_stopping_and_the_agent_leaving_in_plain_words(
    browser: Any, allowing: _RealHost
) -> None:
    proc, url = _view(allowing)
    browser.get(url)
    wait_page(browser, lambda s: s["applied"] >= 1, what="the picture")
    # The host program stops (Ctrl-C in `screencodec host`): its listener
    # closes every channel with "the host ended the session".
    allowing.call(allowing.listener.close())
    st = wait_page(browser, lambda s: s["ended"] is not None, what="the end")
    assert st["banner"] == "The session has ended: the user ended the session."
    out, _ = _finish(proc)
    assert proc.returncode == 0 and "session ended: " in out

    allowing.listener = allowing.call(
        listen_direct("127.0.0.1", 0, allowing.creds, allowing.host.serve)
    )
    proc, url = _view(allowing)
    browser.get(url)
    wait_page(browser, lambda s: s["applied"] >= 1, what="the picture")
    browser.find_element(By.ID, "leave").click()
    st = wait_page(browser, lambda s: s["ended"] is not None, what="the end")
    # It said "The session has ended (channel closed: closed locally)."
    assert st["banner"] == "You left the session."
    out, _ = _finish(proc)
    assert "session ended: you left the session (Leave in the web page)" in out
