"""Side channels beside the screen: extension registry, file transfer (chat is a
plain :class:`~.messages.Chat` message handled by host and viewer).

File transfer, receiving side: every offer goes to the local user's consent
callback (no answer in time = refused); an accepted file is written into the
chosen directory only, chunk by chunk in order, within a per-file and a
per-session size cap, under a temporary name (``.NAME.part-XXXXXXXX``,
created exclusively when its first bytes come, so a yes its sender no
longer waited for leaves nothing on disk), checked against the sender's
SHA-256 at the end, and only then put under its sanitised name, never over
a file that is there (docs/transport.md, "A file under its own name only
when whole"). Any violation by the peer is a ProtocolError and the partial
file is removed; a file the local user said yes to that ends unsaved
(its session ended mid-way too) is told to the local user. Space is
reserved when the offer arrives, and only a few offers may wait for an
answer at once.

Outcomes (docs/transport.md, "File results"): each side announces on the
reserved extension channel :data:`FILE_RESULTS_CHANNEL` that it sends and
takes :class:`~.messages.FileResult`; to a peer that did, the receiver says
whether each accepted file was saved, and the sender reports "delivered"
only then. A peer of an older version drops the announcement (an unknown
extension channel) and is never sent a FileResult. An offer refused without
asking the receiver's user is told why, as a code, right before the
FileAccept that refuses it (:func:`file_refusal`; docs/transport.md, "Why
an offer was refused unasked").

One outcome per offer (docs/transport.md, "An offer given up"): the sender
decides, in one step on its loop, whether the peer's answer or its own
timeout came first. If the timeout did, it tells the receiver on the same
reserved channel (:func:`file_withdrawal`); the receiver then closes the
question, or removes the file it had begun to take, and the sender ignores
the answer still on its way. A question is never put, nor left open, past
the time its sender stops waiting (:class:`OfferDeadline`), so nobody is
asked about an offer already void.

State is owned by one session's receive loop (single task); the consent
question runs in its own task so the screen keeps flowing while the user reads.
What may wait on a slow disk for seconds (the fsyncs, the links that name a
file, the write-back hints) runs on the receiver's disk thread, one call
after the other in the order given, never on the session's loop, which
carries the screen and the input (:meth:`FileReceiver.end`). A session
that ends waits for the files whole before its end to be saved
(:meth:`FileReceiver.settle`), unless its user gives up waiting
(:meth:`FileReceiver.give_up`): the thread is a daemon, so a program that
leaves then is not held until the disk answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import hashlib
import os
import queue
import re
import secrets
import stat
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

try:
    import fcntl
except ImportError:  # Windows: no flock; temporary files are then never cleaned
    fcntl = None  # type: ignore[assignment]

from screencodec.errors import ProtocolError, ScreencodecError
from screencodec.transport.channel.display import amount, limit_amount, safe_text
from screencodec.transport.session.events import FileReceived, FileRefused, FileSent
from screencodec.transport.session.messages import (
    MAX_FILE_CHUNK,
    Extension,
    FileAccept,
    FileChunk,
    FileEnd,
    FileOffer,
    FileResult,
    Message,
)
from screencodec.transport.session.pacing import BulkWindow

__all__ = [
    "BUSY",
    "CUT_SHORT",
    "EXPIRED",
    "FILE_RESULTS_CHANNEL",
    "MAX_OFFERS",
    "MAX_PENDING_OFFERS",
    "NOT_READ",
    "NOT_SAVED",
    "NO_FILES",
    "OFFER_TIMEOUT",
    "OVER_TOTAL",
    "REFUSED_UNASKED",
    "TOO_LARGE",
    "UNREAD",
    "WITHDRAWN",
    "WITHDRAWN_OTHER",
    "WITHDRAWN_UNREAD",
    "ExtensionHandler",
    "ExtensionRegistry",
    "FileConsent",
    "FileOfferInfo",
    "FileReceiver",
    "FileSender",
    "OfferDeadline",
    "application_channel",
    "file_channel",
    "file_refusal",
    "file_results_announcement",
    "file_withdrawal",
    "refusal_words",
    "safe_filename",
    "write_all",
]

T = TypeVar("T")

#: The reserved extension channel on which a peer says it sends and takes
#: FileResult (payload b"\x01"). Applications cannot register it.
FILE_RESULTS_CHANNEL = "screencodec.file-results"
#: Extension channels named so are this package's; applications may not register them.
RESERVED_PREFIX = "screencodec."
#: Characters of a peer's FileResult reason shown to the sender's user.
_REASON_SHOWN = 200
#: The first byte of a message on :data:`FILE_RESULTS_CHANNEL`: the
#: announcement (then flags, u8, from the version with paced files), an
#: offer given up (then the transfer, u32 big-endian), an offer withdrawn
#: for a reason (then the transfer and the reason, u8), how far the
#: receiver got (then the transfer and the bytes it has, u64), and why an
#: offer is refused without asking the receiver's user (then the transfer,
#: a reason code, u8, and the number it qualifies, u64: :func:`file_refusal`).
_ANNOUNCE, _WITHDRAW, _WITHDRAW_WHY, _PROGRESS, _REFUSED = 1, 2, 3, 4, 5
#: Announcement flag: this side confirms the chunks of files it takes
#: (payload 0x04), and paces the files it sends on such confirmations.
_PACED = 0x01
#: Why a file was not saved when its sender gave its offer up (the
#: :class:`~.events.FileRefused` the receiver's user is told).
WITHDRAWN = "the sender stopped waiting for an answer and withdrew it"
#: The reason code of a withdrawal (payload 0x03): the sender could not read
#: the file after the yes (it was removed, unreadable, or shorter than offered).
UNREAD = 1
#: What the receiver's user is told of a file withdrawn with :data:`UNREAD`.
WITHDRAWN_UNREAD = "the sender could not read the file after the yes and withdrew it"
#: ... with a reason code of a later version, or of a question still open.
WITHDRAWN_OTHER = "the sender withdrew it"
_REASONS = {UNREAD: WITHDRAWN_UNREAD}
#: Reason codes of an offer refused without asking the receiver's user
#: (payload 0x05), each with the number it qualifies: the receiver takes no
#: files (0); questions already wait for its user's answer (how many); the
#: file is larger than it takes (its limit, bytes); it would go over what it
#: takes in one session (its limit, bytes).
NO_FILES, BUSY, TOO_LARGE, OVER_TOTAL = 1, 2, 3, 4
#: How the why of an offer the receiver refused without asking its user
#: begins (a FileSent "declined", from a receiver that says why), before
#: the words of its reason code (:func:`refusal_words`), never the peer's own.
REFUSED_UNASKED = "refused unasked: "
#: What the receiver's user is told of an offer not put to them because its
#: sender stopped waiting before it could be asked (:class:`OfferDeadline`).
EXPIRED = "the sender stopped waiting for an answer before it could be asked"
#: How long a sender waits for the answer to its offer (every version so
#: far: 60 s); a receiver reckons with it (:class:`OfferDeadline`).
OFFER_TIMEOUT = 60.0
#: Of that wait: a question is closed this part of it before its sender
#: stops waiting (3 s of 60: the no reaches the sender in time), and put
#: only with this part of it still left to answer (6 s of 60).
_EARLY, _LEAST = 0.05, 0.1


def file_results_announcement() -> Extension:
    """What a side sends once, before its first file message
    (:meth:`FileSender.announce`): "this side says what became of the files
    it accepts, and takes it said about the ones it sends". An older peer
    drops it (an unknown extension channel)."""
    return Extension(FILE_RESULTS_CHANNEL, bytes([_ANNOUNCE, _PACED]))


def file_progress(transfer: int, received: int) -> Extension:
    """What the receiver of a file sends after each chunk to a sender that
    paces (:mod:`.pacing`): the bytes of ``transfer`` it has."""
    payload = bytes([_PROGRESS]) + transfer.to_bytes(4, "big") + received.to_bytes(8, "big")
    return Extension(FILE_RESULTS_CHANNEL, payload)


def file_withdrawal(transfer: int, reason: int = 0) -> list[Extension]:
    """What a sender sends when its offer's timeout came before the answer
    (``reason`` 0), or when it could not read the file after the yes
    (:data:`UNREAD`): the receiver closes the question or removes what it
    took of the file (:meth:`FileReceiver.withdraw`). A reason goes first
    (payload 0x03, transfer, code), then the plain withdrawal (0x02,
    transfer), which a receiver that took the first finds done, and one of
    the version before reasons acts on. A peer of the version before file
    results drops both (an unknown extension channel); the one after takes
    any message on the channel for an announcement, which it already had."""
    plain = Extension(FILE_RESULTS_CHANNEL, bytes([_WITHDRAW]) + transfer.to_bytes(4, "big"))
    if not reason:
        return [plain]
    why = bytes([_WITHDRAW_WHY]) + transfer.to_bytes(4, "big") + bytes([reason])
    return [Extension(FILE_RESULTS_CHANNEL, why), plain]


def application_channel(name: str) -> str:
    """``name`` if an application may register it and send on it; else
    :class:`ValueError`. The package's own channels (file results, resume
    tickets, the kept picture) are reserved both ways: a ticket sent by an
    application would be taken for the host's."""
    if not _EXT_NAME.match(name):
        raise ValueError(f"bad extension channel name {name!r}")
    if name.startswith(RESERVED_PREFIX):
        raise ValueError(f"extension channel {name!r} is reserved")
    return name


