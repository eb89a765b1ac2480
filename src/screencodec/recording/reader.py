"""Reading a ``.screc``: the index from chunk headers, payloads checked on access, verify.

:class:`RecordingReader` maps the file and walks the 24-byte chunk headers
once (no payload is read), which gives the index: updates with their times
and keyframe flags, checkpoints, cursor messages and events. It stops at the
first place the walk cannot go on: a torn tail (the writer was killed), or
damage (a header that is not one, an index out of place). Payloads are
checked (CRC-32, or AEAD for a sealed recording with the auditor's private
key) when read; :meth:`verify` reads them all, and in a host-signed
recording checks every SIGNATURE chunk against the running SHA-256 of the
bytes before it (:mod:`.sign`).

Thread safety: a reader is immutable after opening except for its mapping;
share it between threads only for reading payloads.
"""

from __future__ import annotations

import bisect
import contextlib
import contextvars
import dataclasses
import errno
import hashlib
import math
import mmap
import os
import stat
import zlib
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from screencodec.errors import DecodeError, IntegrityError, ScreencodecError
from screencodec.recording.crypto import ChunkSealer, load_private_key, unwrap_key
from screencodec.recording.format import (
    CHUNK_HEADER,
    CRC,
    FORMAT,
    FORMAT_VERSION,
    MAGIC,
    MIN_POINTER_VERSION,
    PICTURE_HASH,
    PLAIN_TYPES,
    RECORDING_NAME,
    TAG_SIZE,
    ChunkFlags,
    ChunkHeader,
    ChunkType,
    NewerFormatError,
    parse_json,
)
from screencodec.recording.parts import Listed, link_refuted, listed
from screencodec.recording.sign import Signature, host_key_id, signer_public_key, utc_text
from screencodec.recording.verdicts import PictureReport
from screencodec.transport.channel.display import counted

__all__ = ["SEALED_CHAIN", "UNSIGNED_CHAIN", "RecordingReader", "VerifyReport",
           "digests_kept", "earlier_check", "earlier_named", "earlier_verdict", "file_digest",
           "header_start", "keep_listed", "kept_listed", "seek_us"]  # fmt: skip


