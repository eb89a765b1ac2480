"""Retention: delete recordings older than N days and keep a directory under a size cap.

Only ``*.screc`` files directly in the directory are considered, and a file's
age is the start time in its own HEADER (the file's mtime when the header
cannot be read), so copying a recording does not make it young again. A
recording made by a newer version of screencodec (a HEADER ``version`` above
:data:`~screencodec.recording.format.FORMAT_VERSION`, or a magic of the same
family this one does not know) is dated by the start it states when this
version can read it there; when it cannot, the file is left alone and said
to be (``on_skip``, by default a logged warning): its mtime is no age (a
copy's is the copy's), and deleting a file this version cannot read on a
guess is not ours to do. Age goes
first; then, while the directory's recordings exceed ``max_bytes``, the oldest
go. Recordings being written are never deleted: ``keep``, and any file a
:class:`~screencodec.recording.writer.RecordingWriter` holds open, in this
process or another (it holds a ``flock`` on it until it closes: a
``recordings prune`` run beside a live host deleted the recording of the
session under way).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no flock; keep= still protects the host's own
    fcntl = None  # type: ignore[assignment]

from screencodec.errors import DecodeError
from screencodec.recording.format import (
    CHUNK_HEADER,
    FORMAT_VERSION,
    MAGIC,
    ChunkHeader,
    ChunkType,
    parse_json,
)
from screencodec.recording.reader import header_start
from screencodec.transport.channel.display import safe_text

__all__ = [
    "DEFAULT_DAYS", "RetentionPolicy", "Verdict", "being_written", "delete", "hold", "judge",
    "parse_size", "prune", "recording_start", "size_words", "stated_start",
]  # fmt: skip

_log = logging.getLogger(__name__)

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


def _open_file(path: Path) -> int:
    """``path`` opened to read, if it is a regular file; else OSError. A
    name may have become a FIFO since the directory was listed (whoever
    can write the directory can swap it): opening that to read would wait
    for a writer for good, so it is opened without waiting and let go."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(f"{path}: not a regular file")
    return fd


def being_written(path: Path) -> bool:
    """Whether a writer holds ``path`` open (see :func:`hold`)."""
    if fcntl is None:
        return False
    try:
        fd = _open_file(path)
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


#: The most HEADER bytes read for a date: a newer version's HEADER may be
#: larger than this one's (a few hundred bytes), a damaged length is not read.
_HEADER_READ = 1 << 20
#: What every magic of the format starts with; a newer format's may differ after it.
_FAMILY = MAGIC[:5]


def stated_start(path: Path) -> float | str | None:
    """The Unix time ``path`` states it started (its HEADER's ``start_unix``);
    else, for a recording made by a newer version of screencodec, why it
    cannot be dated (a string); None for anything else that states no start
    (not a recording, a damaged or torn HEADER: dated by its mtime)."""
    try:
        with open(_open_file(path), "rb") as f:
            head = f.read(len(MAGIC) + CHUNK_HEADER.size)
            if head[: len(MAGIC)] != MAGIC:
                if head[: len(_FAMILY)] == _FAMILY and len(head) >= len(MAGIC):
                    return (f"its magic {bytes(head[: len(MAGIC)])!r} is of a newer recording"
                            " format than this version of screencodec reads")
                return None
            h = ChunkHeader.unpack(head, len(MAGIC))
            if h.type is not ChunkType.HEADER or h.length > _HEADER_READ:
                return None
            header = parse_json(f.read(h.length), "HEADER")
    except (OSError, DecodeError):
        return None
    version = header.get("version")
    newer = isinstance(version, int) and not isinstance(version, bool) \
        and version > FORMAT_VERSION
    try:
        return header_start(path, header.get("start_unix"))
    except DecodeError:
        if not newer:
            return None
    return (f"made by a newer version of screencodec (format version {version}) and its"
            " HEADER states no start this version reads")


def recording_start(path: Path) -> float:
    """The Unix time a recording started (its HEADER), else its mtime (also
    for a newer version's file that states no start: :func:`prune` skips
    those, see :func:`stated_start`)."""
    start = stated_start(path)
    return start if isinstance(start, float) else path.stat().st_mtime


