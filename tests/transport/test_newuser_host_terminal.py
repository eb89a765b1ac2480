"""``screencodec host`` in a terminal as a new user meets it: a line typed
while no question is open answers nothing, and is told so; no $DISPLAY is
said in words; a --download-dir that is not there is refused at start
(a relay that is down: test_consent_cli.py). Real host (on a
pty) and viewer processes on loopback."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from warm_start import warm_run

from .test_attack_prompts import PtyHost, _credentials
from .test_cli import CLI, ENV
from .test_view_cli_ux import read_until, stop, viewer

#: What a line typed with no question open is told.
_NOT_SENT = (r"\(not sent, and no question is open: to write to your agent, type /say and"
             r" your message\)\n")  # fmt: skip


def test_a_line_typed_with_no_question_open_is_told_it_went_nowhere() -> None:
    """The user types "hello" for the agent (it was dropped without a word),
    then a y typed before the agent asked still answers nothing, and the y
    typed after the question grants."""
    host = PtyHost()
    view = None
    try:
        port, code, password = _credentials(host)
        host.type("hello agent")
        first = host.wait_for(_NOT_SENT)
        host.type("y")
        host.wait_for(_NOT_SENT, first.end())
        view = viewer(f"127.0.0.1:{port}", "--code", code, "--password", password)
        asked = host.wait_for(r"Question 1: .*?\[y/N\] ")
        host.type("y")
        host.wait_for(r"\*\*\* Question 1: yes\n", asked.end())
        read_until(view, "granted: view")
    finally:
        if view is not None:
            stop(view)
        host.close()


def test_no_display_is_said_in_words(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without $DISPLAY the host says why remote control is unavailable in
    words (it quoted python-xlib: 'cannot open X display None: Bad display
    name ""')."""
    monkeypatch.delenv("DISPLAY", raising=False)
    host = PtyHost("--control", "xtest")
    try:
        _credentials(host)
        assert host.text.startswith(
            "(remote control unavailable: no X display: $DISPLAY is not set)\n"), host.text
    finally:
        host.close()


def test_a_download_dir_that_is_not_there_is_refused_at_start(tmp_path: Path) -> None:
    """--download-dir that is not there: one line and exit 2 at start. It
    was found after the user's yes to a file: the file was lost, the agent
    read 'not accepted by the host', and the host's user read nothing."""
    missing = tmp_path / "no" / "dl"
    done = warm_run(
        [*CLI, "host", "--listen", "0", "--bind", "127.0.0.1", "--source", "synthetic",
         "--control", "none", "--download-dir", str(missing)],
        capture_output=True, text=True, env=ENV, timeout=30, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 2, done
    assert done.stderr == (f"screencodec host: --download-dir {missing}: no such directory"
                           f" (make it first: mkdir -p {missing})\n")  # fmt: skip
    assert "Session code" not in done.stdout, done.stdout



def test_a_record_folder_that_is_not_there_is_refused_at_start(tmp_path: Path) -> None:
    """--record into a folder that is not there: one line, saying how to
    make it, and exit 2 at start. The host made it without a word, so a
    mistyped folder took the recordings where nobody would look for them
    (--download-dir was refused the same way already)."""
    missing = tmp_path / "recs" / "desk7"
    done = warm_run(
        [*CLI, "host", "--listen", "0", "--bind", "127.0.0.1", "--source", "synthetic",
         "--control", "none", "--record", str(missing)],
        capture_output=True, text=True, env=ENV, timeout=30, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 2, done
    assert done.stderr == (f"screencodec host: --record {missing}: no such directory"
                           f" (make it first: mkdir -p {missing})\n")  # fmt: skip
    assert "Session code" not in done.stdout, done.stdout
    assert not missing.exists() and not missing.parent.exists()


def test_a_record_path_that_is_a_file_is_refused_at_start(tmp_path: Path) -> None:
    """--record naming a file: refused in the same words as --download-dir."""
    file = tmp_path / "notes.txt"
    file.write_text("x")
    done = warm_run(
        [*CLI, "host", "--listen", "0", "--bind", "127.0.0.1", "--source", "synthetic",
         "--control", "none", "--record", str(file)],
        capture_output=True, text=True, env=ENV, timeout=30, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 2, done
    assert done.stderr == f"screencodec host: --record {file}: not a directory\n"
