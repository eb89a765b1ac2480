"""``screencodec view --web`` stopped by a signal or by ``--duration``: it
leaves the session as the page's Leave button does. The host's side reads
the agent's Bye, the page is told the session ended, the page's server
closes, the terminal's last line says the session ended, the exit status is
0. SIGTERM (a logout, a supervisor's ``kill``), SIGHUP (the agent's terminal
window closed, also with the terminal gone) and the first Ctrl-C; before the
page opened and before the host's user answered too. The host's terminal
reads that the agent left, or (SIGTERM, SIGHUP) that the agent's viewer
program was stopped, by which signal (words52). The page's banner says
"You left the session." of the agent's own leaving, and of SIGTERM and
SIGHUP that the viewer program was stopped, by which (page51). The last line says
"you left the session" of the agent's own leaving (Ctrl-C, --duration), and
of SIGTERM and SIGHUP that the viewer was stopped, by which, and whether
the session had begun (words51: "you left the session" of a service
manager's stop of a view that waited for its page). A real ``host`` (on a
pty), the real ``view --web --no-open`` and its page in headless Chromium."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tests.transport.test_attack_prompts import PtyHost, _credentials
from tests.transport.test_cli import CLI, ENV
from tests.transport.test_view_cli_signals import _left_asked, ended, host_ended
from tests.transport.test_view_cli_ux import read_until, stop

from .conftest import wait_page

#: What the host's terminal says when the agent left with a Bye.
_BYE = r"ended: the agent left the session\n"
#: The view's last line when the agent left (Ctrl-C, --duration).
_ENDED = "session ended: you left the session"
_URL = re.compile(r"http://127\.0\.0\.1:(\d+)/#k=[A-Za-z0-9_-]+")
_QUESTION = r"Question 1: .*?\[y/N\] "


@pytest.fixture
def host() -> Iterator[PtyHost]:
    running = PtyHost()
    try:
        yield running
    finally:
        running.close()


View = Callable[..., "subprocess.Popen[bytes]"]


@pytest.fixture
def view(host: PtyHost) -> Iterator[View]:
    """``view(*extra, tty=-1)`` starts ``view --web --no-open`` of ``host``'s
    session: its output in pipes, or in the terminal ``tty`` (a pty's slave),
    stdout then buffered by lines as when a person runs it (not
    PYTHONUNBUFFERED). Whatever still runs at the end is killed."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*extra: str, tty: int = -1) -> subprocess.Popen[bytes]:
        port, code, password = _credentials(host)
        argv = [*CLI, "view", f"127.0.0.1:{port}", "--code", code, "--password", password,
                "--web", "--no-open", *extra]  # fmt: skip
        if tty < 0:
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
        else:
            env = {k: v for k, v in ENV.items() if k != "PYTHONUNBUFFERED"}
            proc = subprocess.Popen(argv, stdin=tty, stdout=tty, stderr=tty, env=env,
                                    close_fds=True)  # fmt: skip
        started.append(proc)
        return proc

    yield start
    for proc in started:
        stop(proc)


@pytest.fixture
def terminal() -> Iterator[list[int]]:
    """A pty, ``[master, slave]``: a test that closes one sets it to -1."""
    fds = list(pty.openpty())
    yield fds
    for fd in fds:
        if fd >= 0:
            os.close(fd)


def _open_and_accept(browser: Any, host: PtyHost, seen: str, accept: bool = True) -> None:
    """Open the page from the link in ``seen``; the host's user says yes
    (if ``accept``) once asked."""
    url = _URL.search(seen)
    assert url, seen
    browser.get(url.group(0))
    host.wait_for(_QUESTION)
    if accept:
        host.type("y")


def _page_ended(browser: Any, sig: int = signal.SIGINT, began: bool = True) -> None:
    """The page shows what it shows when the agent pressed Leave (Ctrl-C,
    --duration: the agent's own leaving), or (SIGTERM, SIGHUP) that the
    viewer program was stopped, by which signal, and whether the session
    had begun (page51: "You left the session." to an agent who had not)."""
    st = wait_page(browser, lambda s: bool(s["ended"]) and s["closed"], what="the ended page")
    if sig == signal.SIGINT:
        assert st["ended"] == "the agent left the session", st
        assert st["banner"] == "You left the session.", st
        return
    name = signal.Signals(sig).name
    assert st["ended"] == f"the viewer was stopped by {name}", st
    program = "the viewer program (screencodec view --web)"
    assert st["banner"] == (f"The session has ended: {program} was stopped by {name}." if began
                            else f"{program.capitalize()} was stopped by {name} before the"
                            " session began."), st  # fmt: skip


def _serves(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except OSError:
        return False
    return True


def _ended_cleanly(proc: subprocess.Popen[bytes], seen: str, last: str = _ENDED) -> int:
    """The page's port, once ``proc`` exited 0 with the ended line (``last``) last."""
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, (proc.returncode, err.decode())
    assert "Traceback" not in err.decode(), err.decode()
    lines = (seen + out.decode()).splitlines()
    assert lines[-1] == last, lines
    url = _URL.search(seen)
    assert url
    return int(url.group(1))


@pytest.mark.parametrize(
    "sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=["SIGTERM", "SIGHUP", "SIGINT"]
)
def test_a_signal_leaves_the_session(
    browser: Any, host: PtyHost, view: View, sig: signal.Signals
) -> None:
    proc = view()
    seen = read_until(proc, _URL)
    _open_and_accept(browser, host, seen)
    seen += read_until(proc, "connected to")
    wait_page(browser, lambda s: s["applied"] >= 1, what="a picture in the page")
    proc.send_signal(sig)
    port = _ended_cleanly(proc, seen, ended(sig))
    host.wait_for(host_ended(sig))  # SIGTERM, SIGHUP: not "the agent left" (words52)
    _page_ended(browser, sig)
    assert not _serves(port)


def test_sighup_with_the_terminal_gone_still_leaves_cleanly(
    browser: Any, host: PtyHost, view: View, terminal: list[int]
) -> None:
    """The terminal window closed: SIGHUP, and every later write to it fails
    (EIO). The viewer still says Bye, tells the page, exits 0."""
    master = terminal[0]

    def until(text: str | re.Pattern[str], seen: str) -> str:
        deadline = time.monotonic() + 30
        while not re.search(text, seen):
            left = deadline - time.monotonic()
            assert left > 0, seen
            if select.select([master], [], [], min(left, 0.5))[0]:
                seen += os.read(master, 4096).decode("utf-8", "replace")
        return seen

    proc = view(tty=terminal[1])
    os.close(terminal[1])
    terminal[1] = -1
    seen = until(_URL, "")
    _open_and_accept(browser, host, seen)
    until("connected to", seen)
    wait_page(browser, lambda s: s["applied"] >= 1, what="a picture in the page")
    os.close(master)  # the window is gone
    terminal[0] = -1
    proc.send_signal(signal.SIGHUP)
    assert proc.wait(timeout=30) == 0
    host.wait_for(host_ended(signal.SIGHUP))
    _page_ended(browser, signal.SIGHUP)


def test_a_signal_before_the_page_opened_ends_cleanly(host: PtyHost, view: View) -> None:
    """Nothing is connected yet: the program ends at once, exit 0, the
    link no longer served."""
    proc = view()
    seen = read_until(proc, "keep this link private")
    proc.send_signal(signal.SIGTERM)
    port = _ended_cleanly(proc, seen, ended(signal.SIGTERM, began=False))
    assert not _serves(port)
    assert "Question 1" not in host.text  # the host was never contacted


def test_a_signal_while_the_host_asks_withdraws_the_question(
    browser: Any, host: PtyHost, view: View
) -> None:
    """The page is open, the host's user is being asked: the host reads the
    agent's Bye (its question is withdrawn), the page is told, exit 0."""
    proc = view()
    seen = read_until(proc, _URL)
    _open_and_accept(browser, host, seen, accept=False)
    proc.send_signal(signal.SIGTERM)
    _ended_cleanly(proc, seen, ended(signal.SIGTERM, began=False))
    host.wait_for(_left_asked(1, signal.SIGTERM))
    _page_ended(browser, signal.SIGTERM, began=False)


def test_duration_leaves_with_a_bye(browser: Any, host: PtyHost, view: View) -> None:
    """``--duration`` ends the session as leaving does (it cancelled the
    run: the host saw the connection drop, "viewer gone: closed by peer",
    and the page had no ended message)."""
    proc = view("--duration", "12")
    seen = read_until(proc, _URL)
    _open_and_accept(browser, host, seen)
    seen += read_until(proc, "connected to")
    _ended_cleanly(proc, seen)
    host.wait_for(_BYE)
    _page_ended(browser)


def test_a_signal_while_connecting_ends_cleanly(browser: Any) -> None:
    """The page is open, the host does not answer the handshake (a port
    that listens and stays silent): the connection attempt is given up at
    once, the page is told, exit 0."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        proc = subprocess.Popen(
            [*CLI, "view", f"127.0.0.1:{silent.getsockname()[1]}", "--code", "123 456 789",
             "--password", "7kq2m9xa", "--web", "--no-open"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV,
        )  # fmt: skip
        try:
            seen = read_until(proc, _URL)
            browser.get(_URL.search(seen).group(0))  # type: ignore[union-attr]
            seen += read_until(proc, "connecting to the host")
            proc.send_signal(signal.SIGTERM)
            _ended_cleanly(proc, seen, ended(signal.SIGTERM, began=False))
            _page_ended(browser, signal.SIGTERM, began=False)
        finally:
            stop(proc)