def _size(path: Path) -> int:
    """``path``'s size, 0 once it is gone (a kept file that ended, or
    another prune's)."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _warn(path: Path, why: str) -> None:
    # The name is anyone's who can write the directory: no escape sequence
    # reaches the terminal (or the log) the warning is read on.
    _log.warning("%s: not pruned: %s; prune it with that version", safe_text(path, 1000),
                 why)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Verdict:
    """What retention does with one recording, and why, in words a person
    reads (``recordings prune`` prints each: walk44, it deleted files
    without a reason, and said nothing of what it kept)."""

    path: Path
    delete: bool
    why: str


def _days_words(days: float) -> str:
    return f"{days:g} day" + ("" if days == 1 else "s")


def _ago(when: float, now: float) -> str:
    age = max(0.0, now - when) / 86400
    if age < 1:
        return "less than a day ago"
    return f"{age:.0f} day{'' if round(age) == 1 else 's'} ago"


def _dated(start: float | None, mtime: float, now: float) -> tuple[float, str]:
    """When a file counts as made, and the words for it. A start later than
    now (a clock set wrong where it was made, or a file made to lie) is not
    believed: dated by when the file was last written, if earlier, so that
    no file escapes the retention by its own say (review44). A file that
    states no start (not a recording, a damaged HEADER) is dated by that
    too, in words that do not say it "started"."""
    if start is None:
        return mtime, f"not a recording this version reads; last written {_ago(mtime, now)}"
    if start > now + 60:
        when = min(start, mtime)
        return when, f"its stated start is later than now; last written {_ago(when, now)}"
    return start, f"started {_ago(start, now)}"


def judge(
    directory: Path,
    policy: RetentionPolicy,
    *,
    keep: set[Path] | frozenset[Path] = frozenset(),
    now: float | None = None,
    on_skip: Callable[[Path, str], None] = _warn,
) -> list[Verdict]:
    """What :func:`prune` would do with each recording in ``directory``
    (oldest first, those it deletes and those it keeps), each with why; a
    file whose start this version cannot read is ``on_skip``'s, not listed."""
    now = time.time() if now is None else now
    keep = {Path(p).resolve() for p in keep}
    files: list[tuple[float, int, Path]] = []
    ages: dict[Path, str] = {}
    held: list[Verdict] = []
    with os.scandir(directory) as entries:
        for entry in entries:
            path = Path(entry.path)
            if not entry.is_file(follow_symlinks=False) or path.suffix != ".screc":
                continue
            if path.resolve() in keep or being_written(path):
                held.append(Verdict(path, False, "being recorded now (a host writes it)"))
                continue
            start = stated_start(path)
            if isinstance(start, str):
                on_skip(path, start)
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # another prune (the host's, a command's) deleted it just now
            if not stat.S_ISREG(info.st_mode):
                continue  # no longer the file listed (_open_file)
            when, ages[path] = _dated(start, info.st_mtime, now)
            files.append((when, info.st_size, path))
    files.sort()
    why: dict[Path, tuple[bool, str]] = {}
    if policy.days is not None:
        limit = now - policy.days * 86400
        for start, _, path in files:
            age = ages[path]
            if start < limit:
                why[path] = (True, f"{age}, past the retention of {_days_words(policy.days)}")
            else:
                why[path] = (False, f"{age}, within the retention of {_days_words(policy.days)}")
    left = [f for f in files if not why.get(f[2], (False, ""))[0]]
    if policy.max_bytes is not None:
        total = sum(size for _, size, _ in left) + sum(_size(p) for p in keep)
        cap = size_words(policy.max_bytes)
        for _, size, path in left:
            if total <= policy.max_bytes:
                break
            over = f"the oldest while the folder held {size_words(total)}, over the --max-size"
            over += f" of {cap}"
            aged = why.get(path, (False, ""))[1]
            why[path] = (True, f"{aged}; {over}" if aged else over)
            total -= size
        fits = f"the folder's recordings fit in the --max-size of {cap}"
        for _, _, path in left:
            if not why.get(path, (False, ""))[0]:
                kept = why.get(path, (False, ""))[1]
                why[path] = (False, f"{kept}; {fits}" if kept else fits)
    verdicts = [Verdict(p, *why.get(p, (False, "no limit applies"))) for _, _, p in files]
    return verdicts + held


def size_words(size: int) -> str:
    """``size`` bytes as a person reads it (1.5G, 300M, 12K, 900 bytes)."""
    for unit in ("T", "G", "M", "K"):
        if size >= _UNITS[unit]:
            return f"{size / _UNITS[unit]:.3g}{unit}"
    return f"{size} bytes"


def delete(verdicts: list[Verdict]) -> list[Path]:
    """Delete the files ``verdicts`` delete; returns those deleted (one
    another prune deleted first is not: it says so, not this one)."""
    deleted = []
    for verdict in verdicts:
        if not verdict.delete:
            continue
        try:
            verdict.path.unlink()
        except FileNotFoundError:
            continue
        deleted.append(verdict.path)
    return deleted


def prune(
    directory: Path,
    policy: RetentionPolicy,
    *,
    keep: set[Path] | frozenset[Path] = frozenset(),
    now: float | None = None,
    dry_run: bool = False,
    on_skip: Callable[[Path, str], None] = _warn,
) -> list[Path]:
    """Apply ``policy`` to ``directory``; returns the files deleted (oldest
    first). A file made by a newer version whose start this one cannot read
    is neither deleted nor counted as deletable: ``on_skip(path, why)``
    (default: a warning in the log, which a command prints on stderr).
    :func:`judge` says why of each."""
    verdicts = judge(directory, policy, keep=keep, now=now, on_skip=on_skip)
    if dry_run:
        return [v.path for v in verdicts if v.delete]
    return delete(verdicts)
