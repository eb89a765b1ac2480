"""Host-signed recordings attacked by someone without the host's signing key:
forged recordings (the auditor key is public), chunks changed, removed or
reordered after signing (CRCs and indexes made right again), a signature
taken from another recording or replayed from a shorter prefix, the
HEADER's host key swapped, signatures stripped, a tail added or cut. The
auditor runs ``verify --hosts`` as a user does (a process of its own); each
attack has its verdict and exit code (docs/recording.md, "Host signatures").
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from screencodec.recording import generate_host_keypair, generate_keypair
from screencodec.recording.format import (
    CHUNK_HEADER,
    CHUNK_MAGIC,
    MAGIC,
    PLAIN_TYPES,
    TAG_SIZE,
    ChunkFlags,
    ChunkHeader,
    ChunkType,
    crc_trailer,
    json_payload,
)
from screencodec.recording.sign import (
    SIGNATURE_PAYLOAD,
    as_signer,
    host_key_id,
    load_host_public_key,
)
from screencodec.recording.writer import ChunkWriter

from .synth import synth
from .test_attack_craft import START, cli, end, fill, meta, no_traceback, update

UPDATES = 10
SIGN_AFTER = (3, 7)  #: a SIGNATURE after these updates (0-based), and one after END
# The layout of signed(): 0 HEADER, 1 META, 2-5 updates 0-3, 6 SIGNATURE,
# 7-10 updates 4-7, 11 SIGNATURE, 12-13 updates 8-9, 14 END, 15 SIGNATURE.


def signed(path: Path, key: Path | None, *, start: float = START, auditor: Path | None = None,
           rgb: int = 0x102030) -> Path:  # fmt: skip
    """A recording written by the host's own writer, signed with ``key``
    after updates 3 and 7 and at the end (None: unsigned, same chunks
    otherwise)."""
    from screencodec.recording import load_public_key

    w = ChunkWriter(path, signer=as_signer(key), start_unix=start,
                    auditor=None if auditor is None else load_public_key(auditor))  # fmt: skip
    w.batch = True
    w.append(ChunkType.META, json_payload(meta()), 0)
    for i in range(UPDATES):
        body = update(fill(64, 48, rgb + 0x10 * i, seq=i + 1), i + 1)
        w.append(ChunkType.UPDATE, body, (i + 1) * 100_000, ChunkFlags.KEYFRAME)
        if key is not None and i in SIGN_AFTER:
            w.sign()
    w.append(ChunkType.END, end(UPDATES / 10, updates=UPDATES), UPDATES * 100_000)
    w.close()
    return path


def split(path: Path) -> list[bytes]:
    """The file's chunks, each whole (header, payload, trailer)."""
    data, pos, out = path.read_bytes(), len(MAGIC), []
    first = ChunkHeader.unpack(data, pos)
    sealed = json.loads(data[first.payload_offset : first.payload_offset + first.length])["sealed"]
    while pos < len(data):
        h = ChunkHeader.unpack(data, pos)
        trailer = 4 if h.type in PLAIN_TYPES or not sealed else TAG_SIZE
        end_ = h.payload_offset + h.length + trailer
        out.append(data[pos:end_])
        pos = end_
    return out


def redo(chunk: bytes, index: int | None = None, payload: bytes | None = None) -> bytes:
    """A plain chunk with another index and/or payload, its CRC made right
    (what anyone can do: a CRC is no secret)."""
    _, ctype, flags, _, old, time_us, length = CHUNK_HEADER.unpack_from(chunk)
    body = chunk[CHUNK_HEADER.size : CHUNK_HEADER.size + length] if payload is None else payload
    head = CHUNK_HEADER.pack(CHUNK_MAGIC, ctype, flags, 0, old if index is None else index,
                             time_us, len(body))  # fmt: skip
    return head + body + crc_trailer(head, body)


def renumber(chunks: list[bytes]) -> list[bytes]:
    return [redo(c, i) for i, c in enumerate(chunks)]