@dataclass
class VerifyReport:
    """What :meth:`RecordingReader.verify` found. ``status``: ``complete``
    (every chunk intact, END present), ``incomplete`` (every chunk intact, but
    the file ends early: the writer was killed or the tail was cut),
    ``damaged`` (a chunk fails its check or is out of place), or
    ``unverified``: a sealed recording read without the auditor's private
    key, whose layout is whole (chunks in order, END present) but whose
    chunks could not be checked: their AES-GCM tags need the key, so a
    changed byte inside a chunk does not show. ``unchecked`` says the tags
    were not checked (also for an incomplete one).

    Given the auditor's pinned host keys (``hosts``), three more, each NOT
    verified as a host's recording: ``unsigned`` (no host signature),
    ``unpinned`` (signed by a host key not pinned), ``signed-prefix`` (a
    pinned host's signatures cover chunks 0 .. ``signed_chunks`` - 1 only: a
    killed host, or a tail added or cut). A bad signature or a broken chain
    is ``damaged``. ``signer`` is the HEADER's host key id (None: unsigned).
    A pinned key revoked as of a time (``revoked_as_of``) makes ``revoked``
    a recording with a signature dated after that time (the first:
    ``late_signature``); one whose signatures all precede it keeps its
    status, and its line says it was signed by a key later revoked.

    With the picture check (:meth:`with_pictures`, ``verify``'s default) a
    recording whose chunks are readable but whose screen does not decode is
    ``bad-picture``, whatever its chunks' status was (``chunk_status``)."""

    path: Path
    status: str
    chunks: int  #: intact chunks
    duration: float  #: time of the last intact chunk, seconds
    updates: int
    problem: str = ""
    end_offset: int = 0  #: bytes of the intact prefix
    file_size: int = 0
    unchecked: bool = False  #: sealed, read without the key: its tags were not checked
    signer: str | None = None  #: the HEADER's host key id; None: unsigned
    pinned: bool | None = None  #: signer among the pinned hosts; None: none given
    signed_chunks: int = 0  #: chunks 0 .. signed_chunks - 1 are signed (and intact)
    signed_time: float = 0.0  #: time of the last signed chunk, seconds
    signed_updates: int = 0  #: updates among the signed chunks
    intact_chunks: int = 0  #: intact chunks, signed or not (``chunks`` when not damaged)
    pictures: PictureReport | None = None  #: the picture check; None: not run
    chunk_status: str = ""  #: for ``bad-picture``: the status the chunks alone gave
    revoked_as_of: float | None = None  #: the signer's revocation (Unix time); None: none
    valid_chunks: int = 0  #: chunks signed before the revocation
    late_signature: int = -1  #: the first SIGNATURE chunk dated after it (-1: none)
    late_time: float = 0.0  #: its date (Unix time)
    start_unix: float = 0.0  #: the HEADER's start
    #: What the check of the earlier file a resumed link's recording names
    #: found (:func:`earlier_check`); "" for any other recording.
    resumes: str = ""
    #: That check found the chain broken: the file of the name it gives is
    #: not the one named, or the name is not a recording's (``verify``
    #: exits 10 for a file complete in itself).
    chain_broken: bool = False

    #: Statuses whose payloads cannot all be read: no pictures to check.
    NO_PICTURES: ClassVar[frozenset[str]] = frozenset({"damaged", "unverified"})

    #: ``screencodec recordings verify``'s exit status for each status.
    EXIT_CODES: ClassVar[dict[str, int]] = {
        "complete": 0, "damaged": 1, "incomplete": 2, "unverified": 3, "unsigned": 4,
        "unpinned": 5, "signed-prefix": 6, "bad-picture": 7, "revoked": 8}

    @property
    def exit_code(self) -> int:
        return self.EXIT_CODES.get(self.status, 2)

    def with_pictures(self, pictures: PictureReport) -> VerifyReport:
        """This report with the picture check's result: ``bad-picture`` when
        an update fails (the chunks' own status kept in ``chunk_status``)."""
        if pictures.failure is None or self.status in self.NO_PICTURES:
            return dataclasses.replace(self, pictures=pictures)
        return dataclasses.replace(
            self, status="bad-picture", chunk_status=self.status, pictures=pictures)

    def describe(self) -> str:
        resumes = f"; {self.resumes}" if self.resumes else ""
        if self.pictures is None:
            return self._describe_chunks() + resumes
        if self.status == "bad-picture":
            chunks = dataclasses.replace(self, status=self.chunk_status, pictures=None,
                                         resumes="")  # fmt: skip
            said = chunks._describe_chunks().removeprefix(f"{self.path}: ")
            return (f"{self.path}: bad-picture: {self.pictures.describe()}; the chunks alone: "
                    f"{said}{resumes}")  # fmt: skip
        return f"{self._describe_chunks()}; {self.pictures.describe()}{resumes}"

    def _describe_chunks(self) -> str:
        what = (f"{counted(self.chunks, 'chunk')}, {counted(self.updates, 'update')},"
                f" {self.duration:.3f} s")
        unchecked = (f"; its seal was NOT checked (no --key); {SEALED_CHAIN}" if self.unchecked
                     else "")  # fmt: skip
        if self.status == "unsigned":
            return (f"{self.path}: unsigned: NOT verified as a host's recording: it carries no "
                    f"host signature, and --hosts asks for one; checked: {what}"
                    f"{unchecked}")  # fmt: skip
        if self.status == "unpinned":
            return (f"{self.path}: unpinned: NOT verified as a host's recording: signed by "
                    f"host key {self.signer}, which is NOT among the pinned hosts (--hosts); "
                    f"checked: {what}{unchecked}")  # fmt: skip
        if self.status == "revoked":
            return (f"{self.path}: revoked: NOT verified: signed by pinned host "
                    f"{self.signer}, whose key is revoked as of "
                    f"{utc_text(self.revoked_as_of or 0.0)}; its SIGNATURE chunk "
                    f"{self.late_signature} is dated {utc_text(self.late_time)} (t="
                    f"{self.late_time - self.start_unix:.3f} s), after that; "
                    f"{self._before_revocation()}; checked: {what}{unchecked}")  # fmt: skip
        if self.status == "signed-prefix":
            rest = (f"chunks {self.signed_chunks} to {self.intact_chunks - 1} (to "
                    f"t={self.duration:.3f} s) are NOT signed, so NOT verified")
            return (f"{self.path}: signed-prefix: {self._span()} of {self.intact_chunks} "
                    f"intact chunks; {rest}: {self.problem}{unchecked}")  # fmt: skip
        if self.status == "unverified":
            unsealed = "the auditor's private key: --key AUDITOR.key"
            layout = f"({what}, in order, with an END chunk)"
            if self.pinned and self.signed_chunks == self.intact_chunks:
                # The pinned host's signatures cover every byte: a change is
                # damage (1) without the key too; only the content is unopened.
                return (f"{self.path}: unverified: sealed, and its seal was NOT checked (that "
                        f"needs {unsealed}), so its pictures and log were not opened; "
                        f"{SEALED_CHAIN}; "
                        f"checked without it: the layout {layout} and the host's signatures "
                        f"over its bytes{self._signed()}")  # fmt: skip
            return (f"{self.path}: unverified: sealed, and its seal was NOT checked (that "
                    f"needs {unsealed}), so a changed byte would not show; {SEALED_CHAIN}; "
                    f"checked without it: the layout only {layout}{self._signed()}")  # fmt: skip
        head = f"{self.path}: {self.status}: {what}"
        if self.status == "complete":
            return head + self._signed()
        return (f"{head}; intact up to byte {self.end_offset} of {self.file_size} "
                f"(t={self.duration:.3f} s): {self.problem}{unchecked}"
                f"{self._signed()}")  # fmt: skip

    def _signed(self) -> str:
        """What the signatures say, after a line of another status."""
        if self.signer is None or self.status == "damaged":
            return ""
        if self.signed_chunks == self.intact_chunks:
            span = f"signed by {self._who()}: every chunk"
        elif not self.signed_chunks:
            span = f"names {self._who()} but signed none of its chunks"
        else:
            span = self._span() + ", the rest NOT"
        if self.pinned is None:
            return f"; {span} (the key was not checked against pinned hosts: --hosts FILE)"
        if self.revoked_as_of is not None:
            return (f"; {span}; signed by a key later revoked: host key {self.signer} is "
                    f"revoked as of {utc_text(self.revoked_as_of)}, after every signature "
                    "of this recording")  # fmt: skip
        return f"; {span}"

    def _before_revocation(self) -> str:
        if not self.valid_chunks:
            return "none of its signatures is dated before the revocation"
        return f"signed before the revocation: chunks 0 to {self.valid_chunks - 1} only"

    def _who(self) -> str:
        return f"{'pinned host' if self.pinned else 'host key'} {self.signer}"

    def _span(self) -> str:
        """Which chunks the host's signatures cover."""
        if not self.signed_chunks:
            return f"names {self._who()} but signed none"
        return (f"signed by {self._who()} up to chunk {self.signed_chunks - 1} "
                f"(t={self.signed_time:.3f} s, {counted(self.signed_updates, 'update')})")


