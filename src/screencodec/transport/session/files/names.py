"""Where a received file lives in the download folder (docs/transport.md,
"A file under its own name only when whole"): its temporary name while it
comes (``.NAME.part-XXXXXXXX``, :func:`create_part`), its own name once it
is whole and checked, never over a file that is there (:func:`place`), the
mark of a whole file on a file system without hard links
(``.NAME.whole-XXXXXXXX``, :func:`mark_whole`), and the tidy of what
receivers that could not end left in the folder (:func:`tidy`). Each may
wait on the disk: the receiver calls them on its disk thread, except the
creation of a temporary file."""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import re
import secrets
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from screencodec.errors import ProtocolError
from screencodec.transport.session.files.disk import (
    NOFOLLOW,
    STALE_PART,
    can_lock,
    hold,
    sync_dir,
    take_left,
)

__all__ = [
    "NAME_MAX",
    "PART",
    "WHOLE",
    "Named",
    "create_part",
    "fitted",
    "inside",
    "mark_whole",
    "name_whole",
    "place",
    "tidy",
]

#: Bytes of one path component on the file systems we write to (NAME_MAX).
NAME_MAX = 255
#: The temporary name of a file being received: ``.NAME.part-`` and 8 hex
#: digits (docs/transport.md, "A file under its own name only when whole").
PART = re.compile(r"^\..*\.part-[0-9a-f]{8}$", re.DOTALL)
#: A whole, checked file on a file system without hard links, renamed so
#: before an empty file reserves its name (:func:`place`):
#: ``.NAME.whole-`` and 8 hex digits, NAME the name it is to have, whole.
WHOLE = re.compile(r"^\.(.+)\.whole-[0-9a-f]{8}$", re.DOTALL)
#: Why a file system cannot give a file a second name (os.link).
_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK,
             errno.ENOSYS}  # fmt: skip


class Named(Protocol):
    """A whole file being named: the name it is to have, and where it is
    now (:func:`place` and :func:`mark_whole` move it, and say so here
    at once, so that whoever removes it after a failure finds it)."""

    name: str
    path: Path | None


@dataclass
class _Left:
    """A whole file a receiver left while it named it (:func:`name_whole`)."""

    name: str
    path: Path | None


def fitted(stem: str, tail: str) -> str:
    """``stem + tail`` cut (in the stem, at a character) to :data:`NAME_MAX`
    bytes; a tail too long to leave the stem a few bytes is cut with it."""
    if len(tail.encode()) > NAME_MAX - 16:
        stem, tail = stem + tail, ""
    room = NAME_MAX - len(tail.encode())
    return stem.encode()[:room].decode(errors="ignore") + tail


def inside(root: Path, name: str) -> Path:
    """``root / name``, a file directly in ``root`` (belt and braces after
    sanitising)."""
    path = root / name
    if name in ("", ".", "..") or path.parent != root:
        raise ProtocolError("file name escapes the download directory")
    return path


def create_part(root: Path, name: str) -> tuple[Path, int]:
    """Create the temporary file for ``name`` in ``root``,
    ``.NAME.part-XXXXXXXX`` cut to the file system's 255 bytes,
    exclusively (never over a file or through a link that is there, even
    one that appeared a moment ago), held (flock) while it is open, so
    that no other receiver's :func:`tidy` takes it for left over.
    OSError if it cannot be created."""
    for _ in range(16):
        path = inside(root, fitted(f".{name}", f".part-{secrets.token_hex(4)}"))
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW, 0o600)
        except FileExistsError:  # 32 random bits taken: another one
            continue
        hold(fd)
        return path, fd
    raise FileExistsError(errno.EEXIST, f"no free temporary name for {name!r}")


def mark_whole(file: Named, root: Path, name: str) -> None:
    """Rename the whole, checked ``file`` ``.NAME.whole-XXXXXXXX``
    (``name`` is the name it is about to reserve) and fsync the folder, so
    that a power cut after the reservation leaves it known whole and for
    that name (:func:`place`). A name too long for that is cut in its
    middle, at a character (:func:`fitted`), as a temporary name is: the
    reservation is then the empty file whose mark would be cut so
    (:func:`name_whole`)."""
    assert file.path is not None
    whole = fitted(f".{name}", f".whole-{secrets.token_hex(4)}")
    target = inside(root, whole)
    if target.exists() or target.is_symlink():  # 32 random bits taken: keep the name it has
        return
    os.rename(file.path, target)
    file.path = target
    sync_dir(root)


