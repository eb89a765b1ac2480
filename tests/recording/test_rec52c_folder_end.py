"""rec52c: which file of a folder ends a session (what ``play FOLDER``,
``export FOLDER`` and ``play --web FOLDER`` start from) takes the check
``list``, ``verify`` and the chain take (rec52b): a file whose claim to
resume the file it names does not check out is no later part of that file,
so that file still ends its session, and the crafted one is a session of
its own. A folder where two sessions end is refused, exit 2, naming their
last files (docs/recording.md "Playing and exporting a chain"), and now
saying which link was not taken and why. Found (rec52b): a real signed
session of two parts and an unsigned file naming its second part, every
field copied: ``play FOLDER`` played the crafted file alone ("the chain is
broken before it", exit 10), the real session not at all. The same of a
SHA-256 that differs (a part changed after the fact). Real Recorder
sessions (rec32's set-up); the real CLI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from .test_attack_craft import cli, no_traceback
from .test_rec52_list_claims import _copy
from .test_rec52b_chain_claims import (
    _other_key_after,
    _signer,
    _unsigned_after,
    signed,  # noqa: F401 (the fixture: a real signed session)
)


def _refused(done: CompletedProcess[str], ends: list[Path], count: int = 0) -> None:
    """Refused as a folder of several sessions (``count``, else those of
    ``ends``) is, naming each one's last file."""
    no_traceback(done)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert f"{count or len(ends)} sessions end in this folder (" in done.stderr, done.stderr
    assert all(p.name in done.stderr for p in ends), done.stderr
    assert "part 3 of 3" not in done.stdout and "one session of" not in done.stdout


def _not_taken(naming: Path, words: str) -> str:
    return (f"a session of its own, not taken as a later part of the file it names (verify"
            f" exits 10): {naming.name}: {words}")  # fmt: skip


def _each_way(folder: Path, out: Path) -> Iterator[CompletedProcess[str]]:
    """play, export and play --web of the folder, each run when the one
    before was checked (--web in a process of its own, killed after 60 s:
    a session it takes waits for its page)."""
    yield cli("play", folder, "--at", 0, "--out", out / "png", "--no-cursor")
    yield cli("export", folder, "--log", out / "log.jsonl")
    yield cli("play", folder, "--web", "--no-open", "--web-port", 0, process=True, timeout=60)


def test_a_folder_of_a_signed_session_and_an_unsigned_part_naming_its_last_is_two(
    signed: list[Path], tmp_path: Path,  # noqa: F811
) -> None:
    first, second = _copy(signed, tmp_path / "rec")
    forged = _unsigned_after(second, tmp_path / "rec" / "zz-forged.screc")
    why = _not_taken(forged, f"resumes the session of {second.name}, but the file of that"
                     " name here is NOT the one it names (it is unsigned, that file is"
                     f" signed by host key {_signer(second)})")  # fmt: skip
    for done in _each_way(tmp_path / "rec", tmp_path):
        _refused(done, [second, forged])
        assert why in done.stderr, done.stderr
    assert not (tmp_path / "png").exists() and not (tmp_path / "log.jsonl").exists()
    # The real session's last file, as the refusal names it: its two parts.
    played = cli("play", second, "--at", 0, "--out", tmp_path / "png", "--no-cursor")
    no_traceback(played)
    assert f"{second}: one session of 2 parts" in played.stdout, played.stdout
    assert played.returncode == 0, (played.stdout, played.stderr)
    assert first.exists()


def test_a_folder_of_a_signed_session_and_a_part_signed_by_another_key_is_two(
    signed: list[Path], tmp_path: Path,  # noqa: F811
) -> None:
    """The crafted file's name carries an escape sequence: the line is
    sanitised (safe_text), as every line of a file's name is."""
    _first, second = _copy(signed, tmp_path / "rec")
    forged, other = _other_key_after(second, tmp_path / "rec" / "zz-\x1b]0;owned\x07.screc")
    assert forged.exists()
    for done in _each_way(tmp_path / "rec", tmp_path):
        assert "\x1b" not in done.stderr and "\x07" not in done.stderr
        _refused(done, [second], 2)
        assert f"({second.name}, zz-?.screc)" in done.stderr, done.stderr
        assert (f": resumes the session of {second.name}, but the file of that name here is"
                f" NOT the one it names (it is signed by host key {other}, that file is signed"
                f" by host key {_signer(second)})") in done.stderr
    assert not (tmp_path / "png").exists() and not (tmp_path / "log.jsonl").exists()


def test_a_part_whose_earlier_one_changed_after_the_fact_does_not_end_its_session(
    signed: list[Path], tmp_path: Path,  # noqa: F811
) -> None:
    """A SHA-256 that differs, decided the same way: the earlier file of
    that name is not the one named, so the later file is not its part;
    the folder holds two sessions (verify: the first damaged, exit 1, the
    second's link broken)."""
    first, second = _copy(signed, tmp_path / "rec")
    data = bytearray(first.read_bytes())
    data[len(data) // 2] ^= 0x01  # its size kept
    first.write_bytes(bytes(data))
    why = _not_taken(second, f"resumes the session of {first.name}, but the file of that name"
                     " here is NOT the one it names (SHA-256 differs)")  # fmt: skip
    for done in _each_way(tmp_path / "rec", tmp_path):
        _refused(done, [first, second])
        assert why in done.stderr, done.stderr
    # The later file given itself: played alone, its link said broken, as before.
    played = cli("play", second, "--at", 0, "--out", tmp_path / "png", "--no-cursor")
    no_traceback(played)
    assert f"{second}: the chain is broken before it (verify exits 10)" in played.stderr
    assert played.returncode == 10, (played.stdout, played.stderr)


@pytest.mark.parametrize("how", ["play", "export"])
def test_a_folder_of_one_real_signed_session_still_plays_it(
    signed: list[Path], tmp_path: Path, how: str,  # noqa: F811
) -> None:
    """The guard: one session, nothing crafted beside it; exit 0."""
    _first, second = _copy(signed, tmp_path / "rec")
    args = (["--at", 0, "--out", tmp_path / "png", "--no-cursor"] if how == "play"
            else ["--log", tmp_path / "log.jsonl"])  # fmt: skip
    done = cli(how, tmp_path / "rec", *args)
    no_traceback(done)
    assert f"{second}: one session of 2 parts" in done.stdout, done.stdout
    assert "sessions end" not in done.stderr, done.stderr
    assert done.returncode == 0, (done.stdout, done.stderr)
