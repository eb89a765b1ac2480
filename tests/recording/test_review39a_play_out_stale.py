"""review39a: ``recordings play --out x.png`` (words39) where x.png is left
from an earlier run. A script runs play for one recording after another with
the same --out and reads x.png. Found: a run that writes no x.png (no picture
yet at that time: exit 0; or the picture is not the host's: written to
x.UNVERIFIED.png) left the earlier run's x.png there, another recording's
picture, which the script took for this one's (the folder form names each
file by its recording and time, so it never met another's). Expected: the
file --out names is this run's picture or absent (an earlier
x.UNVERIFIED.png likewise). Real ``screencodec recordings`` processes."""

from __future__ import annotations

from pathlib import Path

from .helpers import recordings_cli
from .test_newuser2_list_killed import record_small
from .test_picture_hashes import _forge
from .test_shown_checked import _record

_PNG = b"\x89PNG\r\n\x1a\n"
_OLD = b"an earlier run's picture"


def test_no_picture_yet_leaves_no_earlier_file_under_the_name(tmp_path: Path) -> None:
    path = record_small(tmp_path / "rec", "Alice")
    shot, marked = tmp_path / "x.png", tmp_path / "x.UNVERIFIED.png"
    shot.write_bytes(_OLD)
    marked.write_bytes(_OLD)
    done = recordings_cli("play", path, "--at", "0", "--out", shot)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "t=0.000: no picture yet", done.stdout
    assert not shot.exists() and not marked.exists()  # found: both still there


def test_an_unverified_picture_leaves_no_earlier_checked_one(tmp_path: Path) -> None:
    bad = tmp_path / "forged.screc"
    _, _, t = _forge(_record(tmp_path / "rec"), bad)
    shot, marked = tmp_path / "x.png", tmp_path / "x.UNVERIFIED.png"
    shot.write_bytes(_OLD)
    done = recordings_cli("play", bad, "--at", t, "--out", shot, "--unverified")
    assert done.returncode == 7, done.stderr
    assert marked.read_bytes().startswith(_PNG)
    assert not shot.exists()  # found: the earlier run's, taken for this one's


def test_a_checked_picture_replaces_an_earlier_unverified_one(tmp_path: Path) -> None:
    path = record_small(tmp_path / "rec", "Alice")
    shot, marked = tmp_path / "x.png", tmp_path / "x.UNVERIFIED.png"
    shot.write_bytes(_OLD)
    marked.write_bytes(_OLD)
    done = recordings_cli("play", path, "--at", "0.2", "--out", shot)
    assert done.returncode == 0, done.stderr
    assert shot.read_bytes().startswith(_PNG)
    assert not marked.exists()


def test_a_recording_that_cannot_be_read_touches_no_file(tmp_path: Path) -> None:
    shot = tmp_path / "x.png"
    shot.write_bytes(_OLD)
    junk = tmp_path / "junk.screc"
    junk.write_bytes(b"not a recording")
    done = recordings_cli("play", junk, "--at", "0", "--out", shot)
    assert done.returncode != 0, done.stdout
    assert shot.read_bytes() == _OLD
