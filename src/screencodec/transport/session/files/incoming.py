"""One file being received, on the thread that writes it (docs/transport.md,
"A file under its own name only when whole"): its temporary file created
when its first bytes come, each chunk written at its end, what came sent on
its way to the disk as it comes, and, once it is whole and checked, saved
to stay and given its own name; or removed. The receiver
(:class:`~.receiver.FileReceiver`) counts what came and checks it on its
loop, and makes these calls on its disk thread, one after the other in the
order given (:class:`~.disk.DiskThread`)."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
from pathlib import Path

from screencodec.transport.session.files.disk import (
    WRITE_BACK,
    advise,
    can_advise,
    sync_dir,
    write_all,
)
from screencodec.transport.session.files.names import create_part, place

__all__ = ["QUEUED_MOST", "Incoming"]

#: Bytes of received chunks that may wait in memory for the disk thread to
#: write them, for all the files of one receiver: twice what a paced sender
#: has in flight at most (:class:`~..pacing.BulkWindow`, 16 MiB), so that
#: only a sender that does not pace (a version before paced files) ever
#: waits for room (:meth:`~.receiver.FileReceiver.chunk`).
QUEUED_MOST = 32 << 20


class Incoming:
    """An accepted file, to be written in ``directory``; its file is
    created when its first bytes come. ``received`` and ``hash`` are the
    receiver's loop's (what came); ``path``, ``fd``, ``written``,
    ``written_back``, ``dropped`` and ``error`` belong to the thread that
    writes it (the disk thread once the session handed it a chunk:
    ``on_disk``)."""

    def __init__(self, name: str, size: int, directory: Path | None = None, *,
                 peer: str = "") -> None:  # fmt: skip
        self.name = name
        self.peer = peer  #: who sent it, as the local user was told (safe_text)
        self.size = size
        self.directory = directory
        self.path: Path | None = None
        self.fd: int | None = None
        self.received = 0
        self.hash = hashlib.sha256()
        self.on_disk = False  #: its writes, and so its removal, go to the disk thread
        self.written = 0
        self.written_back = 0  #: bytes of it sent on their way to the disk (:meth:`write`)
        self.dropped = False  #: removed: chunks still queued for it are not written
        self.error: OSError | None = None  #: why a write of it failed
        #: The local user stopped it once all of it had come (set on the
        #: receiver's loop): its save does not name it, unless it did already.
        self.stopped = False

    def _root(self) -> Path:
        assert self.directory is not None
        return self.directory.resolve()

    def opened(self) -> int:
        """Its temporary file, created now if this is its first data
        (:func:`~.names.create_part`)."""
        if self.fd is None:
            self.path, self.fd = create_part(self._root(), self.name)
        return self.fd

    def write(self, data: bytes) -> None:
        """Write ``data`` at the end of the file (created now if this is its
        first data), unless it was removed meanwhile; every
        :data:`~.disk.WRITE_BACK` bytes, start writing them to the disk
        without waiting (:func:`~.disk.advise`): the fsync before it is
        named (:meth:`save`) then waits only for the last few MB, not for
        the whole file (which the kernel would otherwise keep in memory for
        up to 30 s). OSError if it cannot be written (it is kept: no later
        chunk is written, and its save fails with it)."""
        if self.dropped or self.error is not None:
            return
        try:
            write_all(self.opened(), data)
        except OSError as exc:
            self.error = exc
            raise
        except Exception as exc:  # a bug, MemoryError: its save fails all the same
            # Its kind only: the peer is told this, and a bug's message is ours.
            self.error = OSError(errno.EIO, f"it could not be written here ({type(exc).__name__})")
            raise
        self.written += len(data)
        if can_advise and self.fd is not None and self.written - self.written_back >= WRITE_BACK:
            with contextlib.suppress(OSError):  # no descriptor to spare: only a hint
                advise(os.dup(self.fd), self.written_back, self.written - self.written_back)
                self.written_back = self.written

    def save(self) -> Path:
        """Put the whole, checked file under its name, to stay: it is on the
        disk before it has its name, and its name after (a power cut leaves
        it whole under its name, or only under its temporary one), given as
        :func:`~.names.place` does. May wait on the disk for seconds: the
        session runs it on the disk thread, after the file's write-back
        (most of it is on its way to the disk already: :meth:`write`).
        OSError if it cannot be saved, or was stopped (:attr:`stopped`)
        before it was named; what it had on disk is then removed."""
        try:
            if self.error is not None:  # a write of it failed (after its end came)
                raise self.error
            fd = self.opened()  # an empty file is created only now
            held = os.dup(fd)  # its lock (disk.hold) until it has its name
            self.fd = None
            try:
                try:
                    if os.fstat(fd).st_nlink == 0:  # removed meanwhile (its folder too)
                        raise FileNotFoundError(0, "the file was removed before it was complete")
                    if not self.stopped:  # (no wait on the disk for a file to remove)
                        os.fsync(fd)
                finally:
                    os.close(fd)  # a network file system may say only now that it is full
                if self.stopped:  # its user stopped it: removed (below), never named
                    raise InterruptedError(errno.ECANCELED, "stopped before it was named")
                path = place(self, self._root())
            finally:
                os.close(held)
        except OSError:
            self.remove()
            raise
        sync_dir(path.parent)
        return path

    def remove(self) -> None:
        """Remove what it has on disk (nothing before its first data); a
        chunk of it written after this is not."""
        self.dropped = True
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.path is not None:
            self.path.unlink(missing_ok=True)
