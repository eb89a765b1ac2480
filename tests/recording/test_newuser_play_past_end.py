"""``recordings play --at`` past the recording's end: the PNG is the last
picture, and a line on stderr says so (its name read like the screen at
that time)."""

from __future__ import annotations

from pathlib import Path

from .helpers import recordings_cli
from .test_newuser2_list_killed import record_small


def test_a_time_past_the_end_is_said_to_be_the_last_picture(tmp_path: Path) -> None:
    path = record_small(tmp_path / "rec", "Alice")
    out = tmp_path / "frames"
    done = recordings_cli("play", path, "--at", "0.2", "200", "--out", out)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        f"t=200.000 is past the end at 0.30 s: {path.stem}_t00200.000.png is the last picture"
    ], done.stderr
    assert len(list(out.glob("*.png"))) == 2
