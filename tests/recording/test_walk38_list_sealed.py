"""walk38: ``recordings list DIR`` on the recordings of a host started with
``--record-key`` (sealed for the auditor), without ``--key``: each row read
``?  ...  sealed  ?``, and nothing said why the session and who were
question marks or how to read them. Expected: one line under the table
says they are read with the auditor's key (``--key``); none when every
recording could be read. The real command, on a real sealed recording."""

from __future__ import annotations

from pathlib import Path

from .helpers import recordings_cli

SAID = ("sealed: the session, its state and who took part are read with the auditor's"
        " private key: recordings list DIR --key AUDITOR.key")


def test_walk38_list_says_how_to_read_sealed_rows(sealed_recording: tuple[Path, Path]) -> None:
    path, key = sealed_recording
    done = recordings_cli("list", path.parent)
    assert done.returncode == 0, done.stderr
    rows = done.stdout.splitlines()
    assert " sealed " in rows[1], rows
    assert rows[-1] == SAID, rows
    opened = recordings_cli("list", path.parent, "--key", key)
    assert opened.returncode == 0, opened.stderr
    assert SAID not in opened.stdout and " complete " in opened.stdout, opened.stdout
