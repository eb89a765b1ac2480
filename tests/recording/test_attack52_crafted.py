"""attack52: crafted recordings against list, verify, play and export as they
follow resumed links (rec52, rec52b, rec52c).

- A sealed file whose HEADER's ``key`` is no JSON object (a list, a
  string, a number), opened with the auditor's key: found, every command
  given ``--key`` died with a traceback (AttributeError in unwrap_key);
  expected: the file called damaged, as a ``key`` object with wrong fields
  is ("the recording key cannot be unwrapped").
- Resumed links in a cycle (two files naming each other, a file naming
  itself): every command ends, with no traceback; play and export of the
  folder of a 2-cycle said "no recordings (*.screc) in this folder", of a
  folder holding two; now they say that no session ends there.
- Many small files naming one big recording: each had the big one hashed
  whole again (verify of the folder, and since rec52c play and export of
  it); now once a command, while the file is unchanged. Each still opens
  it again, its index walked whole (rec52b, rec52c): strict xfail, found
  not fixed.
"""

from __future__ import annotations

import resource
from pathlib import Path

import pytest

from screencodec.recording import generate_keypair
from screencodec.recording.format import ChunkFlags, ChunkType

from .test_attack_craft import cli, craft, event, fill, header, meta, no_traceback, update


def _sealed_with_key(path: Path, key: object) -> Path:
    return craft(path, [(ChunkType.UPDATE, update(fill(8, 8)), 1000, ChunkFlags.KEYFRAME)],
                 head=header(sealed=True, key=key))  # fmt: skip


@pytest.mark.parametrize("key", [[1], "x", 5], ids=["list", "string", "number"])
def test_a_sealed_header_whose_key_is_no_object_is_damage_not_a_crash(
    key: object, tmp_path: Path
) -> None:
    generate_keypair(tmp_path / "a.key", tmp_path / "a.pub")
    folder = tmp_path / "rec"
    folder.mkdir()
    # The same file with a key object whose fields are wrong: what it is told.
    altered = _sealed_with_key(folder / "altered.screc", {"epk": 5, "wrapped": []})
    crafted = _sealed_with_key(folder / "crafted.screc", key)
    k = tmp_path / "a.key"
    told = []
    for path in (altered, crafted):
        done = cli("verify", "--key", k, "--no-pictures", path)
        no_traceback(done)
        assert "damaged: the recording key cannot be unwrapped" in done.stdout, done
        told.append(done.returncode)
    assert told == [1, 1], told  # as any file that does not open (docs/cli.md)
    listed = cli("list", "--key", k, folder)
    no_traceback(listed)
    assert listed.returncode == 0, listed
    for args in (("play", crafted, "--key", k, "--at", 0, "--out", tmp_path / "png", "--no-cursor"),
                 ("export", crafted, "--key", k, "--log", tmp_path / "log.jsonl")):  # fmt: skip
        done = cli(*args)
        no_traceback(done)
        assert "cannot be unwrapped" in done.stderr, done
        assert done.returncode != 0, done
    assert not (tmp_path / "log.jsonl").exists()


def _naming(path: Path, named: str, start: int) -> Path:
    said = {"type": "consent", "resumed": True,
            "earlier": {"file": named, "session_id": "S-cycle"}}  # fmt: skip
    return craft(path, [(ChunkType.EVENT, event(said), 1000),
                        (ChunkType.UPDATE, update(fill(64, 48)), 2000, ChunkFlags.KEYFRAME)],
                 head=header(start_unix=start),
                 session=meta(session_id="S-cycle", start_unix=start))  # fmt: skip


