"""``screencodec view`` as a person uses it: leaving with Ctrl-C, what it says
while the host's user decides, and its wording of refusals. Real processes on
loopback (see test_cli.py for the host and the consent answers)."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from pathlib import Path

from PIL import Image

from .test_cli import CLI, ENV, answer_when_asked, start_host


def read_until(proc: subprocess.Popen[bytes], needle: str, timeout: float = 30.0) -> str:
    """What ``proc`` printed on stdout up to and including ``needle``."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    seen = b""
    deadline = time.monotonic() + timeout
    while needle.encode() not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"no {needle!r} in time: {seen.decode(errors='replace')}"
        ready, _, _ = select.select([fd], [], [], min(left, 0.5))
        if ready:
            chunk = os.read(fd, 4096)
            assert chunk, f"ended before {needle!r}: {seen.decode(errors='replace')}"
            seen += chunk
    return seen.decode(errors="replace")


def stop(proc: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    """Kill ``proc`` if it still runs and close its pipes."""
    proc.kill()
    proc.communicate(timeout=10)


def viewer(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([*CLI, "view", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=ENV)  # fmt: skip


def test_ctrl_c_writes_the_snapshot(tmp_path: Path) -> None:
    """Ctrl-C is how people leave: it ends the session like --duration does,
    snapshot included, and exits 0."""
    host, code, password, port = start_host()
    snap = tmp_path / "snap.png"
    try:
        view = viewer(f"127.0.0.1:{port}", "--code", code, "--password", password,
                      "--snapshot", str(snap))  # fmt: skip
        try:
            answer_when_asked(host)
            read_until(view, "[view] 320x240 decoded")  # a frame is shown
            view.send_signal(signal.SIGINT)
            out, err = view.communicate(timeout=30)
        finally:
            stop(view)
        assert view.returncode == 0, err
        assert f"snapshot written to {snap}" in out.decode()
        with Image.open(snap) as img:
            assert img.size == (320, 240)
    finally:
        stop(host)


def test_says_it_waits_for_the_host_user_before_the_answer() -> None:
    """After the password, the viewer says it waits for the host's user. It
    prints that before it sends its request, so the line is there once the
    host asks its question, and the host is answered only after it was read."""
    host, code, password, port = start_host()
    assert host.stdout is not None and host.stdin is not None
    try:
        view = viewer(f"127.0.0.1:{port}", "--code", code, "--password", password,
                      "--duration", "0.5")  # fmt: skip
        try:
            asked = ""
            while not asked.endswith("[y/N] "):
                ch = host.stdout.read(1)
                assert ch, f"host exited before asking: {asked!r}"
                asked += ch
            before = read_until(view, "waiting for the host's user to accept...", timeout=10)
            assert "granted" not in before
            host.stdin.write("y\n")
            host.stdin.flush()
            out, err = view.communicate(timeout=30)
        finally:
            stop(view)
        assert view.returncode == 0, err
        assert "granted: view" in out.decode()
    finally:
        stop(host)