def file_refusal(transfer: int, code: int, number: int = 0) -> Extension:
    """What a receiver sends right before the FileAccept that refuses
    ``transfer`` without asking its user, to a sender that announced file
    results: why, as a reason code (:data:`BUSY`...) and the number it
    qualifies. A sender of the version before drops it (another first
    byte on the channel is a later version's) and says "declined" as before."""
    payload = (bytes([_REFUSED]) + transfer.to_bytes(4, "big") + bytes([code])
               + min(number, (1 << 64) - 1).to_bytes(8, "big"))  # fmt: skip
    return Extension(FILE_RESULTS_CHANNEL, payload)


def refusal_words(code: int, number: int) -> str:
    """The words of a refusal's reason code (:func:`file_refusal`), after
    :data:`REFUSED_UNASKED`: made here from the code and its number, never
    from the peer's text; a code of a later version reads as a refusal."""
    if code == NO_FILES:
        return "it takes no files"
    if code == BUSY:
        many = f"{number} questions" if 0 < number <= MAX_OFFERS else "questions"
        return f"its user has {many} open already: send it again once they are answered"
    if code == TOO_LARGE:
        return f"it takes none larger than {limit_amount(number)}"
    if code == OVER_TOTAL:
        return f"it takes at most {limit_amount(number)} in one session"
    return "refused without asking its user"


def file_channel(receiver: FileReceiver, sender: FileSender, payload: bytes) -> None:
    """A message from the peer on :data:`FILE_RESULTS_CHANNEL`: its
    announcement (it sends and takes FileResult), or an offer of its given
    up, or withdrawn for a reason (a code of a later version reads as the
    sender having withdrawn it), how far it got with a file of this side's,
    or why it refuses one without asking its user. Another first byte is a
    later version's: ignored."""
    if payload[:1] == bytes([_WITHDRAW]):
        if len(payload) != 5:
            raise ProtocolError("malformed file offer withdrawal")
        receiver.withdraw(int.from_bytes(payload[1:], "big"))
    elif payload[:1] == bytes([_WITHDRAW_WHY]):
        if len(payload) != 6:
            raise ProtocolError("malformed file offer withdrawal")
        why = _REASONS.get(payload[5], WITHDRAWN_OTHER)
        receiver.withdraw(int.from_bytes(payload[1:5], "big"), why)
    elif payload[:1] == bytes([_PROGRESS]):
        if len(payload) != 13:
            raise ProtocolError("malformed file progress")
        sender.on_progress(int.from_bytes(payload[1:5], "big"), int.from_bytes(payload[5:], "big"))
    elif payload[:1] == bytes([_REFUSED]):
        if len(payload) != 14:
            raise ProtocolError("malformed file refusal")
        why = refusal_words(payload[5], int.from_bytes(payload[6:], "big"))
        sender.on_refusal(int.from_bytes(payload[1:5], "big"), why)
    elif payload[:1] == bytes([_ANNOUNCE]):
        receiver.reports = sender.peer_reports = True
        # Flags came with paced files (the version before sent none).
        if len(payload) > 1 and payload[1] & _PACED:
            receiver.confirms = True
            sender.pace()

#: ``handler(peer, payload)`` -> optional reply payload sent back on the same channel.
ExtensionHandler = Callable[[str, bytes], Awaitable[bytes | None]]
_EXT_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class ExtensionRegistry:
    """Named channels an application adds. Unknown names from a peer are
    dropped and counted (``unknown``): an older host must keep serving a newer
    viewer that speaks one more extension."""

    def __init__(self) -> None:
        self._handlers: dict[str, ExtensionHandler] = {}
        self.unknown = 0

    def register(self, name: str, handler: ExtensionHandler) -> None:
        application_channel(name)
        if name in self._handlers:
            raise ValueError(f"extension channel {name!r} is already registered")
        self._handlers[name] = handler

    def get(self, name: str) -> ExtensionHandler | None:
        handler = self._handlers.get(name)
        if handler is None:
            self.unknown += 1
        return handler


def safe_filename(name: str) -> str:
    """A peer-chosen name reduced to one harmless path component."""
    base = re.split(r"[\\/]", name)[-1]
    base = "".join(c for c in base if c.isprintable() and c not in ':*?"<>|')
    base = base.strip().lstrip(".")[:200]
    return base or "received-file"


class OfferDeadline:
    """When the sender of one offer stops waiting for its answer, as the
    receiver reckons it: :data:`OFFER_TIMEOUT` after the offer came (the
    wait of every sender so far), or sooner once the sender withdrew an offer
    that came with this one for want of an answer (it showed how long it
    waits: :meth:`FileReceiver.withdraw`). A question about the offer is put
    only while a part of that wait is left to answer it, and is closed a
    little before it ends (:data:`_EARLY`, :data:`_LEAST`): nobody is shown
    a question already void, and the no reaches the sender before it gives
    up. One event loop."""

    __slots__ = ("arrived", "skipped", "wait")

    def __init__(self, wait: float = OFFER_TIMEOUT) -> None:
        self.arrived = asyncio.get_running_loop().time()
        self.wait = wait
        self.skipped = False  #: not put: too little of the wait was left

    def window(self, timeout: float) -> float | None:
        """How long the question may be open if it is put now (at most
        ``timeout``), or None: it is not put (:attr:`skipped`)."""
        left = self.arrived + self.wait * (1 - _EARLY) - asyncio.get_running_loop().time()
        if left < self.wait * _LEAST:
            self.skipped = True
            return None
        return min(timeout, left)


@dataclass(frozen=True, slots=True)
class FileOfferInfo:
    """What the local user is asked about: ``name`` is already sanitised (a
    harmless path component, shown through :func:`~..channel.display.safe_text`),
    ``peer`` likewise. ``question`` numbers the question among all those the
    host asks (see :class:`~.consent.QuestionQueue`). Saying yes to it saves
    one file and grants nothing else. ``transfer`` is the sender's number
    for the file, which the :class:`~.events.FileReceived` event for it
    carries too. ``deadline``: until when the question may be open (None:
    only its own timeout bounds it)."""

    peer: str
    name: str
    size: int
    question: int = 0
    transfer: int = 0
    deadline: OfferDeadline | None = field(default=None, compare=False, repr=False)

    def window(self, timeout: float) -> float | None:
        """How long the question may be open if it is put now, at most
        ``timeout``; None: do not put it, its sender no longer waits."""
        return timeout if self.deadline is None else self.deadline.window(timeout)

    def describe(self) -> str:
        return f"{self.peer} sends the file {self.name!r} ({amount(self.size)})"


FileConsent = Callable[[FileOfferInfo], Awaitable[bool]]

#: Offers of one session waiting for the local user's answer at once; more are
#: refused without asking (a viewer cannot queue up questions or memory).
MAX_PENDING_OFFERS = 3
#: Offers in one session at all: past this the viewer is misbehaving.
MAX_OFFERS = 4096


