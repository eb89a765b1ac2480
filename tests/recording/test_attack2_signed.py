"""attack2: host-signed recordings attacked again (docs/recording.md, "Host
signatures"): chunks of another recording of the same host spliced in,
SIGNATURE fields pointing past the end or at nothing, signatures doubled,
bytes after the last signature, and the auditor's pin files and the host's
key file with odd content. Each attack: the exit code and the one line the
auditor reads (no traceback, nothing of a private key printed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from screencodec.errors import IntegrityError
from screencodec.recording.format import CHUNK_HEADER, CHUNK_MAGIC, ChunkHeader, ChunkType
from screencodec.recording.sign import SIGNATURE_PAYLOAD, as_signer, load_pinned_hosts
from screencodec.recording.writer import ChunkWriter

from .test_attack_craft import START, cli, end, fill, json_payload, meta, no_traceback, update
from .test_signed_attacks import keys, kid, rechain, redo, renumber, signed, split, verify, write

__all__ = ["keys"]  # the module fixture, used here


def _sig(chunk: bytes) -> tuple[int, int, bytes, bytes]:
    return SIGNATURE_PAYLOAD.unpack(chunk[CHUNK_HEADER.size : -4])


def _with_sig(chunk: bytes, n: int, covered: int) -> bytes:
    _, _, prefix, sig = _sig(chunk)
    return redo(chunk, payload=SIGNATURE_PAYLOAD.pack(n, covered, prefix, sig))


def _attacked(attack: str, a: list[bytes], b: list[bytes]) -> list[bytes]:
    size = len(b"".join(a)) + 8
    if attack == "spliced_update_same_host":  # b's update 5 (chunk 8) in a's place
        return [*a[:8], b[8], *a[9:]]
    if attack == "spliced_update_rechained":
        return rechain([*a[:8], b[8], *a[9:]])
    if attack == "spliced_signed_block":  # b's chunks 7-11 (4 updates and their signature)
        return [*a[:7], *b[7:12], *a[12:]]
    if attack == "spliced_tail_of_other":  # a up to chunk 11, then b's tail 12-15
        return [*a[:12], *b[12:]]
    if attack == "covered_past_end":
        return [*a[:15], _with_sig(a[15], 15, size * 2)]
    if attack == "covered_zero":
        return [*a[:15], _with_sig(a[15], 15, 0)]
    if attack == "covered_u64_max":
        return [*a[:15], _with_sig(a[15], 15, 2**64 - 1)]
    if attack == "n_zero":
        return [*a[:15], _with_sig(a[15], 0, 0)]
    if attack == "n_u32_max":
        return [*a[:15], _with_sig(a[15], 2**32 - 1, size)]
    if attack == "same_signature_twice":  # the final SIGNATURE again after itself
        return [*a, redo(a[15], 16)]
    if attack == "signature_twice_before_end":  # chunk 11 duplicated in place
        return renumber([*a[:12], a[11], *a[12:]])
    if attack == "short_signature_payload":
        return [*a[:15], redo(a[15], payload=a[15][CHUNK_HEADER.size : -5])]
    raise AssertionError(attack)


@pytest.mark.parametrize(("attack", "says"), [
    ("spliced_update_same_host", "the chain breaks at SIGNATURE chunk 11"),
    ("spliced_update_rechained", "SIGNATURE chunk 11 is not host key {h1}'s signature"),
    ("spliced_signed_block", "SIGNATURE chunk 11 is not host key {h1}'s signature"),
    ("spliced_tail_of_other", "SIGNATURE chunk 15 is not host key {h1}'s signature"),
    ("covered_past_end", "SIGNATURE chunk 15 signs the first 15 chunks ("),
    ("covered_zero", "SIGNATURE chunk 15 signs the first 15 chunks (0 bytes)"),
    ("covered_u64_max", "SIGNATURE chunk 15 signs the first 15 chunks (18446744073709551615"),
    ("n_zero", "SIGNATURE chunk 15 signs the first 0 chunks (0 bytes)"),
    ("n_u32_max", "SIGNATURE chunk 15 signs the first 4294967295 chunks"),
    ("same_signature_twice", "chunk 16 after the END chunk"),
    ("signature_twice_before_end", "SIGNATURE chunk 12 signs the first 11 chunks"),
    ("short_signature_payload", "SIGNATURE chunk 15: a SIGNATURE payload of 107 bytes, not 108"),
])  # fmt: skip
def test_spliced_and_crafted_signatures_are_damage(keys: Path, tmp_path: Path, attack: str,
                                                   says: str) -> None:  # fmt: skip
    a = split(signed(tmp_path / "a.screc", keys / "h1.key"))
    # Another session of the same host, the same layout, other pictures.
    b = split(signed(tmp_path / "b.screc", keys / "h1.key", start=START + 60, rgb=0x405060))
    path = write(tmp_path / f"{attack}.screc", _attacked(attack, a, b))
    code, out = verify(path, "--hosts", keys / "pinned.pub")
    assert code == 1 and ": damaged:" in out and says.format(h1=kid(keys, "h1")) in out, out
    assert len(out.splitlines()) == 1, out


def test_signatures_in_a_row_from_the_writer_verify(keys: Path, tmp_path: Path) -> None:
    # Two SIGNATURE chunks in a row (nothing new between them) are the
    # writer's own: the second vouches for the first.
    path = tmp_path / "twice.screc"
    w = ChunkWriter(path, signer=as_signer(keys / "h1.key"), start_unix=START)
    w.batch = True
    w.append(ChunkType.META, json_payload(meta()), 0)
    w.append(ChunkType.UPDATE, update(fill(64, 48, 0x123456, seq=1), 1), 100_000, 1)
    w.sign()
    w.sign()
    w.append(ChunkType.END, end(0.1, updates=1), 100_000)
    w.close()
    types = [ChunkHeader.unpack(c, 0).type for c in split(path)]
    assert types.count(ChunkType.SIGNATURE) == 3, types
    code, out = verify(path, "--hosts", keys / "pinned.pub")
    assert code == 0 and "every chunk" in out, out


def _torn_update(index: int) -> bytes:
    """A chunk header whose payload (1 MB) is not there: what a torn write leaves."""
    return CHUNK_HEADER.pack(CHUNK_MAGIC, int(ChunkType.UPDATE), 0, 0, index, 2_000_000, 1 << 20)


@pytest.mark.parametrize(("attack", "code", "says"), [
    # Bytes after the final SIGNATURE: nobody signed them, yet the old
    # reader called the file complete, "signed by pinned host: every chunk"
    # (exit 0), whatever the bytes hid.
    ("junk_after_final_signature", 1, "10 bytes after the last chunk (from byte {at}): nothing "
                                      "follows the END chunk and its SIGNATURE"),
    ("torn_chunk_after_final_signature", 1, "chunk 16 after the END chunk"),
    ("junk_after_unsigned_end", 1, "10 bytes after the last chunk (from byte {at}): nothing "
                                   "follows the END chunk"),
    ("torn_update_after_end", 1, "chunk 15 after the END chunk"),
    # The final SIGNATURE torn (a host killed as it wrote it): the END chunk
    # is intact but not signed.
    ("final_signature_torn", 6, "signed by pinned host {h1} up to chunk 11 (t=0.800 s, 8 "
                                "updates) of 15 intact chunks; chunks 12 to 14 (to t=1.000 s) "
                                "are NOT signed, so NOT verified: the END chunk is not signed"),
])  # fmt: skip
def test_bytes_after_the_end(keys: Path, tmp_path: Path, attack: str, code: int, says: str
                             ) -> None:  # fmt: skip
    key = None if attack == "junk_after_unsigned_end" else keys / "h1.key"
    path = signed(tmp_path / "a.screc", key)
    data = path.read_bytes()
    at = len(data)
    if attack == "torn_chunk_after_final_signature":
        data += _torn_update(16) + b"hidden: 14 B"
    elif attack == "torn_update_after_end":
        at = len(data) - len(split(path)[-1])
        data = data[:at] + _torn_update(15)
    elif attack == "final_signature_torn":
        data = data[:-50]
    else:
        data += b"hidden: 10"
    path.write_bytes(data)
    got, out = verify(path, "--hosts", keys / "pinned.pub")
    assert got == code and says.format(at=at, h1=kid(keys, "h1")) in out, out
    if code == 1:
        assert verify(path)[0] == 1  # without --hosts too
        listed = cli("list", tmp_path)
        assert "cut-short" in listed.stdout and " complete " not in listed.stdout, listed.stdout


# -- the auditor's pins and the host's key file -------------------------------


def _pins_verify(keys: Path, tmp_path: Path, pins: Path) -> tuple[int, str, str]:
    path = signed(tmp_path / "a.screc", keys / "h1.key")
    done = cli("verify", path, "--hosts", pins, timeout=60)
    no_traceback(done)
    private = (keys / "h1.key").read_text().split()[1]
    assert private not in done.stdout + done.stderr  # never printed
    assert len((done.stdout + done.stderr).splitlines()) == 1, done
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize(("content", "code", "says"), [
    ("crlf", 0, "signed by pinned host {h1}: every chunk"),
    ("bom", 0, "signed by pinned host {h1}: every chunk"),  # was line 1: not a ... line (2)
    ("cr_only", 0, "signed by pinned host {h1}: every chunk"),
    ("duplicated", 0, "signed by pinned host {h1}: every chunk"),
    ("tabs", 0, "signed by pinned host {h1}: every chunk"),
    ("private_key", 2, "line 1: not a screencodec-host-public-v1 line"),
    ("public_then_private", 2, "line 2: not a screencodec-host-public-v1 line"),
    ("auditor_key", 2, "line 1: not a screencodec-host-public-v1 line"),
    ("nul_line", 2, "line 2: not a screencodec-host-public-v1 line"),
    ("latin1_comment", 2, "not a file of host keys ('utf-8' codec can't decode byte 0xe9"),
    ("label_only", 2, "line 1: not a screencodec-host-public-v1 line"),
    ("key_31_bytes", 2, "line 1: not a screencodec-host-public-v1 line"),
])  # fmt: skip
def test_pin_file_content(keys: Path, tmp_path: Path, content: str, code: int, says: str
                          ) -> None:  # fmt: skip
    pub = (keys / "h1.pub").read_text()
    text = {
        "crlf": pub.replace("\n", "\r\n"), "bom": "\ufeff" + pub,
        "cr_only": pub.rstrip("\n") + "\r" + (keys / "h2.pub").read_text(),
        "duplicated": pub + pub, "tabs": pub.replace(" ", "\t"),
        "private_key": (keys / "h1.key").read_text(),
        "public_then_private": pub + (keys / "h1.key").read_text(),
        "auditor_key": (keys / "aud.pub").read_text(), "nul_line": pub + "\x00\n",
        "latin1_comment": None, "label_only": "screencodec-host-public-v1\n",
        "key_31_bytes": "screencodec-host-public-v1 " + "A" * 40 + "=\n",
    }[content]
    pins = tmp_path / "pins.txt"
    if text is None:
        pins.write_bytes(b"# caf\xe9\n" + pub.encode())
    else:
        pins.write_text(text, newline="")
    got, out, err = _pins_verify(keys, tmp_path, pins)
    assert got == code and says.format(h1=kid(keys, "h1")) in out + err, out + err


@pytest.mark.parametrize(("entry", "says"), [
    ("dev_zero", "z.pub: not a file of host keys (not a regular file)"),  # read for ever
    ("fifo", "z.pub: not a file of host keys (not a regular file)"),  # blocked for ever
    ("directory", "z.pub: not a file of host keys (not a regular file)"),
    ("dangling", "z.pub: not a file of host keys ([Errno 2] No such file or directory"),
    ("huge", "z.pub: not a file of host keys (16777217 bytes, more than 16777216)"),
    ("symlink_to_a_pub", "signed by pinned host {h1}: every chunk"),
])  # fmt: skip
def test_pins_directory_entries(keys: Path, tmp_path: Path, entry: str, says: str) -> None:
    pins = tmp_path / "pins"
    pins.mkdir()
    (pins / "h2.pub").write_text((keys / "h2.pub").read_text())
    z = pins / "z.pub"
    if entry == "dev_zero":
        z.symlink_to("/dev/zero")
    elif entry == "fifo":
        os.mkfifo(z)
    elif entry == "directory":
        z.mkdir()
    elif entry == "dangling":
        z.symlink_to(tmp_path / "nowhere")
    elif entry == "huge":
        with z.open("wb") as f:
            f.truncate((16 << 20) + 1)
    else:
        z.symlink_to(keys / "h1.pub")
    got, out, err = _pins_verify(keys, tmp_path, pins)
    code = 0 if entry == "symlink_to_a_pub" else 2
    assert got == code and says.format(h1=kid(keys, "h1")) in out + err, out + err


def test_pin_file_over_the_limit_is_refused(tmp_path: Path, keys: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from screencodec.recording import sign

    pins = tmp_path / "pins.txt"
    pins.write_text((keys / "h1.pub").read_text() * 40)
    monkeypatch.setattr(sign, "MAX_PINS_FILE", 100_000)
    assert len(load_pinned_hosts(pins)) == 1
    monkeypatch.setattr(sign, "MAX_PINS_FILE", 100)
    with pytest.raises(IntegrityError, match="more than 100"):
        load_pinned_hosts(pins)


def test_host_key_file_mistakes(keys: Path, tmp_path: Path) -> None:
    from .test_signed_host import _host_with_key

    # The host's .pub given for its key (mode 644): not a signing key,
    # rather than "chmod 600" it (the old message).
    said = _host_with_key(tmp_path, keys / "h1.pub")
    assert "not a screencodec-host-private-v1 key file" in said and "chmod" not in said, said
    # A FIFO of mode 600 in the key's place: refused, the host does not hang.
    fifo = tmp_path / "fifo.key"
    os.mkfifo(fifo, 0o600)
    with pytest.raises(IntegrityError, match="not a regular file"):
        as_signer(fifo)
    # The key with CRLF and mode 600 is the key.
    crlf = tmp_path / "crlf.key"
    crlf.write_text((keys / "h1.key").read_text().replace("\n", "\r\n"), newline="")
    crlf.chmod(0o600)
    assert as_signer(crlf).key_id == kid(keys, "h1")  # type: ignore[union-attr]
    # A private key others may read is refused, and its bytes are not said.
    loose = tmp_path / "loose.key"
    loose.write_text((keys / "h1.key").read_text())
    loose.chmod(0o640)
    with pytest.raises(IntegrityError, match=r"others may read \(mode 640\)") as info:
        as_signer(loose)
    assert (keys / "h1.key").read_text().split()[1] not in str(info.value)


@pytest.mark.parametrize(("signer", "says"), [
    ([], "HEADER signer is not an Ed25519 host key"),
    ("h1", "HEADER signer is not an Ed25519 host key"),
    ({"alg": "ed25519"}, "HEADER signer is not an Ed25519 host key"),
    ({"alg": "Ed25519", "key_id": "0", "public": "AAAA"}, "its public key is not 32 bytes"),
    ({"alg": "Ed25519", "key_id": "0", "public": None}, "its public key is not 32 bytes"),
    ({"alg": "Ed25519", "key_id": "0", "public": "A" * 43 + "= x"}, "not 32 bytes"),
    ("upper", "its key_id is not its public key's"),
    ("prefix", "its key_id is not its public key's"),
])  # fmt: skip
def test_odd_signer_entries_in_the_header(keys: Path, tmp_path: Path, signer: object, says: str
                                          ) -> None:  # fmt: skip
    from .test_signed_attacks import header_with

    a = split(signed(tmp_path / "a.screc", keys / "h1.key"))
    entry: object = signer
    if signer in ("upper", "prefix"):
        public = (keys / "h1.pub").read_text().split()[1]
        key_id = kid(keys, "h1")
        # A key id the auditor might take for the right one: upper case, or
        # its first 8 digits (ids that collide by prefix).
        key_id = key_id.upper() if signer == "upper" else key_id[:8]
        entry = {"alg": "Ed25519", "key_id": key_id, "public": public}
    path = write(tmp_path / "odd.screc", [header_with(a[0], signer=entry), *a[1:]])
    code, out = verify(path, "--hosts", keys / "pinned.pub")
    assert code == 1 and ": damaged: " in out and says in out, out
    assert len(out.splitlines()) == 1
