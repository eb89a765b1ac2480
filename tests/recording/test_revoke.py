"""Revoking a host key (``recordings revoke``): the auditor's pin file keeps
the key, with the time as of which it is revoked. ``verify --hosts`` then
refuses a recording with a signature of that key dated after the time
(``revoked``, exit 8) and still verifies one signed wholly before it, saying
it was signed by a key later revoked. Each attempt to get round a
revocation without the key (a HEADER backdated, the late signatures cut
off) has its verdict. Everything runs through the real command line.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from screencodec.recording import generate_host_keypair
from screencodec.recording.sign import host_key_id, load_host_public_key, load_pins, utc_text

from .test_attack_craft import START, cli, no_traceback
from .test_signed_attacks import header_with, redo, signed, split, write

# signed(): signatures at START + 0.4 s (chunk 6), + 0.8 s (chunk 11) and
# after END at + 1.0 s (chunk 15).
AS_OF = START + 0.6


def _kid(keys: Path, name: str) -> str:
    return host_key_id(load_host_public_key(keys / f"{name}.pub"))


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    """h1 and h2 (pinned in pins.pub), each a host's key pair."""
    d = tmp_path / "keys"
    d.mkdir()
    for name in ("h1", "h2"):
        generate_host_keypair(d / f"{name}.key", d / f"{name}.pub")
    (d / "pins.pub").write_text("# the company's hosts\n" + (d / "h1.pub").read_text()
                                + (d / "h2.pub").read_text())  # fmt: skip
    os.chmod(d / "pins.pub", 0o640)
    return d


def _verify(path: Path, pins: Path) -> tuple[int, str]:
    done = cli("verify", path, "--hosts", pins)
    no_traceback(done)
    return done.returncode, done.stdout + done.stderr


def _revoke(pins: Path, key: object, *more: object) -> tuple[int, str]:
    done = cli("revoke", pins, key, *more)
    no_traceback(done)
    return done.returncode, done.stdout + done.stderr


def test_a_revoked_key_refuses_what_it_signed_after_and_keeps_what_it_signed_before(
        keys: Path, tmp_path: Path) -> None:  # fmt: skip
    pins = keys / "pins.pub"
    after = signed(tmp_path / "after.screc", keys / "h1.key")  # signatures at +0.4 .. +1.0
    before = signed(tmp_path / "before.screc", keys / "h1.key", start=START - 3600)
    other = signed(tmp_path / "other.screc", keys / "h2.key")
    for path in (after, before, other):
        assert _verify(path, pins)[0] == 0
    kid = _kid(keys, "h1")
    code, out = _revoke(pins, kid, "--as-of", utc_text(AS_OF, "T"), "--reason",
                        "laptop stolen\nfrom the car")  # fmt: skip
    assert code == 0, out
    assert f"host key {kid} revoked as of {utc_text(AS_OF)} in {pins}" in out, out
    # Persisted in the pin file itself, the reason in a comment on one line.
    text = pins.read_text()
    assert f"screencodec-host-revoked-v1 {(keys / 'h1.pub').read_text().split()[1]} " \
           f"{utc_text(AS_OF, 'T')}\n" in text, text  # fmt: skip
    assert "as of 2023-11-14 22:13:20.600000Z: laptop stolen from the car\n" in text, text
    assert (keys / "h2.pub").read_text() in text
    assert pins.stat().st_mode & 0o777 == 0o640
    assert not [p for p in keys.iterdir() if p.name.startswith(".")]  # no temporary file left
    assert load_pins(pins).revoked == {load_pins(keys / "h1.pub").keys[kid]: AS_OF}

    code, out = _verify(after, pins)
    assert code == 8, out
    assert (f"{after}: revoked: NOT verified: signed by pinned host {kid}, whose key is "
            f"revoked as of {utc_text(AS_OF)}; its SIGNATURE chunk 11 is dated "
            f"{utc_text(START + 0.8)} (t=0.800 s), after that; signed before the "
            "revocation: chunks 0 to 6 only; checked: 16 chunks") in out, out
    code, out = _verify(before, pins)
    assert code == 0, out
    assert (f"signed by pinned host {kid}: every chunk; signed by a key later revoked: "
            f"host key {kid} is revoked as of {utc_text(AS_OF)}, after every signature of "
            "this recording") in out, out
    code, out = _verify(other, pins)
    assert code == 0 and "revoked as of" not in out, out
    # Several files: the lowest code that applies; 0 only if all are 0.
    done = cli("verify", before, after, other, "--hosts", pins)
    assert done.returncode == 8 and done.stdout.count(": revoked: ") == 1, done.stdout