def edit_payload(chunk: bytes) -> bytes:
    """An UPDATE chunk whose fill colour's first byte is changed."""
    length = CHUNK_HEADER.unpack_from(chunk)[6]
    body = bytearray(chunk[CHUNK_HEADER.size : CHUNK_HEADER.size + length])
    body[-3] ^= 0x55
    return redo(chunk, payload=bytes(body))


def header_with(chunk: bytes, **changes: object) -> bytes:
    length = CHUNK_HEADER.unpack_from(chunk)[6]
    head = json.loads(chunk[CHUNK_HEADER.size : CHUNK_HEADER.size + length])
    head.update(changes)
    head = {k: v for k, v in head.items() if k not in changes or v is not None}
    return redo(chunk, payload=json_payload(head))


def rechain(chunks: list[bytes]) -> list[bytes]:
    """Each SIGNATURE's ``prefix`` (and CRC) made right for the bytes before
    it, as anyone can (SHA-256 needs no key); its Ed25519 signature kept."""
    out: list[bytes] = []
    for c in chunks:
        if ChunkHeader.unpack(c, 0).type is not ChunkType.SIGNATURE:
            out.append(c)
            continue
        before = MAGIC + b"".join(out)
        n, _, _, sig = SIGNATURE_PAYLOAD.unpack(c[CHUNK_HEADER.size : -4])
        fixed = SIGNATURE_PAYLOAD.pack(n, len(before), hashlib.sha256(before).digest(), sig)
        out.append(redo(c, payload=fixed))
    return out


def write(path: Path, chunks: list[bytes]) -> Path:
    path.write_bytes(MAGIC + b"".join(chunks))
    return path


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """h1, h2 (pinned hosts), rogue (not pinned), aud (the auditor); the
    pin file pinned.pub holds h1 and h2."""
    d = tmp_path_factory.mktemp("signed-keys")
    for name in ("h1", "h2", "rogue"):
        generate_host_keypair(d / f"{name}.key", d / f"{name}.pub")
    generate_keypair(d / "aud.key", d / "aud.pub")
    (d / "pinned.pub").write_text("# the company's hosts\n" + (d / "h1.pub").read_text()
                                  + "\n" + (d / "h2.pub").read_text())  # fmt: skip
    return d


def kid(keys: Path, name: str) -> str:
    return host_key_id(load_host_public_key(keys / f"{name}.pub"))


def verify(path: Path, *args: object) -> tuple[int, str]:
    done = cli("verify", path, *args)
    no_traceback(done)
    return done.returncode, done.stdout


def test_layout_of_the_signed_fixture(keys: Path, tmp_path: Path) -> None:
    chunks = split(signed(tmp_path / "a.screc", keys / "h1.key"))
    types = [ChunkHeader.unpack(c, 0).type for c in chunks]
    assert len(chunks) == 16 and types[-2:] == [ChunkType.END, ChunkType.SIGNATURE]
    assert [i for i, t in enumerate(types) if t is ChunkType.SIGNATURE] == [6, 11, 15]


# -- forging a whole recording --------------------------------------------


def test_forged_sealed_recording_without_host_key_is_refused(keys: Path, tmp_path: Path
                                                             ) -> None:  # fmt: skip
    # Anyone has the auditor's public key: a made-up session sealed with it.
    forged, _ = synth(tmp_path / "forged", frames=4, auditor=keys / "aud.pub")
    code, out = verify(forged, "--key", keys / "aud.key")
    assert code == 0 and ": complete:" in out  # the gap: the seal cannot tell who wrote it
    code, out = verify(forged, "--key", keys / "aud.key", "--hosts", keys / "pinned.pub")
    assert code == 4 and ": unsigned: NOT verified as a host's recording" in out, out


def test_forged_sealed_recording_with_unknown_host_key_is_refused(keys: Path, tmp_path: Path
                                                                  ) -> None:  # fmt: skip
    forged, _ = synth(tmp_path / "forged", frames=4, auditor=keys / "aud.pub",
                      signer=keys / "rogue.key")  # fmt: skip
    code, out = verify(forged, "--key", keys / "aud.key", "--hosts", keys / "pinned.pub")
    assert code == 5 and f"signed by host key {kid(keys, 'rogue')}, which is NOT among" in out
    # The same file from a pinned host passes.
    real, _ = synth(tmp_path / "real", frames=4, auditor=keys / "aud.pub", signer=keys / "h2.key")
    code, out = verify(real, "--key", keys / "aud.key", "--hosts", keys / "pinned.pub")
    assert code == 0 and f"signed by pinned host {kid(keys, 'h2')}: every chunk" in out, out


