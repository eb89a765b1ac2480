"""Appending chunks to a ``.screc`` file, crash-safe.

:class:`ChunkWriter` writes the magic and the HEADER chunk when it opens,
then appends chunks on an ``O_APPEND`` descriptor with no user-space buffer
beyond its own: once ``append`` (or, with ``batch`` set, the next
``flush``) returned, the chunk is in the kernel and survives a SIGKILL; a
kill in the middle of a write leaves a torn tail that readers ignore. The
recorder batches and flushes each time its queue runs empty, so whatever it
took off the queue reaches the kernel before it sleeps. ``sync()`` adds an
fsync for power loss; the recorder calls it every few seconds and at the end.

With a host ``signer`` (:mod:`.sign`) the writer also keeps a running
SHA-256 of every byte it writes; :meth:`sign` appends a SIGNATURE chunk over
everything before it, and :meth:`close` signs once more after the last chunk.

State: the next chunk index, the sealer, the running hash. Not thread-safe:
one thread owns a writer (the recorder's worker thread).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from screencodec.recording.crypto import ChunkSealer, wrap_key
from screencodec.recording.format import (
    CHUNK_HEADER,
    CHUNK_MAGIC,
    FORMAT,
    MAGIC,
    MAX_PAYLOAD,
    ChunkType,
    crc_trailer,
    json_payload,
)
from screencodec.recording.retention import hold
from screencodec.recording.sign import HostSigner

__all__ = ["ChunkWriter"]

_FLUSH_AT = 1 << 20


class ChunkWriter:
    """A new recording at ``path`` (which must not exist).

    ``auditor``: seal every chunk after the HEADER for this X25519 public key
    (:mod:`.crypto`); None keeps chunks plain with CRC-32 trailers.
    ``signer``: sign the recording with this host key (:meth:`sign`).
    ``start_unix`` is the time origin of every chunk (default: now).
    """

    def __init__(
        self,
        path: Path,
        *,
        auditor: X25519PublicKey | None = None,
        signer: HostSigner | None = None,
        start_unix: float | None = None,
        extra: dict[str, Any] | None = None,
        version: int = 1,
    ) -> None:
        self.path = Path(path)
        self.start_unix = time.time() if start_unix is None else start_unix
        header: dict[str, Any] = {
            "format": FORMAT,
            "version": version,
            "start_unix": self.start_unix,
            "created": datetime.fromtimestamp(self.start_unix, timezone.utc).isoformat(),
            "sealed": auditor is not None,
            "key": None,
            **(extra or {}),
        }
        if signer is not None:
            header["signer"] = signer.entry
        self._sealer: ChunkSealer | None = None
        key = b""
        if auditor is not None:
            key = secrets.token_bytes(32)
            header["key"] = wrap_key(key, auditor)
        body = json_payload(header)
        self._header_digest = hashlib.sha256(body).digest()
        if auditor is not None:
            self._sealer = ChunkSealer(key, self._header_digest)
        self._signer = signer
        #: SHA-256 of every byte written so far (only kept when signing).
        self._chain = hashlib.sha256() if signer is not None else None
        self._last_us = 0  # the last chunk's time: a signature's own time
        self.signed_index = -1  #: the last SIGNATURE chunk's index (-1: none yet)
        self.signatures = 0
        self.index = 0
        self.bytes_written = 0
        self.closed = False
        #: True: ``append`` keeps chunks until :meth:`flush` (or 1 MiB); the
        #: recorder flushes whenever its queue runs empty.
        self.batch = False
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        hold(self._fd)  # prune leaves it alone until it is closed
        self._write(MAGIC)
        self._append(ChunkType.HEADER, body, 0, 0, plain=True)

    @property
    def sealed(self) -> bool:
        return self._sealer is not None

    @property
    def signing(self) -> bool:
        return self._signer is not None

    @property
    def unsigned(self) -> bool:
        """Whether chunks were appended since the last signature (signing only)."""
        return self._signer is not None and self.signed_index != self.index - 1

    def sign(self) -> None:
        """Append a SIGNATURE chunk over every byte before it (and hand it to
        the kernel with what is pending): from here, a killed host leaves a
        recording that verifies as signed up to this chunk."""
        if self._signer is None or self._chain is None:
            raise ValueError("this writer has no signer")
        self.flush()  # the chain covers what reached the file, in order
        n, time_us = self.index, self._last_us
        payload = self._signer.sign(self._header_digest, n, self.bytes_written,
                                    self._chain.digest(), time_us)  # fmt: skip
        self._append(ChunkType.SIGNATURE, payload, time_us, 0, plain=True)
        self.flush()
        self.signed_index = n
        self.signatures += 1

    def append(
        self, ctype: ChunkType, payload: bytes | memoryview, time_us: int, flags: int = 0
    ) -> int:
        """Write one chunk; returns its index."""
        return self._append(ctype, payload, time_us, flags, plain=False)

    def _append(
        self, ctype: ChunkType, payload: bytes | memoryview, time_us: int, flags: int, *,
        plain: bool,
    ) -> int:  # fmt: skip
        if len(payload) > MAX_PAYLOAD:
            raise ValueError(f"chunk of {len(payload)} bytes")
        index = self.index
        head = CHUNK_HEADER.pack(CHUNK_MAGIC, ctype, flags, 0, index, time_us, len(payload))
        if self._sealer is not None and not plain:
            body = self._sealer.seal(index, head, payload)  # ciphertext + tag
            self._pending += (head, body)
        else:
            self._pending += (head, bytes(payload), crc_trailer(head, payload))
        self._pending_bytes += len(payload) + 40
        self.index += 1
        self._last_us = max(self._last_us, time_us)
        if not self.batch or self._pending_bytes >= _FLUSH_AT:
            self.flush()
        return index

    def flush(self) -> None:
        """Hand the chunks appended since the last flush to the kernel (one
        write; after it they survive the process)."""
        if self._pending:
            self._write(b"".join(self._pending))
            self._pending.clear()
            self._pending_bytes = 0

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        self.bytes_written += len(data)
        if self._chain is not None:
            self._chain.update(data)

    def sync(self) -> None:
        if not self.closed:
            self.flush()
            os.fsync(self._fd)

    def close(self) -> None:
        """Sign what is not signed yet (the END chunk), then close the file."""
        if not self.closed:
            if self.unsigned:
                self.sign()
            self.flush()
            os.fsync(self._fd)
            os.close(self._fd)
            self.closed = True