#: Bytes of one path component on the file systems we write to (NAME_MAX).
_NAME_MAX = 255
#: The temporary name of a file being received: ``.NAME.part-`` and 8 hex
#: digits (docs/transport.md, "A file under its own name only when whole").
_PART = re.compile(r"^\..*\.part-[0-9a-f]{8}$", re.DOTALL)
#: A whole, checked file on a file system without hard links, renamed so
#: before an empty file reserves its name (:meth:`FileReceiver._place`):
#: ``.NAME.whole-`` and 8 hex digits, NAME the name it is to have, whole.
_WHOLE = re.compile(r"^\.(.+)\.whole-[0-9a-f]{8}$", re.DOTALL)
#: A temporary file left by another receiver is removed (or, whole, named)
#: only once it has not been written to for this long (s), and only if no
#: process holds it.
_STALE_PART = 60.0
#: How the why of a file said yes to and then not saved begins (the
#: :class:`~.events.FileRefused` the local user is told), before the reason:
#: "could not be saved: No space left on device". Interfaces word it once:
#: they show such a why as it is, without a "not saved" of their own.
NOT_SAVED = "could not be saved: "
#: How the why of a file said yes to that its SENDER could not read (it went,
#: or a disk failed, before it was sent whole) begins, before the reason: a
#: FileSent "failed" whose fault is this side's, not the receiver's (a
#: receiver's FileResult reason that begins so is prefixed "in its words: ").
NOT_READ = "could not be read here: "
#: Why a file said yes to is not saved when its session ends mid-way, then
#: "(N of M bytes)": how much of it came.
CUT_SHORT = f"{NOT_SAVED}the connection ended before all of it came"


def _fitted(stem: str, tail: str) -> str:
    """``stem + tail`` cut (in the stem, at a character) to :data:`_NAME_MAX`
    bytes; a tail too long to leave the stem a few bytes is cut with it."""
    if len(tail.encode()) > _NAME_MAX - 16:
        stem, tail = stem + tail, ""
    room = _NAME_MAX - len(tail.encode())
    return stem.encode()[:room].decode(errors="ignore") + tail


#: Not following a link where a file is created (0 where there is none).
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
#: Why a file system cannot give a file a second name (os.link).
_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK,
             errno.ENOSYS}  # fmt: skip


def _inside(root: Path, name: str) -> Path:
    """``root / name``, a file directly in ``root`` (belt and braces after
    sanitising)."""
    path = root / name
    if name in ("", ".", "..") or path.parent != root:
        raise ProtocolError("file name escapes the download directory")
    return path


def _hold(fd: int) -> None:
    """Mark the temporary file open on ``fd`` as being written, until ``fd``
    is closed or its process ends (:func:`_take_left` leaves it)."""
    if fcntl is not None:
        with contextlib.suppress(OSError):  # a file system without locks
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _take_left(path: Path, take: Callable[[], None]) -> None:
    """``take()`` (remove or name ``path``), if ``path`` is a file a receiver
    left: a regular file of this user, not written to for
    :data:`_STALE_PART` s (one just created may not be held yet), held by no
    process (:func:`_hold`); it is held meanwhile. OSError if it cannot be
    looked at."""
    assert fcntl is not None
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | _NOFOLLOW)
    try:
        st = os.fstat(fd)
        if (not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid()
                or time.time() - st.st_mtime < _STALE_PART):  # fmt: skip
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


class _Incoming:
    """An accepted file; its file is created when its first bytes come."""

    def __init__(self, name: str, size: int) -> None:
        self.name = name
        self.path: Path | None = None
        self.fd: int | None = None
        self.size = size
        self.received = 0
        self.written_back = 0  #: bytes of it sent on their way to the disk (_write_back)
        self.hash = hashlib.sha256()


#: How much of a file being received may wait in memory before it is sent
#: on its way to the disk (:meth:`FileReceiver._write_back`).
_WRITE_BACK = 8 << 20
#: Starts the writing of a file's range to the disk without waiting for it
#: (Linux; absent on macOS and Windows).
_fadvise = getattr(os, "posix_fadvise", None)


def _advise(fd: int, offset: int, length: int) -> None:
    """On the disk thread: start writing ``length`` bytes of the file open on
    ``fd`` (a duplicate, closed here) from ``offset`` to the disk, without
    waiting for them (:meth:`FileReceiver._write_back`).
    POSIX_FADV_DONTNEED writes back the range's pages (WB_SYNC_NONE) and
    drops those already written (which the receiver never reads again)."""
    assert _fadvise is not None
    try:
        with contextlib.suppress(OSError):  # only a hint
            _fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def _mark_whole(inc: _Incoming, root: Path, name: str) -> None:
    """Rename the whole, checked file of ``inc`` ``.NAME.whole-XXXXXXXX``
    (``name`` is the name it is about to reserve) and fsync the folder, so
    that a power cut after the reservation leaves it known whole and for
    that name (:meth:`FileReceiver._place`). A name too long for that keeps
    its temporary one (such a cut then leaves the empty name, and the whole
    file is removed as a temporary one)."""
    assert inc.path is not None
    whole = f".{name}.whole-{secrets.token_hex(4)}"
    if len(whole.encode()) > _NAME_MAX:
        return
    target = _inside(root, whole)
    if target.exists() or target.is_symlink():  # 32 random bits taken: keep the name it has
        return
    os.rename(inc.path, target)
    inc.path = target
    _sync_dir(root)


def _sync_dir(folder: Path) -> None:
    """fsync ``folder``, so that a name just given in it survives a power
    cut (as git and sqlite do). A file system or system that cannot
    (Windows, some network ones) is let be: the file is whole and named."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


async def _reply(
    answer: Awaitable[FileResult | None], send: Callable[[Message], Awaitable[None]]
) -> None:
    """Send the peer the FileResult of a file it sent once there is one
    (:meth:`FileReceiver.end`); none if it takes none."""
    if (result := await answer) is not None:
        with contextlib.suppress(ScreencodecError, OSError):  # the session ended: nobody to tell
            await send(result)


class _DiskThread:
    """One thread that makes a receiver's disk calls in the order they are
    given (:meth:`FileReceiver._on_disk`), as a one-worker pool would; but a
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



#: What a :class:`_DiskThread` is given: a call, its arguments and where its
#: outcome goes; None: no more.
_Calls = queue.SimpleQueue[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]] | None]


def _serve(calls: _Calls) -> None:
    """A :class:`_DiskThread`'s thread: each call in turn, until None."""
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


