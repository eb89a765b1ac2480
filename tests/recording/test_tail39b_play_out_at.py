"""tail39b: two things ``recordings play`` took otherwise than typed.
``--out shots.png/`` (a trailing slash: a folder) was the file shots.png,
as argparse's Path drops the slash; and ``--at 1 --at 2`` kept only the
last time, so ``--out x.png``'s one-file refusal never fired and t=2 alone
was written. Real ``screencodec recordings`` processes."""

from __future__ import annotations

import os
from pathlib import Path

from .helpers import recordings_cli
from .test_newuser2_list_killed import record_small


def test_out_with_a_trailing_slash_is_a_folder(tmp_path: Path) -> None:
    path = record_small(tmp_path / "rec", "Alice")
    folder = tmp_path / "shots.png"
    done = recordings_cli("play", path, "--at", "0.2", "--out", f"{folder}{os.sep}")
    assert done.returncode == 0, done.stderr
    assert folder.is_dir(), sorted(p.name for p in tmp_path.rglob("*"))
    assert [p.name for p in folder.iterdir()] == [f"{path.stem}_t00000.200.png"]


def test_repeated_at_gives_every_time(tmp_path: Path) -> None:
    path = record_small(tmp_path / "rec", "Alice")
    folder = tmp_path / "shots"
    done = recordings_cli("play", path, "--at", "0.2", "--at", "0.25", "0.3",
                          "--out", folder)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in folder.iterdir()) == [
        f"{path.stem}_t{t:09.3f}.png" for t in (0.2, 0.25, 0.3)]


def test_repeated_at_with_one_file_is_refused(tmp_path: Path) -> None:
    path = record_small(tmp_path / "rec", "Alice")
    shot = tmp_path / "x.png"
    done = recordings_cli("play", path, "--at", "0", "--at", "0.2", "--out", shot)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stderr == (
        f"screencodec recordings play: --out {shot} names one PNG file, and --at gives 2"
        " times: give one --at time, or a folder for --out (one PNG each in it)\n")
    assert not shot.exists()
