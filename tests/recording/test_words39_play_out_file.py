"""words39: ``recordings play --out x.png`` made a folder named x.png (the
help says --out is a folder) and wrote ``REC_t000000.000.png`` in it. Who
asks for x.png wants that file: with one --at time, the picture is written
there; with several, the command refuses (exit 2) before it makes anything,
and says to give one time or a folder. A folder that exists keeps being one,
whatever its name. Real ``screencodec recordings`` processes."""

from __future__ import annotations

from pathlib import Path

from .helpers import recordings_cli
from .test_newuser2_list_killed import record_small
from .test_picture_hashes import _forge
from .test_shown_checked import _comment, _record

_PNG = b"\x89PNG\r\n\x1a\n"


def test_out_naming_a_png_file_with_one_time_writes_that_file(tmp_path: Path) -> None:
    path = record_small(tmp_path / "rec", "Alice")
    shot = tmp_path / "shots" / "x.png"
    done = recordings_cli("play", path, "--at", "0.2", "--out", shot)
    assert done.returncode == 0, done.stderr
    assert shot.is_file(), sorted(p.name for p in tmp_path.rglob("*"))
    assert shot.read_bytes().startswith(_PNG)
    assert done.stdout.splitlines()[-1] == f"t=0.200: {shot}", done.stdout
    # Without --at, the one time is its default, 0: before the first picture.
    early = tmp_path / "early.PNG"
    done = recordings_cli("play", path, "--out", early)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "t=0.000: no picture yet", done.stdout
    assert not early.exists()


def test_out_naming_a_png_file_with_several_times_is_refused_before_anything(
        tmp_path: Path) -> None:  # fmt: skip
    path = record_small(tmp_path / "rec", "Alice")
    shot = tmp_path / "x.png"
    done = recordings_cli("play", path, "--at", "0", "0.2", "--out", shot)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stderr == (
        f"screencodec recordings play: --out {shot} names one PNG file, and --at gives 2"
        " times: give one --at time, or a folder for --out (one PNG each in it)\n")
    assert done.stdout == ""
    assert not shot.exists()


def test_an_existing_folder_named_like_a_png_stays_a_folder(tmp_path: Path) -> None:
    path = record_small(tmp_path / "rec", "Alice")
    folder = tmp_path / "odd.png"
    folder.mkdir()
    done = recordings_cli("play", path, "--at", "0.2", "0.25", "--out", folder)
    assert done.returncode == 0, done.stderr
    assert len(list(folder.glob(f"{path.stem}_t*.png"))) == 2


def test_a_picture_file_not_the_hosts_is_named_unverified(tmp_path: Path) -> None:
    """--unverified with --out x.png: the forged picture is written as
    x.UNVERIFIED.png, as every picture not the host's is named, never as
    the x.png a script would take for checked."""
    bad = tmp_path / "forged.screc"
    k, _, t = _forge(_record(tmp_path / "rec"), bad)
    shot = tmp_path / "x.png"
    done = recordings_cli("play", bad, "--at", t, "--out", shot, "--unverified")
    assert done.returncode == 7, done.stderr
    marked = tmp_path / "x.UNVERIFIED.png"
    assert not shot.exists() and marked.is_file()
    assert f"t={t:.3f}: {marked}" in done.stdout.splitlines(), done.stdout
    assert _comment(marked).startswith(f"UNVERIFIED: NOT the host's recorded picture: update {k} ")
