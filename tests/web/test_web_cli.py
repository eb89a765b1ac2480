"""``screencodec view --web`` from the command line, and the viewer's clear
errors when something other than a screencodec host answers."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from free_port import free_port
from loop_thread import LoopThread
from screencodec.capture import open_source
from screencodec.transport import (
    Host,
    HostConfig,
    Relay,
    SessionCredentials,
    allow,
    host_via_relay,
    listen_direct,
)

from .conftest import page_state, wait_page


def _view(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "screencodec", "view", *args],
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


@pytest.fixture
def talker() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP server that answers every connection with ``banner[0]``."""
    banner = [b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"]
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()

    def serve() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            conn.sendall(banner[0])
            threading.Timer(2.0, conn.close).start()

    threading.Thread(target=serve, daemon=True).start()
    yield srv.getsockname()[1], banner
    srv.close()


@pytest.fixture
def loop() -> Iterator[LoopThread]:
    """An event loop in a background thread, for the host the CLI talks to."""
    with LoopThread() as loop:
        yield loop


@pytest.mark.parametrize(
    "answer", [b"HTTP/1.1 400 Bad Request\r\n\r\n", b"SSH-2.0-OpenSSH_9.2\r\n"], ids=["http", "ssh"]
)
def test_not_a_screencodec_host(talker: tuple[int, list[bytes]], answer: bytes) -> None:
    port, banner = talker
    banner[0] = answer
    done = _view(f"127.0.0.1:{port}", "--code", "123 456 789", "--password", "abcdefgh")
    assert done.returncode == 1
    assert f"127.0.0.1:{port} is not a screencodec host" in done.stderr
    assert "Traceback" not in done.stderr and "frame of" not in done.stderr


def test_nothing_listens() -> None:
    port = free_port()  # nothing listens on it
    done = _view(f"127.0.0.1:{port}", "--code", "123 456 789", "--password", "abcdefgh")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"127.0.0.1:{port}" in done.stderr


def test_web_flag_needs_no_snapshot() -> None:
    done = _view("127.0.0.1:1", "--code", "123 456 789", "--password", "7kq2m9xa", "--web",
                 "--snapshot", "a.png")  # fmt: skip
    assert done.returncode == 2 and "--snapshot" in done.stderr


@pytest.mark.parametrize("via", ["direct", "relay"])
def test_view_web_end_to_end(browser: Any, loop: LoopThread, via: str) -> None:
    """The real command: a host on loopback (direct, or through a relay),
    `view --web --no-open`, the page opened from the printed link; the agent
    leaves from the page."""
    creds = SessionCredentials()
    source = open_source("synthetic", width=320, height=200, scenario="typing")

    async def start() -> Any:
        host = Host(source, consent=allow(), config=HostConfig(adaptive=False))
        if via == "direct":
            listener = await listen_direct("127.0.0.1", 0, creds, host.serve)
            return host, [listener], [f"127.0.0.1:{listener.port}"]
        relay = Relay()
        await relay.start()
        reg = await host_via_relay("127.0.0.1", relay.port, creds, host.serve)
        await reg.wait_registered(5)
        return host, [reg, relay], ["--relay", f"127.0.0.1:{relay.port}"]

    host, closers, where = loop.call(start())
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "screencodec", "view", *where,
         "--code", creds.code, "--password", creds.password, "--web", "--no-open",
         "--name", "Alice"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/#k=[A-Za-z0-9_-]+", line)
        assert url, line
        browser.get(url.group(0))
        wait_page(browser, lambda s: s["applied"] >= 3, what="pictures through the CLI")
        assert loop.call(_viewers(host), 5) == 1
        browser.find_element(By.ID, "leave").click()
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert "session ended" in out
        assert "page opened; video areas " in out and "granted:" in out
    finally:
        proc.kill()  # if it still runs
        proc.communicate()  # closes its pipes, not a later test's GC
        loop.call(_close(closers, host))


async def _viewers(host: Host) -> int:
    return len(host.viewers)


async def _close(closers: list[Any], host: Host) -> None:
    for c in closers:
        await c.close()
    await host.close()


def test_web_connect_error_reaches_page_and_terminal(browser: Any) -> None:
    port = free_port()  # nothing listens on it
    proc = subprocess.Popen(
        [sys.executable, "-m", "screencodec", "view", f"127.0.0.1:{port}", "--code",
         "123 456 789", "--password", "abcdefgh", "--web", "--no-open"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        url = re.search(r"http://\S+#k=\S+", proc.stdout.readline())
        assert url
        browser.get(url.group(0))
        st = wait_page(browser, lambda s: s["closed"], what="the page told and closed")
        assert "Could not connect" in st["banner"] and f"127.0.0.1:{port}" in st["banner"]
        _, err = proc.communicate(timeout=20)
        assert proc.returncode == 1
        assert f"nothing listens at 127.0.0.1:{port}" in err and "Traceback" not in err
    finally:
        proc.kill()  # if it still runs
        proc.communicate()  # closes its pipes, not a later test's GC


def test_web_port_in_use() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _view("127.0.0.1:1", "--code", "123 456 789", "--password", "abcdefgh", "--web",
                     "--no-open", "--web-port", str(port))  # fmt: skip
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"cannot serve the page on 127.0.0.1 port {port}: it is in use" in done.stderr


def _printed(proc: subprocess.Popen[str]) -> tuple[list[str], Callable[[str], None]]:
    """The lines ``proc`` printed so far, and ``until(text)``, which reads
    them (20 s for each) until one is ``text``."""
    import queue

    lines: queue.Queue[str] = queue.Queue()
    out: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))

    def until(text: str) -> None:
        while text not in out:
            try:
                out.append(lines.get(timeout=20))
            except queue.Empty:
                raise AssertionError(f"{text!r} never printed: {out}") from None

    threading.Thread(target=read, daemon=True).start()
    return out, until


@contextlib.contextmanager
def _view_web_with_control(
    browser: Any, loop: LoopThread, consent: Any
) -> Iterator[tuple[Host, subprocess.Popen[str], list[str], Callable[[str], None]]]:
    """`view --web --no-open --control` against a host on loopback that can
    be controlled and answers with ``consent``, its page open in ``browser``:
    (the host, the process, the lines it printed, ``until``)."""
    from screencodec.transport import RecordingInjector

    creds = SessionCredentials()
    source = open_source("synthetic", width=320, height=200, scenario="idle")

    async def start() -> Any:
        host = Host(source, consent=consent, injector=RecordingInjector(),
                    config=HostConfig(adaptive=False))  # fmt: skip
        return host, await listen_direct("127.0.0.1", 0, creds, host.serve)

    host, listener = loop.call(start())
    proc = subprocess.Popen(
        [sys.executable, "-m", "screencodec", "view", f"127.0.0.1:{listener.port}",
         "--code", creds.code, "--password", creds.password, "--web", "--no-open", "--control"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )  # fmt: skip
    out, until = _printed(proc)
    try:
        until("keep this link private: it admits one page, once")
        url = re.search(r"http://127\.0\.0\.1:\d+/#k=[A-Za-z0-9_-]+", "\n".join(out))
        assert url, out
        browser.get(url.group(0))
        yield host, proc, out, until
    finally:
        proc.kill()  # if it still runs
        proc.communicate()  # closes its pipes, not a later test's GC
        loop.call(_close([listener], host))


def test_view_web_tells_the_terminal_when_control_comes_and_goes(
    browser: Any, loop: LoopThread
) -> None:
    """The terminal of `view --web` prints the terminal viewer's lines when
    control is granted and taken back (it printed neither), and says so when
    the agent's page gives it back (not "the host's user took back")."""
    from screencodec.transport import CONTROL

    def control() -> bool:
        return bool((page_state(browser).get("level") or {}).get("control"))

    with _view_web_with_control(browser, loop, allow()) as (host, proc, out, until):
        until("control granted")  # --control
        wait_page(browser, lambda s: control(), what="control in the page")
        browser.find_element(By.ID, "give-back").click()
        until("you gave control back: you can only watch now")
        wait_page(browser, lambda s: not control(), what="view only in the page")
        out.clear()
        browser.find_element(By.ID, "control").click()  # the page's own request
        until("control granted")
        wait_page(browser, lambda s: control(), what="control again")
        loop.call(host.revoke(CONTROL))
        until("the host's user took back control: you can only watch now")
        assert "you gave control back: you can only watch now" not in out
        browser.find_element(By.ID, "leave").click()
        until("session ended: you left the session (Leave in the web page)")
        assert proc.wait(20) == 0


def test_view_web_tells_the_terminal_when_control_is_refused(
    browser: Any, loop: LoopThread
) -> None:
    """The terminal of `view --web` prints the terminal viewer's refusal lines
    (it printed none): the host's user's own refusal (``--control``), and a
    refusal the host made without asking its user, with its reason (the
    page's button, asking again within the host's REASK_AFTER)."""
    from screencodec.transport import VIEW
    from screencodec.transport.session.refusal import REASK_AFTER

    by_user = "control refused by the host's user (they said no, or did not answer in time)"
    unasked = ("control refused (the host's user was not asked): the host's user refused"
               f" this less than {REASK_AFTER:g} s ago")  # fmt: skip
    # The host's user grants watching only: CONTROL is refused by the user.
    with _view_web_with_control(browser, loop, allow(VIEW)) as (_host, proc, out, until):
        until(by_user)  # --control
        wait_page(browser, lambda s: bool(browser.execute_script(
            "return window.screencodecPage.notice")), what="the refusal in the page")  # fmt: skip
        # Asked again at once, from the page: the host refuses without asking.
        button = browser.find_element(By.ID, "control")
        wait_page(browser, lambda s: button.is_enabled(), what="Request control enabled")
        button.click()
        until(unasked)
        browser.find_element(By.ID, "leave").click()
        until("session ended: you left the session (Leave in the web page)")
        assert proc.wait(20) == 0
        assert out.count(by_user) == 1 and out.count(unasked) == 1, out
        assert "control granted" not in out
