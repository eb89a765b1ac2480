"""review32b: one is said in the singular in the rest of what the
recordings commands print (86aceeb did verify's chunks and updates, play's
lines). A real one-update recording (the Recorder, tests/recording/synth.py)
verified said "1 pictures equal to the host's recorded hashes"; export said
"1 frames" and "1 events"."""

from __future__ import annotations

from pathlib import Path

from .synth import synth
from .test_attack_craft import cli


def test_one_of_each_is_said_in_the_singular(tmp_path: Path) -> None:
    path, _ = synth(tmp_path / "rec", frames=1)
    done = cli("verify", path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert ", 1 picture equal to the host's recorded hashes" in done.stdout, done.stdout
    log, mp4, shots = tmp_path / "log.jsonl", tmp_path / "one.mp4", tmp_path / "shots"
    done = cli("export", path, "--log", log, "--mp4", mp4, "--png-every", "10", shots)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{log}: 2 lines: the session's, then 1 event\n" in done.stdout, done.stdout
    assert f"{mp4}: 1 frame, " in done.stdout, done.stdout
    assert f"1 screenshot in {shots}\n" in done.stdout, done.stdout
