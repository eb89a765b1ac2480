"""Recordings sealed at rest: a random key per recording, wrapped for an auditor.

With an auditor's X25519 public key, the writer draws a fresh 32-byte
recording key, seals every chunk after the HEADER with AES-256-GCM under it
and stores the key only wrapped for the auditor (an ephemeral X25519 key
agreement, HKDF-SHA256, ChaCha20-Poly1305). The host that wrote a recording
therefore cannot read it back; only the auditor's private key opens it.

Each chunk's nonce is its index and its associated data is its 24-byte header
plus the SHA-256 of the HEADER chunk's payload. So a changed byte anywhere, a
chunk moved to another place, a chunk from another recording, or an edited
HEADER (another wrapped key, say) fails authentication. A recording key seals
one recording only, so nonces never repeat under a key.

Key files are one line of text each: ``screencodec-auditor-public-v1 <base64>``
and ``screencodec-auditor-private-v1 <base64>`` (the private file is written
mode 0600).
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from screencodec.errors import IntegrityError

__all__ = [
    "ChunkSealer",
    "OtherAuditorError",
    "generate_keypair",
    "key_id",
    "load_private_key",
    "load_public_key",
    "read_key",
    "unwrap_key",
    "wrap_key",
    "write_keypair",
]

_PUBLIC = "screencodec-auditor-public-v1"
_PRIVATE = "screencodec-auditor-private-v1"
_WRAP_INFO = b"screencodec recording key wrap v1"
_NONCE = struct.Struct("<4xQ")
_RAW = serialization.Encoding.Raw
_RAWPUB = serialization.PublicFormat.Raw


def _pub_bytes(key: X25519PublicKey) -> bytes:
    return key.public_bytes(_RAW, _RAWPUB)


def key_id(public: X25519PublicKey) -> str:
    """A short fingerprint of an auditor key (to find the right private key)."""
    return hashlib.sha256(_pub_bytes(public)).hexdigest()[:16]


def generate_keypair(private_path: Path, public_path: Path) -> str:
    """Write a new auditor key pair; returns its key id. Refuses to overwrite."""
    key = X25519PrivateKey.generate()
    raw = key.private_bytes(_RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    pub = key.public_key()
    write_keypair(private_path, public_path, (_PRIVATE, raw), (_PUBLIC, _pub_bytes(pub)))
    return key_id(pub)


def write_keypair(private_path: Path, public_path: Path, private: tuple[str, bytes],
                  public: tuple[str, bytes]) -> None:  # fmt: skip
    """Two one-line key files, ``LABEL <base64>``: the private one created
    mode 0600, neither overwriting a file that exists."""
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(f"{private[0]} {base64.b64encode(private[1]).decode()}\n")
    with open(public_path, "x") as f:
        f.write(f"{public[0]} {base64.b64encode(public[1]).decode()}\n")


def read_key(path: Path, label: str) -> bytes:
    """The 32 raw bytes of a one-line key file of kind ``label``."""
    try:
        text = Path(path).read_text()
    except OSError as exc:  # not there, a folder, unreadable: not a wrong kind (walk39)
        raise IntegrityError(f"{path}: cannot read the key: {exc.strerror or exc}") from None
    except UnicodeDecodeError:  # a binary file
        text = ""
    try:
        kind, b64 = text.split()
        raw = base64.b64decode(b64, validate=True)
    except ValueError:  # Python's words ("not enough values to unpack") said nothing
        raise IntegrityError(f"{path}: not a {label} key file") from None
    if kind != label or len(raw) != 32:
        raise IntegrityError(f"{path}: not a {label} key file")
    return raw


def load_public_key(path: Path) -> X25519PublicKey:
    return X25519PublicKey.from_public_bytes(read_key(path, _PUBLIC))


def load_private_key(path: Path) -> X25519PrivateKey:
    return X25519PrivateKey.from_private_bytes(read_key(path, _PRIVATE))


def _kek(shared: bytes, epk: bytes, recipient: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=epk + recipient, info=_WRAP_INFO).derive(shared)


def wrap_key(recording_key: bytes, auditor: X25519PublicKey) -> dict[str, Any]:
    """The HEADER's ``key`` entry: ``recording_key`` sealed for ``auditor``."""
    eph = X25519PrivateKey.generate()
    epk, rpk = _pub_bytes(eph.public_key()), _pub_bytes(auditor)
    kek = _kek(eph.exchange(auditor), epk, rpk)
    wrapped = ChaCha20Poly1305(kek).encrypt(bytes(12), recording_key, b"screencodec-recording")
    return {
        "alg": "X25519-HKDF-SHA256-ChaCha20Poly1305/AES-256-GCM",
        "key_id": key_id(auditor),
        "epk": base64.b64encode(epk).decode(),
        "wrapped": base64.b64encode(wrapped).decode(),
    }


class OtherAuditorError(IntegrityError):
    """The recording is sealed for another auditor key than the one given
    (the HEADER's ``key_id`` names another): not verified, not damaged."""


def unwrap_key(entry: object, private: X25519PrivateKey) -> bytes:
    """The recording key from a HEADER's ``key`` entry; OtherAuditorError when
    the entry names another auditor key than ``private``'s, IntegrityError
    when ``private`` cannot open it (the entry was altered)."""
    if not isinstance(entry, dict):
        # A hostile HEADER's "key" may be any JSON (attack52: a list, a
        # string or a number died in .get with a traceback, in every
        # command given --key): altered, as a key object with wrong fields.
        raise IntegrityError(
            "the recording key cannot be unwrapped: wrong auditor key or altered header"
        )
    named, mine = entry.get("key_id"), key_id(private.public_key())
    if isinstance(named, str) and named != mine:
        # The id is not authenticated: a changed one makes the right auditor
        # read "another key", never "verified"; the seal still decides that.
        raise OtherAuditorError(
            f"sealed for auditor key {named[:40]}, and the key given is {mine}"
        )
    try:
        epk = base64.b64decode(entry["epk"], validate=True)
        wrapped = base64.b64decode(entry["wrapped"], validate=True)
        eph = X25519PublicKey.from_public_bytes(epk)
        kek = _kek(private.exchange(eph), epk, _pub_bytes(private.public_key()))
        key = ChaCha20Poly1305(kek).decrypt(bytes(12), wrapped, b"screencodec-recording")
    except (KeyError, TypeError, ValueError, InvalidTag):
        raise IntegrityError(
            "the recording key cannot be unwrapped: wrong auditor key or altered header"
        ) from None
    if len(key) != 32:
        raise IntegrityError("the wrapped recording key has the wrong size")
    return key


class ChunkSealer:
    """AES-256-GCM over chunks: nonce = chunk index, associated data = chunk
    header + digest of the HEADER payload. Stateless after construction;
    safe to share between threads (each call builds nothing shared)."""

    def __init__(self, key: bytes, header_digest: bytes) -> None:
        self._aead = AESGCM(key)
        self._digest = header_digest

    def seal(self, index: int, header: bytes, payload: bytes | memoryview) -> bytes:
        """Ciphertext followed by its 16-byte tag."""
        return self._aead.encrypt(_NONCE.pack(index), bytes(payload), header + self._digest)

    def open(self, index: int, header: bytes, sealed: bytes | memoryview) -> bytes:
        try:
            return self._aead.decrypt(_NONCE.pack(index), bytes(sealed), header + self._digest)
        except InvalidTag:
            raise IntegrityError(f"chunk {index} fails authentication") from None