def test_resumed_links_in_a_cycle_end_and_are_told_as_no_session_end(tmp_path: Path) -> None:
    folder = tmp_path / "two"
    folder.mkdir()
    a = _naming(folder / "a.screc", "b.screc", 1_700_000_000)
    _naming(folder / "b.screc", "a.screc", 1_700_000_010)
    for args in (("list", folder), ("verify", "--no-pictures", folder),
                 ("play", a, "--at", 0, "--out", tmp_path / "png", "--no-cursor"),
                 ("export", a, "--log", tmp_path / "a.jsonl")):  # fmt: skip
        done = cli(*args)
        no_traceback(done)
        assert done.returncode == 0, done  # unsigned: its links unproven, as any
    for args in (("play", folder, "--at", 0, "--out", tmp_path / "png2", "--no-cursor"),
                 ("export", folder, "--log", tmp_path / "f.jsonl")):  # fmt: skip
        done = cli(*args)
        no_traceback(done)
        assert done.returncode == 2, done
        # main: "no recordings (*.screc) in this folder", of a folder holding two.
        assert "no recordings" not in done.stderr, done.stderr
        assert "no session ends in this folder" in done.stderr, done.stderr
    assert not (tmp_path / "f.jsonl").exists()
    alone = tmp_path / "self"
    alone.mkdir()
    me = _naming(alone / "a.screc", "a.screc", 1_700_000_000)
    for args in (("list", alone), ("verify", "--no-pictures", me),
                 ("play", alone, "--at", 0, "--out", tmp_path / "png3", "--no-cursor"),
                 ("export", alone, "--log", tmp_path / "s.jsonl")):  # fmt: skip
        done = cli(*args)
        no_traceback(done)
        assert done.returncode == 0, done


def _read_bytes() -> int:
    """Bytes this process has read() so far (/proc/self/io's rchar)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


def test_files_naming_one_earlier_file_have_it_hashed_once(tmp_path: Path) -> None:
    """20 crafted files of about 700 bytes, each naming one 8 MB recording
    (with a SHA-256 that is not its): verify, play and export of their
    folder each read it about once (main: once per file naming it, 20
    times: 8.2 s of CPU against 0.5 s with 50 files naming 200 MB)."""
    (tmp_path / "rec").mkdir()
    pad = event({"type": "note", "pad": "x" * (1 << 20)})
    big = craft(tmp_path / "rec" / "big.screc", [(ChunkType.EVENT, pad, 1000 + k)
                                                  for k in range(8)])  # fmt: skip
    said = {"type": "consent", "resumed": True,
            "earlier": {"file": big.name, "session_id": "00000000-attack", "sha256": "0" * 64}}
    for k in range(20):
        craft(tmp_path / "rec" / f"x{k:02}.screc", [(ChunkType.EVENT, event(said), 1000),
              (ChunkType.UPDATE, update(fill(8, 8)), 2000, ChunkFlags.KEYFRAME)])  # fmt: skip
    size = big.stat().st_size
    for args in (("verify", "--no-pictures", tmp_path / "rec"),
                 ("play", tmp_path / "rec", "--at", 0, "--out", tmp_path / "png", "--no-cursor"),
                 ("export", tmp_path / "rec", "--log", tmp_path / "log.jsonl")):  # fmt: skip
        before = _read_bytes()
        done = cli(*args)
        read = _read_bytes() - before
        no_traceback(done)
        assert done.returncode in (2, 10), done  # 21 sessions end there; 20 links broken
        assert read < 3 * size, (args[0], read / size)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@pytest.mark.xfail(strict=True, reason=(
    "found (attack52), not fixed: each file naming one earlier file opens it again (its index "
    "walked whole: reader._resumes, chain._followed from session_ends), new in rec52b/rec52c; "
    "20 crafted 724-byte files naming a 12 MB recording of 300k chunks: verify DIR 4.1 -> 31.7 s "
    "of CPU, play DIR 3.2 -> 42.8 s, list 5.2 -> 9.1 s (here 40 naming a file of 5000 chunks: "
    "verify DIR 0.08 -> 1.1-1.5 s, the old code 0.08-0.12 s); expected: about the cost of the "
    "folder without them"))  # fmt: skip
def test_files_naming_one_earlier_file_have_it_walked_once(tmp_path: Path) -> None:
    folder = tmp_path / "rec"
    folder.mkdir()
    many = [(ChunkType.EVENT, event({"type": "n"}), 1000 + k) for k in range(5_000)]
    big = craft(folder / "big.screc", many)
    alone = _cpu()
    no_traceback(cli("verify", "--no-pictures", folder))
    alone = _cpu() - alone
    said = {"type": "consent", "resumed": True,
            "earlier": {"file": big.name, "session_id": "00000000-attack"}}  # fmt: skip
    for k in range(40):
        craft(folder / f"x{k:02}.screc", [(ChunkType.EVENT, event(said), 1000),
              (ChunkType.UPDATE, update(fill(8, 8)), 2000, ChunkFlags.KEYFRAME)])  # fmt: skip
    named = _cpu()
    no_traceback(cli("verify", "--no-pictures", folder))
    named = _cpu() - named
    assert named < 3 * alone + 0.2, (alone, named)
