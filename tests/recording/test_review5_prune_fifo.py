"""A name that becomes a FIFO between prune's listing and its look at the
file does not hang prune (review5 of eda7358's race fix).

A FIFO already in the directory is passed over by the listing's file type
(test_attack_prune.py), and a file another prune deletes meanwhile is passed
over (test_prune_race.py). But whoever can write the directory can also
swap a recording for a FIFO after the listing: prune then opened it to see
whether a writer holds it (being_written) and to read its HEADER
(stated_start), and an open of a FIFO for reading waits for a writer, for
good: the host's retention (on its recorder's thread) or ``recordings
prune`` hung. The listing here is the real one, taken whole before the name
is swapped, as a scheduler may let it happen."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from screencodec.recording import retention
from screencodec.recording.retention import RetentionPolicy, prune

from .test_attack_craft import START, craft, picture


def test_a_name_swapped_for_a_fifo_after_the_listing_does_not_hang_prune(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = [craft(tmp_path / f"r{k}.screc", [picture(8, 8)]) for k in range(3)]
    for path in files:
        os.utime(path, (START, START))
    swapped = files[1]
    real_scandir = os.scandir

    @contextmanager
    def listed_then_swapped(directory: Path) -> Iterator[list[os.DirEntry[str]]]:
        with real_scandir(directory) as it:
            entries = list(it)  # their types as listed: regular files
        swapped.unlink()
        os.mkfifo(swapped)
        yield entries

    monkeypatch.setattr(retention.os, "scandir", listed_then_swapped)
    done: list[list[Path]] = []
    worker = threading.Thread(target=lambda: done.append(
        prune(tmp_path, RetentionPolicy(days=1))), daemon=True)  # fmt: skip
    worker.start()
    worker.join(5)
    try:
        # Expected: prune returns, and deletes the two recordings.
        assert not worker.is_alive(), "prune hangs opening the FIFO"
        assert sorted(done[0]) == [files[0], files[2]]
        assert not files[0].exists() and not files[2].exists()
    finally:
        while worker.is_alive():  # let a prune that waits on the FIFO go
            try:
                fd = os.open(swapped, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                worker.join(0.05)
                continue
            os.close(fd)
            worker.join(0.05)
