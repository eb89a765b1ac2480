"""smallleft35: ``recordings list DIR`` (and ``verify DIR``) read a folder in
name order, and a recording named before milliseconds were in names
(``YYYYMMDDTHHMMSSZ-id.screc``, before fa1ac10) sorts after every new one
(``YYYYMMDDTHHMMSS.mmmZ-id.screc``) of its second ('.' before 'Z'): a
folder with both styles was listed out of the order its sessions began.
Expected: the order of the start each recording states (its HEADER),
whatever its name's style. The real CLI in a subprocess."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from screencodec.recording import Recorder
from screencodec.recording import recorder as recorder_mod

from .helpers import recordings_cli

_T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z


def _recordings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Four recordings begun at 07:59:59.900, 08:00:00.200, 08:00:00.500 and
    08:00:01.100; the first two named in the old style (no milliseconds).
    Their paths in the order they began."""
    starts = iter([_T0 - 0.1, _T0 + 0.2, _T0 + 0.5, _T0 + 1.1])
    now = [_T0]

    def clock() -> float:
        return now[0]

    monkeypatch.setattr(recorder_mod.time, "time", clock)
    recorder = Recorder(tmp_path, host_id="test-host")
    begun = []
    for i, start in enumerate(starts):
        now[0] = start
        session = recorder.start(f"agent-{i}")
        session.end("bye")
        begun.append(session.path)
    recorder.close()
    renamed = []
    for i, path in enumerate(begun):
        # The first two as the version before milliseconds named them.
        named = path.with_name(re.sub(r"\.\d{3}Z-", "Z-", path.name)) if i < 2 else path
        path.rename(named)
        renamed.append(named)
    assert renamed[1].name.startswith("20270115T080000Z-"), renamed[1].name
    assert renamed[2].name.startswith("20270115T080000.500Z-"), renamed[2].name
    assert sorted(renamed) != renamed  # by name, the old one of 08:00:00 comes after .500
    return renamed


def test_list_sorts_both_name_styles_by_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    begun = _recordings(tmp_path, monkeypatch)
    done = recordings_cli("list", tmp_path)
    assert done.returncode == 0, done.stderr
    listed = [line.rsplit("  ", 1)[-1] for line in done.stdout.splitlines()[1:]]
    assert listed == [p.name for p in begun], done.stdout


def test_verify_folder_checks_in_start_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    begun = _recordings(tmp_path, monkeypatch)
    done = recordings_cli("verify", tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    said = [line.split(":", 1)[0] for line in done.stdout.splitlines() if ".screc:" in line]
    assert said == [str(p) for p in begun], done.stdout
