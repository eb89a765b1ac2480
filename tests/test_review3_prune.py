"""review3: ``recordings prune`` and hostile files in the directory (termrec's
448ca19). A newer version's file it cannot date is skipped and named on
stderr; its name is anyone's choice who can write the directory, and it
reached the auditor's terminal as it was: an escape sequence in it retitled
or cleared the terminal (the lines of verify and prune's stdout were made
harmless already). Also: symlinks, a FIFO, a directory and crafted HEADERs
(NaN, negative, far future, huge, not JSON) neither crash it nor get
deleted, and it returns. The real CLI."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from recording.test_attack_craft import START, cli, craft, header, no_traceback, picture


def test_prune_names_a_skipped_file_harmlessly_and_survives_hostile_entries(
    tmp_path: Path,
) -> None:
    d = tmp_path / "recs"
    d.mkdir()
    evil = "\x1b]0;owned\x07\x1b[2J\u202eevil.screc"
    skipped = craft(d / evil, [picture(8, 8)],
                    head={**header(version=3), "start_unix": None})  # fmt: skip
    recent = time.time() - 3600
    kept = [skipped]
    for name, start in (("future", 1e300), ("negative", -5.0), ("string", "1")):
        kept.append(craft(d / f"{name}.screc", [picture(8, 8)],
                          head={**header(version=3), "start_unix": start}))  # fmt: skip
    kept.append(craft(d / "young-huge.screc", [picture(8, 8)],
                      head=header(version=3, start_unix=recent, notes="x" * 900_000)))
    for path in kept:
        os.utime(path, (START, START))  # restored from a backup of 2023
    outside = tmp_path / "outside.screc"  # old, but not in the directory: a symlink to it
    craft(outside, [picture(8, 8)])
    (d / "link.screc").symlink_to(outside)
    (d / "loop.screc").symlink_to(d / "loop.screc")
    os.mkfifo(d / "fifo.screc")
    (d / "dir.screc").mkdir()
    old = craft(d / "old.screc", [picture(8, 8)])  # this version's, 2023: goes
    done = cli("prune", d, "--days", "1", timeout=60)
    no_traceback(done)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()  # walk44: each with why, those kept too
    assert re.fullmatch(rf"deleted {re.escape(str(old))}: started \d+ days ago, past the"
                        " retention of 1 day", lines[0]), lines  # fmt: skip
    assert lines[1:] == [f"kept {d / 'young-huge.screc'}: started less than a day ago, within"
                         " the retention of 1 day"], lines  # fmt: skip
    assert all(p.exists() for p in kept) and outside.exists()
    assert "not pruned: made by a newer version" in done.stderr, done.stderr
    assert not any(c in done.stderr + done.stdout for c in "\x1b\x07\u202e"), repr(done.stderr)
