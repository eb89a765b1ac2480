"""rec52b: ``verify``, ``play`` and ``export`` follow a resumed link to the
file it names only where its claim checks out as ``list`` checks it
(rec52): where the earlier part is signed, the later part is signed by the
same host key, whose good signature covers the consent event naming it.
Else the link is broken, as a SHA-256 that differs is: verify says the
later part is NOT the one it names, and why, and exits 10; play and export
do not take the part into the session, say so, and exit 10. A real session
resumed once, signed (and sealed and signed), recorded by the real Recorder
(rec32's set-up), still is one session, exit 0. The crafted parts beside it
copy every field of the file they name (its SHA-256 too): what no SHA-256
check can tell."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from screencodec.recording import RecordingReader, generate_host_keypair, generate_keypair
from screencodec.recording.format import ChunkFlags, ChunkType
from screencodec.recording.sign import HostSigner

from .test_attack_craft import cli, craft, event, fill, header, meta, no_traceback, update
from .test_rec32_chain import _session
from .test_rec52_list_claims import _copy, _forged, _names


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A real session resumed once, signed by a host key: its two files."""
    home = tmp_path_factory.mktemp("signed")
    generate_host_keypair(home / "desk.key", home / "desk.pub")
    (home / "rec").mkdir()
    return _session(home / "rec", 2, signer=home / "desk.key")


def _signer(path: Path) -> str:
    with RecordingReader(path) as r:
        assert r.signer_id is not None
        return r.signer_id


def _unsigned_after(earlier: Path, path: Path) -> Path:
    """An unsigned part naming ``earlier`` with every field copied (its
    SHA-256 and size among them), starting a second after it ends."""
    with RecordingReader(earlier) as r:
        start = r.start_unix + r.duration + 1
    said = {"type": "consent", "resumed": True, "earlier": _names(earlier)}
    return craft(path, [(ChunkType.EVENT, event(said), 1000),
                 (ChunkType.UPDATE, update(fill(64, 48)), 2000, ChunkFlags.KEYFRAME)],
                 head=header(start_unix=start),
                 session=meta(session_id="forged-sess", start_unix=start))  # fmt: skip


def _other_key_after(earlier: Path, path: Path) -> tuple[Path, str]:
    other = HostSigner(Ed25519PrivateKey.generate())
    return _forged(path, earlier, other), other.key_id


def _lines(stdout: str) -> dict[str, str]:
    return {line.split(": ", 1)[0]: line for line in stdout.splitlines()}


def test_verify_says_an_unsigned_part_after_a_signed_one_is_not_the_one_it_names(
    signed: list[Path], tmp_path: Path,
) -> None:
    first, second = _copy(signed, tmp_path / "rec")
    forged = _unsigned_after(second, tmp_path / "rec" / "zz-forged.screc")
    done = cli("verify", "--no-pictures", tmp_path / "rec")
    no_traceback(done)
    said = _lines(done.stdout)
    assert said[str(forged)].endswith(
        f"; resumes the session of {second.name}, but the file of that name here is NOT the"
        f" one it names (it is unsigned, that file is signed by host key {_signer(second)})"
    ), done.stdout
    assert said[str(second)].endswith(f"resumes the session of {first.name}: the file here is"
                                      " the one it names (SHA-256)"), done.stdout  # fmt: skip
    assert done.returncode == 10, done.stdout
    alone = cli("verify", "--no-pictures", forged)
    assert alone.returncode == 10, alone.stdout


def test_verify_says_a_part_signed_by_another_key_is_not_the_one_it_names(
    signed: list[Path], tmp_path: Path,
) -> None:
    _first, second = _copy(signed, tmp_path / "rec")
    forged, other = _other_key_after(second, tmp_path / "rec" / "zz-forged.screc")
    done = cli("verify", "--no-pictures", forged)
    no_traceback(done)
    assert done.stdout.strip().endswith(
        f"; resumes the session of {second.name}, but the file of that name here is NOT the"
        f" one it names (it is signed by host key {other}, that file is signed by host key"
        f" {_signer(second)})"), done.stdout  # fmt: skip
    assert done.returncode == 10, done.stdout


