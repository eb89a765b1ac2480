"""Sealed recordings tampered with by someone without the auditor's private
key: another recording's HEADER (its wrapped key) put in front, a chunk
from another recording spliced in, the last tag cut short, chunks removed,
the wrong auditor key given. ``verify --key`` says damaged (1) or cut short
(2), never complete."""

from __future__ import annotations

from pathlib import Path

import pytest

from screencodec.recording import generate_keypair
from screencodec.recording.format import MAGIC, TAG_SIZE, ChunkHeader

from .synth import synth
from .test_attack_craft import cli, craft, no_traceback, picture


def _chunks(path: Path) -> list[bytes]:
    data, pos, out = path.read_bytes(), len(MAGIC), []
    while pos < len(data):
        h = ChunkHeader.unpack(data, pos)
        end = h.payload_offset + h.length + (4 if h.index == 0 else TAG_SIZE)
        out.append(data[pos:end])
        pos = end
    return out


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[bytes], list[bytes]]:
    d = tmp_path_factory.mktemp("attack-sealed")
    generate_keypair(d / "aud.key", d / "aud.pub")
    generate_keypair(d / "other.key", d / "other.pub")
    a, _ = synth(d / "a", frames=4, auditor=d / "aud.pub")
    b, _ = synth(d / "b", frames=4, auditor=d / "aud.pub")
    return d, _chunks(a), _chunks(b)


@pytest.mark.parametrize(("attack", "code", "says"), [
    ("untouched", 0, ": complete: 22 chunks"),
    ("other_header", 1, "chunk 1 fails authentication"),  # the other recording's key
    ("other_chunk", 1, "chunk 3 fails authentication"),  # same auditor, another recording
    ("tag_cut", 2, "chunk 21 torn: 5 bytes missing"),
    ("tag_flipped", 1, "chunk 21 fails authentication"),
    ("chunk_removed", 1, "chunk 4 found where chunk 3 belongs"),
    ("end_removed", 2, "no END chunk"),
    # Another auditor's key: not verified (3), not a sign of tampering.
    ("wrong_key", 3, "unverified: sealed for auditor key"),
])  # fmt: skip
def test_tampered_sealed_recording_is_never_complete(
        sealed: tuple[Path, list[bytes], list[bytes]], attack: str, code: int,
        says: str) -> None:  # fmt: skip
    d, a, b = sealed
    key = d / ("other.key" if attack == "wrong_key" else "aud.key")
    chunks = {
        "other_header": [b[0], *a[1:]],
        "other_chunk": [*a[:3], b[3], *a[4:]],
        "chunk_removed": [*a[:3], *a[4:]],
        "end_removed": a[:-1],
    }.get(attack, a)
    data = MAGIC + b"".join(chunks)
    if attack == "tag_cut":
        data = data[:-5]
    elif attack == "tag_flipped":
        data = data[:-1] + bytes([data[-1] ^ 1])
    path = d / f"{attack}.screc"
    path.write_bytes(data)
    done = cli("verify", path, "--key", key)
    no_traceback(done)
    assert done.returncode == code and says in done.stdout, done.stdout


def test_a_plain_recording_given_with_key_is_not_verified(
        sealed: tuple[Path, list[bytes], list[bytes]]) -> None:  # fmt: skip
    # The downgrade: a sealed recording replaced by a plain one that anyone
    # can write (CRC-32s need no key). With --key it said "complete", exit 0.
    d = sealed[0]
    forged = craft(d / "forged.screc", [picture(64, 48)])
    done = cli("verify", forged, "--key", d / "aud.key")
    no_traceback(done)
    assert done.returncode == 3, done.stdout
    assert ": unverified: NOT sealed" in done.stdout and "complete" not in done.stdout
    assert cli("verify", forged).returncode == 0  # without --key: a plain recording, whole
