"""A session's recordings in order: each resumed link's file names the one before it.

A session that lost its link and resumed is one file per link; the resumed
link's ``consent`` event names the file it continues (``earlier``: its name
and SHA-256, docs/recording.md "A resumed link"). :func:`open_chain` follows
those names back from the last file, checking each as ``verify`` does, and
:class:`ChainPlayer` and :class:`ChainCursor` play the parts as one session:
session time runs on across the parts (each starts at its HEADER's start,
after the one before), the picture between two links is the last one of the
link that was lost.
"""

from __future__ import annotations

import bisect
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from screencodec.errors import DecodeError, IntegrityError
from screencodec.frames import Frame
from screencodec.recording.parts import link_refuted
from screencodec.recording.player import MAX_PICTURE_PIXELS, CursorTrack, Player
from screencodec.recording.reader import (
    RecordingReader,
    earlier_named,
    earlier_verdict,
    keep_listed,
    kept_listed,
)
from screencodec.recording.verdicts import PictureFailure

__all__ = ["Chain", "ChainCursor", "ChainPlayer", "Ends", "Part", "last_parts",
           "open_chain", "session_ends"]

_T = TypeVar("_T", Player, CursorTrack)


@dataclass
class Part:
    """One link's recording, ``offset`` seconds into the session."""

    reader: RecordingReader
    offset: float = 0.0

    @property
    def path(self) -> Path:
        return self.reader.path

    @property
    def end(self) -> float:
        return self.offset + self.reader.duration


@dataclass
class Chain:
    """A session's recordings, first to last. ``said``: what the check of each
    link found where the chain stops early (a part missing, or broken: the
    file of the name given is not the one named), as ``verify`` says it,
    each ``(file that names it, words)``; ``broken``: one of them is broken
    (``verify``'s exit 10)."""

    parts: list[Part]
    said: list[tuple[Path, str]] = field(default_factory=list)
    broken: bool = False

    @classmethod
    def of(cls, reader: RecordingReader) -> Chain:
        """One recording as a session of one part (its own links not followed)."""
        return cls([Part(reader)])

    @property
    def path(self) -> Path:
        """The last part's file (what the session's outputs are named after)."""
        return self.parts[-1].path

    @property
    def duration(self) -> float:
        return self.parts[-1].end

    @property
    def update_count(self) -> int:
        return sum(p.reader.update_count for p in self.parts)

    def updates_until(self, t: float) -> int:
        """How many of the session's updates are shown by session time ``t``
        (those of the parts before, and of its own part up to then)."""
        k = self.part_at(t)
        done = sum(p.reader.update_count for p in self.parts[:k])
        return done + self.parts[k].reader.updates_until(t - self.parts[k].offset)

    def update_time(self, ordinal: int) -> float:
        """The session time of the session's update ``ordinal``."""
        for part in self.parts:
            if ordinal < part.reader.update_count:
                return part.offset + part.reader.update_time(ordinal)
            ordinal -= part.reader.update_count
        raise IndexError("no such update")

    def cursor_times_us(self) -> list[int]:
        """The session times of every part's cursor messages, microseconds."""
        return [round(p.offset * 1e6) + p.reader.index.chunks[n].time_us
                for p in self.parts for n in p.reader.index.cursors]  # fmt: skip

    def part_at(self, t: float) -> int:
        """The part at session time ``t``: the last one started by then."""
        return max(0, bisect.bisect_right([p.offset for p in self.parts], t) - 1)

    def shown(self, t: float, started: Callable[[RecordingReader, float], bool]
              ) -> tuple[int, float]:  # fmt: skip
        """(part, its own time) whose picture (or pointer) is shown at session
        time ``t``: the part's own once ``started`` says it has one by then
        (an update, a cursor message), else the end of the part before it:
        between two links, and before the resumed link's first update, the
        screen is the last one the lost link showed."""
        k = self.part_at(t)
        local = t - self.parts[k].offset
        while k > 0 and not started(self.parts[k].reader, local):
            k -= 1
            local = self.parts[k].reader.duration
        return k, local

    def events(self) -> list[dict[str, Any]]:
        """Every part's audit events in order, ``t`` on the session's clock,
        and an ``input`` interval's ``start`` and ``end`` too (numbers only:
        the file's values are untrusted); with more than one part each also
        names its ``file``."""
        out = []
        for part in self.parts:
            for ev in part.reader.events():
                ev["t"] = ev["t"] + part.offset
                if ev.get("type") == "input":
                    for key in ("start", "end"):
                        v = ev.get(key)
                        if isinstance(v, int | float) and not isinstance(v, bool):
                            ev[key] = round(v + part.offset, 6)
                if len(self.parts) > 1:
                    ev["file"] = part.path.name
                out.append(ev)
        return out

    def close(self) -> None:
        for part in self.parts:
            part.reader.close()

    def __enter__(self) -> Chain:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_chain(last: Path, open_reader: Callable[[Path], RecordingReader],
               hashed: dict[Path, tuple[str, bool]] | None = None) -> Chain:  # fmt: skip
    """The session whose last recording is ``last``, following each resumed
    link's ``earlier`` back while the file of that name beside it is the one
    named: by SHA-256, and its claim checked as ``list`` checks it (the same
    signer, whose signature covers the claim: :func:`link_refuted`). Where it
    is not there, or not the one named, the chain starts after it and
    ``said`` says why, in ``verify``'s words.
    ``open_reader`` opens each file (with the auditor's key, say);
    ``hashed``: the SHA-256 verdicts :func:`session_ends` found (``Ends.hashed``),
    not read again."""
    parts = [Part(open_reader(last))]
    chain = Chain(parts)
    seen = {last.resolve()}
    try:
        while True:
            reader = parts[0].reader
            earlier, words, broken = _followed(reader, open_reader, seen, hashed)
            if earlier is None:
                if words:
                    chain.said.append((reader.path, words))
                    chain.broken = broken
                break
            if "NOT" in words or "not named by hash" in words:
                chain.said.append((reader.path, words))
            seen.add(earlier.path.resolve())
            parts.insert(0, Part(earlier))
    except BaseException:
        chain.close()
        raise
    start, end = parts[0].reader.start_unix, 0.0
    for part in parts:  # on the session's clock, never before the part before it ends
        part.offset = max(part.reader.start_unix - start, end)
        end = part.end
    return chain


