"""``recordings prune`` and a recording made by a newer version of
screencodec: it was dated by its mtime whenever its HEADER was not this
version's (a HEADER without ``start_unix``, one over 64 KiB, a magic of a
later format), so a copied or restored file of any age was deleted or kept
by the date of the copy. Now the start the file states is read where this
version can read it; where it cannot, the file is left alone and prune
says so on stderr, with the reason."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from .test_attack_craft import START, cli, craft, header, no_traceback, picture


def test_prune_dates_a_newer_versions_recording_by_its_header_or_skips_it_loudly(
    tmp_path: Path,
) -> None:
    d = tmp_path / "recs"
    d.mkdir()
    recent = time.time() - 3600  # young for --days 1 only if taken from the HEADER
    # Version 3, its HEADER grown past 64 KiB, stating a recent start.
    big = craft(d / "big-header.screc", [picture(8, 8)],
                head=header(version=3, start_unix=recent, notes="x" * 70_000))  # fmt: skip
    # Version 3 stating its start under another name: no date this version reads.
    renamed = craft(d / "renamed.screc", [picture(8, 8)],
                    head={**header(version=3, started={"unix": START}), "start_unix": None})
    # A later format's magic.
    later = d / "later.screc"
    later.write_bytes(b"SCREC02\n" + b"\0" * 200)
    old = craft(d / "old.screc", [picture(8, 8)])  # this version's, 2023: goes
    for path in (big, renamed, later, old):
        os.utime(path, (START, START))  # restored from a backup of 2023
    done = cli("prune", d, "--days", "1", timeout=60)
    no_traceback(done)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()  # walk44: each with why, those kept too
    assert re.fullmatch(rf"deleted {re.escape(str(old))}: started \d+ days ago, past the"
                        " retention of 1 day", lines[0]), lines  # fmt: skip
    assert lines[1:] == [f"kept {big}: started less than a day ago, within the retention of"
                         " 1 day"], lines  # fmt: skip
    assert big.exists() and renamed.exists() and later.exists()
    lines = done.stderr.splitlines()
    assert (f"{renamed}: not pruned: made by a newer version of screencodec (format version 3)"
            " and its HEADER states no start this version reads; prune it with that version"
            ) in lines, done.stderr  # fmt: skip
    assert (f"{later}: not pruned: its magic b'SCREC02\\n' is of a newer recording format"
            " than this version of screencodec reads; prune it with that version"
            ) in lines, done.stderr  # fmt: skip
    assert str(big) not in done.stderr
