"""walk41 (from walk40): a paste, then Enter at once, reaches an xterm in
that order.

Found: an agent's paste into the customer's xterm (Shift+Insert: xterm
asks the PRIMARY selection's owner, the host's ``xclip``, for the text and
gets it later) followed at once by Enter ran the line before the text came:
the Enter reached xterm first, and the text stayed typed at the prompt, to
be run with the next line. Measured with XTEST and no gap between the two:
5 of 20 pastes; 1 of 20 with 3 ms; none with 6 ms or more (a person's next
key comes 50 ms later at the soonest; a script's, or a burst held back by
the network, at once). The injector now holds the agent's next actions
``PASTE_SETTLE`` (0.1 s) after a paste.

A real Xvfb, xterm (its output logged by itself) and xclip; the host's
XTestInjector, the agent's keys queued with no gap, as a burst arrives."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from screencodec.capture.xvfb import private_xvfb
from screencodec.transport.input.xtest import XTestInjector

PASTES = 12
SHIFT_L, INSERT, RETURN = 0xFFE1, 0xFF63, 0xFF0D


@pytest.fixture
def xterm_log(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An Xvfb with an xterm running bash, and the file xterm logs to."""
    log = tmp_path / "xterm.log"
    with private_xvfb(640, 480) as display:
        env = {**os.environ, "DISPLAY": display}
        xterm = subprocess.Popen(
            ["xterm", "-l", "-lf", str(log), "-geometry", "80x24+0+0", "-e", "bash", "--norc",
             "--noprofile", "-i"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 15
            while not re.search(rb"[#$] ", log.read_bytes() if log.exists() else b""):
                assert time.monotonic() < deadline
                time.sleep(0.05)
            subprocess.run(["xdotool", "mousemove", "100", "100"], env=env, check=True, timeout=10)
            yield display, log
        finally:
            xterm.kill()
            xterm.wait(10)


def _output(log: Path) -> str:
    """What bash printed: the log without escape sequences and carriage returns."""
    text = log.read_bytes().decode("utf-8", "replace").replace("\r", "")
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


def _owned(text: str, env: dict[str, str]) -> None:
    """Wait until PRIMARY gives ``text`` (xclip's child takes it after the
    parent has exited)."""
    deadline = time.monotonic() + 10
    while subprocess.run(["xclip", "-selection", "primary", "-o"], capture_output=True, check=False,
                         text=True, env=env, timeout=10).stdout != text:  # fmt: skip
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_enter_right_after_a_paste_runs_the_pasted_line(xterm_log: tuple[str, Path]) -> None:
    display, log = xterm_log
    env = {**os.environ, "DISPLAY": display}
    inj = XTestInjector(display)
    try:
        for n in range(PASTES):
            # The host's own xclip owns PRIMARY, as it does after an agent's /clip.
            line = f"echo P{n:02d}x"
            subprocess.run(["xclip", "-selection", "primary", "-i"], input=line, text=True,
                           env=env, check=True, timeout=10)  # fmt: skip
            _owned(line, env)
            for keysym, down in [(SHIFT_L, True), (INSERT, True), (INSERT, False),
                                 (SHIFT_L, False), (RETURN, True), (RETURN, False)]:
                inj.key(keysym, down)  # queued at once: no gap between them
            deadline = time.monotonic() + 10
            while f"\nP{n:02d}x\n" not in _output(log):
                assert time.monotonic() < deadline, _output(log)[-600:]
                time.sleep(0.02)
    finally:
        inj.close()
    out = _output(log)
    # Each line ran alone: never one paste's text run with the next one's
    # (which echoes "P03xecho P04x"; xterm shows a bracketed paste twice).
    assert not re.search(r"^P\d\dx.", out, re.M), out
