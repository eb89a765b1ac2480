"""Host-signed recordings: who wrote a recording, not only that it is unchanged.

A seal (:mod:`.crypto`) uses the auditor's *public* key, so anyone can write
a sealed recording. A host with an Ed25519 signing key signs what it writes:

* the HEADER names the host's public key (``signer``: ``alg``, ``key_id``,
  ``public``);
* the writer keeps a running SHA-256 over every byte it writes to the file,
  from the magic on: chunk headers, payloads as written (ciphertext when
  sealed) and trailers;
* every ``sign_every`` seconds (and at the end, after the END chunk) it
  appends a SIGNATURE chunk: Ed25519 over :func:`signed_message`, i.e. that
  hash of the file's first ``covered`` bytes, the number of chunks before it
  (its own index), the SHA-256 of the HEADER payload and its chunk time.

A signature vouches for every byte before it, and the next signature covers
this one too. A host killed at any moment leaves a prefix that verifies up to
its last SIGNATURE chunk (at most ``sign_every`` seconds before the kill).

Key files are one line each, as the auditor's: ``screencodec-host-private-v1
<base64>`` (mode 0600) and ``screencodec-host-public-v1 <base64>``. An
auditor pins host keys with a file of public-key lines (or a directory of
``*.pub`` files): :func:`load_pins`. A pinned key is revoked as of a time
by turning its line into ``screencodec-host-revoked-v1 <base64> <ISO 8601
UTC time>`` (:func:`revoke_host`, ``recordings revoke``): its signatures
made after that time are refused, those before it still hold.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import stat
import struct
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from screencodec.errors import DecodeError, IntegrityError
from screencodec.recording.crypto import read_key, write_keypair

__all__ = [
    "SIGNATURE_PAYLOAD",
    "HostSigner",
    "Pins",
    "Signature",
    "as_signer",
    "generate_host_keypair",
    "host_key_id",
    "load_host_private_key",
    "load_host_public_key",
    "load_pinned_hosts",
    "load_pins",
    "parse_utc",
    "revoke_host",
    "signed_message",
    "signer_entry",
    "signer_public_key",
    "utc_text",
]

_PUBLIC = "screencodec-host-public-v1"
_PRIVATE = "screencodec-host-private-v1"
_REVOKED = "screencodec-host-revoked-v1"
ALG = "Ed25519"
#: The context every signed message starts with (never a prefix of another).
CONTEXT = b"screencodec recording signature v1\x00"
#: The signed message after CONTEXT: HEADER digest, n, covered bytes, prefix
#: digest, the SIGNATURE chunk's time_us.
_MESSAGE = struct.Struct("<32sIQ32sq")
#: A SIGNATURE chunk's payload: n (u32), covered bytes (u64), the prefix
#: SHA-256 (32) and the Ed25519 signature (64); little-endian.
SIGNATURE_PAYLOAD = struct.Struct("<IQ32s64s")
_RAW = serialization.Encoding.Raw
_RAWPUB = serialization.PublicFormat.Raw


def _pub_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(_RAW, _RAWPUB)


def host_key_id(public: Ed25519PublicKey | bytes) -> str:
    """First 16 hex digits of SHA-256 of the raw 32-byte public key."""
    raw = public if isinstance(public, bytes) else _pub_bytes(public)
    return hashlib.sha256(raw).hexdigest()[:16]


def generate_host_keypair(private_path: Path, public_path: Path) -> str:
    """Write a new host signing key pair; returns its key id. Refuses to overwrite."""
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(_RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    pub = _pub_bytes(key.public_key())
    write_keypair(private_path, public_path, (_PRIVATE, raw), (_PUBLIC, pub))
    return host_key_id(pub)


def load_host_private_key(path: Path | str) -> Ed25519PrivateKey:
    """The host's signing key. Refused when others than its owner may read
    the file (as ssh refuses such a key): whoever can read it can sign
    recordings as this host."""
    path = Path(path)
    mode = _regular(path, f"a {_PRIVATE} key file", 4096).st_mode & 0o777
    # The content first: a NAME.pub given by mistake (mode 644) is told as
    # not a signing key, not to be chmod'ed.
    raw = read_key(path, _PRIVATE)
    if mode & 0o077:
        raise IntegrityError(f"{path}: a host signing key others may read (mode {mode:03o}): "
                             f"chmod 600 {path}")  # fmt: skip
    return Ed25519PrivateKey.from_private_bytes(raw)


#: The largest pin file read (about 230,000 host keys).
MAX_PINS_FILE = 16 << 20


def _regular(path: Path, what: str, limit: int) -> os.stat_result:
    """``path``'s stat when it is a regular file (after symlinks) of at most
    ``limit`` bytes: a FIFO would block the reader for good, /dev/zero
    would never end."""
    try:
        st = path.stat()
    except OSError as exc:
        raise IntegrityError(f"{path}: not {what} ({exc})") from None
    if not stat.S_ISREG(st.st_mode):
        raise IntegrityError(f"{path}: not {what} (not a regular file)")
    if st.st_size > limit:
        raise IntegrityError(f"{path}: not {what} ({st.st_size} bytes, more than {limit})")
    return st


def load_host_public_key(path: Path | str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(read_key(Path(path), _PUBLIC))


@dataclass(frozen=True)
class Pins:
    """An auditor's pinned host keys (:func:`load_pins`)."""

    keys: dict[str, bytes]  #: key id -> raw public key, revoked keys included
    #: raw public key -> the Unix time as of which it is revoked: its
    #: signatures made after it are refused, those made before it hold.
    revoked: dict[bytes, float]

    def named(self, key: str) -> bytes:
        """The pinned key ``key`` names: a key id (16 hex digits) or a host
        ``.pub`` file. ValueError when it is not pinned here."""
        if re.fullmatch(r"[0-9a-f]{16}", key):
            raw = self.keys.get(key)
        else:
            raw = read_key(Path(key), _PUBLIC)
        if raw is None or raw not in self.keys.values():
            raise ValueError(f"host key {key if raw is None else host_key_id(raw)} is not "
                             "pinned there: nothing to revoke")  # fmt: skip
        return raw


