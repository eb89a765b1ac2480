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
  it again, its index walked whole (rec52b, rec52c): found; now what the
  file it names is (what its claim is checked against) is read once a
  command too, while the file is unchanged, and with the same key
  (walkcost52).
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

import pytest

from screencodec.recording import RecordingReader, generate_host_keypair, generate_keypair
from screencodec.recording.crypto import load_private_key
from screencodec.recording.format import ChunkFlags, ChunkType
from screencodec.recording.reader import digests_kept, keep_listed, kept_listed

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


def _session_of(path: Path, session_id: str) -> Path:
    many = [(ChunkType.EVENT, event({"type": "n"}), 1000 + k) for k in range(50)]
    return craft(path, many, session=meta(session_id=session_id))


@pytest.mark.parametrize("how", ["in place", "renamed over"])
def test_a_named_file_changed_between_two_uses_is_read_again(how: str, tmp_path: Path) -> None:
    """Within one command's run (``digests_kept``, as ``recordings`` runs
    each), a file two files name is checked once while unchanged; changed
    (written in place, or another renamed over it, its size the same), it is
    read again: the second file's claim is checked against what is there."""
    big = _session_of(tmp_path / "big.screc", "S-one")
    said = {"type": "consent", "resumed": True,
            "earlier": {"file": big.name, "session_id": "S-one"}}  # fmt: skip
    naming = [craft(tmp_path / f"x{k}.screc", [(ChunkType.EVENT, event(said), 1000),
              (ChunkType.UPDATE, update(fill(8, 8)), 2000, ChunkFlags.KEYFRAME)])
              for k in range(3)]  # fmt: skip
    with digests_kept():
        with RecordingReader(naming[0]) as r:
            assert r.verify().resumes.startswith(f"resumes the session of {big.name}"), r.path
            assert "NOT" not in r.verify().resumes
        kept = kept_listed(big, None)
        assert kept is not None and kept.session_id == "S-one"
        with RecordingReader(naming[1]) as r:  # unchanged: the same
            assert "NOT" not in r.verify().resumes
        size = big.stat().st_size
        if how == "in place":
            _session_of(big, "S-two")
        else:
            os.replace(_session_of(tmp_path / "new.tmp", "S-two"), big)
        assert big.stat().st_size == size
        assert kept_listed(big, None) is None
        with RecordingReader(naming[2]) as r:
            assert r.verify().resumes == (
                f"resumes the session of {big.name}, but the file of that name here is NOT the"
                " one it names (the session id it names is not that file's)"), r.verify()
            assert r.verify().chain_broken


def test_a_sealed_named_file_is_kept_apart_for_each_key(tmp_path: Path) -> None:
    """What a sealed file a resumed link names is, read with one auditor's
    key, is not served for another key (one that would not open it), nor for
    none (its session unread), nor the other way round."""
    from .test_rec32_chain import _session

    generate_keypair(tmp_path / "a.key", tmp_path / "a.pub")
    generate_keypair(tmp_path / "b.key", tmp_path / "b.pub")
    generate_host_keypair(tmp_path / "desk.key", tmp_path / "desk.pub")
    first, second = _session(tmp_path / "rec", 2, auditor=tmp_path / "a.pub",
                             signer=tmp_path / "desk.key")  # fmt: skip
    a, b = load_private_key(tmp_path / "a.key"), load_private_key(tmp_path / "b.key")
    with digests_kept():
        with RecordingReader(second, private_key=a) as r:
            assert r.verify().resumes.endswith("the file here is the one it names (SHA-256)")
            a_id = r.key_id
        with RecordingReader(first, private_key=a) as r:
            session = r.meta()["session_id"]
        b_id = b.public_key().public_bytes_raw()
        assert a_id is not None and b_id is not None and a_id != b_id
        kept = kept_listed(first, a_id)
        assert kept is not None and kept.session_id == session
        assert kept_listed(first, b_id) is None
        assert kept_listed(first, None) is None
        with RecordingReader(first) as r:  # no key: its session does not read
            assert keep_listed(r).session_id is None
        unread = kept_listed(first, None)
        assert unread is not None and unread.session_id is None
        assert kept_listed(first, None, unread=False) is None
        kept = kept_listed(first, a_id)
        assert kept is not None and kept.session_id == session


def test_files_kept_naming_one_file_prune_deletes_have_it_walked_once(tmp_path: Path) -> None:
    """prune's note on a kept part whose session's start goes checks its
    claim against that file (rec52b): 40 crafted files kept, naming one old
    file of 5000 chunks, had it opened again each, its index walked whole
    (main: prune --dry-run 0.01 -> 0.93 s of CPU); now once."""
    folder = tmp_path / "rec"
    folder.mkdir()
    many = [(ChunkType.EVENT, event({"type": "n"}), 1000 + k) for k in range(5_000)]
    big = craft(folder / "big.screc", many)  # its HEADER's start: 2023, so it goes
    alone = _cpu()
    no_traceback(cli("prune", "--days", "30", "--dry-run", folder))
    alone = _cpu() - alone
    now = time.time()
    said = {"type": "consent", "resumed": True,
            "earlier": {"file": big.name, "session_id": "00000000-attack"}}  # fmt: skip
    for k in range(40):
        craft(folder / f"x{k:02}.screc", [(ChunkType.EVENT, event(said), 1000),
              (ChunkType.UPDATE, update(fill(8, 8)), 2000, ChunkFlags.KEYFRAME)],
              head=header(start_unix=now), session=meta(start_unix=now))  # fmt: skip
    named = _cpu()
    done = cli("prune", "--days", "30", "--dry-run", folder)
    named = _cpu() - named
    no_traceback(done)
    assert done.stdout.count("resumes the session of big.screc") == 40, done.stdout
    assert named < 3 * alone + 0.2, (alone, named)