# -- a signed recording changed afterwards ------------------------------------


def _attacked(attack: str, a: list[bytes], other: list[bytes], keys: Path) -> list[bytes]:
    if attack == "untouched":
        return a
    if attack == "chunk_changed":  # update 5 (chunk 8), CRC fixed
        return [*a[:8], edit_payload(a[8]), *a[9:]]
    if attack == "chain_recomputed":  # chunk 8 changed, every later prefix hash made right
        return rechain([*a[:8], edit_payload(a[8]), *a[9:]])
    if attack == "chunk_removed":  # chunk 8 out, the rest renumbered
        return renumber([*a[:8], *a[9:]])
    if attack == "chunks_reordered":  # chunks 8 and 9 swapped, renumbered
        return renumber([*a[:8], a[9], a[8], *a[10:]])
    if attack == "chunk_inserted":  # a copy of update 2 (chunk 4) again after chunk 9
        return renumber([*a[:10], a[4], *a[10:]])
    if attack == "signature_from_other_recording":  # same host, another session
        return [*a[:15], other[15]]
    if attack == "header_key_swapped":  # names h2 (pinned too); the signatures are h1's
        h2 = (keys / "h2.pub").read_text().split()[1]
        return [header_with(a[0], signer={"alg": "Ed25519", "key_id": kid(keys, "h2"),
                                          "public": h2}), *a[1:]]  # fmt: skip
    if attack == "shorter_signature_replayed_at_end":  # cut after update 9, chunk 6 again
        return [*a[:14], redo(a[6], 14)]
    if attack == "shorter_signature_replayed_after_forged_end":
        return [*a[:14], a[14], redo(a[11], 15)]
    if attack == "signatures_stripped":  # no signer, no SIGNATURE: a plain unsigned file
        kept = [c for c in a[1:] if ChunkHeader.unpack(c, 0).type is not ChunkType.SIGNATURE]
        return renumber([header_with(a[0], signer=None), *kept])
    if attack == "signatures_stripped_signer_kept":
        return renumber([c for c in a if ChunkHeader.unpack(c, 0).type is not ChunkType.SIGNATURE])
    if attack == "signature_left_without_signer":
        return [header_with(a[0], signer=None), *a[1:]]
    if attack == "tail_appended":  # final SIGNATURE and END off, an update and END on
        return [*a[:14], redo(a[13], 14), redo(a[14], 15)]
    if attack == "tail_cut_after_signature":  # a host killed right after signing
        return a[:12]
    if attack == "tail_cut":  # a host killed 2 updates after its last signature
        return a[:14]
    raise AssertionError(attack)


