"""walk46 (a host in tmux recording into a folder, ``--record DIR``): the
folder was removed while the host ran. An agent's next connection, and the
agent coming back after a dropped link, were closed with "the host failed to
start the session" at the agent's end, and the host's user was told nothing
at all: no question, no line, while their terminal still said the agent
"may reconnect within 60 s". The host now says why it could not start the
session. A real ``screencodec host`` on a pty, a real ``screencodec view``."""

from __future__ import annotations

import shutil
from pathlib import Path

from transport.test_attack_prompts import PtyHost, _credentials
from transport.test_view_cli_ux import stop, viewer


def test_walk46_a_session_the_host_cannot_record_is_said_to_its_user(tmp_path: Path) -> None:
    folder = tmp_path / "recordings"
    folder.mkdir()
    host = PtyHost("--record", str(folder), once=False)
    view = None
    try:
        port, code, password = _credentials(host)
        shutil.rmtree(folder)  # the folder goes while the host runs
        view = viewer(f"127.0.0.1:{port}", "--code", code, "--password", password,
                      "--name", "Sam")  # fmt: skip
        _, err = view.communicate(timeout=20)
        assert view.returncode == 1
        assert "the host failed to start the session" in err.decode()
        # Found: nothing at all on the host's terminal.
        found = host.wait_for(r"could not start a session with 127\.0\.0\.1:\d+: ([^\n]*)\n",
                              timeout=10)  # fmt: skip
        assert found.group(1) == (f"cannot record it in {folder}: no such file or directory"
                                  " (the agent was told the host failed to start it)")  # fmt: skip
    finally:
        if view is not None:
            stop(view)
        host.close()