def load_pins(where: Path | str) -> Pins:
    """The host keys an auditor trusts, and which of them are revoked as of when.

    ``where`` is a file of ``screencodec-host-public-v1 <base64>`` lines
    (blank lines and ``#`` comments allowed; a host's ``.pub`` files
    concatenated), or a directory whose ``*.pub`` files (not below it) are
    read as such files. A ``screencodec-host-revoked-v1 <base64> <time>``
    line (:func:`revoke_host` writes it; the time in ISO 8601 with its
    zone, e.g. ``2026-12-04T21:00:00Z``) pins a key revoked as of that
    time; a key both pinned and revoked is revoked (the earliest time
    wins). Any other line, or no key at all, is an error: a typo must not
    silently pin nothing."""
    where = Path(where)
    keys: dict[str, bytes] = {}
    revoked: dict[bytes, float] = {}
    for path in _pin_files(where):
        for number, text in _pin_lines(path):
            raw, as_of = _parse_pin(text)
            if raw is None:
                raise IntegrityError(
                    f"{path}, line {number}: not a {_PUBLIC} line (one host public key "
                    f"per line, as `recordings keygen --host` writes it) nor a {_REVOKED} "
                    "line with its time (as `recordings revoke` writes it)")
            keys[host_key_id(raw)] = raw
            if as_of is not None:
                revoked[raw] = min(as_of, revoked.get(raw, as_of))
    if not keys:
        raise IntegrityError(f"{where}: no host public key in it")
    return Pins(keys, revoked)


def load_pinned_hosts(where: Path | str) -> dict[str, bytes]:
    """The host keys an auditor trusts without reserve: key id -> raw
    public key, the revoked ones left out (:func:`load_pins` has them)."""
    pins = load_pins(where)
    return {kid: raw for kid, raw in pins.keys.items() if raw not in pins.revoked}


def _pin_files(where: Path) -> list[Path]:
    return sorted(where.glob("*.pub")) if where.is_dir() else [where]


