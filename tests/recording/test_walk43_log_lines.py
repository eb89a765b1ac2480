"""``recordings export --log`` counts what it wrote as the file's lines.

Found (walk43's brief, checked on the recording below): ``log.jsonl: 1
event`` for a file of 2 lines: the first line is the session's (META and
END), then the events. Expected: the printed count is the file's, and
says what the lines are."""

from __future__ import annotations

import json
from pathlib import Path

from .synth import synth
from .test_attack_craft import cli


def test_the_count_export_log_prints_is_the_files_lines(tmp_path: Path) -> None:
    path, _ = synth(tmp_path / "rec", frames=3)
    log = tmp_path / "log.jsonl"
    done = cli("export", path, "--log", log)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert lines[0]["type"] == "session"
    events = len(lines) - 1
    assert events >= 1, lines
    said = f"{events} event{'s' if events > 1 else ''}"
    assert done.stdout == f"{log}: {len(lines)} lines: the session's, then {said}\n", done.stdout
