"""review44's leftovers in ``recordings prune``: a recording whose HEADER
states a start later than now (a host's clock set wrong, or a file made to
lie) was never deleted by ``--days``, whatever its age on disk; and a file
that is not a readable recording was judged by its modification time in
the words "started N days ago", which it never stated.

Expected: a stated start later than now is not believed: the file is dated
by when it was last written, if earlier, and the words say so; a file that
is not a recording says it is judged by when it was last written. Real
files; the command in a process of its own."""

from __future__ import annotations

import os
import time
from pathlib import Path

from .test_attack_craft import cli, craft, header, no_traceback, picture

DAY = 86400.0


def test_a_recording_stating_a_future_start_is_dated_by_its_file(tmp_path: Path) -> None:
    now = time.time()
    folder = tmp_path / "recs"
    folder.mkdir()
    liar = craft(folder / "liar.screc", [picture(8, 8)], head=header(start_unix=now + 3650 * DAY))
    os.utime(liar, (now - 120 * DAY, now - 120 * DAY))
    fresh_liar = craft(folder / "fresh.screc", [picture(8, 8)], head=header(start_unix=4e9))
    junk = folder / "junk.screc"
    junk.write_bytes(b"x" * 100)
    os.utime(junk, (now - 100 * DAY, now - 100 * DAY))
    done = cli("prune", folder, "--days", "90", process=True)
    no_traceback(done)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"deleted {liar}: its stated start is later than now; last written 120 days ago,"
        " past the retention of 90 days",
        f"deleted {junk}: not a recording this version reads; last written 100 days ago,"
        " past the retention of 90 days",
        f"kept {fresh_liar}: its stated start is later than now; last written less than a"
        " day ago, within the retention of 90 days",
    ], done.stdout
    assert not liar.exists() and not junk.exists() and fresh_liar.exists()