def test_verify_says_a_part_naming_the_hosts_key_without_its_signature_is_not_it(
    signed: list[Path], tmp_path: Path,
) -> None:
    """The host's public key copied into a crafted HEADER with no SIGNATURE
    chunk after the claim (verify finds no signature to refuse in the
    file itself): the claim is not the key's."""
    _first, second = _copy(signed, tmp_path / "rec")
    with RecordingReader(second) as r:
        entry, real, start = r.header["signer"], r.signer_id, r.start_unix + r.duration + 1
    said = {"type": "consent", "resumed": True, "earlier": _names(second)}
    forged = craft(tmp_path / "rec" / "zz-forged.screc", [(ChunkType.EVENT, event(said), 1000)],
                   head=header(signer=entry, start_unix=start), with_end=False,
                   session=meta(session_id="forged-sess", start_unix=start))  # fmt: skip
    done = cli("verify", "--no-pictures", forged)
    no_traceback(done)
    assert done.stdout.strip().endswith(
        f"; resumes the session of {second.name}, but the file of that name here is NOT the"
        f" one it names (no good signature of host key {real} covers what it names)"
    ), done.stdout
    assert done.returncode == 2, done.stdout  # cut short (no END) comes first, as today


def test_export_does_not_take_an_unsigned_part_into_a_signed_session(
    signed: list[Path], tmp_path: Path,
) -> None:
    _first, second = _copy(signed, tmp_path / "rec")
    forged = _unsigned_after(second, tmp_path / "rec" / "zz-forged.screc")
    # The file itself (rec52c: the folder holds two sessions, refused, exit 2).
    done = cli("export", forged, "--log", tmp_path / "log.jsonl")
    no_traceback(done)
    assert "part 3 of 3" not in done.stdout and "one session of" not in done.stdout, done.stdout
    assert (f"{forged}: resumes the session of {second.name}, but the file of that name here"
            " is NOT the one it names (it is unsigned, that file is signed by host key"
            f" {_signer(second)})") in done.stdout, done.stdout  # fmt: skip
    assert f"{forged}: the chain is broken before it (verify exits 10)" in done.stderr
    lines = (tmp_path / "log.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["session_id"] == "forged-sess", lines[0]
    assert "the session's, then 1 event" in done.stdout, done.stdout  # its one part alone
    assert done.returncode == 10, (done.stdout, done.stderr)


def test_export_and_play_do_not_take_a_part_signed_by_another_key(
    signed: list[Path], tmp_path: Path,
) -> None:
    _first, second = _copy(signed, tmp_path / "rec")
    forged, other = _other_key_after(second, tmp_path / "rec" / "zz-forged.screc")
    why = (f"{forged}: resumes the session of {second.name}, but the file of that name here is"
           f" NOT the one it names (it is signed by host key {other}, that file is signed by"
           f" host key {_signer(second)})")  # fmt: skip
    # The file itself (rec52c: the folder holds two sessions, refused, exit 2).
    done = cli("export", forged, "--log", tmp_path / "log.jsonl")
    no_traceback(done)
    assert why in done.stdout and "part 3 of 3" not in done.stdout, done.stdout
    assert done.returncode == 10, (done.stdout, done.stderr)
    played = cli("play", forged, "--at", 0, "--out", tmp_path, "--no-cursor")
    no_traceback(played)
    assert why in played.stdout and "part 3 of 3" not in played.stdout, played.stdout
    assert played.returncode == 10, (played.stdout, played.stderr)


def test_a_real_signed_session_resumed_once_still_is_one_session(
    signed: list[Path], tmp_path: Path,
) -> None:
    first, second = _copy(signed, tmp_path / "rec")
    done = cli("verify", "--no-pictures", tmp_path / "rec")
    no_traceback(done)
    assert _lines(done.stdout)[str(second)].endswith(
        f"resumes the session of {first.name}: the file here is the one it names (SHA-256)"
    ), done.stdout
    assert done.returncode == 0, done.stdout
    exported = cli("export", tmp_path / "rec", "--log", tmp_path / "log.jsonl")
    no_traceback(exported)
    assert f"{second}: one session of 2 parts" in exported.stdout, exported.stdout
    assert exported.returncode == 0, (exported.stdout, exported.stderr)
    played = cli("play", tmp_path / "rec", "--at", 0, "--out", tmp_path, "--no-cursor")
    no_traceback(played)
    assert "(part 2 of 2, from t=" in played.stdout, played.stdout
    assert played.returncode == 0, (played.stdout, played.stderr)


def test_a_real_sealed_and_signed_session_resumed_once_still_is_one_session(
    tmp_path: Path,
) -> None:
    generate_keypair(tmp_path / "aud.key", tmp_path / "aud.pub")
    generate_host_keypair(tmp_path / "desk.key", tmp_path / "desk.pub")
    first, second = _session(tmp_path / "rec", 2, auditor=tmp_path / "aud.pub",
                             signer=tmp_path / "desk.key")  # fmt: skip
    key = tmp_path / "aud.key"
    done = cli("verify", "--no-pictures", tmp_path / "rec", "--key", key)
    no_traceback(done)
    assert _lines(done.stdout)[str(second)].endswith(
        f"resumes the session of {first.name}: the file here is the one it names (SHA-256)"
    ), done.stdout
    assert done.returncode == 0, done.stdout
    exported = cli("export", tmp_path / "rec", "--log", tmp_path / "log.jsonl", "--key", key)
    no_traceback(exported)
    assert f"{second}: one session of 2 parts" in exported.stdout, exported.stdout
    assert exported.returncode == 0, (exported.stdout, exported.stderr)


def test_prune_checks_a_kept_parts_claim_before_it_says_its_sessions_start_is_gone(
    signed: list[Path], tmp_path: Path,
) -> None:
    """prune's note on a kept later part whose earlier one it deletes takes
    the same check: the real signed session's second part resumes the
    first; an unsigned file naming the second, every field copied, is no
    part of it (the second deleted, it is kept, saying why)."""
    first, second = _copy(signed, tmp_path / "rec")
    cap = second.stat().st_size + 100
    done = cli("prune", tmp_path / "rec", "--max-size", cap, "--dry-run")
    no_traceback(done)
    kept = [line for line in done.stdout.splitlines() if line.startswith("kept ")]
    assert kept[0].startswith(f"kept {second}: ") and kept[0].endswith(
        f"; it resumes the session of {first.name}, would be deleted now: the session's start"
        " is no longer here"), kept  # fmt: skip
    assert len(kept) == 1, kept
    forged = _unsigned_after(second, tmp_path / "rec" / "zz-forged.screc")
    cap = forged.stat().st_size + 100
    done = cli("prune", tmp_path / "rec", "--max-size", cap)
    no_traceback(done)
    kept = [line for line in done.stdout.splitlines() if line.startswith("kept ")]
    assert len(kept) == 1 and kept[0].startswith(f"kept {forged}: "), done.stdout
    assert kept[0].endswith(f"; its claim to resume the session of {second.name} (deleted now)"
                            " does NOT check out: its signer (none: unsigned) is not that"
                            f" file's ({_signer(signed[1])})"), kept  # fmt: skip
    assert not first.exists() and not second.exists() and forged.exists()


def test_a_real_unsigned_session_still_plays_as_one_its_link_said_unproven(
    tmp_path: Path,
) -> None:
    """Unsigned earlier and later part: the SHA-256 alone, as before; the
    later part's line says what list says of it."""
    first, second = _session(tmp_path / "rec", 2)
    played = cli("play", tmp_path / "rec", "--at", 0, "--out", tmp_path, "--no-cursor")
    no_traceback(played)
    lines = played.stdout.splitlines()
    assert lines[0].startswith(f"{first}: ") and lines[0].endswith(
        " (part 1 of 2, from t=0.00 s of the session)"), lines  # fmt: skip
    assert lines[1].startswith(f"{second}: ") and lines[1].endswith(
        " s of the session; unsigned, so not proven)"), lines  # fmt: skip
    assert f"{second}: one session of 2 parts" in played.stdout, played.stdout
    assert played.returncode == 0, (played.stdout, played.stderr)