@dataclass
class _Index:
    chunks: list[ChunkHeader] = field(default_factory=list)
    updates: list[int] = field(default_factory=list)  # chunk numbers
    update_times: list[int] = field(default_factory=list)  # time_us, per update
    keyframes: list[int] = field(default_factory=list)  # update ordinals
    checkpoints: list[tuple[int, int]] = field(default_factory=list)  # (resume ordinal, chunk)
    cursors: list[int] = field(default_factory=list)
    events: list[int] = field(default_factory=list)
    signatures: list[int] = field(default_factory=list)
    #: per update ordinal: the PICTURE chunk right after its UPDATE (-1: none)
    pictures: list[int] = field(default_factory=list)
    #: per cursor message: the POINTER chunk right after its CURSOR (-1: none)
    pointers: list[int] = field(default_factory=list)
    end: int | None = None
    problem: str = ""
    damaged: bool = False
    end_offset: int = 0


#: Times beyond this are clamped when seeking (no recording is that long).
_FAR = float(1 << 53)
#: A start time outside 1970..9999 cannot be shown as a date (datetime refuses it).
_LAST_START = 253402300799.0


def seek_us(t: float) -> int:
    """``t`` seconds as the microseconds of chunk times; ValueError for NaN.
    Clamped: round() of an infinite (or 1e308) time raises OverflowError."""
    if math.isnan(t):
        raise ValueError("not a time: NaN")
    return round(max(-_FAR, min(_FAR, t)) * 1e6)


def _version(path: Path, value: object) -> int:
    """The HEADER's ``version``: NewerFormatError above :data:`FORMAT_VERSION`
    (a newer screencodec wrote it: not damage), DecodeError when it is no
    version at all."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DecodeError(f"{path}: HEADER version {str(value)[:40]!r} is not a format version")
    if value > FORMAT_VERSION:
        raise NewerFormatError(
            f"{path}: made by a newer version of screencodec (format version {value}; this "
            f"one reads versions 1 to {FORMAT_VERSION}): not damaged, and NOT verified "
            "here: read it with a newer screencodec")
    return value


def header_start(path: Path, value: object) -> float:
    """The HEADER's ``start_unix``, or DecodeError: ``list`` shows it as a
    date and ``prune`` compares it, so a hostile HEADER's list, string, NaN
    or year 10**300 is damage here, not a TypeError or OverflowError later."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DecodeError(f"{path}: HEADER start_unix is not a number")
    if not 0 <= value <= _LAST_START:  # NaN fails this too
        raise DecodeError(f"{path}: HEADER start_unix {value!r} is not a date")
    return float(value)


