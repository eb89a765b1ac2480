"""Retention: delete recordings older than N days and keep a directory under a size cap.

Only ``*.screc`` files directly in the directory are considered, and a file's
age is the start time in its own HEADER (the file's mtime when the header
cannot be read), so copying a recording does not make it young again. Age goes
first; then, while the directory's recordings exceed ``max_bytes``, the oldest
go. Recordings being written are never deleted: ``keep``, and any file a
:class:`~screencodec.recording.writer.RecordingWriter` holds open, in this
process or another (it holds a ``flock`` on it until it closes: a
``recordings prune`` run beside a live host deleted the recording of the
session under way).
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no flock; keep= still protects the host's own
    fcntl = None  # type: ignore[assignment]

from screencodec.errors import DecodeError
from screencodec.recording.format import CHUNK_HEADER, MAGIC, ChunkHeader, parse_json

__all__ = [
    "DEFAULT_DAYS", "RetentionPolicy", "being_written", "hold", "parse_size", "prune",
    "recording_start",
]  # fmt: skip

DEFAULT_DAYS = 90.0
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """``days``: delete recordings that started longer ago (None: no age limit).
    ``max_bytes``: then delete the oldest until the rest fit (None: no cap)."""

    days: float | None = DEFAULT_DAYS
    max_bytes: int | None = None


def parse_size(text: str) -> int:
    """``"50G"``, ``"512M"``, ``"1.5T"``, ``"1000"`` -> bytes (powers of 1024)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*", text.upper())
    if match is None:
        raise ValueError(f"not a size: {text!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def hold(fd: int) -> None:
    """Mark the recording open on ``fd`` as being written, until ``fd`` is
    closed (or its process ends): :func:`being_written` then says so."""
    if fcntl is not None:
        with contextlib.suppress(OSError):  # a file system without locks
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def being_written(path: Path) -> bool:
    """Whether a writer holds ``path`` open (see :func:`hold`)."""
    if fcntl is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # also lets go of the lock just taken
    return False


def recording_start(path: Path) -> float:
    """The Unix time a recording started (its HEADER), else its mtime."""
    bad = (OSError, DecodeError, KeyError, TypeError, ValueError)
    with contextlib.suppress(*bad), open(path, "rb") as f:
        head = f.read(len(MAGIC) + CHUNK_HEADER.size)
        if head[: len(MAGIC)] == MAGIC:
            h = ChunkHeader.unpack(head, len(MAGIC))
            if h.length <= 65536:
                return float(parse_json(f.read(h.length), "header")["start_unix"])
    return path.stat().st_mtime


def prune(
    directory: Path,
    policy: RetentionPolicy,
    *,
    keep: set[Path] | frozenset[Path] = frozenset(),
    now: float | None = None,
    dry_run: bool = False,
) -> list[Path]:
    """Apply ``policy`` to ``directory``; returns the files deleted (oldest first)."""
    now = time.time() if now is None else now
    keep = {Path(p).resolve() for p in keep}
    files: list[tuple[float, int, Path]] = []
    for entry in os.scandir(directory):
        path = Path(entry.path)
        if not entry.is_file(follow_symlinks=False) or path.suffix != ".screc":
            continue
        if path.resolve() in keep or being_written(path):
            continue
        files.append((recording_start(path), entry.stat().st_size, path))
    files.sort()
    doomed: list[Path] = []
    if policy.days is not None:
        limit = now - policy.days * 86400
        doomed = [p for start, _, p in files if start < limit]
        files = [f for f in files if f[2] not in doomed]
    if policy.max_bytes is not None:
        total = sum(size for _, size, _ in files) + sum(
            p.stat().st_size for p in keep if p.exists())
        for _, size, path in files:
            if total <= policy.max_bytes:
                break
            doomed.append(path)
            total -= size
    if not dry_run:
        for path in doomed:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    return doomed
