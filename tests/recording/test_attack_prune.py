"""``recordings prune DIR`` in a directory anyone could write into:
symlinks named ``*.screc`` that point outside DIR (at a recording, a
directory, a FIFO), files that are not recordings, a HEADER that lies
about its age. Prune deletes only old recordings that are regular files
directly in DIR, never what a link points at, and never hangs on a FIFO."""

from __future__ import annotations

import os
import re
from pathlib import Path

from .test_attack_craft import START, cli, craft, header, no_traceback, picture


def test_prune_never_deletes_outside_dir(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = craft(outside / "victim.screc", [picture(8, 8)])  # old: 2023
    precious = outside / "precious.txt"
    precious.write_text("keep me")
    os.utime(precious, (0, 0))
    d = tmp_path / "recs"
    d.mkdir()
    (d / "link.screc").symlink_to(victim)
    (d / "text.screc").symlink_to(precious)
    (d / "dir.screc").symlink_to(outside, target_is_directory=True)
    (d / "dangling.screc").symlink_to(tmp_path / "nowhere.screc")
    os.mkfifo(d / "fifo.screc")  # opening it to read its HEADER would block forever
    (d / "sub").mkdir()
    nested = craft(d / "sub" / "nested.screc", [picture(8, 8)])
    notes = d / "notes.txt"
    notes.write_text("not a recording")
    os.utime(notes, (0, 0))
    old = craft(d / "old.screc", [picture(8, 8)])
    young = craft(d / "young.screc", [picture(8, 8)], head=header(start_unix=4e9))  # 2096
    for dry in (True, False):
        done = cli("prune", d, "--days", "1", *(["--dry-run"] if dry else []), timeout=60)
        no_traceback(done)
        assert done.returncode == 0, done.stderr
        verb = "would delete" if dry else "deleted"
        lines = done.stdout.splitlines()  # walk44: each with why, those kept too
        assert re.fullmatch(rf"{verb} {re.escape(str(old))}: started \d+ days ago, past the"
                            " retention of 1 day", lines[0]), lines  # fmt: skip
        assert lines[1:] == [f"kept {young}: its stated start is later than now; last"
                             " written less than a day ago, within the retention of 1 day"
                             ], lines  # fmt: skip
    assert not old.exists() and young.exists() and nested.exists() and notes.exists()
    assert victim.exists() and precious.read_text() == "keep me" and outside.is_dir()
    assert all((d / n).is_symlink() for n in ("link.screc", "text.screc", "dir.screc",
                                              "dangling.screc"))  # fmt: skip
    assert (d / "fifo.screc").exists()


def test_prune_size_cap_counts_only_recordings_in_dir(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    big = outside / "big.screc"
    big.write_bytes(b"\0" * 100_000)
    d = tmp_path / "recs"
    d.mkdir()
    (d / "big.screc").symlink_to(big)
    a = craft(d / "a.screc", [picture(8, 8)], head=header(start_unix=4e9))
    b = craft(d / "b.screc", [picture(8, 8)], head=header(start_unix=4e9 + 1))
    cap = a.stat().st_size + b.stat().st_size
    done = cli("prune", d, "--max-size", str(cap))
    assert done.returncode == 0 and "nothing to delete" in done.stdout, done.stdout
    assert big.exists() and a.exists() and b.exists() and START < 4e9
