"""``screencodec view`` as a person uses it: leaving with Ctrl-C, what it says
while the host's user decides, and its wording of refusals. Real processes on
loopback (see test_cli.py for the host and the consent answers). One host
without ``--once`` (on a pty) serves the tests that need one (time50b: it
was a ``--once`` host a test); each reads its terminal from its own mark and
waits there for its session's end."""

from __future__ import annotations

import asyncio
import os
import re
import select
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from warm_start import warm_popen, warm_run

from .test_attack_prompts import PtyHost, _credentials
from .test_cli import CLI, ENV

#: walk38: what a code of a host started again is told beside "check the 9-digit code".
NEW_CODE = "(each start of screencodec host makes a new code and password: ask for them)"


def read_until(proc: subprocess.Popen[bytes], needle: str | re.Pattern[str],
               timeout: float = 30.0) -> str:
    """What ``proc`` printed on stdout up to at least ``needle`` (a string, or
    a pattern to search for)."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    pattern = needle if isinstance(needle, re.Pattern) else re.compile(re.escape(needle))
    seen = ""
    deadline = time.monotonic() + timeout
    while not pattern.search(seen):
        left = deadline - time.monotonic()
        assert left > 0, f"no {needle!r} in time: {seen}"
        ready, _, _ = select.select([fd], [], [], min(left, 0.5))
        if ready:
            chunk = os.read(fd, 4096)
            assert chunk, f"ended before {needle!r}: {seen}"
            seen += chunk.decode(errors="replace")
    return seen


def stop(proc: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    """Kill ``proc`` if it still runs and close its pipes."""
    proc.kill()
    proc.communicate(timeout=10)


def viewer(*args: str, stdin: int | None = None,
           env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:  # fmt: skip
    """``screencodec view ARGS`` with its output piped (and its input, with
    ``stdin=subprocess.PIPE``: the agent typing), its environment ``ENV``
    with ``env`` added."""
    return warm_popen([*CLI, "view", *args], stdin=stdin, stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE, env={**ENV, **(env or {})})  # fmt: skip


async def let_in_and_send(host: Any, view: subprocess.Popen[bytes], path: object) -> None:
    """The host's user (a PtyHost) lets the agent in; once the agent's view
    shows the picture, the agent types ``/send PATH`` into it."""
    assert view.stdin is not None
    await asyncio.to_thread(host.wait_for, r"Question 1: .*?\[y/N\] ")
    host.type("y")
    await asyncio.to_thread(read_until, view, "decoded")
    view.stdin.write(f"/send {path}\n".encode())
    view.stdin.flush()


@pytest.fixture(scope="module")
def host() -> Iterator[PtyHost]:
    """The module's host (it stays for the next agent)."""
    with PtyHost(once=False) as staying:
        yield staying


def _asked(host: PtyHost, mark: int) -> None:
    """Wait for the next question the host asks after ``mark``."""
    host.wait_for(r"Question \d+: .*?\[y/N\] ", mark)


def test_ctrl_c_writes_the_snapshot(tmp_path: Path, host: PtyHost) -> None:
    """Ctrl-C is how people leave: it ends the session like --duration does,
    snapshot included, and exits 0."""
    mark = len(host.text)
    port, code, password = _credentials(host)
    snap = tmp_path / "snap.png"
    view = viewer(f"127.0.0.1:{port}", "--code", code, "--password", password,
                  "--snapshot", str(snap))  # fmt: skip
    try:
        _asked(host, mark)
        host.type("y")
        read_until(view, "[view] 160x120 decoded")  # a frame is shown
        view.send_signal(signal.SIGINT)
        out, err = view.communicate(timeout=30)
    finally:
        stop(view)
    assert view.returncode == 0, err
    assert f"snapshot written to {snap}" in out.decode()
    with Image.open(snap) as img:
        assert img.size == (160, 120)
    host.wait_for(r"ended: the agent left the session\n", mark)  # before the next


def test_says_it_waits_for_the_host_user_before_the_answer(host: PtyHost) -> None:
    """After the password, the viewer says it waits for the host's user. It
    prints that before it sends its request, so the line is there once the
    host asks its question, and the host is answered only after it was read."""
    mark = len(host.text)
    port, code, password = _credentials(host)
    view = viewer(f"127.0.0.1:{port}", "--code", code, "--password", password,
                  "--duration", "0.5")  # fmt: skip
    try:
        _asked(host, mark)
        before = read_until(view, "waiting for the host's user to accept...", timeout=10)
        assert "granted" not in before
        host.type("y")
        out, err = view.communicate(timeout=30)
    finally:
        stop(view)
    assert view.returncode == 0, err
    assert "granted: view" in out.decode()
    host.wait_for(r"ended: the agent left the session\n", mark)  # before the next


def start_relay() -> tuple[subprocess.Popen[bytes], int]:
    """``screencodec relay`` on a free loopback port; returns it and the port."""
    relay = warm_popen([*CLI, "relay", "--listen", "0", "--bind", "127.0.0.1"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=ENV)  # fmt: skip
    seen = read_until(relay, re.compile(r"relay listening on 127\.0\.0\.1:\d+\D"))
    found = re.search(r"relay listening on 127\.0\.0\.1:(\d+)", seen)
    assert found, seen
    return relay, int(found.group(1))


def another(code: str) -> str:
    """A well-formed session code that is not ``code``."""
    digits = code.replace(" ", "")
    return digits[:-1] + str((int(digits[-1]) + 1) % 10)


def refused(*args: str, status: int = 1) -> str:
    """Run a viewer that must fail with exit code ``status`` (1: an error;
    3: refused, cli.main.Exit); returns its stderr."""
    run = warm_run([*CLI, "view", *args, "--duration", "1"], capture_output=True,
                   text=True, timeout=60, env=ENV, check=False)  # fmt: skip
    assert run.returncode == status, (run.stdout, run.stderr)
    assert "granted" not in run.stdout
    return run.stderr


def test_host_refusals_are_told_in_words_not_protocol_codes(host: PtyHost) -> None:
    port, code, password = _credentials(host)
    where = f"127.0.0.1:{port}"
    err = refused(where, "--code", another(code), "--password", password, status=3)
    assert err == (f"no session with that code at {where}: check the 9-digit code"
                   f" {NEW_CODE}\n")
    err = refused("--relay", where, "--code", code, "--password", password)
    assert err == f"error: {where} is a host, not a relay: give it without --relay\n"


def test_relay_refusals_are_told_in_words_not_protocol_codes() -> None:
    relay, port = start_relay()
    where = f"127.0.0.1:{port}"
    try:
        err = refused("--relay", where, "--code", "123 456 789", "--password", "abcd2345",
                      status=3)  # fmt: skip
        assert err == (f"no session with that code at relay {where}: check the 9-digit"
                       f" code {NEW_CODE}\n")
        err = refused(where, "--code", "123 456 789", "--password", "abcd2345")
        assert err == f"error: {where} is a relay, not a host: use --relay {where}\n"
    finally:
        stop(relay)
