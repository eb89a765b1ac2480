"""``screencodec view`` stopped by a signal other than Ctrl-C: SIGTERM (a
logout, a supervisor's ``kill``) and SIGHUP (the agent's terminal window
closed) leave the session as the first Ctrl-C does: the host's side reads the
agent's Bye, --snapshot is written, the exit status is 0; the end line says
the viewer was stopped, by which signal, and whether the session had begun
(words51: it said "you left the session", the agent's own words for their
Ctrl-C, of a service manager's stop), and the host's terminal reads that the
agent's viewer program was stopped (words52: "the agent left the session"). Real ``host`` (on
a pty) and ``view`` processes on loopback: one host without ``--once``
serves every test's view (time50b), each test reading the host's terminal
from its own mark and waiting for its session's end there before the next."""

from __future__ import annotations

import os
import pty
import select
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from warm_start import warm_popen

from .test_attack_prompts import PtyHost, _credentials
from .test_cli import CLI, ENV
from .test_view_cli_ux import read_until, stop, viewer

#: What the host's terminal says when the agent left with a Bye.
_BYE = r"ended: the agent left the session\n"


def host_ended(sig: signal.Signals) -> str:
    """What the host's terminal says of the agent's Bye after ``sig``:
    Ctrl-C is the agent's leaving; SIGTERM, SIGHUP stopped its viewer
    program (words52: "the agent left the session")."""
    if sig == signal.SIGINT:
        return _BYE
    return rf"ended: the agent's viewer program was stopped by {sig.name}\n"
#: The view's end line when the agent left (Ctrl-C, --duration).
LEFT = "session ended: you left the session"


def stopped(sig: signal.Signals, began: bool = True) -> str:
    """The view's end line when ``sig`` (SIGTERM, SIGHUP) stopped it, the
    session begun or not (words51)."""
    before = "" if began else " before the session began"
    return f"session ended: the viewer was stopped by {sig.name}{before}"


def ended(sig: signal.Signals, began: bool = True) -> str:
    """The view's end line after ``sig``: Ctrl-C is the agent's own leaving."""
    return LEFT if sig == signal.SIGINT else stopped(sig, began)


def _left_asked(number: int, sig: signal.Signals = signal.SIGINT) -> str:
    """What the host's terminal says when the agent left while its user was
    asked question ``number`` (consent41: "session ... ended" of a session
    that never took place); after SIGTERM, SIGHUP, that the agent's viewer
    program was stopped (words52)."""
    gone = ("the agent left" if sig == signal.SIGINT
            else f"the agent's viewer program was stopped by {sig.name}")  # fmt: skip
    return (rf"\n\*\*\* Question {number} closed without an answer: {gone}; nothing"
            rf" was shared\.\n[^\n]*: {gone} before you answered; nothing was shared\n")



@pytest.fixture(scope="module")
def host() -> Iterator[PtyHost]:
    """One host (without --once: it stays for the next agent) for the
    module's tests (time50b: it was one --once host a test, ~0.7 s of CPU
    each to start). Each test's agent leaves (a Bye) and the test waits for
    the host to tell that end before the next begins."""
    with PtyHost(once=False) as staying:
        yield staying


def _asked(host: PtyHost, mark: int) -> int:
    """The number of the next question the host asks after ``mark``."""
    return int(host.wait_for(r"Question (\d+): .*?\[y/N\] ", mark).group(1))


def _granted(host: PtyHost, mark: int) -> None:
    _asked(host, mark)
    host.type("y")


def _assert_snapshot(snap: Path) -> None:
    with Image.open(snap) as img:
        img.load()  # the whole file, not just its header
        assert img.size == (160, 120)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_leaves_the_session_and_writes_the_snapshot(
        sig: signal.Signals, tmp_path: Path, host: PtyHost) -> None:
    snap = tmp_path / "snap.png"
    view = None
    mark = len(host.text)
    try:
        port, code, password = _credentials(host)
        view = viewer(f"127.0.0.1:{port}", "--code", code, "--password", password,
                      "--snapshot", str(snap))  # fmt: skip
        _granted(host, mark)
        read_until(view, "[view] 160x120 decoded")  # a frame is shown, the handlers are set
        view.send_signal(sig)
        out, err = view.communicate(timeout=30)
        assert view.returncode == 0, (view.returncode, err.decode())
        assert stopped(sig) in out.decode().splitlines(), out.decode()
        assert f"snapshot written to {snap}" in out.decode()
        _assert_snapshot(snap)
        host.wait_for(host_ended(sig), mark)
    finally:
        if view is not None:
            stop(view)


