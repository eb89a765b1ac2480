"""review40b: a ``$BROWSER`` list (``os.pathsep``-separated, as
``webbrowser`` reads it) whose first entry is not there.

Found: ``web.browser`` started only the first browser ``webbrowser``
chooses itself; when that program was missing (OSError) it handed the
link to ``webbrowser.open``, which started the next entry its own way: in
this terminal's process group (the agent's Ctrl-C at ``view --web``
reached the browser too: webtail39) and with ``view``'s pipes (a script
reading ``view --web``'s output to its end waited for the browser:
tail39b), its process not kept for reaping. Expected: the next entry is
started as the first would have been. Real ``view --web`` processes, real
signals, a ``$BROWSER`` list whose second entry prints and sleeps 60 s."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from .test_tail39b_browser_output import _sleeper
from .test_web39_view_web_cli import CLI
from .test_webopen38_page_not_opened import _env


@pytest.mark.parametrize("name", ["my-browser", "xdg-open"])
def test_the_next_browser_of_the_list_is_started_as_the_first_would_be(
    tmp_path: Path, name: str,
) -> None:
    pid_file = tmp_path / "pid"
    prog = _sleeper(tmp_path / "bin", name, pid_file)
    env = _env(prog)
    env["BROWSER"] = f"{tmp_path / 'not-there' / 'browser'}{os.pathsep}{prog}"
    proc = subprocess.Popen([*CLI, "view", "127.0.0.1:9", "--code", "123 456 789", "--password",
                             "abcd2345", "--web", "--name", "Alice"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, start_new_session=True)  # fmt: skip
    pid = 0
    try:
        deadline = time.monotonic() + 20
        while not pid_file.exists() or not pid_file.read_text().strip():
            assert time.monotonic() < deadline, "the browser program did not start"
            time.sleep(0.05)
        pid = int(pid_file.read_text())
        assert os.getsid(pid) == pid, "the browser is not in a session of its own"
        os.killpg(proc.pid, signal.SIGINT)  # the agent's Ctrl-C: view exits
        proc.wait(timeout=30)
        # Read to the end: found, TimeoutExpired (the sleeping browser held both pipes).
        out, err = proc.communicate(timeout=20)
        assert "session ended: you left the session" in out, (out, err)
        assert "BROWSER-OUT" not in out and "BROWSER-ERR" not in err, (out, err)
        os.kill(pid, 0)  # the browser runs on: the Ctrl-C was the view's
    finally:
        proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.communicate(timeout=1)
        if pid:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