def _pin_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, stripped text) of the lines of pin file ``path`` that
    are neither blank nor comments."""
    _regular(path, "a file of host keys", MAX_PINS_FILE)
    try:
        with path.open("rb") as f:  # the size again: it may have grown since
            data = f.read(MAX_PINS_FILE + 1)
        if len(data) > MAX_PINS_FILE:
            raise OSError(f"more than {MAX_PINS_FILE} bytes")
        # utf-8-sig: a leading BOM (an editor's) is no part of line 1.
        lines = data.decode("utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise IntegrityError(f"{path}: not a file of host keys ({exc})") from None
    return [(number, text) for number, line in enumerate(lines, 1)
            if (text := line.strip()) and not text.startswith("#")]  # fmt: skip


def _parse_pin(text: str) -> tuple[bytes | None, float | None]:
    """(raw key, revoked as of) of a pin line; (None, None): not one."""
    parts = text.split()
    if len(parts) == 3 and parts[0] == _REVOKED:
        raw = _parse_line(" ".join(parts[:2]), _REVOKED)
        as_of = parse_utc(parts[2])
        return (raw, as_of) if raw is not None and as_of is not None else (None, None)
    return _parse_line(text, _PUBLIC), None


def parse_utc(text: str) -> float | None:
    """An ISO 8601 time with its zone (``2026-12-04T21:00:00Z``) as Unix
    time; None when it is not one (a time without a zone is ambiguous), or
    when it is not one :func:`utc_text` can say (its year in UTC before 1 or
    after 9999: ``0001-01-01T00:00:00+14:00``): a pin line's time is said
    in the verdict, which must not fail on it."""
    try:
        when = datetime.fromisoformat(text)
        if when.tzinfo is None:
            return None
        unix = when.timestamp()
        utc_text(unix)
    except (ValueError, OverflowError, OSError):
        return None
    return unix


def utc_text(unix: float, sep: str = " ", *, exact: bool = True) -> str:
    """A Unix time as UTC: ``2026-12-04 21:00:00Z``; to the microsecond
    when it is not a whole second (``21:00:00.250000Z``) unless not ``exact``."""
    when = datetime.fromtimestamp(unix, timezone.utc)
    return when.isoformat(sep, "auto" if exact else "seconds").replace("+00:00", "Z")


def revoke_host(where: Path | str, public: bytes, as_of: float, note: str = "") -> list[Path]:
    """Revoke pinned host key ``public`` as of Unix time ``as_of`` in the pin
    file (or directory of ``*.pub`` files) ``where``: every line that pins
    it becomes a ``screencodec-host-revoked-v1`` line with that time, after a
    comment saying when and why (``note``). Each file is rewritten whole
    (a new file renamed over it, same mode). Returns the files changed.

    ValueError when no line pins that key, or when it is revoked already as
    of an earlier time (a revocation is never moved later: that would make
    refused recordings verify again; edit the file by hand to undo one)."""
    where = Path(where)
    kid = host_key_id(public)
    found: list[tuple[Path, float | None]] = []
    for path in _pin_files(where):
        for _, text in _pin_lines(path):
            raw, was = _parse_pin(text)
            if raw == public:
                found.append((path, was))
    if not found:
        raise ValueError(f"host key {kid} is not pinned in {where}: nothing to revoke")
    earlier = [was for _, was in found if was is not None and was <= as_of]
    if earlier:
        raise ValueError(f"host key {kid} is revoked already as of {utc_text(min(earlier))}, "
                         f"not later than {utc_text(as_of)}: nothing changed (a revocation "
                         "is never moved later)")  # fmt: skip
    line = f"{_REVOKED} {base64.b64encode(public).decode()} {utc_text(as_of, 'T')}"
    why = " ".join(note.split())
    comment = (f"# host key {kid} revoked on {utc_text(time.time(), exact=False)} as of "
               f"{utc_text(as_of)}{': ' + why if why else ''}")  # fmt: skip
    changed = []
    for path in dict.fromkeys(p for p, _ in found):
        _rewrite(path.resolve(), public, comment, line)
        changed.append(path)
    return changed


def _rewrite(path: Path, public: bytes, comment: str, line: str) -> None:
    """Pin file ``path`` with every line that pins ``public`` replaced by
    ``comment`` and ``line``; written beside it and renamed over it."""
    text = path.read_bytes().decode("utf-8-sig")
    out = []
    for old in text.splitlines():
        raw, _ = _parse_pin(old.strip())  # a blank line or a comment: (None, None)
        out += [comment, line] if raw == public else [old]
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    mode = path.stat().st_mode & 0o777
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)  # not narrowed by the umask
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("\n".join(out) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _parse_line(text: str, label: str) -> bytes | None:
    parts = text.split()
    if len(parts) != 2 or parts[0] != label:
        return None
    try:
        raw = base64.b64decode(parts[1], validate=True)
    except ValueError:
        return None
    return raw if len(raw) == 32 else None


def signer_entry(public: Ed25519PublicKey) -> dict[str, Any]:
    """The HEADER's ``signer`` entry for a host key."""
    raw = _pub_bytes(public)
    return {"alg": ALG, "key_id": host_key_id(raw), "public": base64.b64encode(raw).decode()}


