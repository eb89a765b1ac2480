"""``screencodec view`` in a terminal as a new support agent meets it: the
lines typed that are not chat, Ctrl-C and Ctrl-D at the password prompt,
and ``--download-dir`` without ``--web`` (Ctrl-C while the host's user is
asked: test_view_cli_signals.py). Real host and view processes on loopback
and pseudo-terminals."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import queue
import re
import select
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from screencodec.errors import ScreencodecError
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import listen_direct
from screencodec.transport.session import messages as m
from screencodec.transport.session.permissions import VIEW
from warm_start import warm_run

from .test_attack_prompts import PtyHost, _can_control, _credentials
from .test_cli import CLI, ENV, answer_when_asked, start_host
from .test_view_cli_ux import read_until, stop, viewer


def test_a_typed_line_that_is_not_chat_is_answered() -> None:
    """"hello" without /say, /help and a mistyped command each get a line
    (all three were dropped without a word: the agent saw nothing happen)."""
    host, code, password, port = start_host()
    view = viewer(f"127.0.0.1:{port}", "--code", code, "--password", password,
                  stdin=subprocess.PIPE)  # fmt: skip
    assert view.stdin is not None
    try:
        answer_when_asked(host)
        read_until(view, "type /say")
        for typed, answer in [
            (b"hello there", "(not sent: to write to the host's user, type /say and your message)"),
            (b"/help", re.compile(r"/say TEXT +write TEXT to the host's user")),
            (b"/sya \x1b[2Jhi", "(unknown command /sya: type /help for the list)"),
            (b"/say still chats", "you said: still chats"),
        ]:
            view.stdin.write(typed + b"\n")
            view.stdin.flush()
            read_until(view, answer)
    finally:
        stop(view)
        stop(host)


def test_control_granted_in_the_terminal_says_where_input_is_sent(
        xvfb_display: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """With --control granted the terminal viewer says how it types (/type,
    /key) and names --web for the mouse (it said 'control granted', and the
    agent looked for a mouse and keyboard that are not there; walk43: then
    'this terminal sends no input', of a control just asked for)."""
    host = PtyHost(*_can_control(xvfb_display, monkeypatch))
    view = None
    try:
        port, code, password = _credentials(host)
        view = viewer(f"127.0.0.1:{port}", "--code", code, "--password", password, "--control")
        host.say_yes(2)  # view, then control
        out = read_until(view, "run screencodec view with --web)")
        assert "control granted\n(type on the host's keyboard with /type TEXT " in out, out
    finally:
        if view is not None:
            stop(view)
        host.close()


def _refused_before_connecting(*args: str) -> str:
    """``view`` with ``args`` against a port that listens: its exit status
    must be 2 with nothing connected. What it said on stderr."""
    with socket.create_server(("127.0.0.1", 0)) as srv:
        srv.settimeout(0.0)
        result = warm_run(
            [*CLI, "view", f"127.0.0.1:{srv.getsockname()[1]}", "--code", "123 456 789",
             "--password", "7kq2m9xa", "--duration", "1", *args],
            capture_output=True, text=True, env=ENV, timeout=30, check=False,
        )  # fmt: skip
        assert result.returncode == 2, result
        try:
            srv.accept()[0].close()
        except BlockingIOError:
            return result.stderr  # nothing connected
        raise AssertionError("the viewer connected")


def test_download_dir_without_web_is_refused_before_connecting(tmp_path: Path) -> None:
    """The terminal viewer takes no files: --download-dir without --web is
    one line and exit 2, nothing connected (it was taken without a word,
    and every file the host's user sent was refused)."""
    err = _refused_before_connecting("--download-dir", str(tmp_path))
    assert err.startswith("--download-dir needs --web"), err


def test_a_download_dir_that_is_not_there_is_refused_before_connecting(
        tmp_path: Path) -> None:
    """view --web --download-dir that is not there: one line, exit 2, no
    page served and nothing connected (a file the host's user sent was
    lost after the agent's yes)."""
    missing = tmp_path / "no"
    err = _refused_before_connecting("--web", "--no-open", "--download-dir", str(missing))
    assert err == f"error: --download-dir {missing}: no such directory\n", err


def test_a_snapshot_that_cannot_be_written_is_told_before_connecting(tmp_path: Path) -> None:
    """--snapshot into a directory that is not there, or onto a directory:
    one line before anything connects (it was found when the session ended,
    'error: No such file or directory', and the picture was lost)."""
    missing = tmp_path / "no" / "shot.png"
    err = _refused_before_connecting("--snapshot", str(missing))
    assert err == f"error: cannot write the snapshot to {missing}: no such directory\n", err
    err = _refused_before_connecting("--snapshot", str(tmp_path))
    assert err == f"error: cannot write the snapshot to {tmp_path}: it is a directory\n", err


def test_a_snapshot_named_without_png_is_a_png(tmp_path: Path) -> None:
    """--snapshot FILE whose name does not end in .png is still written as a
    PNG (Pillow took the format from the name: 'unknown file extension',
    after the session, and the picture was lost). The agent leaves once the
    picture is shown (SIGTERM, as --duration leaves): with --duration 2 the
    host's first picture came too late at times under load."""
    host, code, password, port = start_host()
    shot = tmp_path / "shot"
    view = viewer(f"127.0.0.1:{port}", "--code", code, "--password", password,
                  "--snapshot", str(shot))  # fmt: skip
    try:
        answer_when_asked(host)
        shown = read_until(view, "[view] 320x240")
        view.send_signal(signal.SIGTERM)
        out, err = view.communicate(timeout=60)
    finally:
        stop(view)
        stop(host)
    assert view.returncode == 0, err.decode()
    assert f"snapshot written to {shot}" in shown + out.decode()
    with Image.open(shot) as img:
        assert img.format == "PNG" and img.size == (320, 240)


def test_a_snapshot_asked_for_when_no_picture_came_is_an_error(tmp_path: Path) -> None:
    """The host grants the view and sends no picture before --duration
    passes: the view says no snapshot was written and exits 1 (it said only
    'session ended: you left the session' and exited 0: a script took the
    snapshot for written; seen under load, the host's first picture later
    than --duration 2)."""
    granted = threading.Event()

    async def silent_host(channel: Any) -> None:
        assert isinstance(m.decode(await channel.recv()), m.Capabilities)
        assert isinstance(m.decode(await channel.recv()), m.PermissionRequest)
        await channel.send(m.encode(m.PermissionGrant(VIEW.bits)))
        granted.set()
        with contextlib.suppress(ScreencodecError):
            while True:  # the viewer's Bye, then its close
                await channel.recv()

    creds = SessionCredentials()
    listening: queue.Queue[int] = queue.Queue()
    done = threading.Event()

    async def serve() -> None:
        async with await listen_direct("127.0.0.1", 0, creds, silent_host) as listener:
            listening.put(listener.port)
            while not done.is_set():
                await asyncio.sleep(0.05)

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    shot = tmp_path / "shot.png"
    try:
        port = listening.get(timeout=30)
        view = viewer(f"127.0.0.1:{port}", "--code", creds.code, "--password", creds.password,
                      "--duration", "0.5", "--snapshot", str(shot))  # fmt: skip
        try:
            out, err = view.communicate(timeout=60)
        finally:
            stop(view)
    finally:
        done.set()
        thread.join(timeout=30)
    assert granted.is_set()
    assert view.returncode == 1, (out, err)
    assert out.decode().endswith("session ended: you left the session\n"), out
    assert err.decode() == (f"error: no snapshot written to {shot}: the host sent no "
                            "picture before the session ended\n")  # fmt: skip
    assert not shot.exists()


def _view_on_pty(key: bytes) -> tuple[int, str]:
    """A view asking for its password on a terminal; ``key`` is typed at the
    prompt. Its exit status and all it printed there."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        # setsid -c: the pty is its controlling terminal, the /dev/tty
        # getpass asks on (-w: its exit status is the view's).
        ["setsid", "-w", "-c", *CLI, "view", "127.0.0.1:9", "--code", "123 456 789"],
        stdin=slave, stdout=slave, stderr=slave, env=ENV, close_fds=True,
    )  # fmt: skip
    os.close(slave)
    seen = b""
    try:
        deadline = time.monotonic() + 30
        typed = False
        while True:
            left = deadline - time.monotonic()
            assert left > 0, seen
            if not typed and b"Password: " in seen:
                os.write(master, key)
                typed = True
            if select.select([master], [], [], min(left, 0.5))[0]:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the view closed its side
                    break
                if not chunk:
                    break
                seen += chunk
        return proc.wait(timeout=30), seen.decode(errors="replace")
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_ctrl_d_at_the_password_prompt_is_one_line() -> None:
    """No password typed (Ctrl-D): one line and exit 2, not getpass's
    EOFError traceback."""
    status, out = _view_on_pty(b"\x04")
    assert "Traceback" not in out, out
    assert "error: no password typed" in out, out
    assert status == 2, out


def test_ctrl_c_at_the_password_prompt_ends_its_line() -> None:
    """Ctrl-C at the prompt exits 130 and ends the prompt's line: the
    shell's next prompt started right after 'Password: '."""
    status, out = _view_on_pty(b"\x03")
    assert "Traceback" not in out, out
    assert status == 130, out
    assert "\n" in out[out.index("Password: ") :], repr(out)


def test_a_host_name_that_does_not_resolve_is_said_in_words() -> None:
    """A mistyped host name: the lookup's own words, not Python's spelling
    of them ('[Errno -2] Name or service not known')."""
    done = warm_run(
        [*CLI, "view", "nosuchhost.invalid:7000", "--code", "123 456 789",
         "--password", "7kq2m9xa"],
        capture_output=True, text=True, env=ENV, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done
    assert done.stderr.startswith("error: cannot reach nosuchhost.invalid:7000: "), done.stderr
    assert "[Errno" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
