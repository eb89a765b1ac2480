"""``screencodec recordings verify`` and ``prune`` as a user runs them (a
process each): a sealed recording checked without ``--key`` is reported as
not verified (exit 3), even intact, and a flipped byte in it is caught once
the key is given; ``prune`` refuses a retention of 0 or fewer days and a
missing directory in one line (exit 2), and says when there is nothing to
delete."""

from __future__ import annotations

from pathlib import Path

from screencodec.recording import RecordingReader
from screencodec.recording.format import ChunkType

from .helpers import recordings_cli
from .synth import synth


def _flip_inside_an_update(path: Path, out: Path) -> Path:
    with RecordingReader(path) as r:  # the index needs no key
        h = next(h for h in r.index.chunks if h.type is ChunkType.UPDATE)
    data = bytearray(path.read_bytes())
    data[h.payload_offset + 10] ^= 0x01
    out.write_bytes(data)
    return out


def test_sealed_without_key_is_not_verified(sealed_recording: tuple[Path, Path],
                                            tmp_path: Path) -> None:
    path, key = sealed_recording
    flipped = _flip_inside_an_update(path, tmp_path / "flipped.screc")
    for target in (path, flipped):  # intact or not: without the key nobody can tell
        res = recordings_cli("verify", target)
        assert res.returncode == 3, res.stdout + res.stderr
        line = res.stdout.strip()
        assert "\n" not in line and line.startswith(f"{target}: unverified: sealed")
        assert "seal was NOT checked" in line and "--key" in line
        assert "layout only" in line and "complete" not in line
    res = recordings_cli("verify", flipped, "--key", key)  # with it, the flip is caught
    assert res.returncode == 1 and f"{flipped}: damaged" in res.stdout
    assert "authentication" in res.stdout
    res = recordings_cli("verify", path, "--key", key)
    assert res.returncode == 0 and res.stdout.startswith(f"{path}: complete: ")


def test_verify_several_files_worst_first(sealed_recording: tuple[Path, Path],
                                          tmp_path: Path) -> None:
    path, _ = sealed_recording
    plain, _ = synth(tmp_path / "plain", frames=5)
    cut = tmp_path / "cut.screc"
    cut.write_bytes(plain.read_bytes()[:-40])
    bad = tmp_path / "bad.screc"
    data = bytearray(plain.read_bytes())
    data[40] ^= 1  # the HEADER's payload: its checksum fails
    bad.write_bytes(data)
    assert recordings_cli("verify", plain).returncode == 0
    assert recordings_cli("verify", plain, path).returncode == 3
    assert recordings_cli("verify", path, cut).returncode == 2
    assert recordings_cli("verify", cut, path, bad).returncode == 1
    res = recordings_cli("verify", "--help")
    assert res.returncode == 0 and "3 sealed and given without --key" in " ".join(
        res.stdout.split())


def test_prune_refuses_no_retention(tmp_path: Path) -> None:
    path, _ = synth(tmp_path, frames=3)  # started just now
    for days in ("-1", "0", "-0.5", "nan"):
        res = recordings_cli("prune", tmp_path, "--days", days)
        assert res.returncode == 2, (days, res.stdout, res.stderr)
        assert "argument --days: " in res.stderr and "Traceback" not in res.stderr
        assert path.exists(), f"--days {days} deleted {path}"
    res = recordings_cli("prune", tmp_path, "--max-size", "0")
    assert res.returncode == 2 and "argument --max-size: must be more than 0" in res.stderr
    assert path.exists()


def test_prune_missing_directory(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir"
    for action in ("prune", "list"):
        res = recordings_cli(action, missing)
        assert res.returncode == 2, res.stdout
        assert res.stderr.splitlines() == [
            f"screencodec recordings {action}: {missing}: no such directory"]
        assert res.stdout == ""


def test_prune_nothing_to_delete_says_so(tmp_path: Path) -> None:
    path, _ = synth(tmp_path, frames=3)
    for extra in ((), ("--dry-run",)):
        res = recordings_cli("prune", tmp_path, "--days", "30", *extra)
        assert res.returncode == 0
        assert res.stdout.splitlines() == [  # walk44: what it kept and why, then the sum
            f"kept {path}: started less than a day ago, within the retention of 30 days",
            f"nothing to delete in {tmp_path}: no recording is older than 30 days"]
    res = recordings_cli("prune", tmp_path, "--days", "1.5", "--max-size", "1G", "--dry-run")
    assert res.stdout.splitlines() == [
        f"kept {path}: started less than a day ago, within the retention of 1.5 days; the"
        " folder's recordings fit in the --max-size of 1G",
        f"nothing to delete in {tmp_path}: no recording is older than 1.5 days and together "
        "they fit in --max-size"]
    res = recordings_cli("prune", tmp_path, "--days", "1", "--dry-run")  # walk6: "1 days"
    assert res.stdout.splitlines() == [
        f"kept {path}: started less than a day ago, within the retention of 1 day",
        f"nothing to delete in {tmp_path}: no recording is older than 1 day"]
    assert path.exists()
    res = recordings_cli("prune", tmp_path, "--max-size", "1K", "--dry-run")  # too big: it goes
    size = f"{path.stat().st_size / 1024:.3g}K"
    assert res.returncode == 0 and res.stdout.splitlines() == [
        f"would delete {path}: started less than a day ago, within the retention of 90 days;"
        f" the oldest while the folder held {size}, over the --max-size of 1K"]
    assert path.exists()