def _followed(reader: RecordingReader, open_reader: Callable[[Path], RecordingReader],
              seen: set[Path], hashed: dict[Path, tuple[str, bool]] | None = None,
              ) -> tuple[RecordingReader | None, str, bool]:  # fmt: skip
    """The one check of a resumed link (:func:`open_chain`'s, and, without
    keeping the file open, :func:`session_ends`' of which file ends a
    session: :func:`_taken`): the file ``reader``'s recording names as the
    one it resumes, open, when it is beside it (not one of ``seen``) and the
    one named: by SHA-256 (:func:`earlier_verdict`), and its claim as
    ``list`` checks it (:func:`link_refuted`). Else None. And ``verify``'s
    words of the link ("" when it names none, or its log does not read), and
    whether it is broken (the file of that name is NOT the one named:
    ``verify``'s 10). ``hashed``: the SHA-256 verdict of each file's link,
    by its path: one found there is not read again (the earlier file
    whole), one found here is kept there."""
    there, words, broken = _there(reader, seen, hashed)
    if there is None:
        return None, words, broken
    earlier = open_reader(there)
    # Its claim checked as list checks it (rec52b: an unsigned file after a
    # signed session, every field copied, played as its part), against the
    # reader kept open: what is checked is what is played.
    refuted = link_refuted(reader, keep_listed(earlier))
    if refuted:
        earlier.close()
        return None, refuted, True
    return earlier, words, False


def _taken(reader: RecordingReader, open_reader: Callable[[Path], RecordingReader],
           seen: set[Path], hashed: dict[Path, tuple[str, bool]]) -> tuple[Path | None, str, bool]:
    """:func:`_followed`'s check, the file it names not kept open: its path.
    What that file is (what its claim is checked against) is opened once
    while it is unchanged (``kept_listed``; attack52: 20 crafted files naming
    a recording of 300k chunks had its index walked 20 times, play of their
    folder 9.3 -> 29 s of CPU)."""
    there, words, broken = _there(reader, seen, hashed)
    if there is None:
        return None, words, broken
    # Not a sealed file read without a key: open_reader may refuse that.
    found = kept_listed(there, reader.key_id, unread=False)
    if found is None:
        with open_reader(there) as earlier:
            found = keep_listed(earlier)
    refuted = link_refuted(reader, found)
    return (None, refuted, True) if refuted else (there, words, False)


def _there(reader: RecordingReader, seen: set[Path], hashed: dict[Path, tuple[str, bool]] | None
           ) -> tuple[Path | None, str, bool]:  # fmt: skip
    """The file ``reader`` names, when it is beside it, not one of ``seen``,
    and by SHA-256 the one named (else None); the SHA-256's verdict."""
    named = _named(reader)
    if named is _NOT_RESUMED:
        return None, "", False
    key = reader.path.resolve()
    if hashed is not None and key in hashed:
        words, broken = hashed[key]
    else:
        words, broken = earlier_verdict(reader.path, named, reader.signer is not None)
        if hashed is not None:
            hashed[key] = words, broken
    name = named.get("file") if isinstance(named, dict) else None
    there = reader.path.parent / name if isinstance(name, str) else None
    if broken or there is None or not there.is_file() or there.resolve() in seen:
        return None, words, broken
    return there, words, False


_NOT_RESUMED = object()


def _named(reader: RecordingReader) -> object:
    """The ``earlier`` a resumed link's consent event gives (None: its
    earlier link was not recorded here); ``_NOT_RESUMED`` when it names
    none, or its log does not read."""
    try:
        named = earlier_named(reader)
    except (DecodeError, IntegrityError):
        return _NOT_RESUMED
    return _NOT_RESUMED if named is None else named[0]


