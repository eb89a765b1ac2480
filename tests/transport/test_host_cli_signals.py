"""``screencodec host`` stopped by SIGTERM (a logout, a service manager) or
SIGHUP (the customer closed the terminal window) ends as ``/end`` does: the
agent reads the host's Bye, what the agent held down on the customer's screen
is let go, and the exit status is 0. Killed outright (both signals' default)
the agent got no Bye and its keys stayed down. A real host on a pty, as a
person runs it (stdout buffered by lines), on a private Xvfb; the agent is a
raw channel on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import re
import select
import signal
import sys
import time

import pytest

from screencodec.cli.host import HOST_STOPPED
from screencodec.errors import SessionClosedError
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import connect_direct
from screencodec.transport.session import messages as m
from screencodec.transport.session.permissions import CONTROL, VIEW, Permission
from warm_start import warm_popen

from .secure_fixtures import run
from .test_attack_prompts import CLI, PtyHost, _credentials, _next_of
from .test_review_xtest import _keys_down
from .test_view_cli_send_screens import PtyView

#: ``python -c`` this, then the command's arguments: screencodec with SIGHUP
#: ignored, as ``nohup`` runs it (without nohup's own redirection of output).
_NOHUP = (
    "import os, signal, sys; signal.signal(signal.SIGHUP, signal.SIG_IGN); "
    "os.execv(sys.executable, [sys.executable, '-m', 'screencodec', *sys.argv[1:]])"
)


class _Terminal:
    """The host's pty, read by the test itself (so the test can close it)."""

    def __init__(self, display: str, *, nohup: bool = False) -> None:
        master, slave = pty.openpty()
        env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
        env["DISPLAY"] = display
        # As `nohup` starts it: SIGHUP ignored, which exec keeps.
        start = [sys.executable, "-c", _NOHUP] if nohup else CLI
        self.proc = warm_popen(
            [*start, "host", "--listen", "0", "--bind", "127.0.0.1", "--source", "synthetic",
             "--size", "160x120", "--control", "xtest", "--once"],
            stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True,
        )  # fmt: skip
        os.close(slave)
        self.master = master
        self.seen = ""

    def wait_for(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while not (found := re.search(pattern, self.seen, re.S)):
            left = deadline - time.monotonic()
            assert left > 0 and self.proc.poll() is None, self.seen
            if select.select([self.master], [], [], min(left, 0.5))[0]:
                self.seen += os.read(self.master, 4096).decode("utf-8", "replace")
        return found

    def credentials(self) -> tuple[int, str, str]:
        """The port, session code and password the host shows."""
        found = self.wait_for(r"listening on 127\.0\.0\.1:(\d+).*?Session code: ([\d ]+)\r?\n"
                              r"Password:\s+(\S+)\r?\n")  # fmt: skip
        return int(found.group(1)), found.group(2).strip(), found.group(3)

    def type(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\n")

    def hang_up(self) -> None:
        """The window is closed: later writes to the terminal fail (EIO)."""
        os.close(self.master)
        self.master = -1

    def close(self) -> None:
        if self.master >= 0:
            os.close(self.master)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


async def _granted(term: _Terminal, level: Permission) -> SecureChannel:
    """An agent on the host's code and password, granted ``level`` by the
    host's user typing y."""
    port, code, password = term.credentials()
    ch = await connect_direct("127.0.0.1", port, code, password)
    await ch.send(m.encode(m.PermissionRequest(level.bits, "agent")))
    term.wait_for(r"\[y/N\] ")
    term.type("y")
    await _next_of(ch, m.PermissionGrant)
    return ch


@pytest.mark.parametrize(("sig", "hang_up"), [(signal.SIGTERM, False), (signal.SIGHUP, True)],
                         ids=["sigterm", "sighup-window-closed"])
def test_a_stopped_host_says_bye_and_lets_go_of_the_agents_keys(
        xvfb_display: str, sig: signal.Signals, hang_up: bool) -> None:
    term = _Terminal(xvfb_display)
    try:
        async def agent() -> None:
            ch = await _granted(term, VIEW | CONTROL)
            term.wait_for("YOUR SCREEN IS BEING SHARED")
            await ch.send(m.encode(m.Key(0xFFE1, True, "")))  # Shift, held
            deadline = time.monotonic() + 10
            while not _keys_down(xvfb_display):
                assert time.monotonic() < deadline, "the agent's Shift never went down"
                await asyncio.sleep(0.05)
            if hang_up:
                term.hang_up()
            term.proc.send_signal(sig)
            bye = await asyncio.wait_for(_next_of(ch, m.Bye), 30)
            assert bye == m.Bye(HOST_STOPPED)
            with contextlib.suppress(SessionClosedError):
                while True:
                    await ch.recv()

        run(agent(), timeout=60)
        assert term.proc.wait(timeout=30) == 0
        assert _keys_down(xvfb_display) == set()
    finally:
        term.close()


def test_a_host_started_under_nohup_outlives_its_terminal(xvfb_display: str) -> None:
    """SIGHUP ignored (``nohup screencodec host ...``): the user asked for
    the host to outlive its terminal, so SIGHUP changes nothing; the session
    goes on, and SIGTERM still ends it with the Bye."""
    term = _Terminal(xvfb_display, nohup=True)
    try:
        async def agent() -> None:
            ch = await _granted(term, VIEW)
            term.proc.send_signal(signal.SIGHUP)
            # Updates keep coming for a second after it (the synthetic
            # desktop's clock and caret change every frame or so).
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline:
                msg = m.decode(await asyncio.wait_for(ch.recv(), 10))
                assert not isinstance(msg, m.Bye), msg
            assert term.proc.poll() is None
            term.proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(_next_of(ch, m.Bye), 30) == m.Bye(HOST_STOPPED)
            with contextlib.suppress(SessionClosedError):
                while True:
                    await ch.recv()

        run(agent(), timeout=60)
        assert term.proc.wait(timeout=30) == 0
    finally:
        term.close()


@pytest.mark.parametrize(("sig", "answered", "said"), [
    (signal.SIGTERM, True, "the host program was stopped by SIGTERM"),
    (signal.SIGHUP, True, "the host program was stopped by SIGHUP"),
    (signal.SIGTERM, False, "the host program was stopped by SIGTERM before you answered"),
    (signal.SIGINT, True, "you ended it"),
], ids=["sigterm", "sighup", "sigterm-unanswered", "ctrl_c"])  # fmt: skip
def test_words51_a_signal_is_told_as_the_programs_stop_not_the_users(
        sig: signal.Signals, answered: bool, said: str) -> None:  # fmt: skip
    """words51: a host stopped by SIGTERM or SIGHUP (a service manager, a
    logout: not its user) says so in the session's end line, by which
    signal. Found: "ended: you ended it" (and "you ended it without
    answering" of a question open), the words of the user's own Ctrl-C or
    /end, which keeps them. A real host and view on pseudo-terminals."""
    with PtyHost(own_group=True) as host:
        port, code, password = _credentials(host)
        view = PtyView(f"127.0.0.1:{port}", "--code", code, "--password", password)
        try:
            if answered:
                host.say_yes(1)
                view.wait_for(r"decoded")
            else:
                host.wait_for(r"Question 1: .*?\[y/N\] ")
            mark = len(host.text)
            host.proc.send_signal(sig)
            assert host.proc.wait(timeout=30) == 0
            line = host.wait_for(r"session with 'support' \(\S+\) ended: ([^\n]*)\n", mark)
            assert line.group(1) == said, host.text[mark:]
        finally:
            view.close()
