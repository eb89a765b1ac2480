"""review44: walk44's per-file verdicts of ``recordings prune`` against
what a folder anyone can write may hold: a symlink to an old recording
elsewhere, a FIFO and a directory named like recordings, a file of junk,
a name with an escape sequence and a newline.

Expected: the symlink is neither listed nor followed (its target, 200 days
old, stays), the FIFO and the directory are skipped without a wait, the
junk is judged by its modification time (said as such: lead45), the hostile name is printed
harmless on one line, and the command ends with status 0.
Real files; the command in a process of its own."""

from __future__ import annotations

import os
import time
from pathlib import Path

from .test_attack_craft import cli, craft, header, no_traceback, picture

DAY = 86400.0


def test_prune_judges_only_the_recordings_in_the_folder(tmp_path: Path) -> None:
    now = time.time()
    folder, elsewhere = tmp_path / "recs", tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    target = craft(elsewhere / "old.screc", [picture(8, 8)],
                   head=header(start_unix=now - 200 * DAY))  # fmt: skip
    (folder / "link.screc").symlink_to(target)
    os.mkfifo(folder / "fifo.screc")
    (folder / "dir.screc").mkdir()
    junk = folder / "junk.screc"
    junk.write_bytes(b"x" * 100)
    os.utime(junk, (now - 120 * DAY, now - 120 * DAY))
    hostile = craft(folder / "a\x1b]0;owned\x07\nb.screc", [picture(8, 8)],
                    head=header(start_unix=now - 100 * DAY))  # fmt: skip
    done = cli("prune", folder, "--days", "90", process=True)
    no_traceback(done)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"deleted {junk}: not a recording this version reads; last written 120 days ago,"
        " past the retention of 90 days",
        f"deleted {folder}/a? b.screc: started 100 days ago, past the retention of 90 days",
    ], done.stdout
    assert target.exists() and (folder / "link.screc").is_symlink()
    assert (folder / "fifo.screc").exists() and (folder / "dir.screc").is_dir()
    assert not hostile.exists() and not junk.exists()
