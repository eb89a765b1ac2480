"""A recording's file name sorts in the order the files began, also within
one second: a resumed link's file starts within the second of the one it
continues, and ``verify DIR`` / ``list DIR`` read a folder in name order."""

from __future__ import annotations

from pathlib import Path

import pytest

from screencodec.recording import Recorder
from screencodec.recording import recorder as recorder_mod


def test_files_begun_within_one_second_sort_in_the_order_they_began(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = iter(1_800_000_000.0 + i / 100 for i in range(1000))
    monkeypatch.setattr(recorder_mod.time, "time", lambda: next(clock))
    recorder = Recorder(tmp_path, host_id="test-host")
    begun = []
    for _ in range(20):  # 20 pairs in one second: random ids would misorder some
        session = recorder.start("agent")
        session.end("bye")
        begun.append(session.path)
    recorder.close()
    assert sorted(begun) == begun
    assert begun[0].name.startswith("20270115T080000.000Z-"), begun[0].name
