"""Whether a recording in a folder is a later part of the session of the file
it names: what ``recordings list`` checks before it shows it as one, and
``verify``, ``play`` and ``export`` before they follow its link (rec52b:
they checked the SHA-256 alone; :func:`link_refuted`) and before they take
the file it names as no session's end (rec52c: ``chain.session_ends``),
and ``prune`` before it says a kept part's session start is gone. One
check, :func:`mismatch`.

A resumed link's recording names the file of the link before it in its
consent event's ``earlier`` (docs/recording.md "A resumed link"): its name,
its session id, and, once that file was complete, its size and SHA-256. A
folder anyone may write to can hold a file that names another session's
file (review45: it was listed under that session's id as its part 2, its
own id shown nowhere). So a part is shown as one only when what it names is
the file of that name here, as far as ``list`` reads it: its session id,
its size, and its signer: a resumed link is recorded by the recorder of the
link before it, with the same host key, whose signature in a signed part
covers the consent event that names the earlier file
(:meth:`RecordingReader.signs`: the part's bytes up to that signature are
hashed, a few from its start). So the claim of a signed part is its host
key's. The SHA-256 it names is not checked here: that reads the earlier
file whole, about 1 s of CPU a GB hashed, on every ``list`` (rec52: 50
recordings of 20 MB, one session chained: 1.45 s of CPU against 0.5 s); a
byte changed in the earlier file after the fact is ``verify``'s to find
(that file damaged, the link broken: exit 10), as a byte changed in any
file is. An unsigned part proves nothing: whoever can read the earlier file
can copy what it names into a file of their own, so its row says it is
unsigned (as ``verify`` says of its chain).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from screencodec.errors import DecodeError, IntegrityError, ScreencodecError
from screencodec.recording.format import RECORDING_NAME, parse_json

__all__ = ["Claim", "Listed", "RecordingRead", "claim", "link_refuted", "listed", "mismatch",
           "refuted"]


class _Events(Protocol):
    events: list[int]


class RecordingRead(Protocol):
    """What a claim is checked against: a :class:`RecordingReader` (named
    by its shape here, since reader.py checks its own link with
    :func:`link_refuted`: the dependency runs one way)."""

    path: Path
    size: int
    signer: bytes | None
    signer_id: str | None

    @property
    def index(self) -> _Events: ...
    def chunk(self, n: int) -> bytes: ...
    def meta(self) -> dict[str, Any]: ...
    def signs(self, n: int) -> bool: ...

_SHA256 = re.compile(r"[0-9a-f]{64}", re.ASCII)


@dataclass(frozen=True)
class Claim:
    """What a resumed link's recording says it resumes."""

    file: str  #: the earlier file's name (a recording's: no directory in it)
    named: dict[str, Any]  #: its consent event's ``earlier``, as the file holds it
    signer: str | None  #: the key id of the host key its HEADER names
    signed: bool  #: that key's signature covers the consent event naming it


@dataclass(frozen=True)
class Listed:
    """What ``list`` read of a recording a claim may name."""

    path: Path
    session_id: object  #: its META's (None: its META did not read)
    signer: str | None  #: the key id of the host key its HEADER names
    size: int


def claim(reader: RecordingRead) -> Claim | None:
    """What ``reader``'s recording says it resumes; None when it resumes
    none (no consent event with ``earlier``, or ``earlier`` null: not
    recorded here), names it wrongly (a path: no file of this folder's;
    ``verify`` calls it damage), or its log does not read."""
    try:
        for n in reader.index.events:
            event = parse_json(reader.chunk(n), "EVENT")
            if event.get("type") == "consent" and "earlier" in event:
                named = event["earlier"]
                break
        else:
            return None
    except (DecodeError, IntegrityError):
        return None
    name = named.get("file") if isinstance(named, dict) else None
    if not isinstance(name, str) or RECORDING_NAME.fullmatch(name) is None:
        return None
    assert isinstance(named, dict)
    signed = reader.signer is not None and reader.signs(n)
    return Claim(name, named, reader.signer_id, signed)


def refuted(said: Claim, earlier: Listed | None) -> str:
    """What of ``said`` is not true of ``earlier``, in ``list``'s words ("":
    it is, as far as what ``list`` reads tells); ``earlier`` None: the file
    it names is not there, and only its own signature is checked. No text
    of the files' is quoted (a row holds the names, through ``safe_text``)."""
    return mismatch(said, earlier)[0]


def mismatch(said: Claim, earlier: Listed | None) -> tuple[str, str]:
    """The one check of a claim (``list``'s, ``verify``'s, ``play``'s and
    ``export``'s, ``prune``'s note): what of ``said`` is not true of
    ``earlier``, as ``(list's words, verify's)``; ``("", "")`` when it is.
    verify's go in "the file of that name here is NOT the one it names
    (...)", as a SHA-256 that differs does."""
    if said.signer is not None and not said.signed:
        why = f"no good signature of host key {said.signer} covers what it names"
        return why, why
    if earlier is None:
        return "", ""
    named = said.named
    if earlier.session_id is None:
        return ("that file's session does not read (sealed, or damaged)",
                "that file's session does not read: sealed, or damaged")  # fmt: skip
    if named.get("session_id") != earlier.session_id:
        why = "the session id it names is not that file's"
        return why, why
    if said.signer != earlier.signer:
        mine = "unsigned" if said.signer is None else f"signed by host key {said.signer}"
        theirs = ("unsigned" if earlier.signer is None
                  else f"signed by host key {earlier.signer}")  # fmt: skip
        return (f"its signer ({said.signer or 'none: unsigned'}) is not that file's"
                f" ({earlier.signer or 'none: unsigned'})",
                f"it is {mine}, that file is {theirs}")  # fmt: skip
    size, sha = named.get("bytes"), named.get("sha256")
    bad_size = size is not None and (not isinstance(size, int) or isinstance(size, bool))
    if bad_size or (sha is not None and not (isinstance(sha, str) and _SHA256.fullmatch(sha))):
        return ("it names that file wrongly (its size or SHA-256 is no such value)",
                "it names its size or SHA-256 wrongly: no such value")  # fmt: skip
    if size is not None and size != earlier.size:
        return "that file is NOT the one it names (its size differs)", "its size differs"
    return "", ""


def listed(reader: RecordingRead) -> Listed:
    """What a claim is checked against of the open recording ``reader``: its
    session id (None: its META does not read: sealed without the key, or
    damaged), its signer, its size."""
    try:
        session_id = reader.meta().get("session_id")
    except ScreencodecError:
        session_id = None
    return Listed(reader.path, session_id, reader.signer_id, reader.size)


def link_refuted(reader: RecordingRead, earlier: Listed | None) -> str:
    """``verify``'s words when the resumed link's recording ``reader`` is NOT
    a later part of the file it names, here and as :func:`listed` read it
    open, ``earlier`` (None: it is here, but does not open; what a file is
    is kept while it is unchanged, attack52: ``reader.kept_listed``): its
    claim does not check out as :func:`refuted` checks it for ``list`` (the
    same signer, that signer's signature over the claim, its session id, its
    size); "" when it does, or it names none. The SHA-256 it names is
    :func:`earlier_verdict`'s."""
    said = claim(reader)
    if said is None:
        return ""
    found = Listed(reader.path.parent / said.file, None, None, 0) if earlier is None else earlier
    why = mismatch(said, found)[1]
    return (f"resumes the session of {said.file}, but the file of that name here is NOT the"
            f" one it names ({why})") if why else ""  # fmt: skip
