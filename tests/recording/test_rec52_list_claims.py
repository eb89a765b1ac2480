"""rec52: ``recordings list`` shows a recording as a later part of the
session of the file it names only when what it names is that file (its
session id, size, SHA-256, signer, and in a signed part that signer's
signature over the claim); else as a session of its own, saying why
(review45: a crafted file took another session's id). A real session
resumed once, signed, recorded by the real Recorder (rec32's set-up: real
Host and Viewers over loopback, a proxy the test cuts); the parts crafted
beside it by the writer with a key of the forger's, or by hand; the command
as the auditor runs it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from screencodec.recording import RecordingReader, generate_host_keypair, generate_keypair
from screencodec.recording.format import ChunkFlags, ChunkType
from screencodec.recording.reader import file_digest
from screencodec.recording.sign import HostSigner
from screencodec.recording.writer import ChunkWriter

from .test_attack_craft import cli, craft, end, event, fill, header, meta, no_traceback, update
from .test_rec32_chain import _session
from .test_review45_list_crafted_parts import _part, _rows


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A real session resumed once, signed by a host key: its two files."""
    home = tmp_path_factory.mktemp("signed")
    generate_host_keypair(home / "desk.key", home / "desk.pub")
    (home / "rec").mkdir()
    return _session(home / "rec", 2, signer=home / "desk.key")


def _copy(files: list[Path], folder: Path) -> list[Path]:
    folder.mkdir()
    return [Path(shutil.copy2(p, folder / p.name)) for p in files]


def _session_id(path: Path) -> str:
    with RecordingReader(path) as r:
        return str(r.meta()["session_id"])


def _names(earlier: Path) -> dict[str, object]:
    """What a resumed link's consent event names of ``earlier`` (the recorder's fields)."""
    return {"file": earlier.name, "session_id": _session_id(earlier), **file_digest(earlier)}


def _forged(path: Path, earlier: Path, signer: HostSigner) -> Path:
    """A part signed by ``signer`` that names ``earlier`` as the recorder would,
    starting a second after it ends."""
    with RecordingReader(earlier) as r:
        start = r.start_unix + r.duration + 1
    w = ChunkWriter(path, signer=signer, start_unix=start)
    session = meta(session_id="forged-sess", start_unix=start)
    w.append(ChunkType.META, json.dumps(session).encode(), 0)
    said = {"type": "consent", "resumed": True, "earlier": _names(earlier)}
    w.append(ChunkType.EVENT, event(said), 1000)
    w.append(ChunkType.UPDATE, update(fill(64, 48)), 2000, ChunkFlags.KEYFRAME)
    w.append(ChunkType.END, end(0.002), 2000)
    w.close()
    return path


def test_a_real_signed_session_resumed_once_lists_as_its_two_parts(
    signed: list[Path], tmp_path: Path,
) -> None:
    first, second = _copy(signed, tmp_path / "rec")
    one, two = _rows(tmp_path / "rec")
    assert one.split()[0] == two.split()[0] == _session_id(first)[:12], (one, two)
    assert one.endswith(f"  part 1 of 2  {first.name}"), one
    assert two.endswith(f"  part 2 of 2 (its link was lost and resumed{_as(second)})"
                        f"  {second.name}"), two  # fmt: skip
    # names52: both rows name the agent as the first part's does.
    assert f"complete  Alice (support) ({_peer(first)})  part " in two, two


def test_a_real_sealed_and_signed_session_lists_as_its_parts_with_the_key(
    tmp_path: Path,
) -> None:
    """Sealed, the claim is in the sealed log (read with --key) and the
    host's signature over it is over the ciphertext: it checks all the same."""
    generate_keypair(tmp_path / "aud.key", tmp_path / "aud.pub")
    generate_host_keypair(tmp_path / "desk.key", tmp_path / "desk.pub")
    first, second = _session(tmp_path / "rec", 2, auditor=tmp_path / "aud.pub",
                             signer=tmp_path / "desk.key")  # fmt: skip
    done = cli("list", tmp_path / "rec", "--key", tmp_path / "aud.key")
    no_traceback(done)
    one, two = done.stdout.splitlines()[1:]
    assert one.split()[0] == two.split()[0] == _session_id_sealed(first, tmp_path), (one, two)
    assert one.endswith(f"  part 1 of 2  {first.name}"), one
    assert two.endswith(f"  part 2 of 2 (its link was lost and resumed"
                        f"{_as(second, tmp_path / 'aud.key')})  {second.name}"), two  # fmt: skip