@pytest.mark.parametrize(("attack", "code", "says"), [
    ("untouched", 0, ": complete: 16 chunks, 10 updates, 1.000 s; signed by pinned host {h1}: "
                     "every chunk"),
    ("chunk_changed", 1, "the chain breaks at SIGNATURE chunk 11: the bytes before it are not "
                         "the ones the host signed (a chunk from 7 to 10 was changed"),
    ("chain_recomputed", 1, "SIGNATURE chunk 11 is not host key {h1}'s signature of what it "
                            "claims"),
    ("chunk_removed", 1, "SIGNATURE chunk 10 signs the first 11 chunks"),
    ("chunks_reordered", 1, "the chain breaks at SIGNATURE chunk 11"),
    ("chunk_inserted", 1, "SIGNATURE chunk 12 signs the first 11 chunks"),
    ("signature_from_other_recording", 1,
     "SIGNATURE chunk 15 is not host key {h1}'s signature of what it claims"),
    ("header_key_swapped", 1, "SIGNATURE chunk 6 is not host key {h2}'s signature"),
    ("shorter_signature_replayed_at_end", 1, "SIGNATURE chunk 14 signs the first 6 chunks"),
    ("shorter_signature_replayed_after_forged_end", 1,
     "SIGNATURE chunk 15 signs the first 11 chunks"),
    ("signatures_stripped", 4, ": unsigned: NOT verified as a host's recording"),
    ("signatures_stripped_signer_kept", 6, ": signed-prefix: names pinned host {h1} but signed "
                                           "none of 13 intact chunks; chunks 0 to 12"),
    ("signature_left_without_signer", 1, "a SIGNATURE at chunk 6, but the HEADER names no "
                                         "signer"),
    ("tail_appended", 6, ": signed-prefix: signed by pinned host {h1} up to chunk 11 (t=0.800 "
                         "s, 8 updates) of 16 intact chunks; chunks 12 to 15 (to t=1.000 s) "
                         "are NOT signed, so NOT verified: the END chunk is not signed"),
    ("tail_cut_after_signature", 2, ": incomplete: 12 chunks, 8 updates, 0.800 s; intact up "
                                    "to byte"),
    ("tail_cut", 6, ": signed-prefix: signed by pinned host {h1} up to chunk 11 (t=0.800 s, 8 "
                    "updates) of 14 intact chunks; chunks 12 to 13 (to t=1.000 s) are NOT "
                    "signed, so NOT verified: no END chunk"),
])  # fmt: skip
def test_signed_recording_changed_after_signing(keys: Path, tmp_path: Path, attack: str,
                                                code: int, says: str) -> None:  # fmt: skip
    a = split(signed(tmp_path / "a.screc", keys / "h1.key"))
    other = split(signed(tmp_path / "b.screc", keys / "h1.key", start=START + 60, rgb=0x405060))
    path = write(tmp_path / f"{attack}.screc", _attacked(attack, a, other, keys))
    got, out = verify(path, "--hosts", keys / "pinned.pub")
    expected = says.format(h1=kid(keys, "h1"), h2=kid(keys, "h2"))
    assert got == code and expected in out, out
    if attack == "tail_cut_after_signature":
        assert f"signed by pinned host {kid(keys, 'h1')}: every chunk" in out, out


@pytest.mark.parametrize("attack", ["chunk_changed", "chunk_removed", "chunks_reordered",
                                    "chunk_inserted"])  # fmt: skip
def test_without_signatures_the_same_edit_passes(keys: Path, tmp_path: Path, attack: str
                                                 ) -> None:  # fmt: skip
    # The control: the same edits of an unsigned plain recording verify as
    # complete, as every edit did before recordings were signed.
    a = split(signed(tmp_path / "a.screc", None))
    path = write(tmp_path / f"{attack}.screc", _attacked(attack, a, a, keys))
    code, out = verify(path)
    assert code == 0 and ": complete:" in out, out


def test_sealed_signed_recording_changed_is_damaged_even_without_the_auditor_key(
        keys: Path, tmp_path: Path) -> None:  # fmt: skip
    # Signatures are over the bytes as written (ciphertext): the company can
    # check where a recording came from, and that it is unchanged, without
    # the auditor's private key. One flipped ciphertext byte in chunk 8:
    a = split(signed(tmp_path / "a.screc", keys / "h1.key", auditor=keys / "aud.pub"))
    whole = write(tmp_path / "whole.screc", a)
    code, out = verify(whole, "--hosts", keys / "pinned.pub")
    assert code == 3 and "its seal was NOT checked" in out  # unverified, not damaged
    assert f"signed by pinned host {kid(keys, 'h1')}: every chunk" in out, out
    assert verify(whole, "--hosts", keys / "pinned.pub", "--key", keys / "aud.key")[0] == 0
    flipped = bytearray(a[8])
    flipped[CHUNK_HEADER.size + 2] ^= 1
    path = write(tmp_path / "flipped.screc", [*a[:8], bytes(flipped), *a[9:]])
    code, out = verify(path, "--hosts", keys / "pinned.pub")
    assert code == 1 and "the chain breaks at SIGNATURE chunk 11" in out, out
    code, out = verify(path)  # without signatures checked against pins, as before: 3
    assert code == 1 and "the chain breaks at SIGNATURE chunk 11" in out, out