def place(file: Named, root: Path) -> Path:
    """Give the whole, checked ``file`` its name in ``root``, never over a
    file or a link that is there, even one that appeared a moment ago:
    ``file.name``, else ``stem (1).ext`` ..., each cut to the file system's
    255 bytes. A hard link, then the temporary name removed (a crash in
    between leaves both, whole). On a file system without hard links the
    file is renamed ``.NAME.whole-XXXXXXXX`` (NAME: the name it is to have)
    and the folder fsync'ed, then NAME is created exclusively, empty, and
    the file renamed onto it: a power cut in between leaves that empty file
    and the whole one beside it, which the next receiver in the folder puts
    under it (:func:`tidy`). ``file.path`` follows the file. OSError if it
    cannot be placed."""
    assert file.path is not None
    name = file.name
    stem, dot, ext = name.rpartition(".")
    if not stem:
        stem, dot, ext = ext, "", ""
    tries = [fitted(name, "")]
    tries += [fitted(stem, f" ({i}){dot}{ext}") for i in range(1, 1000)]
    tries.append(fitted(f"{secrets.token_hex(8)}-{name}", ""))
    links = True
    for candidate in tries:
        path = inside(root, candidate)
        if path.is_symlink() or path.exists():
            continue
        if links:
            try:
                os.link(file.path, path, follow_symlinks=False)
            except FileExistsError:  # it appeared since the look: the next name
                continue
            except OSError as exc:
                if exc.errno not in _NO_LINKS:
                    raise
                links = False  # FAT, exFAT, some network file systems
            else:
                file.path.unlink()
                return path
        mark_whole(file, root, candidate)
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW))
        except FileExistsError:
            continue
        try:
            os.replace(file.path, path)
        except OSError:
            path.unlink(missing_ok=True)  # the empty file just created
            raise
        return path
    raise FileExistsError(errno.EEXIST, f"no free name for {name!r}")


def tidy(root: Path) -> None:
    """Tidy what receivers that could not end (a killed process, a power
    cut) left in ``root``, files of this user not written to for
    :data:`~.disk.STALE_PART` s and held (:func:`~.disk.hold`) by no
    process. ``.NAME.part-XXXXXXXX`` files are removed (they may be half);
    a ``.NAME.whole-XXXXXXXX`` file (whole and checked: :func:`place`) is
    put under NAME (:func:`name_whole`). Nothing on a system without flock."""
    if not can_lock:
        return
    try:
        names = os.listdir(root)
    except OSError:
        return
    for n in names:
        path = root / n
        with contextlib.suppress(OSError, ProtocolError):  # (a name of no file: "...whole-")
            if PART.match(n):
                take_left(path, path.unlink)
            elif (whole := WHOLE.match(n)) is not None:
                take_left(path, functools.partial(name_whole, path, whole[1]))


def name_whole(whole: Path, name: str) -> None:
    """Put ``whole``, a whole file left while it was named (a power cut
    in :func:`place`), under the name its mark is for, ``name`` or, for a
    mark cut to :data:`NAME_MAX` bytes, a longer one (:func:`_marked`):
    over the empty file that reserved it, or under the first free name as
    :func:`place` does. An empty file is the reservation only once it is
    stale too: one of a moment ago is another receiver's, about to have
    its own file renamed onto it (:func:`place`)."""
    names = _marked(whole, name)
    for n in names:
        path = inside(whole.parent, n)
        st = os.stat(path, follow_symlinks=False) if path.exists() or path.is_symlink() else None
        if (st is not None and stat.S_ISREG(st.st_mode) and st.st_size == 0
                and time.time() - st.st_mtime >= STALE_PART):  # fmt: skip
            os.replace(whole, path)
            break
    else:
        place(_Left(names[0], whole), whole.parent)
    sync_dir(whole.parent)


def _marked(whole: Path, name: str) -> list[str]:
    """The names the mark of ``whole`` may be for, longest first: ``name``,
    what the mark reads; and if the mark may have been cut (it is within a
    character of :data:`NAME_MAX` bytes), each name in the folder whose own
    mark :func:`mark_whole` would cut to it."""
    if len(whole.name.encode()) <= NAME_MAX - 4:
        return [name]
    tail = whole.name[len(name) + 1:]  # ".whole-XXXXXXXX"
    longer = [n for n in os.listdir(whole.parent)
              if not n.startswith(".") and n != name and fitted(f".{n}", tail) == whole.name]
    return [*sorted(longer, key=len, reverse=True), name]
