"""Key schedule and record sealing for the secure channel.

After SPAKE2 both sides hold the same 32-byte key ``K``. HKDF-SHA256, salted
with the hash of the handshake transcript, expands it into four independent
keys: a confirmation key per role and a record key per direction. Records are
sealed with ChaCha20-Poly1305; the nonce is the direction tag plus a 64-bit
sequence counter that is never sent (both sides count), and the associated
data binds protocol label, direction, sequence number and record type. So a
replayed, reordered, dropped, reflected or retyped record fails to open.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from screencodec.errors import ProtocolError, SessionClosedError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

__all__ = [
    "DIRECTION_HOST_TO_VIEWER",
    "DIRECTION_VIEWER_TO_HOST",
    "PROTOCOL_LABEL",
    "SEQ_LIMIT",
    "RecordOpener",
    "RecordSealer",
    "SessionKeys",
    "confirmation_mac",
    "derive_session_keys",
    "export",
    "spake_identities",
    "verify_confirmation",
]

#: Bound into the SPAKE2 identities, the HKDF labels and every record's
#: associated data, so nothing from another protocol version is accepted.
PROTOCOL_LABEL = b"screencodec-transport/1"

DIRECTION_HOST_TO_VIEWER = 1
DIRECTION_VIEWER_TO_HOST = 2

#: Records per direction before the channel must close. 2**64 - 1 so the
#: counter never wraps (a wrapped counter would reuse a nonce).
SEQ_LIMIT = 2**64 - 1

_NONCE = struct.Struct(">IQ")
_AD = struct.Struct(">BQB")


def spake_identities(code: str) -> tuple[bytes, bytes]:
    """SPAKE2 ``(idA, idB)``: the viewer is side A, the host side B.

    Binding the session code and version means a key agreed for one session
    or version is useless for another.
    """
    c = code.encode("ascii")
    return PROTOCOL_LABEL + b" viewer " + c, PROTOCOL_LABEL + b" host " + c


@dataclass(slots=True)
class SessionKeys:
    """The keys of one connection, in bytearrays :meth:`wipe` zeroes: four,
    and ``exporter``, the secret both ends derive values bound to this
    connection alone from (:func:`export`), never a record key."""

    confirm_viewer: bytearray
    confirm_host: bytearray
    host_to_viewer: bytearray
    viewer_to_host: bytearray
    exporter: bytearray = field(default_factory=bytearray)

    def wipe(self) -> None:
        for key in (self.confirm_viewer, self.confirm_host,
                    self.host_to_viewer, self.viewer_to_host, self.exporter):
            key[:] = bytes(len(key))


# cryptography is imported by the first handshake, not with this module: a
# host that prints its password and a viewer that checks its words load it
# only once they connect (startup37).


def _expand(pake_key: bytes, salt: bytes, label: bytes) -> bytearray:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt,
                info=PROTOCOL_LABEL + b" " + label)
    return bytearray(hkdf.derive(pake_key))


def derive_session_keys(pake_key: bytes, transcript_hash: bytes) -> SessionKeys:
    """HKDF the SPAKE2 key into confirmation and per-direction record keys."""
    return SessionKeys(
        confirm_viewer=_expand(pake_key, transcript_hash, b"confirm viewer"),
        confirm_host=_expand(pake_key, transcript_hash, b"confirm host"),
        host_to_viewer=_expand(pake_key, transcript_hash, b"record host->viewer"),
        viewer_to_host=_expand(pake_key, transcript_hash, b"record viewer->host"),
        exporter=_expand(pake_key, transcript_hash, b"exporter"),
    )


def export(exporter: bytearray, label: bytes) -> bytes:
    """32 bytes for ``label`` from a connection's exporter secret: both ends
    of that connection get the same, nobody else can (the secret never
    leaves the process); another label gives an unrelated value."""
    if not any(exporter):
        raise SessionClosedError("the channel's keys are gone")
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=PROTOCOL_LABEL + b" export " + label)
    return hkdf.derive(bytes(exporter))


def confirmation_mac(key: bytearray, role: bytes, transcript_hash: bytes) -> bytes:
    """HMAC-SHA256 over role + transcript hash: proves the sender derived the same key."""
    return hmac.new(bytes(key), b"confirm " + role + b" " + transcript_hash,
                    hashlib.sha256).digest()


def verify_confirmation(key: bytearray, role: bytes, transcript_hash: bytes,
                        mac: bytes) -> bool:
    """Constant-time check of a peer's confirmation MAC."""
    return hmac.compare_digest(confirmation_mac(key, role, transcript_hash), mac)


class _RecordCipher:
    """One direction's AEAD and sequence counter.

    State: ``seq`` is the number of the next record. The AEAD object keeps its
    own copy of the key inside OpenSSL; :meth:`wipe` zeroes our bytearray and
    drops the object, which is as far as Python lets us go.
    """

    __slots__ = ("_aead", "_direction", "_key", "seq", "seq_limit")

    def __init__(self, key: bytearray, direction: int) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

        self._key = key
        self._aead: ChaCha20Poly1305 | None = ChaCha20Poly1305(bytes(key))
        self._direction = direction
        self.seq = 0
        self.seq_limit = SEQ_LIMIT

    def _next(self, rtype: int) -> tuple[ChaCha20Poly1305, bytes, bytes]:
        if self._aead is None:
            raise SessionClosedError("the channel's keys are gone")
        if self.seq >= self.seq_limit:
            raise SessionClosedError("sequence numbers exhausted; the channel must close")
        seq = self.seq
        self.seq += 1
        nonce = _NONCE.pack(self._direction, seq)
        ad = PROTOCOL_LABEL + _AD.pack(self._direction, seq, rtype)
        return self._aead, nonce, ad

    def wipe(self) -> None:
        self._aead = None
        self._key[:] = bytes(len(self._key))


class RecordSealer(_RecordCipher):
    """Seals the records one side sends."""

    __slots__ = ()

    def seal(self, rtype: int, plaintext: bytes) -> bytes:
        aead, nonce, ad = self._next(rtype)
        return aead.encrypt(nonce, plaintext, ad)


class RecordOpener(_RecordCipher):
    """Opens the records one side receives, in order."""

    __slots__ = ()

    def open(self, rtype: int, ciphertext: bytes) -> bytes:
        aead, nonce, ad = self._next(rtype)
        try:
            return aead.decrypt(nonce, ciphertext, ad)
        except _invalid_tag():  # evaluated only when decrypt raised
            raise ProtocolError(
                "a record failed authentication (tampered, replayed, reordered or dropped)"
            ) from None


def _invalid_tag() -> type[Exception]:
    """cryptography's InvalidTag (imported with the cipher that raised it)."""
    from cryptography.exceptions import InvalidTag

    return InvalidTag