def _peer(path: Path, key: Path | None = None) -> str:
    """The host's name for the link ``path`` recorded (its META's peer)."""
    with RecordingReader(path, private_key=key) as r:
        return str(r.meta()["peer"])


def _as(path: Path, key: Path | None = None) -> str:
    """What a later part's row says of its own link (names52): " as ADDR"."""
    return f" as {_peer(path, key)}"


def _session_id_sealed(path: Path, home: Path) -> str:
    with RecordingReader(path, private_key=home / "aud.key") as r:
        return str(r.meta()["session_id"])[:12]


def test_a_part_signed_by_another_key_is_a_session_of_its_own(
    signed: list[Path], tmp_path: Path,
) -> None:
    first, second = _copy(signed, tmp_path / "rec")
    other = HostSigner(Ed25519PrivateKey.generate())
    _forged(tmp_path / "rec" / "forged.screc", first, other)
    with RecordingReader(first) as r:
        real = r.signer_id
    one, two, three = _rows(tmp_path / "rec")
    assert one.endswith(f"  part 1 of 2  {first.name}"), one
    assert two.endswith(f"  part 2 of 2 (its link was lost and resumed{_as(second)})"
                        f"  {second.name}"), two  # fmt: skip
    assert three.split()[0] == "forged-sess", three
    assert three.endswith(f"  its claim to resume the session of {first.name} does NOT check"
                          f" out: its signer ({other.key_id}) is not that file's ({real})"
                          "  forged.screc"), three  # fmt: skip


def test_a_part_that_names_the_hosts_key_without_its_signature_is_its_own_session(
    signed: list[Path], tmp_path: Path,
) -> None:
    """The host's public key copied into a crafted HEADER (anyone has it),
    every field of the earlier file copied: no signature of that key."""
    (first,) = _copy(signed[:1], tmp_path / "rec")
    with RecordingReader(first) as r:
        entry, real, start = r.header["signer"], r.signer_id, r.start_unix + r.duration + 1
    said = {"type": "consent", "resumed": True, "earlier": _names(first)}
    craft(tmp_path / "rec" / "forged.screc", [(ChunkType.EVENT, event(said), 1000),
          (ChunkType.UPDATE, update(fill(64, 48)), 2000, ChunkFlags.KEYFRAME)],
          head=header(signer=entry, start_unix=start),
          session=meta(session_id="forged-sess", start_unix=start))  # fmt: skip
    one, forged = _rows(tmp_path / "rec")
    assert "part" not in one, one
    assert forged.split()[0] == "forged-sess", forged
    assert forged.endswith(f"  its claim to resume the session of {first.name} does NOT check"
                           f" out: no good signature of host key {real} covers what it names"
                           "  forged.screc"), forged  # fmt: skip


def test_a_byte_changed_in_the_earlier_part_after_the_fact(
    signed: list[Path], tmp_path: Path,
) -> None:
    """list reads no file whole (the SHA-256 of a 1 GB folder's earlier
    parts cost 1 s of CPU a run): the later part is still listed as the
    session's, the host key's signature over what it names checked, and
    the earlier part's row reads complete, as any file with a byte changed
    in a picture does. verify reads every byte: the earlier part damaged
    (exit 1), the later one's chain broken (exit 10 given alone)."""
    first, second = _copy(signed, tmp_path / "rec")
    with RecordingReader(first) as r:
        at = r.index.chunks[r.index.updates[0]].payload_offset + 8
    data = bytearray(first.read_bytes())
    data[at] ^= 1
    first.write_bytes(data)
    one, two = _rows(tmp_path / "rec")
    assert " complete " in one and one.endswith(f"  part 1 of 2  {first.name}"), one
    assert two.endswith(f"  part 2 of 2 (its link was lost and resumed{_as(second)})"
                        f"  {second.name}"), two  # fmt: skip
    done = cli("verify", "--no-pictures", tmp_path / "rec")
    no_traceback(done)
    said = {line.split(": ", 1)[0]: line for line in done.stdout.splitlines()}
    assert said[str(first)].startswith(f"{first}: damaged: "), done.stdout
    assert said[str(second)].endswith(f"resumes the session of {first.name}, but the file of"
                                      " that name here is NOT the one it names (SHA-256"
                                      " differs)"), done.stdout  # fmt: skip
    assert done.returncode == 1, done.stdout
    alone = cli("verify", "--no-pictures", second)
    assert alone.returncode == 10, alone.stdout