@dataclass
class Ends:
    """The recordings of a folder that end a session (:func:`session_ends`).
    ``last``: those no other one there is a later part of, in name order;
    ``not_taken``: each file whose link to the file it names was not taken
    (that file is NOT the one it names: a SHA-256 that differs, or a claim
    that does not check out), in ``verify``'s words, ``(file, words)``:
    a session of its own, and the file it names still ends its own.
    ``hashed``: each link's SHA-256 verdict, for :func:`open_chain` (each
    earlier file read whole once: ``export --log`` of a folder of one
    session of two signed 20 MB parts took 0.03 s more CPU, 0.33 s against
    0.30 s, with the first part hashed twice)."""

    last: list[Path]
    not_taken: list[tuple[Path, str]] = field(default_factory=list)
    hashed: dict[Path, tuple[str, bool]] = field(default_factory=dict)


def session_ends(directory: Path, open_reader: Callable[[Path], RecordingReader]) -> Ends:
    """The recordings directly in ``directory`` that end a session: those no
    other one there is a later part of, as :func:`open_chain` follows a link
    (:func:`_followed`: the file it names by SHA-256, and its claim as
    ``list`` checks it). rec52c found (after rec52b): a file named by any
    other one was no session's end, whether that one's link held or not,
    so an unsigned file naming a signed session's last part, every field
    copied, was the folder's one session (played alone, the real one not
    at all).
    A file whose link is not taken is a session of its own, as ``list``
    shows it. One that is no recording (or unreadable) names none; what
    ``open_reader`` raises else (a sealed one without the key, say) is
    raised."""
    files = sorted(directory.glob("*.screc"))
    named: set[str] = set()
    ends = Ends([])
    for path in files:
        with contextlib.suppress(DecodeError, OSError), open_reader(path) as reader:
            try:
                earlier, words, broken = _taken(reader, open_reader, {path.resolve()},
                                                ends.hashed)  # fmt: skip
            except (DecodeError, OSError):
                # The file it names does not open: taken as named, as before
                # (open_chain raises the same when it plays it).
                said = _named(reader)
                if isinstance(said, dict) and isinstance(said.get("file"), str):
                    named.add(said["file"])
                continue
            if earlier is not None:
                named.add(earlier.name)
            elif broken:
                ends.not_taken.append((path, words))
    ends.last = [p for p in files if p.name not in named]
    return ends


def last_parts(directory: Path, open_reader: Callable[[Path], RecordingReader]) -> list[Path]:
    """:func:`session_ends`' ``last``: the last part of each session in
    ``directory``."""
    return session_ends(directory, open_reader).last


class _PerPart(Generic[_T]):
    """One part's :class:`Player` or :class:`CursorTrack` at a time (the part
    shown), and the failures of all those met (strict=False)."""

    def __init__(self, chain: Chain, make: Callable[[RecordingReader], _T]) -> None:
        self.chain = chain
        self._make: Callable[[RecordingReader], _T] = make
        self._k = -1
        self._current: _T | None = None
        self._past: list[PictureFailure] = []  # those of the parts left
        self.shown_failure: PictureFailure | None = None

    @property
    def failures(self) -> list[PictureFailure]:
        return self._past + ([] if self._current is None else self._current.failures)

    def _part(self, k: int) -> _T:
        if k != self._k or self._current is None:
            self._past = self.failures
            self._current = None  # its framebuffer goes before the next one's
            self._current, self._k = self._make(self.chain.parts[k].reader), k
        return self._current


class ChainPlayer(_PerPart[Player]):
    """:class:`Player` over a session's parts, on the session's clock: a part's
    picture from its first update until the next part's first update.
    ``failures`` and ``shown_failure`` as :class:`Player`'s (strict=False)."""

    def __init__(self, chain: Chain, *, max_pixels: int | None = MAX_PICTURE_PIXELS,
                 strict: bool = True) -> None:  # fmt: skip
        super().__init__(chain, lambda r: Player(r, max_pixels=max_pixels, strict=strict))

    def frame_at(self, t: float) -> Frame | None:
        k, local = self.chain.shown(t, lambda r, at: r.updates_until(at) > 0)
        player = self._part(k)
        fb = player.frame_at(local)
        self.shown_failure = player.shown_failure
        return fb

    def first_picture(self) -> Frame | None:
        """The first part's first picture (the MP4's size to start from)."""
        return self._part(0).frame_after(min(1, self.chain.parts[0].reader.update_count))


class ChainCursor(_PerPart[CursorTrack]):
    """:class:`CursorTrack` over a session's parts, as :class:`ChainPlayer`."""

    def __init__(self, chain: Chain, *, strict: bool = True) -> None:
        super().__init__(chain, lambda r: CursorTrack(r, strict=strict))

    def at(self, t: float) -> tuple[Frame, int, int] | None:
        k, local = self.chain.shown(t, _has_cursor)
        track = self._part(k)
        drawn = track.at(local)
        self.shown_failure = track.shown_failure
        return drawn


def _has_cursor(reader: RecordingReader, t: float) -> bool:
    """Whether a cursor message of ``reader`` is at or before ``t`` seconds."""
    idx = reader.index
    return bool(idx.cursors) and idx.chunks[idx.cursors[0]].time <= t
