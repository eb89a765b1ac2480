"""The disk side of a file being received: one thread that makes the
receiver's calls that may wait on a slow disk for seconds, in the order they
are given (:class:`DiskThread`), and the calls themselves that are not about
names (:mod:`.names`): writing all of a chunk, the write-back hint, the
fsync of a folder, the lock that marks a temporary file as being written and
the look that takes one left by a receiver that could not end."""

from __future__ import annotations

import contextlib
import os
import queue
import stat
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

try:
    import fcntl
except ImportError:  # Windows: no flock; temporary files are then never cleaned
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "NOFOLLOW",
    "STALE_PART",
    "WRITE_BACK",
    "DiskThread",
    "advise",
    "can_advise",
    "can_lock",
    "hold",
    "sync_dir",
    "take_left",
    "write_all",
]

T = TypeVar("T")

#: A temporary file left by another receiver is removed (or, whole, named)
#: only once it has not been written to for this long (s), and only if no
#: process holds it.
STALE_PART = 60.0
#: Whether this system can lock a file (flock): without it temporary files
#: left by other receivers are never taken (:func:`take_left`).
can_lock = fcntl is not None

#: Not following a link where a file is created (0 where there is none).
NOFOLLOW = getattr(os, "ONOFOLLOW", 0)


def hold(fd: int) -> None:
    """Mark the temporary file open on ``fd`` as being written, until ``fd``
    is closed or its process ends (:func:`take_left` leaves it)."""
    if fcntl is not None:
        with contextlib.suppress(OSError):  # a file system without locks
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def take_left(path: Path, take: Callable[[], None]) -> None:
    """``take()`` (remove or name ``path``), if ``path`` is a file a receiver
    left: a regular file of this user, not written to for
    :data:`STALE_PART` s (one just created may not be held yet), held by no
    process (:func:`hold`); it is held meanwhile. OSError if it cannot be
    looked at."""
    assert fcntl is not None
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | NOFOLLOW)
    try:
        st = os.fstat(fd)
        if (not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid()
                or time.time() - st.st_mtime < STALE_PART):  # fmt: skip
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # being written, or named
        now = os.stat(path, follow_symlinks=False)
        if (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino):  # still the one looked at
            take()
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes | memoryview) -> None:
    """Write all of ``data``: a write near a full disk or a file size limit
    writes part of it and says how much; the next one raises OSError."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


#: How much of a file being received may wait in memory before it is sent
#: on its way to the disk (:meth:`~.receiver.FileReceiver._write_back`).
WRITE_BACK = 8 << 20
#: Starts the writing of a file's range to the disk without waiting for it
#: (Linux; absent on macOS and Windows).
_fadvise = getattr(os, "posix_fadvise", None)
#: Whether :func:`advise` can do anything here.
can_advise = _fadvise is not None


def advise(fd: int, offset: int, length: int) -> None:
    """On the disk thread: start writing ``length`` bytes of the file open on
    ``fd`` (a duplicate, closed here) from ``offset`` to the disk, without
    waiting for them (:meth:`~.receiver.FileReceiver._write_back`).
    POSIX_FADV_DONTNEED writes back the range's pages (WB_SYNC_NONE) and
    drops those already written (which the receiver never reads again)."""
    assert _fadvise is not None
    try:
        with contextlib.suppress(OSError):  # only a hint
            _fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)

def sync_dir(folder: Path) -> None:
    """fsync ``folder``, so that a name just given in it survives a power
    cut (as git and sqlite do). A file system or system that cannot
    (Windows, some network ones) is let be: the file is whole and named."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class DiskThread:
    """One thread that makes a receiver's disk calls in the order they are
    given (:meth:`~.receiver.FileReceiver._on_disk`), as a one-worker pool would; but a
    daemon, unlike the pool's workers, which the interpreter joins at exit:
    a disk that never answers held the program's end for good (review4),
    and its user's second Ctrl-C with it."""

    def __init__(self) -> None:
        self._calls: _Calls = queue.SimpleQueue()
        threading.Thread(target=_serve, args=(self._calls,), name="screencodec-files",
                         daemon=True).start()  # fmt: skip
        # A receiver dropped unclosed: its thread ends too (as a pool's).
        weakref.finalize(self, self._calls.put, None)

    def submit(self, call: Callable[..., T], *args: Any) -> Future[T]:
        done: Future[T] = Future()
        self._calls.put((done, call, args))
        return done

    def shutdown(self) -> None:
        """The thread ends once it has made the calls given so far."""
        self._calls.put(None)


#: What a :class:`DiskThread` is given: a call, its arguments and where its
#: outcome goes; None: no more.
_Calls = queue.SimpleQueue[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]] | None]


def _serve(calls: _Calls) -> None:
    """A :class:`DiskThread`'s thread: each call in turn, until None."""
    while (item := calls.get()) is not None:
        done, call, args = item
        if not done.set_running_or_notify_cancel():
            continue
        try:
            result = call(*args)
        except BaseException as exc:  # given to whoever waits for it, as a pool does
            done.set_exception(exc)
        else:
            done.set_result(result)
