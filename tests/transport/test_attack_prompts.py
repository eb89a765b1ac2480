"""Attacks on the local user's questions, on a real terminal (a pty) running
``screencodec host``, by a hand-written viewer over a real loopback socket.

The attack of the security review: a viewer holding VIEW sends a
``PermissionRequest(CONTROL)`` and a ``FileOffer`` together, hoping that the one
``y`` the user types for the file lands on the control question. Expected: the
terminal shows one question at a time, each numbered and naming what ``y``
grants; one ``y`` grants exactly what its own question asked; no status line
prints over an open question; escape sequences a peer put in its name or its
Bye reason never reach the terminal.

The attacks that involve CONTROL need a host that can grant it: a host that
cannot inject input refuses CONTROL without a question (test_control_refusal).
They run ``--control xtest`` against a private Xvfb; the user refuses
control in both, so nothing is injected.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pty
import re
import sys
import threading
import time
from pathlib import Path

import pytest

from screencodec.errors import SessionClosedError
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import connect_direct
from screencodec.transport.session import messages as m
from screencodec.transport.session.permissions import CONTROL, VIEW
from warm_start import warm_popen

from .secure_fixtures import run

CLI = [sys.executable, "-m", "screencodec"]
PROMPT_END = "[y/N] "
HOSTILE_NAME = "\x1b]0;pwned\x07\x1b[2J\x1b[8mAgent\u202eSmith\x9b31m"


class PtyHost:
    """``screencodec host`` on a pseudo-terminal: everything it prints is
    collected (by a reader thread) into :attr:`text`; :meth:`type` types a line.
    ``env``: variables to set for it, beside the tests' own; ``once``
    False: it goes on after a session (consent41's attacks)."""

    def __init__(self, *args: str, own_group: bool = False,
                 env: dict[str, str] | None = None, once: bool = True) -> None:  # fmt: skip
        master, slave = pty.openpty()
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        # own_group: a process group of its own, whose parent (this test) is
        # in another group of the session, as a shell's job is. Else, under
        # a runner that left the tests' group orphaned (setsid, nohup, CI),
        # the kernel discards a SIGTSTP sent to it (POSIX): no Ctrl-Z.
        self.proc = warm_popen(
            [*CLI, "host", "--listen", "0", "--bind", "127.0.0.1", "--source", "synthetic",
             "--size", "160x120", "--control", "none", *(["--once"] if once else []), *args],
            stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True,
            process_group=0 if own_group else None,
        )  # fmt: skip
        self._collect(master, slave)

    def _collect(self, master: int, slave: int) -> None:
        """Start collecting what the program on ``slave`` (just started)
        prints (a subclass runs another program: test_view_cli_send_screens)."""
        os.close(slave)
        self._master = master
        self._raw = bytearray()
        self._cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        """Collect the output until the host's end; then close the master.

        Only this thread closes it: closed by :meth:`close` while this thread
        is between two reads, its number could go to the next host's pty
        before the next read here, which would take that host's output."""
        try:
            while True:
                try:
                    chunk = os.read(self._master, 4096)
                except OSError:
                    chunk = b""
                with self._cond:
                    if not chunk:
                        self._raw += b"\0EOF"
                        self._cond.notify_all()
                        return
                    self._raw += chunk
                    self._cond.notify_all()
        finally:
            os.close(self._master)

    @property
    def raw(self) -> bytes:
        with self._cond:
            return bytes(self._raw)

    @property
    def text(self) -> str:
        return self.raw.decode("utf-8", "replace").replace("\r\n", "\n")

    def wait_for(self, pattern: str, start: int = 0, timeout: float = 30.0) -> re.Match[str]:
        """Block until ``pattern`` appears in the output after offset ``start``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = re.compile(pattern, re.S).search(self.text, start)
                if found:
                    return found
                left = deadline - time.monotonic()
                assert left > 0 and not self._raw.endswith(b"\0EOF"), (
                    f"no {pattern!r} in {self.text[start:]!r}")
                self._cond.wait(left)

    def type(self, line: str) -> None:
        os.write(self._master, line.encode() + b"\n")

    def say_yes(self, questions: int) -> None:
        """Answer y to questions 1..``questions`` as each is asked (a viewer's
        view, then its control)."""
        for n in range(1, questions + 1):
            self.wait_for(rf"Question {n}: .*?\[y/N\] ")
            self.type("y")

    def close(self) -> None:
        """Kill the host; the reader then reads the end and closes the master."""
        self.proc.kill()
        self.proc.wait()

    def __enter__(self) -> PtyHost:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def _viewer(port: int, code: str, password: str, who: str) -> SecureChannel:
    channel = await connect_direct("127.0.0.1", port, code, password)
    await channel.send(m.encode(m.PermissionRequest(VIEW.bits, who)))
    return channel


async def _next_of(channel: SecureChannel, *kinds: type) -> m.Message:
    """The next message of one of ``kinds`` (updates, cursor, stats skipped)."""
    while True:
        msg = m.decode(await channel.recv())
        if isinstance(msg, kinds):
            return msg


async def _drain(ch: SecureChannel) -> None:
    """Read until the host closes (closing with unread data would reset the
    connection, and the host might never read our Bye)."""
    with contextlib.suppress(SessionClosedError):
        while True:
            await ch.recv()
    await ch.close()


def _can_control(display: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """The arguments (and environment) of a host that can grant CONTROL: XTEST
    on the private Xvfb ``display``, so that CONTROL is really asked about."""
    monkeypatch.setenv("DISPLAY", display)
    return "--control", "xtest"


def _credentials(host: PtyHost) -> tuple[int, str, str]:
    found = host.wait_for(r"listening on 127\.0\.0\.1:(\d+)\nSession code: ([\d ]+)\n"
                          r"Password:\s+(\S+)\n")
    return int(found.group(1)), found.group(2).strip(), found.group(3)


def test_one_y_for_a_file_grants_the_file_and_not_control(
        tmp_path: Path, xvfb_display: str, monkeypatch: pytest.MonkeyPatch) -> None:
    host = PtyHost("--download-dir", str(tmp_path), *_can_control(xvfb_display, monkeypatch))
    try:
        port, code, password = _credentials(host)

        async def attack() -> None:
            ch = await _viewer(port, code, password, "agent")
            first = host.wait_for(r"Question 1: SCREEN SHARING.*?" + re.escape(PROMPT_END))
            assert "'agent'" in first.group(0) and "SEE your screen" in first.group(0)
            host.type("y")
            assert isinstance(await _next_of(ch, m.PermissionGrant, m.PermissionDeny),
                              m.PermissionGrant)
            mark = len(host.text)
            # The attack: both questions at once, the file first so that its
            # question is the one the user reads and answers.
            await ch.send(m.encode(m.FileOffer(7, "notes.txt", 5)))
            await ch.send(m.encode(m.PermissionRequest(CONTROL.bits, "agent")))
            q2 = host.wait_for(r"\*\*\* Question 2: (.*?)" + re.escape(PROMPT_END), mark)
            assert "FILE (grants no access to your screen or input)" in q2.group(1)
            assert "notes.txt" in q2.group(1)
            # Nothing else on screen while it is open: wait until the viewer got
            # two Stats (each comes with a host status line) and check that no
            # status line and no second question printed after the prompt.
            for _ in range(2):
                await _next_of(ch, m.Stats)
            after = host.text[q2.end():]
            assert "[shared]" not in after and "Question 3" not in after, after
            host.type("y")
            accept = await _next_of(ch, m.FileAccept)
            assert accept == m.FileAccept(7, True)
            q3 = host.wait_for(r"\*\*\* Question 3: (.*?)" + re.escape(PROMPT_END), q2.end())
            assert "MORE ACCESS" in q3.group(1)
            assert "ALSO CONTROL your mouse and keyboard" in q3.group(1)
            # The y above answered question 2 only: control is still not granted.
            host.type("n")
            answer = await _next_of(ch, m.PermissionGrant, m.PermissionDeny)
            assert answer == m.PermissionDeny(CONTROL.bits)
            # The file it accepted is the only thing granted, and it works.
            await ch.send(m.encode(m.FileChunk(7, 0, b"hello")))
            await ch.send(m.encode(m.FileEnd(7, hashlib.sha256(b"hello").digest())))
            await ch.send(m.encode(m.Bye("done")))
            await _drain(ch)

        run(attack(), timeout=60)
        host.wait_for(r"session with .* ended: the agent left, saying: done")
        assert (tmp_path / "notes.txt").read_bytes() == b"hello"
        # Status lines dropped while asking come back once nothing is open.
        assert host.text.count("Question 3: MORE ACCESS") == 1
    finally:
        host.close()


def test_control_first_then_file_each_answer_binds_to_its_own_question(
        tmp_path: Path, xvfb_display: str, monkeypatch: pytest.MonkeyPatch) -> None:
    host = PtyHost("--download-dir", str(tmp_path), *_can_control(xvfb_display, monkeypatch))
    try:
        port, code, password = _credentials(host)

        async def attack() -> None:
            ch = await _viewer(port, code, password, "agent")
            host.wait_for(r"Question 1: .*?" + re.escape(PROMPT_END))
            host.type("y")
            await _next_of(ch, m.PermissionGrant)
            mark = len(host.text)
            await ch.send(m.encode(m.PermissionRequest(CONTROL.bits, "agent")))
            await ch.send(m.encode(m.FileOffer(9, "x.bin", 3)))
            q2 = host.wait_for(r"Question 2: (.*?)" + re.escape(PROMPT_END), mark)
            assert "CONTROL your mouse and keyboard" in q2.group(1)
            assert "x.bin" not in q2.group(1)
            host.type("n")
            assert await _next_of(ch, m.PermissionGrant, m.PermissionDeny) == m.PermissionDeny(
                CONTROL.bits)
            q3 = host.wait_for(r"Question 3: (.*?)" + re.escape(PROMPT_END), q2.end())
            assert "x.bin" in q3.group(1)
            host.type("y")
            assert await _next_of(ch, m.FileAccept) == m.FileAccept(9, True)
            await ch.send(m.encode(m.Bye("")))
            await _drain(ch)

        run(attack(), timeout=60)
        host.wait_for(r"session with .* ended")
    finally:
        host.close()


def test_escape_sequences_from_the_peer_never_reach_the_terminal() -> None:
    host = PtyHost()
    try:
        port, code, password = _credentials(host)
        before = len(host.raw)

        async def attack() -> None:
            ch = await _viewer(port, code, password, HOSTILE_NAME)
            host.wait_for(r"Question 1: .*?" + re.escape(PROMPT_END))
            host.type("y")
            await _next_of(ch, m.PermissionGrant)
            host.wait_for("YOUR SCREEN IS BEING SHARED")
            await ch.send(m.encode(m.Bye("\x1b[8mhidden\x1bc" + "A" * 900)))
            await _drain(ch)

        run(attack(), timeout=60)
        ended = host.wait_for(r"session with [^\n]* ended: the agent left, saying: ([^\n]*)\n")
        shown = host.raw[before:]
        text = shown.decode("utf-8", "replace")
        assert "\x1b" not in text and "\x9b" not in text and "\u202e" not in text
        assert "pwned" not in text  # the whole title sequence went, not only its ESC
        assert re.search(r"YOUR SCREEN IS BEING SHARED WITH: '\?+Agent\?Smith\?' \(127", text)
        assert len(ended.group(1)) <= 200  # bounded, not 900 characters of padding
    finally:
        host.close()