def file_digest(path: Path) -> dict[str, Any]:
    """``{"sha256": hex, "bytes": size}`` of the regular file at ``path``;
    :class:`OSError` for anything else. What is read is what was checked:
    opened without blocking (a FIFO swapped in under the name would hold an
    open for good), then looked at through the descriptor."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
    except BaseException:
        os.close(fd)
        raise
    h, size = hashlib.sha256(), 0
    with open(fd, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
            size += len(block)
    return {"sha256": h.hexdigest(), "bytes": size}


#: What the files resumed links name are, by what their descriptor's stat
#: says (device, inode, size, mtime, ctime: a write or a rename over it
#: changes one; ctime no user sets), kept within :func:`digests_kept` only
#: (one ``recordings`` command's run): each one's SHA-256 (``("sha256",
#: *stat)``), and what its claim is checked against when opened with a key
#: (``("listed", *stat, key)``: :func:`kept_listed`). attack52: every file
#: naming one earlier file hashed it whole again, so 50 crafted files of 724
#: bytes naming a 200 MB recording made verify, play and export of their
#: folder hash it 50 times (8.2 s of CPU against 0.5 s); and opened it again,
#: its index walked whole (20 naming a file of 300k chunks: verify of the
#: folder 3.9 -> 30 s of CPU, play 9.3 -> 29 s).
_DIGESTS: contextvars.ContextVar[dict[tuple[object, ...], object] | None] = (
    contextvars.ContextVar("digests", default=None))  # fmt: skip
_DIGESTS_KEPT = 256


@contextlib.contextmanager
def digests_kept() -> Iterator[None]:
    """Within it, a file resumed links name is hashed once, and opened once
    for its claim's check (with each key), while it is unchanged
    (:func:`earlier_verdict`, :func:`kept_listed`), however many name it."""
    token = _DIGESTS.set({})
    try:
        yield
    finally:
        _DIGESTS.reset(token)


def _stat_key(st: os.stat_result) -> tuple[int, ...]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _keep(key: tuple[object, ...], value: object) -> None:
    kept = _DIGESTS.get()
    if kept is not None:
        if len(kept) >= _DIGESTS_KEPT:
            kept.pop(next(iter(kept)))
        kept[key] = value


def _key_id(private_key: X25519PrivateKey | None) -> bytes | None:
    """Which auditor key (its public key's bytes), None: none."""
    return None if private_key is None else private_key.public_key().public_bytes_raw()


def _named_digest(path: Path) -> str:
    """:func:`file_digest`'s SHA-256 of ``path``, hashed once while the file
    is unchanged; OSError as it raises."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        key = ("sha256", *_stat_key(st))
        kept = _DIGESTS.get()
        known = None if kept is None else kept.get(key)
        if isinstance(known, str):
            return known
        h = hashlib.sha256()
        with open(fd, "rb", closefd=False) as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    finally:
        os.close(fd)
    digest = h.hexdigest()
    _keep(key, digest)
    return digest


def keep_listed(reader: RecordingReader) -> Listed:
    """:func:`~screencodec.recording.parts.listed` of the open ``reader``,
    kept (within :func:`digests_kept`) by its file's stat when it was opened
    and the key it was opened with (none for a file not sealed: no key
    changes what it reads), for :func:`kept_listed`."""
    found = listed(reader)
    key_id = reader.key_id if reader.sealed else None
    _keep(("listed", *reader.stat_key, key_id), (reader.sealed, found))
    return found


def kept_listed(path: Path, key_id: bytes | None, *, unread: bool = True) -> Listed | None:
    """What :func:`keep_listed` kept of the file now at ``path`` (its stat
    unchanged) opened with the key ``key_id`` names (:attr:`RecordingReader.key_id`);
    None: nothing kept (then it is opened, and kept). A sealed file's kept
    without a key is not one's with it, nor the other way round; ``unread``
    False: not one sealed and read without a key either (whoever opens it
    may refuse that: play and export without ``--key``)."""
    kept = _DIGESTS.get()
    if not kept:
        return None
    try:
        at = _stat_key(os.stat(path))
    except OSError:
        return None
    for k in (None, key_id):  # not sealed: the same whatever the key
        known = kept.get(("listed", *at, k))
        if not (isinstance(known, tuple) and isinstance(known[1], Listed)):
            continue
        sealed, found = known[0], known[1]
        if not sealed or (k == key_id and (k is not None or unread)):
            return dataclasses.replace(found, path=path)
    return None


#: What an intact link of an unsigned recording's chain is worth: its
#: SHA-256 is in a file anyone may rewrite with fresh CRCs (docs/recording.md).
UNSIGNED_CHAIN = "chain intact, not signed: anyone with the files could have rewritten it"

#: What ``verify`` says of a sealed recording read without the key: the
#: ``earlier`` a resumed link's log holds is sealed with the rest of it.
SEALED_CHAIN = ("chain NOT checked: whether it resumes an earlier recording, and which, is "
                "in its sealed log (--key AUDITOR.key opens it)")  # fmt: skip


def earlier_check(path: Path, named: object, *, signed: bool = True) -> str:
    """What a resumed link's recording at ``path`` says of the file it
    resumes (its consent event's ``earlier``: docs/recording.md "A resumed
    link"), checked against the file of that name beside it. ``signed``:
    whether a host signed the recording that names it (unsigned, an
    intact link says it could have been rewritten)."""
    return earlier_verdict(path, named, signed)[0]


def earlier_named(reader: RecordingReader) -> tuple[object] | None:
    """``(earlier,)``: what a resumed link's consent event names as the file
    it resumes (docs/recording.md "A resumed link"); None when the recording
    names none. DecodeError or IntegrityError when its log does not read."""
    for event in reader.events():
        if event.get("type") == "consent" and "earlier" in event:
            return (event["earlier"],)
    return None


def earlier_verdict(path: Path, named: object, signed: bool = True) -> tuple[str, bool]:
    """:func:`earlier_check`'s words, and whether the chain is broken."""
    if named is None:
        return ("resumes a session whose earlier link was not recorded by this host's recorder",
                False)  # fmt: skip
    name = named.get("file") if isinstance(named, dict) else None
    if not isinstance(name, str) or RECORDING_NAME.fullmatch(name) is None:
        return "resumes a session, and names its earlier recording wrongly (damage)", True
    said = f"resumes the session of {name}"
    assert isinstance(named, dict)
    sha = named.get("sha256")
    if not isinstance(sha, str):
        return (f"{said} (not named by hash: that file was not complete when this one named"
                " it)", False)  # fmt: skip
    there = path.parent / name
    try:
        found = _named_digest(there)  # a regular file's, or OSError
    except OSError:
        return f"{said}, which is not in this directory", False
    if found != sha:
        return (f"{said}, but the file of that name here is NOT the one it names (SHA-256"
                " differs)", True)  # fmt: skip
    intact = f"{said}: the file here is the one it names (SHA-256)"
    return (intact if signed else f"{intact}; {UNSIGNED_CHAIN}"), False


class _Whole(bytes):
    """A recording read whole: bytes with the mapping's ``closed`` and
    ``close`` (nothing to unmap)."""

    closed = False

    def close(self) -> None:
        pass


class RecordingReader:
    """An open recording. ``private_key`` (an X25519 key or its file) is needed
    to read the payloads of a sealed one; its index needs no key.

    ``pinned``: what :meth:`verify` checked is what is shown after it, in
    bounded memory (play and export ``--hosts``: a recording rewritten in
    place after the check would be shown as the pinned host's). Once the
    index is walked each chunk is read with ``pread`` (a mapping shows what
    is written to the file later, and a file cut short under it kills the
    process with SIGBUS), and the first read of each chunk (``verify``'s)
    pins its BLAKE2b-128: a later read of other bytes raises IntegrityError.
    It costs 17 bytes a chunk. ``in_memory``: read the file once, whole, for
    the same guarantee at the file's size in memory (what ``--hosts`` did)."""

    def __init__(
        self, path: Path | str, *, private_key: X25519PrivateKey | Path | str | None = None,
        in_memory: bool = False, pinned: bool = False,
    ) -> None:
        self.path = Path(path)
        self._fd: int | None = None  # pinned: every chunk is read from it
        self._pins: bytearray | None = None  # pinned: 16 bytes a chunk, then a flag each
        self._auditor: X25519PrivateKey | None = None  # sealed, opened with it
        with open(self.path, "rb") as f:
            #: The file's stat as opened (:func:`keep_listed` keeps what it is by it).
            self.stat_key = _stat_key(os.fstat(f.fileno()))
            whole = _Whole(f.read()) if in_memory else None
            self.size = f.seek(0, 2) if whole is None else len(whole)
            if self.size < len(MAGIC) + CHUNK_HEADER.size:
                raise DecodeError(f"{self.path}: not a recording (too short)")
            self._buf: Any = whole or mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            if pinned and whole is None:
                self._fd = os.dup(f.fileno())
        try:
            self._open(private_key)
        except BaseException:
            self.close()
            raise

    def _open(self, private_key: X25519PrivateKey | Path | str | None) -> None:
        """The HEADER, the key and the index (``__init__``'s, once mapped)."""
        if self._buf[: len(MAGIC)] != MAGIC:
            raise DecodeError(f"{self.path}: not a recording (bad magic)")
        first = ChunkHeader.unpack(self._buf, len(MAGIC))
        if first.type is not ChunkType.HEADER or first.index != 0:
            raise DecodeError(f"{self.path}: the first chunk is not a HEADER")
        body = self._plain(first)
        self.header = parse_json(body, "HEADER")
        if self.header.get("format") != FORMAT:
            raise DecodeError(f"{self.path}: format {self.header.get('format')!r}")
        self.version = _version(self.path, self.header.get("version"))
        self.sealed = bool(self.header.get("sealed"))
        self.start_unix = header_start(self.path, self.header.get("start_unix", 0.0))
        self.header_digest = hashlib.sha256(body).digest()
        try:
            #: The host public key the HEADER names (raw 32 bytes), None: unsigned.
            self.signer = signer_public_key(self.header.get("signer"))
        except DecodeError as exc:
            raise DecodeError(f"{self.path}: {exc}") from None
        #: Its key id (computed from the key, not taken from the file).
        self.signer_id = None if self.signer is None else host_key_id(self.signer)
        pictures = self.header.get("pictures")
        if pictures is not None and pictures != PICTURE_HASH:
            raise DecodeError(f"{self.path}: HEADER pictures is not {PICTURE_HASH!r}")
        #: Whether every UPDATE is followed by its PICTURE chunk (the hash of
        #: the framebuffer after it).
        self.picture_hashes = pictures is not None
        pointer = self.header.get("pointer")
        if pointer is not None and (pointer != PICTURE_HASH or not self.picture_hashes
                                    or self.version < MIN_POINTER_VERSION):
            raise DecodeError(f"{self.path}: HEADER pointer is not {PICTURE_HASH!r} in a "
                              f"recording of version {MIN_POINTER_VERSION} or later with "
                              "picture hashes")  # fmt: skip
        #: Whether every CURSOR is followed by its POINTER chunk (the hash of
        #: the pointer as drawn after it).
        self.pointer_hashes = pointer is not None
        self._trailer = TAG_SIZE if self.sealed else CRC.size
        self._sealer: ChunkSealer | None = None
        #: The auditor's key given (its public key's bytes), None: none, or
        #: given as a file and not read (this file is not sealed).
        self.key_id = (_key_id(private_key) if isinstance(private_key, X25519PrivateKey)
                       else None)  # fmt: skip
        if self.sealed and private_key is not None:
            if isinstance(private_key, str | Path):
                private_key = load_private_key(Path(private_key))
                self.key_id = _key_id(private_key)
            #: The auditor's key this one opened with (verify opens the file a
            #: resumed link names with it, to check what it names).
            self._auditor = private_key
            key = unwrap_key(self.header.get("key") or {}, private_key)
            self._sealer = ChunkSealer(key, self.header_digest)
        self.index = self._walk(first)
        if self._fd is not None:
            self._pins = bytearray(17 * len(self.index.chunks))
            self._buf.close()  # nothing reads the mapping from here on

    # -- the index ---------------------------------------------------------

    def _walk(self, first: ChunkHeader) -> _Index:
        idx = _Index(chunks=[first])
        pos = first.payload_offset + first.length + CRC.size
        idx.end_offset = pos
        buf, size = self._buf, self.size
        while pos < size:
            # Nothing the writer writes follows END (and a signed recording's
            # final SIGNATURE), not even torn: bytes nobody signed or checked
            # must not pass as part of a complete file.
            done = idx.end is not None and (self.signer is None
                                            or idx.chunks[-1].type is not ChunkType.END)
            if done and size - pos < CHUNK_HEADER.size:
                idx.problem = (f"{size - pos} bytes after the last chunk (from byte {pos}): "
                               "nothing follows the END chunk"
                               f"{'' if self.signer is None else ' and its SIGNATURE'}")
                idx.damaged = True
                break
            if size - pos < CHUNK_HEADER.size:
                idx.problem = f"torn chunk header at byte {pos}"
                break
            try:
                h = ChunkHeader.unpack(buf, pos)
            except DecodeError as exc:
                idx.problem, idx.damaged = str(exc), True
                break
            n = len(idx.chunks)
            if h.index != n:
                idx.problem = f"chunk {h.index} found where chunk {n} belongs (byte {pos})"
                idx.damaged = True
                break
            # After END: only the final SIGNATURE (a signed recording's last
            # chunk), whole or torn (a host killed as it wrote it).
            if idx.end is not None and (done or h.type is not ChunkType.SIGNATURE):
                idx.problem, idx.damaged = f"chunk {n} after the END chunk", True
                break
            trailer = CRC.size if h.type in PLAIN_TYPES else self._trailer
            end = h.payload_offset + h.length + trailer
            if end > size:
                idx.problem = f"chunk {n} torn: {end - size} bytes missing at the end"
                break
            if h.type is ChunkType.SIGNATURE and self.signer is None:
                idx.problem = f"a SIGNATURE at chunk {n}, but the HEADER names no signer"
                idx.damaged = True
                break
            if h.type is ChunkType.PICTURE and not self.picture_hashes:
                idx.problem = (f"a PICTURE at chunk {n}, but the HEADER declares no picture "
                               "hashes")  # fmt: skip
                idx.damaged = True
                break
            if h.type is ChunkType.POINTER and not self.pointer_hashes:
                idx.problem = (f"a POINTER at chunk {n}, but the HEADER declares no pointer "
                               "hashes")  # fmt: skip
                idx.damaged = True
                break
            if h.time_us < 0:  # the writer clamps times to >= 0: a forged or broken header
                idx.problem = f"chunk {n} has a negative time ({h.time_us} us, byte {pos})"
                idx.damaged = True
                break
            idx.chunks.append(h)
            kind = h.type
            if kind is ChunkType.UPDATE:
                if h.flags & ChunkFlags.KEYFRAME:
                    idx.keyframes.append(len(idx.updates))
                idx.updates.append(n)
                idx.update_times.append(h.time_us)
                idx.pictures.append(-1)
            elif kind is ChunkType.PICTURE:
                if idx.chunks[n - 1].type is ChunkType.UPDATE:
                    idx.pictures[-1] = n
            elif kind is ChunkType.POINTER:
                if idx.chunks[n - 1].type is ChunkType.CURSOR:
                    idx.pointers[-1] = n
            elif kind is ChunkType.CHECKPOINT:
                idx.checkpoints.append((len(idx.updates), n))
            elif kind is ChunkType.CURSOR:
                idx.cursors.append(n)
                idx.pointers.append(-1)
            elif kind is ChunkType.EVENT:
                idx.events.append(n)
            elif kind is ChunkType.END:
                idx.end = n
            elif kind is ChunkType.SIGNATURE:
                idx.signatures.append(n)
            elif kind is ChunkType.HEADER:
                idx.problem, idx.damaged = f"a second HEADER at chunk {n}", True
                idx.chunks.pop()
                break
            pos = end
            idx.end_offset = pos
        if not idx.damaged and idx.end is None:
            self._unhashed_tail(idx)
        if not idx.problem and idx.end is None:
            idx.problem = "no END chunk: the recording stops here (writer killed or tail cut)"
        return idx

    def _unhashed_tail(self, idx: _Index) -> None:
        """A file that stops (a killed writer, a cut tail) right after an
        UPDATE or CURSOR whose hash chunk is missing: that chunk is left out
        of the intact prefix, as a torn one. The writer may hand it to the
        kernel before its hash (a batch flushed at its size); nothing would
        vouch for its picture, and it is not a bad one either."""
        last = idx.chunks[-1]
        if last.type is ChunkType.UPDATE and self.picture_hashes:
            what = f"update {len(idx.updates) - 1} (chunk {last.index}) has no PICTURE chunk"
            idx.updates.pop()
            idx.update_times.pop()
            idx.pictures.pop()
            if idx.keyframes and idx.keyframes[-1] == len(idx.updates):
                idx.keyframes.pop()
        elif last.type is ChunkType.CURSOR and self.pointer_hashes:
            what = (f"cursor message {len(idx.cursors) - 1} (chunk {last.index}) has no "
                    "POINTER chunk")  # fmt: skip
            idx.cursors.pop()
            idx.pointers.pop()
        else:
            return
        idx.chunks.pop()
        idx.end_offset = last.offset
        why = f"{what}: the file stops before its hash, so it is left out"
        idx.problem = (f"{idx.problem}; before it, {why}" if idx.problem else
                       f"no END chunk (writer killed or tail cut), and {why}")  # fmt: skip

    @property
    def complete(self) -> bool:
        return self.index.end is not None and not self.index.damaged

    @property
    def duration(self) -> float:
        return self.index.chunks[-1].time if self.index.chunks else 0.0

    @property
    def update_count(self) -> int:
        return len(self.index.updates)

    def update_time(self, ordinal: int) -> float:
        return self.index.update_times[ordinal] / 1e6

    def updates_until(self, t: float) -> int:
        """How many updates have times <= ``t`` seconds (ValueError for NaN)."""
        return bisect.bisect_right(self.index.update_times, seek_us(t))

    # -- payloads ----------------------------------------------------------

    def _raw(self, h: ChunkHeader) -> bytes:
        """Chunk ``h``'s bytes, header to trailer (a copy). Pinned: read from
        the file, and the same bytes as the first read of it, or
        IntegrityError (the file was changed while it was read)."""
        plain = h.type in PLAIN_TYPES or not self.sealed
        end = h.payload_offset + h.length + (CRC.size if plain else TAG_SIZE)
        if self._fd is None:
            if end > self.size:
                raise DecodeError(f"chunk {h.index} torn")
            return bytes(self._buf[h.offset : end])
        data = os.pread(self._fd, end - h.offset, h.offset)
        if len(data) != end - h.offset or data[: CHUNK_HEADER.size] != h.pack():
            raise IntegrityError(f"chunk {h.index} is not there as it was when the file was "
                                 "opened: the file was changed while it was read")  # fmt: skip
        if self._pins is not None and h.index < len(self._pins) // 17:
            digest = hashlib.blake2b(data, digest_size=16).digest()
            at, flag = 16 * h.index, len(self._pins) // 17 * 16 + h.index
            if not self._pins[flag]:
                self._pins[at : at + 16], self._pins[flag] = digest, 1
            elif self._pins[at : at + 16] != digest:
                raise IntegrityError(f"chunk {h.index} is not the one checked when it was "
                                     "first read: the file was changed while it was read, "
                                     "so it is not shown")  # fmt: skip
        return data

    def _plain(self, h: ChunkHeader) -> bytes:
        return self._opened(h, self._raw(h))

    def _opened(self, h: ChunkHeader, raw: bytes) -> bytes:
        """The payload of chunk ``h`` whose bytes are ``raw``, checked (its
        CRC, or its seal); IntegrityError when it fails."""
        start, end = CHUNK_HEADER.size, CHUNK_HEADER.size + h.length
        if h.type in PLAIN_TYPES or not self.sealed:
            (crc,) = CRC.unpack_from(raw, end)
            if zlib.crc32(raw[start:end], zlib.crc32(raw[:start])) != crc:
                raise IntegrityError(f"chunk {h.index} fails its checksum")
            return raw[start:end]
        if self._sealer is None:
            raise IntegrityError("a sealed recording: the auditor's private key is needed")
        return self._sealer.open(h.index, raw[:start], raw[start:])

    def payload(self, h: ChunkHeader) -> bytes:
        """A chunk's payload, checked; IntegrityError when it fails."""
        return self._opened(h, self._raw(h))

    def chunk(self, n: int) -> bytes:
        return self.payload(self.index.chunks[n])

    def update(self, ordinal: int) -> tuple[int, bytes]:
        """(wire sequence, wire update message) of update ``ordinal``."""
        body = self.chunk(self.index.updates[ordinal])
        return int.from_bytes(body[:4], "big"), body[4:]

    def checkpoint(self, chunk: int) -> tuple[int, bytes]:
        """(updates before it, lossless keyframe message) of a CHECKPOINT chunk."""
        body = self.chunk(chunk)
        return int.from_bytes(body[:4], "big"), body[4:]

    def meta(self) -> dict[str, Any]:
        """META merged with END (when present): the session's metadata."""
        out: dict[str, Any] = {}
        for h in self.index.chunks[1:3]:
            if h.type is ChunkType.META:
                out.update(parse_json(self.payload(h), "META"))
        if self.index.end is not None:
            end = parse_json(self.chunk(self.index.end), "END")
            out.update({k: v for k, v in end.items() if k != "who" or v})
        else:
            out.setdefault("reason", "incomplete")
            out["duration"] = self.duration
        return out

    def events(self) -> list[dict[str, Any]]:
        """The audit events, each with its time ``t`` (seconds)."""
        out = []
        for n in self.index.events:
            h = self.index.chunks[n]
            ev = parse_json(self.payload(h), "EVENT")
            ev["t"] = h.time
            out.append(ev)
        return out

    # -- verify ------------------------------------------------------------

    def verify(self, hosts: Collection[bytes] | None = None, *,
               revoked: Mapping[bytes, float] | None = None) -> VerifyReport:  # fmt: skip
        """Check every chunk's trailer and, in a signed recording, every
        SIGNATURE chunk against the bytes before it. AEAD tags need the
        private key: without it a sealed recording's layout alone is checked,
        and one whose layout is whole is ``unverified``, never ``complete``
        (signatures are checked all the same: they are over the bytes as
        written). ``hosts``: the pinned host public keys (raw 32 bytes each);
        given, only a recording a pinned host signed to its last chunk can be
        ``complete``. ``revoked``: pinned keys revoked as of a Unix time
        (:func:`~screencodec.recording.sign.load_pins`): a signature of such
        a key dated after it (the HEADER's start plus its chunk time, both
        signed) makes the recording ``revoked``."""
        idx = self.index
        good, problem, damaged = 0, idx.problem, idx.damaged
        can_open = not self.sealed or self._sealer is not None
        chain = hashlib.sha256(MAGIC)  # the file's bytes before the chunk at hand
        signed = 0  # chunks covered by the last good signature, itself included
        as_of = None if self.signer is None else (revoked or {}).get(self.signer)
        valid, late = 0, None  # chunks signed before the revocation; the first after
        for h in idx.chunks:
            body = b""
            opens = can_open or h.type in PLAIN_TYPES
            try:
                # Read once: the bytes checked, hashed for the signatures and
                # (pinned) pinned are the same.
                raw = self._raw(h) if opens or self.signer is not None else b""
                if opens:
                    body = self._opened(h, raw)
            except IntegrityError as exc:
                problem, damaged = str(exc), True
                break
            if h.type is ChunkType.SIGNATURE:
                wrong = self._bad_signature(h, body, chain.digest(), signed)
                if wrong:
                    problem, damaged, good = wrong, True, signed
                    break
                signed = h.index + 1
                if as_of is None or self.start_unix + h.time <= as_of:
                    valid = signed
                elif late is None:
                    late = h
            if self.signer is not None:
                chain.update(raw)
            good += 1
        last = idx.chunks[good - 1] if good else None
        updates = bisect.bisect_left(idx.updates, good)
        if damaged:
            status = "damaged"
        elif idx.end is not None and good == len(idx.chunks):
            status, problem = "complete", ""
        else:
            status = "incomplete"
        if not can_open and status == "complete":
            status, problem = "unverified", "sealed: layout only (no private key given)"
        pinned = None if hosts is None or self.signer is None else self.signer in hosts
        if hosts is not None and not damaged:
            if self.signer is None:
                status = "unsigned"
            elif not pinned:
                status = "unpinned"
            elif late is not None:
                status = "revoked"
            elif signed < good:
                status = "signed-prefix"
                if idx.end is not None and good == len(idx.chunks):
                    problem = "the END chunk is not signed: the host's last signature is before it"
        end_offset = idx.end_offset if good == len(idx.chunks) else (
            idx.chunks[good].offset if good < len(idx.chunks) else idx.end_offset)
        sig_last = idx.chunks[signed - 1] if signed else None
        resumes, broken = self._resumes() if can_open and not damaged else ("", False)
        return VerifyReport(
            self.path, status, good, last.time if last else 0.0, updates, problem,
            end_offset, self.size, unchecked=not can_open, signer=self.signer_id,
            pinned=pinned, signed_chunks=signed,
            signed_time=sig_last.time if sig_last else 0.0,
            signed_updates=bisect.bisect_left(idx.updates, signed), intact_chunks=good,
            revoked_as_of=as_of if pinned else None, valid_chunks=valid,
            late_signature=-1 if late is None else late.index,
            late_time=0.0 if late is None else self.start_unix + late.time,
            start_unix=self.start_unix, resumes=resumes, chain_broken=broken,
        )  # fmt: skip

    def signs(self, n: int) -> bool:
        """Whether the first SIGNATURE chunk after chunk ``n`` is the
        signature of the host key the HEADER names over the file's bytes
        before it (chunk ``n`` among them): that key's holder wrote chunk
        ``n``. Only that prefix is hashed (``list`` asks it of a resumed
        link's consent event, near the start), not the whole file as
        :meth:`verify` does; False for an unsigned recording."""
        sigs = self.index.signatures
        k = bisect.bisect_right(sigs, n)
        if self.signer is None or k == len(sigs):
            return False
        last = self.index.chunks[sigs[k]]
        prefix = hashlib.sha256(MAGIC)
        try:
            for h in self.index.chunks[: last.index]:
                prefix.update(self._raw(h))
            return not self._bad_signature(last, self._plain(last), prefix.digest(), 0)
        except (DecodeError, IntegrityError):
            return False

    def _resumes(self) -> tuple[str, bool]:
        """:func:`earlier_check` of the earlier file this recording names
        (a resumed link's), and whether the chain is broken; "" when it
        names none, or its log does not read (verify checks the chunks, not
        what their JSON says)."""
        try:
            named = earlier_named(self)
        except (DecodeError, IntegrityError):
            return "", False
        if named is None:
            return "", False
        words, broken = earlier_verdict(self.path, named[0], self.signer is not None)
        name = named[0].get("file") if isinstance(named[0], dict) else None
        there = self.path.parent / name if isinstance(name, str) and not broken else None
        if there is None or not there.is_file():
            return words, broken
        # The claim checked as list, play and export check it (rec52b: an
        # unsigned file after a signed one, every field copied, was intact);
        # what the file it names is kept while unchanged (attack52: each file
        # naming it opened it again, its index walked whole).
        key_id = _key_id(self._auditor)
        found = kept_listed(there, key_id)
        if found is None:
            try:
                earlier = RecordingReader(there, private_key=self._auditor)
            except (ScreencodecError, OSError, ValueError):
                earlier = None  # it is here, and does not open: its session does not read
            if earlier is not None:
                with earlier:
                    found = keep_listed(earlier)
        refuted = link_refuted(self, found)
        return (refuted, True) if refuted else (words, broken)

    def _bad_signature(self, h: ChunkHeader, body: bytes, prefix: bytes, signed: int) -> str:
        """What is wrong with SIGNATURE chunk ``h`` (payload ``body``) whose
        file bytes before it hash to ``prefix``; "" when it holds. ``signed``:
        the chunks the signatures before it covered."""
        n = h.index
        try:
            sig = Signature.unpack(body)
        except DecodeError as exc:
            return f"SIGNATURE chunk {n}: {exc}"
        if sig.n != n or sig.covered != h.offset:
            return (f"SIGNATURE chunk {n} signs the first {sig.n} chunks ({sig.covered} "
                    f"bytes), not the {n} chunks ({h.offset} bytes) before it: copied or "
                    "replayed from elsewhere")  # fmt: skip
        assert self.signer is not None  # _walk refuses a SIGNATURE in an unsigned recording
        if not sig.check(self.signer, self.header_digest, h.time_us):
            return (f"SIGNATURE chunk {n} is not host key {self.signer_id}'s signature "
                    "of what it claims (forged, or from another recording)")  # fmt: skip
        if sig.prefix_digest != prefix:
            return (f"the chain breaks at SIGNATURE chunk {n}: the bytes before it are not "
                    f"the ones the host signed (a chunk from {signed} to {n - 1} was "
                    "changed, removed, inserted or reordered)")  # fmt: skip
        return ""

    def close(self) -> None:
        fd, self._fd = getattr(self, "_fd", None), None
        if fd is not None:
            os.close(fd)
        buf = getattr(self, "_buf", None)
        if buf is not None and not buf.closed:
            # BufferError: a payload view is still alive; the mapping goes with it.
            with contextlib.suppress(BufferError):
                buf.close()

    def __enter__(self) -> RecordingReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        self.close()