def signer_public_key(entry: object) -> bytes | None:
    """The raw public key a HEADER's ``signer`` names; None when it names
    none (an unsigned recording); DecodeError when the entry is malformed
    or its ``key_id`` is not that key's (a hostile file's claim)."""
    if entry is None:
        return None
    if not isinstance(entry, dict) or entry.get("alg") != ALG:
        raise DecodeError("HEADER signer is not an Ed25519 host key")
    text = entry.get("public")
    raw = _parse_line(f"{_PUBLIC} {text}", _PUBLIC) if isinstance(text, str) else None
    if raw is None:
        raise DecodeError("HEADER signer: its public key is not 32 bytes of base64")
    if entry.get("key_id") != host_key_id(raw):
        raise DecodeError("HEADER signer: its key_id is not its public key's")
    return raw


def signed_message(header_digest: bytes, n: int, covered: int, prefix_digest: bytes,
                   time_us: int) -> bytes:  # fmt: skip
    """The exact bytes a SIGNATURE chunk signs (docs/recording.md)."""
    return CONTEXT + _MESSAGE.pack(header_digest, n, covered, prefix_digest, time_us)


@dataclass(frozen=True, slots=True)
class Signature:
    """A SIGNATURE chunk's payload."""

    n: int  #: chunks before it (its own index)
    covered: int  #: file bytes before it (magic, chunks 0 .. n-1)
    prefix_digest: bytes  #: SHA-256 of those bytes
    signature: bytes

    def pack(self) -> bytes:
        return SIGNATURE_PAYLOAD.pack(self.n, self.covered, self.prefix_digest, self.signature)

    @classmethod
    def unpack(cls, payload: bytes) -> Signature:
        if len(payload) != SIGNATURE_PAYLOAD.size:
            raise DecodeError(f"a SIGNATURE payload of {len(payload)} bytes, not "
                              f"{SIGNATURE_PAYLOAD.size}")  # fmt: skip
        return cls(*SIGNATURE_PAYLOAD.unpack(payload))

    def check(self, public: bytes, header_digest: bytes, time_us: int) -> bool:
        """Whether the signature is ``public``'s over this payload's claims."""
        message = signed_message(header_digest, self.n, self.covered, self.prefix_digest,
                                 time_us)  # fmt: skip
        try:
            Ed25519PublicKey.from_public_bytes(public).verify(self.signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


class HostSigner:
    """Signs a writer's prefixes with a host key (the writer keeps the hash)."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.entry = signer_entry(key.public_key())
        self.key_id: str = self.entry["key_id"]

    def sign(self, header_digest: bytes, n: int, covered: int, prefix_digest: bytes,
             time_us: int) -> bytes:  # fmt: skip
        """A SIGNATURE chunk's payload."""
        sig = self._key.sign(signed_message(header_digest, n, covered, prefix_digest, time_us))
        return Signature(n, covered, prefix_digest, sig).pack()


def as_signer(key: Ed25519PrivateKey | HostSigner | Path | str | None) -> HostSigner | None:
    """A signer from a key, a key file's path, or None."""
    if key is None or isinstance(key, HostSigner):
        return key
    if isinstance(key, str | Path):
        key = load_host_private_key(key)
    return HostSigner(key)
