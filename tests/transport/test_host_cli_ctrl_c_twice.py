"""Ctrl-C pressed twice at ``screencodec host``: a person who sees no exit
at once presses it again. Before, the second Ctrl-C raised KeyboardInterrupt
(asyncio's handler) wherever the host's shutdown was: after the agent's Bye a
traceback, the recording left incomplete and the sharing banner never taken
down. Expected outcome: exit status 0, no traceback, "Screen sharing
stopped." on the screen, the recording complete, the terminal's modes as
they were (echo and line editing on).

A real host on a pseudo-terminal (PtyHost) recording into a folder, and a
real viewer on loopback. The second SIGINT is sent at a point of the
shutdown chosen by what the viewer sees, never after a tuned sleep: right
after the first (back to back), or once the host's Bye has reached the
viewer (the host is then closing the session, the recording and the
listener)."""

from __future__ import annotations

import os
import pty
import signal
import termios
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from screencodec.recording import RecordingReader

from .secure_fixtures import run
from .test_attack_prompts import PtyHost, _credentials
from .test_host_cli_commands import join, wait


@pytest.fixture
def kept_tty(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[int, list[Any]]]]:
    """The pseudo-terminals PtyHost opens, each kept open here (a copy of
    its terminal side) with its modes as opened, to read its modes after
    the host has exited."""
    kept: list[tuple[int, list[Any]]] = []
    real = pty.openpty

    def openpty() -> tuple[int, int]:
        master, slave = real()
        kept.append((os.dup(slave), termios.tcgetattr(slave)))
        return master, slave

    monkeypatch.setattr(pty, "openpty", openpty)
    yield kept
    for fd, _ in kept:
        os.close(fd)


@pytest.mark.parametrize("second", ["back_to_back", "after_the_bye"])
def test_a_second_ctrl_c_at_the_shutdown_ends_the_host_cleanly(
        tmp_path: Path, kept_tty: list[tuple[int, list[Any]]], second: str) -> None:
    rec = tmp_path / "rec"
    rec.mkdir()  # host --record takes a folder that is there (tail39)
    host = PtyHost("--record", str(rec))
    [(tty, before)] = kept_tty
    try:

        async def session() -> str:
            _viewer, task = await join(host, _credentials(host), "Dana")
            await wait(host, "YOUR SCREEN IS BEING SHARED")
            host.proc.send_signal(signal.SIGINT)
            if second == "back_to_back":
                host.proc.send_signal(signal.SIGINT)
            reason = await task  # the host's Bye
            if second == "after_the_bye":
                host.proc.send_signal(signal.SIGINT)
            return reason

        reason = run(session(), timeout=60)
        status = host.proc.wait(60)
        # After all the host wrote (the terminal keeps the order): the end.
        os.write(tty, b"\n(test: the host has exited)\n")
        host.wait_for(r"\(test: the host has exited\)")
    finally:
        host.close()
    assert "the host's user ended the session" in reason
    out = host.text
    assert status == 0, out
    assert "Traceback" not in out and "KeyboardInterrupt" not in out, out
    assert "Screen sharing stopped." in out
    (path,) = rec.glob("*.screc")
    with RecordingReader(path) as r:
        assert r.verify().status == "complete"
    after = termios.tcgetattr(tty)
    assert after[3] == before[3]  # the local modes: echo, line editing, signals
    assert after[3] & termios.ECHO and after[3] & termios.ICANON