def test_an_earlier_part_cut_short_after_the_fact_is_not_the_one_named(
    signed: list[Path], tmp_path: Path,
) -> None:
    """The earlier part's tail cut off after the later one named it (its
    own session id, its host's signatures up to the cut): its size is not
    the one named, so the later part is a session of its own, saying so."""
    first, second = _copy(signed, tmp_path / "rec")
    with RecordingReader(first) as r:
        cut = r.index.chunks[r.index.end].offset if r.index.end is not None else 0
    assert cut > 0
    with first.open("r+b") as f:
        f.truncate(cut)
    one, two = _rows(tmp_path / "rec")
    assert " cut-short " in one and "part" not in one, one
    assert two.split()[0] == _session_id(second)[:12] != one.split()[0], (one, two)
    assert two.endswith(f"  its claim to resume the session of {first.name} does NOT check"
                        " out: that file is NOT the one it names (its size differs)"
                        f"  {second.name}"), two  # fmt: skip


def test_an_unsigned_part_that_copies_every_field_is_listed_as_unproven(
    tmp_path: Path,
) -> None:
    """What no check can tell: a file unsigned as the earlier one is, whose
    claim copies that file's fields (anyone who can read it can). It is
    listed as the part it says it is, and says that is not proven."""
    real = _part(tmp_path, "real.screc", None, 0, "real-sess")
    _part(tmp_path, "forged.screc", "real.screc", 10, "forged-sess",
          **{k: v for k, v in _names(real).items() if k != "file"})  # fmt: skip
    one, two = _rows(tmp_path)
    assert one.split()[0] == two.split()[0] == "real-sess", (one, two)
    assert two.endswith("  part 2 of 2 (its link was lost and resumed; unsigned, so not"
                        " proven)  forged.screc"), two  # fmt: skip


def test_a_part_naming_a_file_not_here_with_a_key_it_cannot_sign_for(
    signed: list[Path], tmp_path: Path,
) -> None:
    """Its earlier file not in the folder (pruned, say), a claim is its own
    word: one whose HEADER names the host's key without its signature over
    the claim is not called a later part of anything."""
    with RecordingReader(signed[0]) as r:
        entry, real = r.header["signer"], r.signer_id
    said = {"type": "consent", "resumed": True,
            "earlier": {"file": "gone.screc", "session_id": "x", "sha256": None, "bytes": None}}
    craft(tmp_path / "forged.screc", [(ChunkType.EVENT, event(said), 1000),
          (ChunkType.UPDATE, update(fill(64, 48)), 2000, ChunkFlags.KEYFRAME)],
          head=header(signer=entry), session=meta(session_id="forged-sess"))  # fmt: skip
    (row,) = _rows(tmp_path)
    assert row.split()[0] == "forged-sess" and "later part" not in row, row
    assert row.endswith("  its claim to resume the session of gone.screc does NOT check out:"
                        f" no good signature of host key {real} covers what it names"
                        "  forged.screc"), row  # fmt: skip


def test_play_of_a_folder_does_not_take_an_unsigned_part_into_a_signed_session(
    signed: list[Path], tmp_path: Path,
) -> None:
    _first, second = _copy(signed, tmp_path / "rec")
    with RecordingReader(second) as r:
        start = r.start_unix + r.duration + 1
    said = {"type": "consent", "resumed": True, "earlier": _names(second)}
    craft(tmp_path / "rec" / "zz-forged.screc", [(ChunkType.EVENT, event(said), 1000),
          (ChunkType.UPDATE, update(fill(64, 48)), 2000, ChunkFlags.KEYFRAME)],
          head=header(start_unix=start),
          session=meta(session_id="forged-sess", start_unix=start))  # fmt: skip
    done = cli("play", tmp_path / "rec", "--at", 0, "--out", tmp_path, "--no-cursor")
    no_traceback(done)
    assert "(part 3 of 3" not in done.stdout, done.stdout
