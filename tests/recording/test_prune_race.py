"""Two prunes at once (the host's own after a session, and ``recordings
prune`` from a terminal): a file the other deletes between this one's
listing and its look at the file is not an error; the rest is pruned."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from screencodec.recording import retention
from screencodec.recording.retention import RetentionPolicy, prune

from .test_attack_craft import START, craft, picture


def test_a_file_another_prune_deletes_meanwhile_is_passed_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = [craft(tmp_path / f"r{k}.screc", [picture(8, 8)]) for k in range(3)]
    for path in files:
        os.utime(path, (START, START))
    gone = files[1]
    read_start = retention.stated_start

    def other_prune_meanwhile(path: Path) -> float | str | None:
        start = read_start(path)
        if path == gone:
            gone.unlink()  # the other prune, after this one listed it
        return start

    monkeypatch.setattr(retention, "stated_start", other_prune_meanwhile)
    deleted = prune(tmp_path, RetentionPolicy(days=1, max_bytes=1))
    assert sorted(deleted) == [files[0], files[2]]
    assert not any(p.exists() for p in files)


def test_a_file_both_prunes_chose_is_reported_by_the_one_that_deleted_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = [craft(tmp_path / f"r{k}.screc", [picture(8, 8)]) for k in range(3)]
    for path in files:
        os.utime(path, (START, START))
    unlink = Path.unlink

    def other_prune_first(self: Path, missing_ok: bool = False) -> None:
        if self == files[1]:
            unlink(self)  # the other prune chose it too, and was quicker
        unlink(self, missing_ok)

    monkeypatch.setattr(Path, "unlink", other_prune_first)
    deleted = prune(tmp_path, RetentionPolicy(days=1))
    assert deleted == [files[0], files[2]]  # "deleted r1" is the other's line
    assert not any(p.exists() for p in files)