def test_revoking_again_only_moves_the_time_earlier(keys: Path) -> None:
    pins, kid = keys / "pins.pub", _kid(keys, "h1")
    assert _revoke(pins, kid, "--as-of", "2026-12-04T21:00:00+01:00")[0] == 0
    code, out = _revoke(pins, keys / "h1.pub", "--as-of", "2026-12-05T00:00:00Z")
    assert code == 2, out
    assert (f"host key {kid} is revoked already as of 2026-12-04 20:00:00Z, not later than "
            "2026-12-05 00:00:00Z: nothing changed") in out, out
    code, out = _revoke(pins, keys / "h1.pub", "--as-of", "2026-12-01T00:00:00Z")
    assert code == 0, out
    text = pins.read_text()
    assert text.count("screencodec-host-revoked-v1") == 1, text
    assert " 2026-12-01T00:00:00Z\n" in text, text


@pytest.mark.parametrize(("args", "says"), [
    (["0123456789abcdef"], "host key 0123456789abcdef is not pinned there"),
    (["KEY:h2", "--as-of", "2026-12-04T21:00:00"], "not an ISO 8601 time with its zone"),
    (["KEY:h2", "--as-of", "yesterday"], "not an ISO 8601 time with its zone"),
    (["KEY:h2.key"], "h2.key"),  # the private key given by mistake: not a .pub
])  # fmt: skip
def test_revoke_mistakes_change_nothing(keys: Path, args: list[str], says: str) -> None:
    pins = keys / "pins.pub"
    before = pins.read_bytes()
    args = [str(keys / a[4:]) if a.startswith("KEY:") else a for a in args]
    code, out = _revoke(pins, *args)
    assert code == 2 and says in out, out
    assert pins.read_bytes() == before


def test_a_key_not_pinned_there_is_not_revoked(keys: Path, tmp_path: Path) -> None:
    generate_host_keypair(tmp_path / "rogue.key", tmp_path / "rogue.pub")
    code, out = _revoke(keys / "pins.pub", tmp_path / "rogue.pub")
    assert code == 2 and "is not pinned there: nothing to revoke" in out, out


def test_revoke_in_a_directory_of_pins(keys: Path, tmp_path: Path) -> None:
    """--hosts DIR: the key's own .pub is rewritten (mode kept), the others not."""
    d = tmp_path / "pins"
    d.mkdir()
    for name in ("h1", "h2"):
        (d / f"{name}.pub").write_bytes((keys / f"{name}.pub").read_bytes())
    os.chmod(d / "h1.pub", 0o600)
    code, out = _revoke(d, _kid(keys, "h1"), "--as-of", utc_text(AS_OF, "T"))
    assert code == 0 and f"in {d / 'h1.pub'}:" in out, out
    assert "screencodec-host-revoked-v1" in (d / "h1.pub").read_text()
    assert (d / "h2.pub").read_bytes() == (keys / "h2.pub").read_bytes()
    assert (d / "h1.pub").stat().st_mode & 0o777 == 0o600
    rec = signed(tmp_path / "r.screc", keys / "h1.key")
    assert _verify(rec, d)[0] == 8


def test_getting_round_a_revocation_without_the_key(keys: Path, tmp_path: Path) -> None:
    """Tamper attempts on a recording signed after the revocation."""
    pins, kid = keys / "pins.pub", _kid(keys, "h1")
    assert _revoke(pins, kid, "--as-of", utc_text(AS_OF, "T"))[0] == 0
    chunks = split(signed(tmp_path / "after.screc", keys / "h1.key"))
    # 1. The HEADER's start moved an hour back, so that every signature would
    # be dated before the revocation: the HEADER is signed. Damaged (1).
    moved = write(tmp_path / "moved.screc",
                  [redo(header_with(chunks[0], start_unix=START - 3600)), *chunks[1:]])
    code, out = _verify(moved, pins)
    assert code == 1 and ": damaged: " in out and "is not host key" in out, out
    # 2. Cut right after the last signature dated before the revocation: all
    # that is left is signed before it, but it stops early: cut short (2).
    cut = write(tmp_path / "cut.screc", chunks[:7])
    code, out = _verify(cut, pins)
    assert code == 2 and ": incomplete: " in out and "no END chunk" in out, out
    # 3. The first late signature and all after it cut off: updates 4-7 are
    # signed by nobody: signed-prefix (6).
    tail = write(tmp_path / "tail.screc", chunks[:11])
    code, out = _verify(tail, pins)
    assert code == 6 and ": signed-prefix: " in out and "up to chunk 6" in out, out
