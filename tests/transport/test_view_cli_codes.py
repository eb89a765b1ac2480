"""``screencodec view`` checks the session code's and the password's format
before it connects or asks for a password: a mistyped one is a plain error,
exit status 2, and nothing is contacted. (With ``--web`` the page opens first
and says it, as tests/web/test_agent_errors.py expects.)"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator

import pytest

from warm_start import warm_run

from .test_cli import CLI, ENV

NOT_A_CODE = "error: that is not a session code: 9 digits, like 123 456 789\n"
NOT_A_PASSWORD = ("error: that is not a session password: 8 letters and digits, like 7kq2m9xa"
                  " (there is no 0, 1, l or o in one)\n")


def _view(*args: str) -> subprocess.CompletedProcess[str]:
    return warm_run([*CLI, "view", *args], capture_output=True, text=True, timeout=60,
                    env=ENV, stdin=subprocess.DEVNULL, check=False,
                    start_new_session=True)  # no terminal a prompt could wait on


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP socket that would see any connection attempt (in its backlog)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        sock.setblocking(False)
        yield sock


def _untouched(sock: socket.socket) -> None:
    """The process has exited: a connection it made would be waiting here."""
    with pytest.raises(BlockingIOError):
        sock.accept()


@pytest.mark.parametrize(("how", "code"), [("direct", "12345678"), ("relay", "123 456 78x"),
                                           ("direct", "１２３ ４５６ ７８９")])  # fmt: skip
def test_a_malformed_code_is_told_before_anything_else(
        listener: socket.socket, how: str, code: str) -> None:
    where = f"127.0.0.1:{listener.getsockname()[1]}"
    target = ["--relay", where] if how == "relay" else [where]
    # No --password: the code is checked before the password is asked for.
    done = _view(*target, "--code", code)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", NOT_A_CODE)
    _untouched(listener)


@pytest.mark.parametrize(("how", "password"), [("direct", "abcd2340"), ("relay", "ABCD234L")])
def test_a_malformed_password_is_told_before_connecting(
        listener: socket.socket, how: str, password: str) -> None:
    where = f"127.0.0.1:{listener.getsockname()[1]}"
    target = ["--relay", where] if how == "relay" else [where]
    done = _view(*target, "--code", "123 456 789", "--password", password)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", NOT_A_PASSWORD)
    _untouched(listener)
