"""clipwalk39: the agent's ``/clip`` into the customer's xterm, for real.

The customer's desktop is an Xvfb with an xterm running bash (its output
logged by xterm itself, ``-l -lf``: what the customer sees). Found: the
host put the agent's text on CLIPBOARD only, and the xterm pastes from
neither key a customer would press: Ctrl+V is bash's literal-next (the
page's Ctrl+V tap too), Shift+Insert and the middle button paste PRIMARY.
'sudo apt install foo' never arrived. Now the host puts it on PRIMARY as
well, so Shift+Insert (or a middle click) pastes it there, exactly, once,
and both terminals name that key (they said only Ctrl+V).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from screencodec.capture.xvfb import private_xvfb
from screencodec.cli.clipboard_x11 import XClipboard

from .test_cli import ENV
from .test_clip39_cli import _session


@pytest.fixture
def agent_display() -> Iterator[str]:
    """The agent's own X display, apart from the customer's."""
    with private_xvfb(320, 240) as display:
        yield display


@pytest.fixture
def desk() -> Iterator[str]:
    """The customer's desktop: its own Xvfb (the session's one keeps the
    clipboards and windows of the tests before)."""
    with private_xvfb(640, 480) as display:
        yield display


@pytest.fixture
def xterm_log(desk: str, tmp_path: Path) -> Iterator[Path]:
    log = tmp_path / "xterm.log"
    env = {**os.environ, "DISPLAY": desk}
    argv = ["xterm", "-l", "-lf", str(log), "-geometry", "80x24+0+0", "-e", "bash", "--norc",
            "--noprofile", "-i"]  # fmt: skip
    xterm = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while b"$ " not in _read(log) and b"# " not in _read(log):
            assert time.monotonic() < deadline, _read(log)
            time.sleep(0.05)
        yield log
    finally:
        xterm.kill()
        xterm.wait(10)


def _read(log: Path) -> bytes:
    return log.read_bytes() if log.exists() else b""


def _keys(display: str, *args: str) -> None:
    """As the customer's keyboard: XTEST (xterm ignores sent events)."""
    env = {**os.environ, "DISPLAY": display}
    subprocess.run(["xdotool", "mousemove", "100", "100"], env=env, check=True, timeout=10)
    subprocess.run(["xdotool", *args], env=env, check=True, timeout=10)


def test_the_agents_clip_pastes_in_the_customers_xterm_with_shift_insert(
        desk: str, agent_display: str, xterm_log: Path) -> None:  # fmt: skip
    command = "sudo apt install foo"
    XClipboard(agent_display).set_text(command)
    host, view = _session(desk, {**ENV, "DISPLAY": agent_display})
    try:
        view.type("/clip")
        host.wait_for(rf"'Dave' put {len(command)} characters on your clipboard \(Ctrl\+V"
                      r" pastes it; in a terminal, Shift\+Insert\)", 0, 15)  # fmt: skip
        view.wait_for(r"is on the host's clipboard: there, Ctrl\+V pastes it; in a terminal,"
                      r" Shift\+Insert", 0, 15)  # fmt: skip
        _keys(desk, "key", "shift+Insert")
        deadline = time.monotonic() + 10
        while command.encode() not in _read(xterm_log):
            assert time.monotonic() < deadline, _read(xterm_log)
            time.sleep(0.05)
        time.sleep(0.3)  # a second paste would show by now
        assert _read(xterm_log).count(command.encode()) == 1, _read(xterm_log)
        view.type("/help")  # its /clip line names the key too
        view.wait_for(r"/clip\s+put your clipboard on the host's \(you need control\): Ctrl\+V"
                      r" pastes it there; in a terminal there, Shift\+Insert", 0, 15)  # fmt: skip
        assert view.leave() == 0, view.text
    finally:
        view.close()
        host.close()


def test_text_only_selected_in_the_xterm_is_not_sent_and_the_customer_is_told_how(
        desk: str, agent_display: str, xterm_log: Path) -> None:  # fmt: skip
    """Found: the customer selected the error in their xterm (a triple click:
    PRIMARY), typed /clip and read only '(not sent: your clipboard holds no
    text)'; nothing said that a selection is not a copy."""
    host, view = _session(desk, {**ENV, "DISPLAY": agent_display})
    try:
        _keys(desk, "type", "echo E: Unable to locate package foo\n")
        deadline = time.monotonic() + 10
        while _read(xterm_log).count(b"E: Unable") < 2:
            assert time.monotonic() < deadline, _read(xterm_log)
            time.sleep(0.05)
        _keys(desk, "mousemove", "30", "22", "click", "--repeat", "3", "1")  # its line
        env = {**os.environ, "DISPLAY": desk}
        primary = subprocess.run(["xclip", "-selection", "primary", "-o"], env=env,
                                 capture_output=True, timeout=10, check=False)  # fmt: skip
        assert b"Unable to locate" in primary.stdout  # selected, as the customer sees it
        host.type("/clip")
        host.wait_for(r"\(not sent: your clipboard holds no text: copy the text first \(Ctrl\+C;"
                      r" in a terminal, Ctrl\+Shift\+C\): text only selected is not on it\)",
                      0, 15)  # fmt: skip
        assert "host's clipboard (" not in view.text
        assert view.leave() == 0, view.text
    finally:
        view.close()
        host.close()
