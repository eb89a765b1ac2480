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
``*.pub`` files): :func:`load_pinned_hosts`.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
import struct
from dataclasses import dataclass
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
    "Signature",
    "as_signer",
    "generate_host_keypair",
    "host_key_id",
    "load_host_private_key",
    "load_host_public_key",
    "load_pinned_hosts",
    "signed_message",
    "signer_entry",
    "signer_public_key",
]

_PUBLIC = "screencodec-host-public-v1"
_PRIVATE = "screencodec-host-private-v1"
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


def load_pinned_hosts(where: Path | str) -> dict[str, bytes]:
    """The host keys an auditor trusts: key id -> raw public key.

    ``where`` is a file of ``screencodec-host-public-v1 <base64>`` lines
    (blank lines and ``#`` comments allowed; a host's ``.pub`` files
    concatenated), or a directory whose ``*.pub`` files (not below it) are
    read as such files. Any other line, or no key at all, is an error: a
    typo must not silently pin nothing."""
    where = Path(where)
    files = sorted(where.glob("*.pub")) if where.is_dir() else [where]
    pinned: dict[str, bytes] = {}
    for path in files:
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
        for number, line in enumerate(lines, 1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            raw = _parse_line(text, _PUBLIC)
            if raw is None:
                raise IntegrityError(
                    f"{path}, line {number}: not a {_PUBLIC} line (one host public key "
                    "per line, as `recordings keygen --host` writes it)")
            pinned[host_key_id(raw)] = raw
    if not pinned:
        raise IntegrityError(f"{where}: no host public key in it")
    return pinned


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