def test_pinned_hosts_as_a_directory_and_bad_pin_files(keys: Path, tmp_path: Path) -> None:
    path = signed(tmp_path / "a.screc", keys / "h1.key")
    pins = tmp_path / "pins"
    pins.mkdir()
    (pins / "h2.pub").write_text((keys / "h2.pub").read_text())
    assert verify(path, "--hosts", pins)[0] == 5
    (pins / "h1.pub").write_text((keys / "h1.pub").read_text())
    assert verify(path, "--hosts", pins)[0] == 0
    # An auditor key, a private key, an empty file: errors, never "nothing pinned".
    for bad in ("aud.pub", "h1.key"):
        done = cli("verify", path, "--hosts", keys / bad)
        no_traceback(done)
        assert done.returncode == 2 and "not a screencodec-host-public-v1 line" in done.stderr
    (tmp_path / "empty").write_text("# nobody\n")
    done = cli("verify", path, "--hosts", tmp_path / "empty")
    assert done.returncode == 2 and "no host public key in it" in done.stderr, done.stderr


def test_keygen_host_writes_key_files(tmp_path: Path) -> None:
    done = cli("keygen", "--host", tmp_path / "desk7")
    assert done.returncode == 0, done.stderr
    priv, pub = tmp_path / "desk7.key", tmp_path / "desk7.pub"
    assert priv.stat().st_mode & 0o777 == 0o600
    assert priv.read_text().startswith("screencodec-host-private-v1 ")
    assert pub.read_text().startswith("screencodec-host-public-v1 ")
    assert f"key id {host_key_id(load_host_public_key(pub))}" in done.stdout
    again = cli("keygen", "--host", tmp_path / "desk7")  # never overwrites a key
    assert again.returncode == 2 and priv.read_text().startswith("screencodec-host-private")


def test_list_shows_the_signer(keys: Path, tmp_path: Path) -> None:
    signed(tmp_path / "a.screc", keys / "h1.key")
    signed(tmp_path / "b.screc", None, start=START + 1)
    done = cli("list", tmp_path)
    assert done.returncode == 0, done.stderr
    lines = sorted(done.stdout.splitlines()[1:], key=lambda line: line.endswith("b.screc"))
    assert f"  {kid(keys, 'h1')}  complete" in lines[0]
    assert "  -                 complete" in lines[1], lines


def test_a_forged_signer_key_id_is_damage(keys: Path, tmp_path: Path) -> None:
    # The HEADER's key id is the file's claim: it must be its key's, or the
    # id that list shows could name another host.
    a = split(signed(tmp_path / "a.screc", keys / "h1.key"))
    h1 = (keys / "h1.pub").read_text().split()[1]
    lie = header_with(a[0], signer={"alg": "Ed25519", "key_id": kid(keys, "h2"), "public": h1})
    code, out = verify(write(tmp_path / "lie.screc", [lie, *a[1:]]), "--hosts",
                       keys / "pinned.pub")  # fmt: skip
    assert code == 1 and "its key_id is not its public key's" in out, out


def test_play_and_export_read_signed_recordings(keys: Path, tmp_path: Path) -> None:
    # SIGNATURE chunks are no pictures, events or cursors: the tools skip them.
    path = signed(tmp_path / "a.screc", keys / "h1.key", auditor=keys / "aud.pub")
    done = cli("export", path, "--key", keys / "aud.key", "--mp4", tmp_path / "a.mp4",
               "--log", tmp_path / "a.jsonl")  # fmt: skip
    no_traceback(done)
    assert done.returncode == 0 and "a.mp4: 10 frames, 1.00 s" in done.stdout, done.stdout
    played = cli("play", path, "--key", keys / "aud.key", "--at", "0.95", "--out", tmp_path)
    assert played.returncode == 0 and "10 updates, 0 checkpoints, complete" in played.stdout
    assert len(list(tmp_path.glob("a_t*.png"))) == 1, played.stdout
