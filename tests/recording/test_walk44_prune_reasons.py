"""walk44: ``recordings prune`` deleted files and printed ``deleted PATH``
and nothing more: not why (its age against --days, or the folder over
--max-size), nor what it kept and why. Now each recording has a line: what
became of it, and why. Real files with the start their HEADER states; the
command in a process of its own; one file held open as a host's writer
holds it (a lock of the same kind)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from screencodec.recording.retention import hold

from .test_attack_craft import cli, craft, header, no_traceback, picture
from .test_rec32_chain import _session

DAY = 86400.0


def test_walk44_prune_says_why_it_deletes_and_keeps_each_recording(tmp_path: Path) -> None:
    now = time.time()
    old = craft(tmp_path / "old.screc", [picture(8, 8)], head=header(start_unix=now - 100 * DAY))
    young = craft(tmp_path / "young.screc", [picture(8, 8)],
                  head=header(start_unix=now - 5 * DAY - 60))  # fmt: skip
    live = craft(tmp_path / "live.screc", [picture(8, 8)], head=header(start_unix=now - 300 * DAY))
    fd = os.open(live, os.O_RDONLY)
    try:
        hold(fd)  # a host writes it now
        done = cli("prune", tmp_path, "--days", "90", "--dry-run", process=True)
        no_traceback(done)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == [
            f"would delete {old}: started 100 days ago, past the retention of 90 days",
            f"kept {young}: started 5 days ago, within the retention of 90 days",
            f"kept {live}: being recorded now (a host writes it)",
        ], done.stdout
        assert old.exists()
        done = cli("prune", tmp_path, "--days", "90", process=True)
        assert done.stdout.splitlines()[0] == (
            f"deleted {old}: started 100 days ago, past the retention of 90 days"
        ), done.stdout
        assert not old.exists() and young.exists() and live.exists()
    finally:
        os.close(fd)


def test_walk44_prune_says_the_folder_was_over_its_size_cap(tmp_path: Path) -> None:
    now = time.time()
    first = craft(tmp_path / "first.screc", [picture(8, 8)],
                  head=header(start_unix=now - 3 * DAY - 60, notes="x" * 4000))  # fmt: skip
    second = craft(tmp_path / "second.screc", [picture(8, 8)],
                   head=header(start_unix=now - 2 * DAY - 60, notes="x" * 4000))  # fmt: skip
    cap = second.stat().st_size + 100
    total = first.stat().st_size + second.stat().st_size
    assert 4096 < total < 10240 and cap < 8192
    done = cli("prune", tmp_path, "--max-size", str(cap), process=True)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2, lines
    assert lines[0] == (f"deleted {first}: started 3 days ago, within the retention of 90 days;"
                        f" the oldest while the folder held {total / 1024:.3g}K, over the"
                        f" --max-size of {cap / 1024:.3g}K"), lines  # fmt: skip
    assert lines[1] == (
        f"kept {second}: started 2 days ago, within the retention of 90 days;"
        f" the folder's recordings fit in the --max-size of {cap / 1024:.3g}K"
    )
    assert not first.exists() and second.exists()


def test_walk44_prune_says_when_it_keeps_a_sessions_later_link_and_not_its_start(
    tmp_path: Path,
) -> None:
    """Found walking: --max-size deleted the first recording of Alice's
    session, whose link was lost and resumed, and kept the second, saying
    nothing; ``verify`` of the second then said "resumes the session of
    FIRST, which is not in this directory". Expected: the kept line says
    so. A real session resumed once (rec32's set-up: real Host and Viewer,
    a proxy the test cuts, the real Recorder)."""
    first, second = _session(tmp_path, 2)
    cap = second.stat().st_size + 100
    assert first.stat().st_size + second.stat().st_size > cap
    done = cli("prune", tmp_path, "--max-size", str(cap), process=True)
    no_traceback(done)
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"deleted {first}: "), lines
    assert lines[1].startswith(f"kept {second}: "), lines
    assert lines[1].endswith(f"; it resumes the session of {first.name} (unsigned, so not"
                             " proven), deleted now: the session's start is no longer here"
                             ), lines  # fmt: skip
    assert not first.exists() and second.exists()
