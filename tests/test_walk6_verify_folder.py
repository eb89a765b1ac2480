"""walk6: ``screencodec recordings verify`` given the recordings' folder.

A new user who recorded a session that resumed after a cut (two files)
ran ``screencodec recordings verify DIR`` (``list DIR`` and ``prune DIR``
take the folder) and read ``screencodec recordings verify: [Errno 21] Is a
directory: 'DIR'``, exit 2. A folder now stands for the recordings
directly in it (``*.screc``, as ``list`` reads them), checked as if each
were named, chain included. The recordings are the real Recorder's."""

from __future__ import annotations

import shutil
from pathlib import Path

from recording.test_attack_craft import cli, no_traceback
from screencodec.recording import Recorder
from test_review3_resumed_chain import _chain


def test_verify_takes_a_folder_of_recordings(tmp_path: Path) -> None:
    folder = tmp_path / "rec"
    first, second = _chain(folder)
    done = cli("verify", folder)
    no_traceback(done)
    # Expected: each recording's line, the chain checked, exit 0.
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(":", 1)[0] for line in lines] == [str(first), str(second)], lines
    assert lines[1].endswith(
        "the file here is the one it names (SHA-256); chain intact, not signed:"
        " anyone with the files could have rewritten it"
    ), lines
    # The first link's file swapped for another session's: verify says so, exit 10.
    recorder = Recorder(tmp_path / "other", host_id="test-host")
    other = recorder.start("c")
    other.end("bye")
    recorder.close()
    shutil.copyfile(other.path, first)
    done = cli("verify", folder)
    assert done.returncode == 10, done.stdout + done.stderr
    assert "NOT the one it names" in done.stdout
    # A folder with no recording in it is the command's error, said plainly.
    (tmp_path / "empty").mkdir()
    done = cli("verify", tmp_path / "empty")
    no_traceback(done)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().endswith("no recordings (*.screc) in this folder"), done.stderr