def test_sighup_with_the_terminal_gone_still_leaves_cleanly(
        tmp_path: Path, host: PtyHost) -> None:  # fmt: skip
    """The terminal window closed: SIGHUP, and every later write to it fails
    (EIO). The viewer still says Bye, writes the snapshot and exits 0."""
    snap = tmp_path / "snap.png"
    master, slave = pty.openpty()
    view = None
    mark = len(host.text)
    try:
        port, code, password = _credentials(host)
        # As a person runs it: stdout buffered by lines, not PYTHONUNBUFFERED
        # (a line left in the buffer for a terminal that is gone made the
        # exit status 120).
        env = {k: v for k, v in ENV.items() if k != "PYTHONUNBUFFERED"}
        view = warm_popen(
            [*CLI, "view", f"127.0.0.1:{port}", "--code", code, "--password", password,
             "--snapshot", str(snap)],
            stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True,
        )  # fmt: skip
        os.close(slave)
        slave = -1
        _granted(host, mark)
        seen, deadline = b"", time.monotonic() + 30
        while b"[view] 160x120 decoded" not in seen:
            left = deadline - time.monotonic()
            assert left > 0, seen
            if select.select([master], [], [], min(left, 0.5))[0]:
                seen += os.read(master, 4096)
        os.close(master)  # the window is gone
        master = -1
        view.send_signal(signal.SIGHUP)
        assert view.wait(timeout=30) == 0
        _assert_snapshot(snap)
        host.wait_for(host_ended(signal.SIGHUP), mark)
    finally:
        for fd in (master, slave):
            if fd >= 0:
                os.close(fd)
        if view is not None and view.poll() is None:
            view.kill()
            view.wait()


def test_sigterm_while_connecting_gives_up_the_attempt() -> None:
    """A host that listens and never answers the handshake: SIGTERM gives up
    the connection attempt and exits 0 with the end line (it killed the
    viewer outright, -15)."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        view = viewer(f"127.0.0.1:{silent.getsockname()[1]}", "--code", "123 456 789",
                      "--password", "7kq2m9xa")  # fmt: skip
        try:
            conn, _ = silent.accept()  # the viewer is connecting: its handshake waits
            with conn:
                view.send_signal(signal.SIGTERM)
                out, err = view.communicate(timeout=30)
            assert view.returncode == 0, (view.returncode, err.decode())
            assert out.decode().splitlines()[-1] == stopped(signal.SIGTERM, began=False)
            assert b"Traceback" not in err
        finally:
            if view.poll() is None:
                stop(view)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_while_the_host_asks_withdraws_the_question(
        sig: signal.Signals, host: PtyHost) -> None:  # fmt: skip
    """The host's user is being asked: SIGTERM, or the agent's Ctrl-C,
    sends the agent's Bye, which ends the question on the host's side, and
    the viewer exits 0 (Ctrl-C there exited with neither the Bye nor the
    end line: the host's user read 'viewer gone')."""
    view = None
    mark = len(host.text)
    try:
        port, code, password = _credentials(host)
        view = viewer(f"127.0.0.1:{port}", "--code", code, "--password", password)
        number = _asked(host, mark)
        read_until(view, "waiting for the host's user to accept")
        view.send_signal(sig)
        out, err = view.communicate(timeout=30)
        assert view.returncode == 0, (view.returncode, err.decode())
        assert out.decode().splitlines()[-1] == ended(sig, began=False)
        host.wait_for(_left_asked(number, sig), mark)
    finally:
        if view is not None and view.poll() is None:
            stop(view)


def _no_snapshot(shot: Path, who: str = "you left") -> str:
    return f"error: no snapshot written to {shot}: {who} before the session began\n"


def test_ctrl_c_while_the_host_asks_is_no_snapshot_written(
        tmp_path: Path, host: PtyHost) -> None:  # fmt: skip
    """smallend35: --snapshot, and the agent's Ctrl-C while the host's user
    is asked (who never answers): the question is withdrawn as without
    --snapshot, and the view says no snapshot was written and exits 1
    (docs/cli.md: the snapshot not written). It exited 0 with no word: a
    script took the snapshot for written."""
    view = None
    shot = tmp_path / "shot.png"
    mark = len(host.text)
    try:
        port, code, password = _credentials(host)
        view = viewer(f"127.0.0.1:{port}", "--code", code, "--password", password,
                      "--snapshot", str(shot))  # fmt: skip
        number = _asked(host, mark)
        read_until(view, "waiting for the host's user to accept")
        view.send_signal(signal.SIGINT)
        out, err = view.communicate(timeout=30)
        assert view.returncode == 1, (view.returncode, err.decode())
        assert out.decode().splitlines()[-1] == "session ended: you left the session"
        assert err.decode() == _no_snapshot(shot)
        assert not shot.exists()
        host.wait_for(_left_asked(number), mark)
    finally:
        if view is not None and view.poll() is None:
            stop(view)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl_c", "sigterm"])
def test_ctrl_c_while_connecting_is_no_snapshot_written(
        tmp_path: Path, sig: signal.Signals) -> None:  # fmt: skip
    """smallend35: --snapshot, and the agent's Ctrl-C while the handshake
    waits on a peer that says nothing: no snapshot written, exit 1 (it was
    0 with no word). A SIGTERM says the viewer was stopped by it (words51:
    "you left")."""
    shot = tmp_path / "shot.png"
    with socket.create_server(("127.0.0.1", 0)) as silent:
        view = viewer(f"127.0.0.1:{silent.getsockname()[1]}", "--code", "123 456 789",
                      "--password", "7kq2m9xa", "--snapshot", str(shot))  # fmt: skip
        try:
            conn, _ = silent.accept()  # the viewer is connecting: its handshake waits
            with conn:
                view.send_signal(sig)
                out, err = view.communicate(timeout=30)
            assert view.returncode == 1, (view.returncode, err.decode())
            assert out.decode().splitlines()[-1] == ended(sig, began=False)
            who = "you left" if sig == signal.SIGINT else f"the viewer was stopped by {sig.name}"
            assert err.decode() == _no_snapshot(shot, who)
            assert not shot.exists()
        finally:
            if view.poll() is None:
                stop(view)
