"""Appending chunks to a ``.screc`` file, crash-safe.

:class:`ChunkWriter` writes the magic and the HEADER chunk when it opens,
then appends chunks on an ``O_APPEND`` descriptor with no user-space buffer
beyond its own: once ``append`` (or, with ``batch`` set, the next
``flush``) returned, the chunk is in the kernel and survives a SIGKILL; a
kill in the middle of a write leaves a torn tail that readers ignore. The
recorder batches and flushes each time its queue runs empty, so whatever it
took off the queue reaches the kernel before it sleeps. ``sync()`` adds an
fsync for power loss; the recorder calls it every few seconds and at the end.

State: the next chunk index and the sealer. Not thread-safe: one thread owns
a writer (the recorder's worker thread).
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
    FORMAT_VERSION,
    MAGIC,
    MAX_PAYLOAD,
    ChunkType,
    crc_trailer,
    json_payload,
)

__all__ = ["ChunkWriter"]

_FLUSH_AT = 1 << 20


class ChunkWriter:
    """A new recording at ``path`` (which must not exist).

    ``auditor``: seal every chunk after the HEADER for this X25519 public key
    (:mod:`.crypto`); None keeps chunks plain with CRC-32 trailers.
    ``start_unix`` is the time origin of every chunk (default: now).
    """

    def __init__(
        self,
        path: Path,
        *,
        auditor: X25519PublicKey | None = None,
        start_unix: float | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.path = Path(path)
        self.start_unix = time.time() if start_unix is None else start_unix
        header: dict[str, Any] = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "start_unix": self.start_unix,
            "created": datetime.fromtimestamp(self.start_unix, timezone.utc).isoformat(),
            "sealed": auditor is not None,
            "key": None,
            **(extra or {}),
        }
        self._sealer: ChunkSealer | None = None
        key = b""
        if auditor is not None:
            key = secrets.token_bytes(32)
            header["key"] = wrap_key(key, auditor)
        body = json_payload(header)
        if auditor is not None:
            self._sealer = ChunkSealer(key, hashlib.sha256(body).digest())
        self.index = 0
        self.bytes_written = 0
        self.closed = False
        #: True: ``append`` keeps chunks until :meth:`flush` (or 1 MiB); the
        #: recorder flushes whenever its queue runs empty.
        self.batch = False
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        self._write(MAGIC)
        self._append(ChunkType.HEADER, body, 0, 0, plain=True)

    @property
    def sealed(self) -> bool:
        return self._sealer is not None

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

    def sync(self) -> None:
        if not self.closed:
            self.flush()
            os.fsync(self._fd)

    def close(self) -> None:
        if not self.closed:
            self.flush()
            os.fsync(self._fd)
            os.close(self._fd)
            self.closed = True