class FileReceiver:
    """Receives the files one peer offers (see the module docstring).

    State: ``_total`` bytes reserved (by offers waiting for an answer and by
    accepted files), the transfers in progress, the ids already offered and
    the offers waiting for an answer. Space is reserved when an offer arrives,
    before the question, so parallel offers can never together exceed
    ``max_total``; a refusal gives it back. At most ``max_pending`` offers wait
    for an answer at once; more are refused at once, unasked.
    """

    def __init__(
        self,
        directory: Path | None,
        consent: FileConsent | None,
        *,
        max_file: int = 1 << 30,
        max_total: int = 4 << 30,
        timeout: float = 30.0,
        max_pending: int = MAX_PENDING_OFFERS,
        side: str = "host",
        on_event: Callable[[FileReceived | FileRefused], None] | None = None,
    ) -> None:
        self.side = side  #: "host" or "viewer": how refusals name this end
        #: Told at once of a file the local user said yes to that cannot be
        #: saved (its file cannot be created), and of each file that ends,
        #: saved or not (:meth:`end`).
        self._on_event = on_event
        self.directory = directory
        self._consent = consent
        self.max_file = max_file
        self.max_total = max_total
        self.timeout = timeout
        self.max_pending = max_pending
        self._total = 0
        self._active: dict[int, _Incoming] = {}
        self._asked: set[int] = set()
        #: Accepted transfers whose file could not be written: (name, size,
        #: why) until their end comes (their other chunks are dropped).
        self._failed: dict[int, tuple[str, int, str]] = {}
        #: The peer announced it takes FileResult: each accepted file's
        #: outcome is sent to it (:meth:`on_chunk`, :meth:`end`).
        self.reports = False
        #: The peer paces its files: each chunk is confirmed (file_progress).
        self.confirms = False
        #: Results to send right after their FileAccept (take_result).
        self._unsent: dict[int, FileResult] = {}
        #: The task asking about each offer whose question is open or
        #: waiting for its turn: cancelled when the sender gives it up.
        self._asking: dict[int, asyncio.Task[object]] = {}
        #: Offers the sender withdrew while they were asked about, and why.
        self._withdrawn: dict[int, str] = {}
        #: What the local user was asked, per transfer still open (asked,
        #: being received, or failed and awaiting its end): for the event
        #: of a withdrawal.
        self._infos: dict[int, FileOfferInfo] = {}
        self._tidied: asyncio.Future[None] | None = None  #: _clean()'s work, once begun
        #: The disk thread (:meth:`_on_disk`), once a file needed it, and the
        #: last save given to it (:meth:`settle` waits for that, not for a
        #: tidy or a write-back hint: review7).
        self._pool: _DiskThread | None = None
        self._last_save: Future[Any] | None = None
        #: The files whose end came, being saved on the disk thread, until
        #: they are saved or not (:meth:`saving`).
        self._saving: dict[int, FileOfferInfo] = {}
        #: Set by :meth:`give_up`: :meth:`settle` no longer waits for the disk.
        self._left = asyncio.Event()
        self.pending = 0
        self.refused = 0
        self.last_refusal = ""  #: why the last offer was refused unasked ("" if it was not)
        #: ... as a reason code for the peer, and the number it qualifies.
        self._last_code = (0, 0)

    @property
    def consent(self) -> FileConsent | None:
        """The callback that asks the local user (None: every offer is refused)."""
        return self._consent

    @property
    def reserved(self) -> int:
        """Bytes reserved by pending offers and accepted files."""
        return self._total

    def receiving(self) -> list[tuple[FileOfferInfo, int]]:
        """The files being received now (accepted, not yet ended or failed),
        each with the bytes of it written so far: for an interface's progress."""
        return [(info, inc.received) for transfer, inc in self._active.items()
                if (info := self._infos.get(transfer)) is not None]  # fmt: skip

    def admit(self, offer: FileOffer, peer: str) -> FileOfferInfo | None:
        """Check an offer and reserve its space; None: refuse it without asking.

        Synchronous, so the receive loop can refuse a flood without a task per
        offer. Raises ProtocolError for an id offered twice or too many offers.
        A non-None result must go to :meth:`decide`.
        """
        if offer.transfer in self._asked:
            raise ProtocolError(f"transfer {offer.transfer} offered twice")
        if len(self._asked) >= MAX_OFFERS:
            raise ProtocolError(f"more than {MAX_OFFERS} file offers in one session")
        self._asked.add(offer.transfer)
        self.last_refusal, code, number = self._refusal(offer.size)
        self._last_code = (code, number)
        if self.last_refusal:
            self.refused += 1
            return None
        self._total += offer.size
        self.pending += 1
        name = safe_text(safe_filename(offer.name), 100)
        return FileOfferInfo(safe_text(peer), name, offer.size, transfer=offer.transfer,
                             deadline=OfferDeadline())  # fmt: skip

    def refusal_event(self, offer: FileOffer, peer: str, why: str | None = None) -> FileRefused:
        """The event for an offer refused without asking: ``why`` (default:
        what :meth:`admit` just said), the name made harmless. Read right after
        :meth:`admit`, before anything awaits: another offer's admit replaces
        :attr:`last_refusal`."""
        name = safe_text(safe_filename(offer.name), 100)
        why = self.last_refusal if why is None else why
        return FileRefused(peer, name, offer.size, why, offer.transfer)

    def _refusal(self, size: int) -> tuple[str, int, int]:
        """Why an offer of ``size`` bytes is refused unasked ("": it is not),
        for the local user, and as a reason code and its number for the peer
        (:func:`file_refusal`)."""
        if self.directory is None or self._consent is None:
            return f"this {self.side} takes no files", NO_FILES, 0
        if self.pending >= self.max_pending:
            return f"{self.pending} files already wait for an answer", BUSY, self.pending
        if size > self.max_file:
            return (f"larger than this {self.side} takes ({self.max_file} bytes)",
                    TOO_LARGE, self.max_file)  # fmt: skip
        if self._total + size > self.max_total:
            return (f"over what this {self.side} takes in one session ({self.max_total} bytes)",
                    OVER_TOTAL, self.max_total)  # fmt: skip
        return "", 0, 0

    def refuse(self, transfer: int, busy: int | None = None) -> list[Message]:
        """What to send the peer for an offer refused without asking (read
        right after :meth:`admit`, as :meth:`refusal_event`): to a peer that
        announced file results, why (:func:`file_refusal`: a code, never
        this side's words), then the FileAccept that refuses it. ``busy``:
        refused because that many questions of the peer's wait already (the
        host's question queue), not for what :meth:`admit` said."""
        answer = FileAccept(transfer, False)
        if not self.reports:
            return [answer]
        code, number = self._last_code if busy is None else (BUSY, busy)
        return [file_refusal(transfer, code, number), answer]

    async def decide(
        self,
        offer: FileOffer,
        info: FileOfferInfo,
        ask: Callable[[FileOfferInfo], Awaitable[bool]] | None = None,
    ) -> FileAccept:
        """Ask (through ``ask``, default the consent callback under the
        timeout) about an admitted offer; take the file if yes (its folder
        checked now, the file created when its first bytes come). An offer
        the sender withdraws meanwhile closes the question (the task asking
        is cancelled) and is refused, whatever the answer; one whose sender
        stopped waiting before its turn was not put (``ask`` honours
        ``info.window``), and the local user is told."""
        # The question is asked in this task, not one of its own: it takes
        # its turn among the host's questions in the order the offers came.
        asking = asyncio.current_task()
        assert asking is not None
        self._asking[offer.transfer] = asking
        self._infos[offer.transfer] = info
        try:
            ok = await (ask or self._ask)(info)
        except asyncio.CancelledError:
            if offer.transfer not in self._withdrawn:
                raise
            ok = False
        finally:
            self.pending -= 1
            del self._asking[offer.transfer]
            del self._infos[offer.transfer]  # back below while the file is taken
        if offer.transfer in self._withdrawn:
            # Withdrawn, whatever the answer (a cancellation that came as the
            # answer did may have been swallowed by a wait_for on the way).
            why = self._withdrawn.pop(offer.transfer)
            uncancel = getattr(asking, "uncancel", None)  # Python >= 3.11
            if uncancel is not None:
                uncancel()
            self._total -= info.size
            self.refused += 1
            self._tell(info, why, offer.transfer)
            return FileAccept(offer.transfer, False)
        if not ok or self.directory is None:
            self._total -= info.size
            self.refused += 1
            if info.deadline is not None and info.deadline.skipped:
                self._tell(info, EXPIRED, offer.transfer)
            return FileAccept(offer.transfer, False)
        try:
            self._usable()
        except OSError as exc:
            # The directory went away, is not writable, read-only...: the
            # local user who said yes is told; the session goes on (a file
            # that cannot be created or written later fails in on_chunk). A sender that
            # takes results is told it was accepted and not saved (the
            # FileResult right after the FileAccept: take_result); an older
            # one that it was not accepted.
            self._total -= info.size
            self.refused += 1
            reason = safe_text(exc.strerror or str(exc), _REASON_SHOWN) or "write error"
            self._tell(info, f"{NOT_SAVED}{reason}", offer.transfer)
            if not self.reports:
                return FileAccept(offer.transfer, False)
            self._infos[offer.transfer] = info
            self._failed[offer.transfer] = (info.name, info.size, f"{NOT_SAVED}{reason}")
            self._unsent[offer.transfer] = FileResult(offer.transfer, False, reason)
            return FileAccept(offer.transfer, True)
        self._active[offer.transfer] = _Incoming(info.name, offer.size)
        self._infos[offer.transfer] = info
        await self._clean()  # (a withdrawal meanwhile removes what it began)
        return FileAccept(offer.transfer, True)

    def _tell(self, info: FileOfferInfo, why: str, transfer: int) -> None:
        """Tell the local user at once that a file is not saved, and why."""
        self._told(FileRefused(info.peer, info.name, info.size, why, transfer))

    def _told(self, event: FileReceived | FileRefused) -> None:
        if self._on_event is not None:
            self._on_event(event)

    def _on_disk(self, call: Callable[..., T], *args: Any) -> Future[T]:
        """``call(*args)`` on the disk thread: the thread that makes this
        receiver's calls that may wait on a slow disk for seconds (fsync,
        link, rename, write-back), off the session's loop; one, so that
        they run in the order they were given (a file's write-back before
        its fsync, and that before its name)."""
        if self._pool is None:
            self._pool = _DiskThread()
        return self._pool.submit(call, *args)

    def withdraw(self, transfer: int, why: str = WITHDRAWN) -> None:
        """The sender gave the offer up (its timeout came before it had this
        side's answer; or ``why``, it could not read the file after the
        yes): the question is closed (:meth:`decide` refuses it), or the
        file begun is removed and its space given back; the local user is
        told ``why``. An offer already answered no, refused unasked or
        ended: nothing to do. One never offered: ProtocolError.

        A question withdrawn for want of an answer shows how long its sender
        waits: the offers that came with it and still wait for their turn
        are reckoned to end as long after they came (:class:`OfferDeadline`),
        so none of them is put once it is void, even while their own
        withdrawals are still on the way."""
        if transfer not in self._asked:
            raise ProtocolError(f"withdrawal of transfer {transfer}, which was not offered")
        asking = self._asking.get(transfer)
        if asking is not None:
            if transfer not in self._withdrawn:
                # A reason that presumes a yes (the file could not be read
                # after it) is not the truth of a question still open: the
                # user is told only that the sender withdrew it.
                self._withdrawn[transfer] = why if why == WITHDRAWN else WITHDRAWN_OTHER
                if why == WITHDRAWN:
                    self._waited(transfer)
                asking.cancel()  # decide() refuses it and tells the user
            return
        info = self._infos.pop(transfer, None)
        self._unsent.pop(transfer, None)
        if self._failed.pop(transfer, None) is not None:
            return  # it could not be saved, and the local user was told so
        if transfer in self._active:
            self._total -= self._active[transfer].size
            self._abort(transfer)
            if info is not None:
                self._tell(info, why, transfer)

    def _waited(self, transfer: int) -> None:
        """The sender gave ``transfer`` up while it was asked about: the
        other offers still asked about wait no longer after they came."""
        given_up = self._infos[transfer].deadline
        if given_up is None:
            return
        waited = asyncio.get_running_loop().time() - given_up.arrived
        for other, info in self._infos.items():
            if other in self._asking and info.deadline is not None:
                info.deadline.wait = min(info.deadline.wait, waited)

    def take_result(self, transfer: int) -> FileResult | None:
        """The FileResult to send right after :meth:`decide`'s FileAccept
        for ``transfer`` (accepted, and its file could not be created)."""
        return self._unsent.pop(transfer, None)

    async def on_offer(self, offer: FileOffer, peer: str) -> FileAccept:
        """:meth:`admit`, then :meth:`decide`. Run it as its own task."""
        info = self.admit(offer, peer)
        if info is None:
            return FileAccept(offer.transfer, False)  # (its reason: refuse())
        return await self.decide(offer, info)

    async def _ask(self, info: FileOfferInfo) -> bool:
        assert self._consent is not None
        window = info.window(self.timeout)
        if window is None:
            return False
        try:
            return bool(await asyncio.wait_for(self._consent(info), window))
        except asyncio.TimeoutError:
            return False
        except Exception:  # a crashing UI refuses, it never accepts
            return False

    def _usable(self) -> None:
        """Whether the directory can take a new file now; OSError in the OS's
        words if not (it is gone, not a directory, read-only, not writable)."""
        assert self.directory is not None
        if not stat.S_ISDIR(os.stat(self.directory).st_mode):
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
        if os.statvfs(self.directory).f_flag & os.ST_RDONLY:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        if not os.access(self.directory, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    def _root(self) -> Path:
        assert self.directory is not None
        return self.directory.resolve()

    def _create(self, name: str) -> tuple[Path, int]:
        """Create the temporary file for ``name`` in the directory,
        ``.NAME.part-XXXXXXXX`` cut to the file system's 255 bytes,
        exclusively (never over a file or through a link that is there, even
        one that appeared a moment ago), held (flock) while it is open, so
        that no other receiver's :meth:`_clean` takes it for left over.
        OSError if it cannot be created."""
        root = self._root()
        for _ in range(16):
            path = _inside(root, _fitted(f".{name}", f".part-{secrets.token_hex(4)}"))
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
            except FileExistsError:  # 32 random bits taken: another one
                continue
            _hold(fd)
            return path, fd
        raise FileExistsError(errno.EEXIST, f"no free temporary name for {name!r}")

    def _place(self, inc: _Incoming) -> Path:
        """Give the whole, checked file of ``inc`` its name in the directory,
        never over a file or a link that is there, even one that appeared a
        moment ago: ``inc.name``, else ``stem (1).ext`` ..., each cut to the
        file system's 255 bytes. A hard link, then the temporary name
        removed (a crash in between leaves both, whole). On a file system
        without hard links the file is renamed ``.NAME.whole-XXXXXXXX``
        (NAME: the name it is to have) and the folder fsync'ed, then NAME is
        created exclusively, empty, and the file renamed onto it: a power
        cut in between leaves that empty file and the whole one beside it,
        which the next receiver in the folder puts under it (:meth:`_clean`).
        ``inc.path`` follows the file. OSError if it cannot be placed."""
        assert inc.path is not None
        root = self._root()
        name = inc.name
        stem, dot, ext = name.rpartition(".")
        if not stem:
            stem, dot, ext = ext, "", ""
        tries = [_fitted(name, "")]
        tries += [_fitted(stem, f" ({i}){dot}{ext}") for i in range(1, 1000)]
        tries.append(_fitted(f"{secrets.token_hex(8)}-{name}", ""))
        links = True
        for candidate in tries:
            path = _inside(root, candidate)
            if path.is_symlink() or path.exists():
                continue
            if links:
                try:
                    os.link(inc.path, path, follow_symlinks=False)
                except FileExistsError:  # it appeared since the look: the next name
                    continue
                except OSError as exc:
                    if exc.errno not in _NO_LINKS:
                        raise
                    links = False  # FAT, exFAT, some network file systems
                else:
                    inc.path.unlink()
                    return path
            _mark_whole(inc, root, candidate)
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW))
            except FileExistsError:
                continue
            try:
                os.replace(inc.path, path)
            except OSError:
                path.unlink(missing_ok=True)  # the empty file just created
                raise
            return path
        raise FileExistsError(errno.EEXIST, f"no free name for {name!r}")

    async def _clean(self) -> None:
        """Once per receiver, at its first yes, on the disk thread: tidy
        what receivers that could not end (a killed process, a power cut)
        left in the directory, files of this user not written to for
        :data:`_STALE_PART` s and held (:func:`_hold`) by no process.
        ``.NAME.part-XXXXXXXX`` files are removed (they may be half); a
        ``.NAME.whole-XXXXXXXX`` file (whole and checked: :meth:`_place`)
        is put under NAME if NAME is an empty file not written to for as
        long (the name it had reserved) or not there, else under the next
        free name. Nothing on a system without flock."""
        if fcntl is None:
            return
        if self._tidied is None:
            self._tidied = asyncio.wrap_future(self._on_disk(self._tidy))
        if not self._tidied.done():  # each yes meanwhile waits too: answered in order
            await asyncio.wait({self._tidied})

    def _tidy(self) -> None:
        """:meth:`_clean`'s work, on the disk thread."""
        root = self._root()
        try:
            names = os.listdir(root)
        except OSError:
            return
        for n in names:
            path = root / n
            with contextlib.suppress(OSError, ProtocolError):  # (a name of no file: "...whole-")
                if _PART.match(n):
                    _take_left(path, path.unlink)
                elif (whole := _WHOLE.match(n)) is not None:
                    _take_left(path, functools.partial(self._name_whole, path, whole[1]))

    def _name_whole(self, whole: Path, name: str) -> None:
        """Put ``whole``, a whole file left while it was named (a power cut
        in :meth:`_place`), under ``name``: over the empty file that
        reserved it, or under the first free name as :meth:`_place` does.
        An empty file is the reservation only once it is stale too: one
        of a moment ago is another receiver's, about to have its own file
        renamed onto it (:meth:`_place`)."""
        path = _inside(whole.parent, name)
        st = os.stat(path, follow_symlinks=False) if path.exists() or path.is_symlink() else None
        if (st is not None and stat.S_ISREG(st.st_mode) and st.st_size == 0
                and time.time() - st.st_mtime >= _STALE_PART):  # fmt: skip
            os.replace(whole, path)
        else:
            inc = _Incoming(name, 0)
            inc.path = whole
            self._place(inc)
        _sync_dir(whole.parent)

    def on_chunk(self, chunk: FileChunk) -> Message | None:
        """Write a chunk; what to send the peer: a FileResult (when it takes
        them) if this chunk's file could not be written, sent at once so the
        sender can stop; else to a pacing peer how far the file got."""
        if chunk.transfer in self._failed:
            return None  # it could not be saved: the rest of it goes nowhere
        inc = self._active.get(chunk.transfer)
        if inc is None:
            raise ProtocolError(f"chunk for transfer {chunk.transfer}, which is not accepted")
        if chunk.offset != inc.received or inc.received + len(chunk.data) > inc.size:
            self._abort(chunk.transfer)
            raise ProtocolError("file chunk out of order or past the offered size")
        try:
            write_all(self._opened(inc), chunk.data)
        except OSError as exc:  # gone, the disk is full, the file too large for it...
            self._abort(chunk.transfer)
            return self._fail(chunk.transfer, inc, exc)
        inc.hash.update(chunk.data)
        inc.received += len(chunk.data)
        self._write_back(inc)
        return file_progress(chunk.transfer, inc.received) if self.confirms else None

    def _write_back(self, inc: _Incoming) -> None:
        """Start writing what came of ``inc`` to the disk, :data:`_WRITE_BACK`
        bytes at a time, without waiting (:func:`_advise`, on the disk
        thread, with a duplicate of the file's descriptor, which the loop
        may close meanwhile): the fsync before it is named (:meth:`end`)
        then waits only for the last few MB, not for the whole file (which
        the kernel would otherwise keep in memory for up to 30 s)."""
        if _fadvise is None or inc.fd is None or inc.received - inc.written_back < _WRITE_BACK:
            return
        with contextlib.suppress(OSError):  # no descriptor to spare: only a hint
            fd = os.dup(inc.fd)
            self._on_disk(_advise, fd, inc.written_back, inc.received - inc.written_back)
            inc.written_back = inc.received

    def _opened(self, inc: _Incoming) -> int:
        """The temporary file of ``inc``, created now if this is its first data."""
        if inc.fd is None:
            inc.path, inc.fd = self._create(inc.name)
        return inc.fd

    def _fail(self, transfer: int, inc: _Incoming, exc: OSError) -> FileResult | None:
        """Record that ``transfer`` could not be saved (its file is gone);
        the result for the peer, if it takes them."""
        self._total -= inc.size
        reason = safe_text(exc.strerror or str(exc), _REASON_SHOWN) or "write error"
        self._failed[transfer] = (inc.name, inc.size, f"{NOT_SAVED}{reason}")
        return FileResult(transfer, False, reason) if self.reports else None

    def _ending(self, end: FileEnd) -> _Incoming | None:
        """The file ``end`` ends, taken out of those being received, checked
        whole and the one offered (ProtocolError if not: it is removed), or
        None if it could not be saved here (it failed mid-way)."""
        self._infos.pop(end.transfer, None)
        if self._failed.pop(end.transfer, None) is not None:
            return None
        inc = self._active.pop(end.transfer, None)
        if inc is None:
            raise ProtocolError(f"end of transfer {end.transfer}, which is not accepted")
        if inc.received != inc.size or inc.hash.digest() != end.sha256:
            self._abort_file(inc)
            raise ProtocolError("file transfer incomplete or its hash does not match")
        return inc

    def _save(self, inc: _Incoming) -> Path:
        """Put the whole, checked file ``inc`` under its name, to stay: it is
        on the disk before it has its name, and its name after (a power cut
        leaves it whole under its name, or only under its temporary one).
        May wait on the disk for seconds: the session runs it on the disk
        thread (:meth:`end`), after the file's write-back (most of it is on
        its way to the disk already: :meth:`_write_back`). OSError if it
        cannot be saved; what it had on disk is then removed."""
        try:
            fd = self._opened(inc)  # an empty file is created only now
            held = os.dup(fd)  # its lock (_hold) until it has its name
            inc.fd = None
            try:
                try:
                    if os.fstat(fd).st_nlink == 0:  # removed meanwhile (its folder too)
                        raise FileNotFoundError(0, "the file was removed before it was complete")
                    os.fsync(fd)
                finally:
                    os.close(fd)  # a network file system may say only now that it is full
                path = self._place(inc)
            finally:
                os.close(held)
        except OSError:
            self._abort_file(inc)
            raise
        _sync_dir(path.parent)
        return path

    def on_end(self, end: FileEnd) -> tuple[Path, int] | None:
        """The file, complete and checked, under its name now, saved on the
        calling thread (the session saves off its loop: :meth:`end`); None if
        it failed mid-way; OSError if it could not be saved."""
        inc = self._ending(end)
        if inc is None:
            return None
        try:
            return self._save(inc), inc.size
        except OSError:
            self._total -= inc.size
            raise

    def end(
        self, end: FileEnd, peer: str, send: Callable[[Message], Awaitable[None]]
    ) -> Coroutine[Any, Any, None]:
        """The peer's FileEnd: the file is checked now (ProtocolError if it
        is not whole or not the one offered), then saved on the disk thread
        (:meth:`_save`), so that the session's loop and the receive loop
        that calls this go on meanwhile. Once it is saved or not, the local
        user is told (``on_event``: a FileReceived, or a FileRefused saying
        why), even if the session ended meanwhile; the coroutine returned,
        run as a task of its own, then sends the peer its FileResult if it
        takes them and has not been sent one (a file that failed mid-way
        was told at once)."""
        answer: asyncio.Future[FileResult | None] = asyncio.get_running_loop().create_future()
        failed = self._failed.get(end.transfer)
        inc = self._ending(end)
        if inc is None:
            assert failed is not None
            name, size, why = failed
            self._told(FileRefused(safe_text(peer), safe_text(name, 100), size, why, end.transfer))
            answer.set_result(None)
        else:
            self._saving[end.transfer] = FileOfferInfo(safe_text(peer), inc.name, inc.size,
                                                       transfer=end.transfer)  # fmt: skip
            self._last_save = self._on_disk(self._save, inc)
            saving = asyncio.wrap_future(self._last_save)
            told = functools.partial(self._saved, inc, end.transfer, peer, answer)
            saving.add_done_callback(told)
        return _reply(answer, send)

    def _saved(
        self,
        inc: _Incoming,
        transfer: int,
        peer: str,
        answer: asyncio.Future[FileResult | None],
        saving: asyncio.Future[Path],
    ) -> None:
        """On the loop, once the disk thread saved ``inc`` or could not
        (:meth:`end`): the local user is told, and ``answer`` is given the
        FileResult for the peer (unless whoever waited for it is gone)."""
        self._saving.pop(transfer, None)
        error = saving.exception()
        if error is not None and not isinstance(error, OSError):
            if not answer.done():
                answer.set_exception(error)  # a bug: the session ends
            return
        if error is None:
            event: FileReceived | FileRefused
            event = FileReceived(peer, str(saving.result()), inc.size, transfer)
            result = FileResult(transfer, True)
        else:
            self._total -= inc.size
            reason = safe_text(error.strerror or str(error), _REASON_SHOWN)
            event = FileRefused(safe_text(peer), safe_text(inc.name, 100), inc.size,
                                f"{NOT_SAVED}{reason}", transfer)  # fmt: skip
            result = FileResult(transfer, False, reason)
        self._told(event)
        if not answer.done():
            answer.set_result(result if self.reports else None)

    def _abort(self, transfer: int) -> None:
        inc = self._active.pop(transfer, None)
        if inc is not None:
            self._abort_file(inc)

    @staticmethod
    def _abort_file(inc: _Incoming) -> None:
        """Remove what ``inc`` has on disk (nothing before its first data)."""
        if inc.fd is not None:
            os.close(inc.fd)
            inc.fd = None
        if inc.path is not None:
            inc.path.unlink(missing_ok=True)

    def saving(self) -> list[FileOfferInfo]:
        """The files whose end came that the disk thread is saving now (the
        fsync, the name; :meth:`end`), in the order they ended: what a
        program that ends waits for (:meth:`settle`)."""
        return list(self._saving.values())

    @property
    def disk_busy(self) -> bool:
        """A file whose end came is still being saved: what :meth:`settle`
        waits for. Not the other work of the disk thread (the tidy of the
        folder at the first yes, a write-back hint): a disk that stops
        answering then had a host's close wait for good, with no file to
        name and none to give up (review7)."""
        last = self._last_save
        return last is not None and not last.done() and not self._left.is_set()

    async def settle(self) -> None:
        """Wait until each file whose end came is saved or not, and its
        user told (:meth:`end`); also after :meth:`close`. At the session's
        end: it is told after the files that came whole before it. A caller
        cancelled stops waiting; the saves go on. Once :meth:`give_up` is
        called: at once."""
        if not self.disk_busy:
            return
        assert self._last_save is not None
        left = asyncio.ensure_future(self._left.wait())
        try:  # the calls run in order: the last save done, all are
            await asyncio.wait({asyncio.wrap_future(self._last_save), left},
                               return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        finally:
            left.cancel()

    def give_up(self) -> list[FileOfferInfo]:
        """Stop waiting for the disk (the local user leaves without waiting
        for it): :meth:`settle` returns now and from now on. The disk thread
        goes on with what it was given; a file it saves while the program
        still runs is told saved as ever, and a program that ends meanwhile
        does not wait for it (a daemon thread): such a file is then not
        under its name, and what of it was written stays under its
        temporary name, which a later receiver in the folder tidies away
        (:meth:`_clean`). Returns the files that were still being saved."""
        self._left.set()
        return self.saving()

    def close(self) -> None:
        """Session over: remove every half-received file, and tell the local
        user of each one they said yes to that it is not saved
        (:data:`CUT_SHORT`, with how much of it came). Once: what it
        removed it no longer has."""
        for transfer, inc in list(self._active.items()):
            self._abort(transfer)
            info = self._infos.pop(transfer, None)
            if info is not None:
                why = f"{CUT_SHORT} ({inc.received} of {inc.size} bytes)"
                self._told(FileRefused(info.peer, info.name, info.size, why, transfer,
                                       inc.received))  # fmt: skip
        if self._pool is not None:
            # What it was given still runs (a file whole before the end is
            # saved, and its user told); then its thread ends.
            self._pool.shutdown()
            self._pool = None


#: How the why of an offer that the session's end overtook ends (after the
#: end's own words: "the session ended before an answer"), outcome "declined".
BEFORE_AN_ANSWER = "before an answer"


class FileSender:
    """Offers files to the peer and streams them once accepted.

    An offer not answered within ``timeout`` is given up (:meth:`send_file`
    returns False, "declined"). Which came first, the answer or the
    timeout, is decided once, synchronously on the loop (:meth:`on_accept`
    and :meth:`_give_up` each take the offer out of ``_waiting``; the other
    then finds it gone), so an answer that comes as the timeout fires is
    never lost between them. A given-up offer is withdrawn at the peer
    (:func:`file_withdrawal`: it closes its question or removes the file
    it began), and its answer, which may still come (the peer asks its user
    one question at a time and times each from when it is put), is ignored
    (counted in ``late``), never taken for a protocol error. An answer to
    an offer never made, or a second answer, is a ProtocolError.

    To a peer that announced file results (:attr:`peer_reports`), an
    accepted file is "delivered" only once the peer's FileResult says it was
    saved; a failure it reports mid-way stops the streaming (the FileEnd
    still goes). The result is awaited as long as the session lasts (the
    receiver sends it as soon as it has checked and closed the file; a slow
    close is no failure); a session that ends after the FileEnd went and
    before the result leaves it "unconfirmed", one that ends before the
    FileEnd "failed" (the receiver removes half files). Each outcome is a
    :class:`~.events.FileSent` event."""

    def __init__(
        self,
        send: Callable[[Message], Awaitable[None]],
        timeout: float = OFFER_TIMEOUT,
        *,
        peer: str = "",
        on_event: Callable[[FileSent], None] | None = None,
    ) -> None:
        self._send = send
        self._timeout = timeout
        self._peer = safe_text(peer)
        self._on_event = on_event
        self._waiting: dict[int, asyncio.Future[bool | None]] = {}
        self._given_up: set[int] = set()
        #: Why the session ended (:meth:`close`): an offer still waiting for
        #: its answer ends with it, in these words.
        self._closed: str | None = None
        #: Accepted transfers of a reporting peer, until its FileResult
        #: (None: the session ended first).
        self._results: dict[int, asyncio.Future[FileResult | None]] = {}
        #: Of those, the ones whose FileEnd went: only they can be saved.
        self._ended: set[int] = set()
        #: Accepted after their offer was given up, by a peer that reports:
        #: its FileResult may follow (a file it could not create), ignored.
        self._late_accepted: set[int] = set()
        #: Why the peer refuses an offer still waiting for its answer
        #: (:func:`file_refusal`), until that answer.
        self._refusals: dict[int, str] = {}
        #: Who is told how much of a transfer the peer has (:meth:`send`'s ``on_arrived``).
        self._arrived: dict[int, Callable[[int], None]] = {}
        self._next = 1
        self.late = 0  #: answers that came after their offer was given up
        #: The peer announced it sends FileResult (set by the session).
        self.peer_reports = False
        #: The peer confirms chunks: files go under this window (pace()).
        self.window: BulkWindow | None = None
        self.last: FileSent | None = None  #: the latest outcome
        self._announced = False
        self._announcing = asyncio.Lock()

    async def announce(self) -> None:
        """Say once, before this side's first FileOffer and its first
        accepting FileAccept, that it sends and takes FileResult (so a
        session without files sends nothing new)."""
        async with self._announcing:  # nothing of a file goes before it
            if not self._announced:
                await self._send(file_results_announcement())
                self._announced = True

    async def answer(self, accept: FileAccept, result: FileResult | None = None) -> None:
        """Send this side's answer to the peer's offer (the receiver's),
        announced first if it accepts, and ``result`` right after it if the
        file already failed (:meth:`FileReceiver.take_result`)."""
        if accept.accepted:
            await self.announce()
        await self._send(accept)
        if result is not None:
            await self._send(result)

    def pace(self) -> None:
        """The peer confirms each chunk of the files it takes: from now on
        they are sent under a :class:`~.pacing.BulkWindow`."""
        if self.window is None:
            self.window = BulkWindow()

    def on_progress(self, transfer: int, received: int) -> None:
        """The peer has ``received`` bytes of ``transfer``."""
        if self.window is not None:
            self.window.confirmed(transfer, received)
        arrived = self._arrived.get(transfer)
        if arrived is not None:
            arrived(received)

    def on_refusal(self, transfer: int, why: str) -> None:
        """The peer says why it refuses ``transfer`` without asking its user
        (the FileAccept that refuses it comes next): kept for that answer.
        For an offer no longer waiting (given up, answered): ignored."""
        if transfer in self._waiting:
            self._refusals[transfer] = why

    def on_accept(self, msg: FileAccept) -> None:
        fut = self._waiting.pop(msg.transfer, None)  # the answer is first: see _give_up
        if fut is None and msg.transfer in self._given_up:
            self._given_up.discard(msg.transfer)
            self.late += 1
            if msg.accepted and self.peer_reports:
                self._late_accepted.add(msg.transfer)
            return
        if fut is None:
            raise ProtocolError(f"answer for transfer {msg.transfer}, which was not offered")
        if msg.accepted and self.peer_reports:
            # Known now, in the receive loop: the announcement came before
            # this answer on the same channel, if at all.
            self._results[msg.transfer] = asyncio.get_running_loop().create_future()
        fut.set_result(msg.accepted)

    def _give_up(self, transfer: int) -> None:
        """The offer's timeout, on the loop: if no answer came before, the
        offer is given up now (:meth:`send` withdraws it at the peer)."""
        fut = self._waiting.pop(transfer, None)
        if fut is not None:  # else the answer came first
            self._given_up.add(transfer)
            fut.set_result(None)

    def on_result(self, msg: FileResult) -> None:
        """The peer's FileResult: for an accepted transfer, once."""
        fut = self._results.get(msg.transfer)
        if fut is None and msg.transfer in self._given_up | self._late_accepted:
            self._given_up.discard(msg.transfer)
            self._late_accepted.discard(msg.transfer)
            self.late += 1
            return
        if fut is None or fut.done():
            raise ProtocolError(f"file result for transfer {msg.transfer}, which is not awaited")
        if msg.saved and msg.transfer not in self._ended:
            # A receiver says saved after the FileEnd only: before it, the
            # file is not all there (and the sender would stop streaming it).
            raise ProtocolError(f"file result for transfer {msg.transfer}: saved before its end")
        fut.set_result(msg)

    def close(self, why: str = "the session ended") -> None:
        """Session over: transfers still waiting for their result end
        "unconfirmed" if their FileEnd went (the peer may have saved them),
        else "failed: ``why``"; offers still waiting for their answer end
        now, not at their timeout: "declined: ``why`` before an answer"
        (:data:`BEFORE_AN_ANSWER`)."""
        self._closed = why
        waiting, self._waiting = self._waiting, {}
        for offer in waiting.values():
            offer.set_result(None)
        for transfer, fut in self._results.items():
            if not fut.done():
                ended = transfer in self._ended
                fut.set_result(None if ended else FileResult(transfer, False, why))
        if self.window is not None:
            self.window.close()  # a file waiting for room stops waiting

    async def send_file(self, path: Path, name: str | None = None) -> bool:
        """Offer ``path``; stream it if accepted. True if it was delivered
        (to a peer of an older version: accepted and streamed); what became
        of it is :attr:`last` and a :class:`~.events.FileSent` event."""
        return (await self.send(path, name)).outcome in ("delivered", "unconfirmed")

    async def send(
        self,
        path: Path,
        name: str | None = None,
        *,
        on_sending: Callable[[int, int], None] | None = None,
        on_arrived: Callable[[int], None] | None = None,
    ) -> FileSent:
        """:meth:`send_file`, returning the outcome. ``on_sending(sent,
        size)``: the peer accepted the file (``sent`` 0), and then after each
        chunk handed to the channel (the bytes of it sent so far).
        ``on_arrived(received)``: a peer that paces said it has that many
        bytes of it (so that a session that ends mid-file can say how much
        had arrived)."""
        data_size = path.stat().st_size
        name = name or path.name
        transfer = self._next
        self._next += 1
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[bool | None] = loop.create_future()  # None: given up
        self._waiting[transfer] = fut
        if on_arrived is not None:
            self._arrived[transfer] = on_arrived
        try:
            await self.announce()
            await self._send(FileOffer(transfer, name, data_size))
            timer = loop.call_later(self._timeout, self._give_up, transfer)
            try:
                accepted = await asyncio.shield(fut)
            finally:
                timer.cancel()
        finally:
            if not fut.done():  # cancelled: whatever answer comes is late
                self._give_up(transfer)
            refused = self._refusals.pop(transfer, "")
            if not (fut.done() and not fut.cancelled() and fut.result() is True):
                self._arrived.pop(transfer, None)  # not accepted: nothing of it goes
        if accepted is None and self._closed is not None:
            # Never accepted: not sent, not "failed" (which says the peer
            # took it and could not save it).
            why = f"{self._closed} {BEFORE_AN_ANSWER}"
            return self._outcome(name, data_size, transfer, "declined", why)
        if accepted is None:
            await self._withdraw(transfer)
            return self._outcome(name, data_size, transfer, "declined", "no answer in time")
        if not accepted:  # why, if the peer refused it unasked and said so
            why = f"{REFUSED_UNASKED}{refused}" if refused else ""
            return self._outcome(name, data_size, transfer, "declined", why)
        result = self._results.get(transfer)
        if on_sending is not None:
            on_sending(0, data_size)
        try:
            try:
                await self._stream(path, data_size, transfer, result, on_sending)
            except OSError as exc:
                if isinstance(exc, ScreencodecError):
                    raise  # the session ended
                # The file went or could not be read after the yes: the
                # receiver removes what it began, and tells its user why
                # (one of an earlier version waits for the rest until its
                # session ends, or has created nothing).
                await self._withdraw(transfer, UNREAD)
                why = f"{NOT_READ}{(exc.strerror or str(exc)).lower()}"
                return self._outcome(name, data_size, transfer, "failed", why)
            if result is None:
                return self._outcome(name, data_size, transfer, "unconfirmed")
            answer = await result  # however late: the truth, not a guess
        finally:
            self._results.pop(transfer, None)
            self._ended.discard(transfer)
            self._arrived.pop(transfer, None)
        if answer is None:
            why = "the session ended before the peer said whether it saved it"
            return self._outcome(name, data_size, transfer, "unconfirmed", why)
        if answer.saved:
            return self._outcome(name, data_size, transfer, "delivered")
        why = safe_text(answer.reason, _REASON_SHOWN) or "not saved"
        if why.startswith(NOT_READ):  # the receiver's words, never told as this side's failure
            why = f"in its words: {why}"
        return self._outcome(name, data_size, transfer, "failed", why)

    async def _withdraw(self, transfer: int, reason: int = 0) -> None:
        """Withdraw ``transfer`` at the peer (:func:`file_withdrawal`);
        nothing if the session ended."""
        with contextlib.suppress(ScreencodecError, OSError):
            for msg in file_withdrawal(transfer, reason):
                await self._send(msg)

    async def _stream(
        self,
        path: Path,
        data_size: int,
        transfer: int,
        result: asyncio.Future[FileResult | None] | None,
        on_sending: Callable[[int, int], None] | None = None,
    ) -> None:
        """The chunks, then the FileEnd; a failure the peer reported stops
        the chunks (``on_sending`` told after each, as :meth:`send` says).
        OSError if the file cannot be read, or is shorter than offered
        (changed since): its FileEnd would not match."""
        digest = hashlib.sha256()
        offset = 0
        window = self.window
        try:
            with path.open("rb") as fh:
                while chunk := fh.read(MAX_FILE_CHUNK if window is None else window.chunk()):
                    if result is not None and result.done():
                        break  # the peer could not save it: the rest goes nowhere
                    if offset + len(chunk) > data_size:
                        chunk = chunk[: data_size - offset]  # file grew: send what we offered
                    digest.update(chunk)
                    if window is not None:
                        await window.wait_room(len(chunk))
                        window.sent(transfer, offset + len(chunk), len(chunk))
                    await self._send(FileChunk(transfer, offset, chunk))
                    offset += len(chunk)
                    if on_sending is not None:
                        on_sending(offset, data_size)
                    if offset >= data_size:
                        break
        finally:
            if window is not None:
                window.forget(transfer)
        if offset < data_size and not (result is not None and result.done()):
            raise OSError(errno.EIO, "it became shorter than offered")
        if result is not None:
            self._ended.add(transfer)  # before the send: the answer may come first
        await self._send(FileEnd(transfer, digest.digest()))

    def _outcome(
        self, name: str, size: int, transfer: int, outcome: str, why: str = ""
    ) -> FileSent:
        ev = FileSent(self._peer, safe_text(name, 100), size, transfer, outcome, why)
        self.last = ev
        if self._on_event is not None:
            self._on_event(ev)
        return ev
