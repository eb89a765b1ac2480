"""tail39b: a browser program ``view --web`` starts inherited its stdout
and stderr, so a script reading ``view --web``'s output to its end waited
for the browser to close, long after ``view`` exited (review39a). Now a
program started with a pipe (or file) for output gets /dev/null instead
(a terminal is still shared: a text browser draws there), whether
``webbrowser`` would run it in the foreground (a name it does not know)
or in the background (xdg-open). Real ``view --web`` processes, real
signals, a ``$BROWSER`` that prints and sleeps 60 s."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from .test_web39_view_web_cli import CLI
from .test_webopen38_page_not_opened import _env


def _sleeper(where: Path, name: str, pid: Path) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    prog = where / name
    prog.write_text(f"#!/bin/sh\necho $$ > {pid}\necho BROWSER-OUT\necho BROWSER-ERR >&2\n"
                    "exec sleep 60\n")  # fmt: skip
    prog.chmod(0o755)
    return prog


@pytest.mark.parametrize("name", ["my-browser", "xdg-open"])
def test_view_web_output_ends_when_view_exits(tmp_path: Path, name: str) -> None:
    pid_file = tmp_path / "pid"
    prog = _sleeper(tmp_path / "bin", name, pid_file)
    proc = subprocess.Popen([*CLI, "view", "127.0.0.1:9", "--code", "123 456 789", "--password",
                             "abcd2345", "--web", "--name", "Alice"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(prog), start_new_session=True)  # fmt: skip
    pid = 0
    try:
        deadline = time.monotonic() + 20
        while not pid_file.exists() or not pid_file.read_text().strip():
            assert time.monotonic() < deadline, "the browser program did not start"
            time.sleep(0.05)
        pid = int(pid_file.read_text())
        os.killpg(proc.pid, signal.SIGINT)  # the agent's Ctrl-C: view exits
        proc.wait(timeout=30)
        # Read to the end: found, TimeoutExpired (the sleeping browser held both pipes).
        out, err = proc.communicate(timeout=20)
        assert "session ended: you left the session" in out, (out, err)
        assert "BROWSER-OUT" not in out and "BROWSER-ERR" not in err, (out, err)
        os.kill(pid, 0)  # the browser runs on
    finally:
        proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.communicate(timeout=1)
        if pid:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
