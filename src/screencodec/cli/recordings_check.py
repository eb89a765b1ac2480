"""``recordings keygen``, ``revoke``, ``list``, ``verify`` and ``prune``: the
commands that judge recordings without showing them (``play`` and
``export`` reuse their checks: recordings_show.py)."""

from __future__ import annotations

import argparse
import errno
import math
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from screencodec.cli.recordings_lines import _say
from screencodec.errors import ScreencodecError
from screencodec.transport.channel.display import counted
from screencodec.transport.session.endreasons import NO_REQUEST, NO_VIEW_ASKED, refused_words

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from screencodec.recording import RecordingReader
    from screencodec.recording.parts import Claim, Listed
    from screencodec.recording.reader import VerifyReport
    from screencodec.recording.retention import Verdict
    from screencodec.recording.sign import Pins

__all__ = [
    "_NOTHING_ASKED", "_NoDirectoryError", "_auditor_key", "_by_start", "_check_directory",
    "_checked_against", "_hello_who", "_keygen", "_list", "_make_keys", "_pins", "_prune",
    "_reader_refused", "_recording_files", "_refused", "_revoke", "_verify", "_when"
]


def _keygen(args: argparse.Namespace) -> int:
    priv, pub = Path(f"{args.name}.key"), Path(f"{args.name}.pub")
    try:
        for path in (priv, pub):  # both first: a .pub alone got a .key that did not match it
            if path.exists() or path.is_symlink():
                raise FileExistsError(errno.EEXIST, "exists", str(path))
        return _make_keys(args.host, priv, pub)
    except FileExistsError as exc:  # it said "[Errno 17] File exists: 'NAME.key'"
        why = ("a new key would not match the .pub an auditor pinned" if args.host
               else "a new pair would not open the recordings sealed for the old one")
        raise ValueError(f"{exc.filename} exists already, nothing was written ({why}):"
                         " give another NAME, or move the old pair away first") from None


def _make_keys(host: bool, priv: Path, pub: Path) -> int:
    from screencodec.recording import generate_host_keypair, generate_keypair

    if host:
        kid = generate_host_keypair(priv, pub)
        _say(f"wrote {priv} (this host's signing key: keep it secret on the host; mode 0600) "
             f"and {pub} (give it to the auditor for verify --hosts); key id {kid}")
        return 0
    kid = generate_keypair(priv, pub)
    _say(f"wrote {priv} (keep it secret; mode 0600) and {pub} (give it to hosts); key id {kid}")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    import time

    from screencodec.recording.sign import host_key_id, load_pins, revoke_host, utc_text

    public = load_pins(args.hosts).named(args.key)
    as_of = time.time() if args.as_of is None else args.as_of
    changed = revoke_host(args.hosts, public, as_of, args.reason)
    _say(f"host key {host_key_id(public)} revoked as of {utc_text(as_of)} in "
         f"{', '.join(map(str, changed))}: verify --hosts refuses its signatures dated "
         "after that (exit 8)")  # fmt: skip
    return 0


def _when(unix: float) -> str:
    from screencodec.recording.sign import utc_text

    return utc_text(unix, exact=False)


def _list(args: argparse.Namespace) -> int:
    from screencodec.recording import RecordingReader
    from screencodec.recording.parts import Listed, claim
    from screencodec.recording.retention import being_written
    from screencodec.transport.channel.display import safe_text

    # The name is the agent's own choice (its PermissionRequest, recorded as
    # sent) and a file's name anyone's who can write the directory: each is
    # shown through safe_text, never raw on the auditor's terminal.

    _check_directory(args.directory)
    key = _auditor_key(args)
    # The signer is the key id of the host key the HEADER names (computed from
    # the key): who claims to have written it. `verify --hosts` checks that.
    print(f"{'session':14} {'start (UTC)':21} {'duration':>9} {'size':>10}  {'signer':16}  "
          "state     who")  # fmt: skip
    sealed = False  # a row read "?  ...  sealed  ?": said how to read it (walk38)
    rows: list[_Row] = []
    for path in _by_start(args.directory.glob("*.screc")):
        try:
            with RecordingReader(path, private_key=key) as r:
                # A live host's recording is not cut short (it read so).
                state = "complete" if r.complete else (
                    "recording" if being_written(path) else "cut-short")
                try:
                    meta = r.meta()
                except ScreencodecError:
                    meta, state = {}, "sealed" if r.sealed else "damaged"
                    sealed = sealed or (r.sealed and key is None)
                sid = safe_text(meta.get("session_id", "?"))[:12]
                if meta and "who" not in meta:  # no END (a killed host): the hello has it
                    meta["who"] = _hello_who(r)
                who = (f"{safe_text(meta.get('who', '?'), 64)} "
                       f"({safe_text(meta.get('peer', '?'), 64)})") if meta else "?"  # fmt: skip
                # Complete, but no session took place: said (walkfix35b: it
                # read "complete  Alice (...)" as one that did).
                named = who
                refused = _refused(meta) if state == "complete" else ""
                if refused:
                    state, who = "refused", f"{who}  {refused}"
                size = path.stat().st_size
                line = (f"{_when(r.start_unix):21} {r.duration:8.1f}s "
                        f"{size:>10}  {r.signer_id or '-':16}  {state:9} ")
                listed = Listed(path, meta.get("session_id") if meta else None, r.signer_id,
                                size)  # fmt: skip
                row = _Row(path.name, sid, line, claim(r) if meta else None, listed)
                row.who, row.named = who, named
                row.peer = safe_text(meta.get("peer", "?"), 64) if meta else ""
                if row.said is not None:  # a later part: its session's first name
                    row.session_named = _session_named(r)
                rows.append(row)
        except (ScreencodecError, OSError) as exc:
            rows.append(_Row(path.name, "", f"unreadable {safe_text(path.name, 255)}: "
                                            f"{safe_text(exc, 300)}"))  # fmt: skip
    parts = _parts(rows)
    for row in rows:
        print(row.text(parts))
    if not rows:  # walk46: the header alone said nothing of it (stderr: the table stays one)
        print(f"no recordings in {safe_text(args.directory, 300)} (no *.screc file there)",
              file=sys.stderr)  # fmt: skip
    if sealed:
        print("sealed: the session, its state and who took part are read with the auditor's"
              " private key: recordings list DIR --key AUDITOR.key")
    return 0


class _Row:
    """A line of ``list``: a recording, and what it says it resumes (a
    resumed link's: docs/recording.md "A resumed link"). walk45: a resumed
    link's recording read as a session of its own, with its own id; it is
    shown as a part of its session, under the session's (its first part's)
    id, when its claim checks out against the file it names (rec52: a
    crafted file naming another session's took that session's id)."""

    def __init__(self, name: str, sid: str, line: str, said: Claim | None = None,
                 listed: Listed | None = None) -> None:  # fmt: skip
        self.name, self.sid, self.line, self.said, self.listed = name, sid, line, said, listed
        self.missing = False  # the file it names is not in this folder
        self.refuted = ""  # why its claim does not check out ("": it does, or none)
        #: Its who column, and the agent's name and address alone (without
        #: a refused row's words): a later part shows its first part's
        #: (names52: one agent read "ADDR", "ADDR #3", "ADDR #5" through a
        #: relay, as if three), and its own link's address in its part note.
        self.who = self.named = self.peer = ""
        #: A later part's own word for its session's agent (its consent
        #: event's name and ``first_peer``), shown when its first part is
        #: not in this folder ("": it says none, a recording before names52).
        self.session_named = ""

    def text(self, parts: dict[str, tuple[_Row, int, int]]) -> str:
        from screencodec.transport.channel.display import safe_text

        if not self.sid:  # unreadable: the line says so
            return f"{'?':14} {'?':21} {'?':>9} {'?':>10}  {self.line}"
        first, n, of = parts.get(self.name, (self, 1, 1))
        part = ""
        who = first.named if first is not self and first.named else self.who
        if first.missing and first.said is not None:  # its session's start is not here
            mine = f" as {self.peer}" if self.session_named and self.peer else ""
            who = self.session_named or who
            part = (f"  a later part (its link was lost and resumed{mine}{_unproven(self)}) of"
                    f" the session of {safe_text(first.said.file, 255)}, not in this folder"
                    )  # fmt: skip
        elif of > 1:
            part = f"  part {n} of {of}" + (f" (its link was lost and resumed"
                                            f"{self._as(first)}{_unproven(self)})"
                                            if n > 1 else "")  # fmt: skip
        if self.refuted and self.said is not None:
            part += (f"  its claim to resume the session of {safe_text(self.said.file, 255)}"
                     f" does NOT check out: {self.refuted}")  # fmt: skip
        return f"{first.sid:14} {self.line}{who}{part}  {safe_text(self.name, 255)}"

    def _as(self, first: _Row) -> str:
        """A later part's own link, its row naming the first part's agent:
        " as ADDR #3" (the host's name for this link, which its audit log
        and the host's log say), or "" when that is the session's."""
        return f" as {self.peer}" if self.peer and self.peer != first.peer else ""


def _unproven(row: _Row) -> str:
    """What a later part's row adds of what its claim cannot prove."""
    said = row.said
    if said is None:
        return ""
    words = "" if said.signer is not None else "; unsigned, so not proven"
    if said.named.get("bytes") is None and not row.missing:
        words += "; the part before it named without its size (not complete when named)"
    return words


def _parts(rows: list[_Row]) -> dict[str, tuple[_Row, int, int]]:
    """Each recording's first part here (its session's id is that one's),
    its part's number, and how many parts of its session are here (rows
    in order of start: an earlier part started before). A row is a part
    of the session of the file it names only when its claim checks out
    against that file (:func:`~screencodec.recording.parts.refuted`); else
    it starts a session of its own, and says why."""
    from screencodec.recording.parts import refuted

    first: dict[str, tuple[_Row, int]] = {}
    here = {row.name: row for row in rows}
    for row in rows:
        said, before = row.said, None
        if said is not None and said.file not in here:
            # Nothing here to check it against but its own signature.
            row.refuted = refuted(said, None)
            row.missing = not row.refuted
        elif said is not None and said.file not in first:
            # It names a recording here that did not start before it (itself,
            # a cycle: crafted, review45): no resumed link's chain, and the
            # file is in this folder. Shown as a session's start.
            row.said = None
        elif said is not None:
            listed = here[said.file].listed
            row.refuted = ("that file does not read" if listed is None
                           else refuted(said, listed))  # fmt: skip
            before = None if row.refuted else first[said.file]
        first[row.name] = (before[0], before[1] + 1) if before else (row, 1)
    count: dict[str, int] = {}
    for root, _n in first.values():
        count[root.name] = count.get(root.name, 0) + 1
    return {name: (root, n, count[root.name]) for name, (root, n) in first.items()}


#: END reasons of a link that ended before its agent was asked about
#: (session/link.py ViewerLink.run: no request in time, or one without VIEW,
#: refused at once), and how ``list``, ``verify`` and ``play`` say them
#: (smallend35, ends36: they read "complete", as a session that took place).
_NOTHING_ASKED = {
    NO_REQUEST: "no request in time",
    NO_VIEW_ASKED: "it did not ask to view",
}


def _refused(meta: dict[str, Any]) -> str:
    """How a recorded session nobody was let in reads ("nobody was let in
    (the user declined)", "(the user did not answer in time)" or "(the user
    could not be asked: WHY)" for its first question; "(no request in
    time)": it asked nothing, or "(it did not ask to view)"), from its
    metadata's END reason; "" for any other."""
    from screencodec.transport.channel.display import safe_text

    reason = meta.get("reason")
    if not isinstance(reason, str):
        return ""
    if reason in _NOTHING_ASKED:
        return f"nobody was let in ({_NOTHING_ASKED[reason]})"
    words = refused_words(reason)
    return "" if words is None else f"nobody was let in ({safe_text(words, 200)})"


def _reader_refused(reader: RecordingReader) -> str:
    """:func:`_refused` of a complete recording ("" if its metadata does not open)."""
    if not reader.complete:
        return ""
    try:
        return _refused(reader.meta())
    except ScreencodecError:
        return ""


def _auditor_key(args: argparse.Namespace) -> X25519PrivateKey | None:
    """``--key``, read once before any recording: a file that is not an
    auditor's private key (its .pub, a host key) is the command's error
    (exit 2), not damage of the recordings it was meant to open."""
    from screencodec.recording import load_private_key

    return None if args.key is None else load_private_key(args.key)


def _session_named(reader: RecordingReader) -> str:
    """A resumed link's recording's name for its session's agent, as a
    row shows it: "NAME (ADDR)", the name the host's user agreed to and
    the address of the session's first link (its consent event's ``who``
    and ``first_peer``, names52); "" when it says none."""
    from screencodec.transport.channel.display import safe_text

    try:
        events = reader.events()
    except ScreencodecError:
        return ""
    said = next((ev for ev in events if ev.get("type") == "consent" and ev.get("resumed")), {})
    who, peer = said.get("who"), said.get("first_peer")
    if not isinstance(who, str) or not isinstance(peer, str):
        return ""
    return f"{safe_text(who, 64)} ({safe_text(peer, 64)})"


def _hello_who(reader: RecordingReader) -> object:
    """The name the agent asked in with (the first ``hello`` event), or "?"."""
    try:
        events = reader.events()
    except ScreencodecError:
        return "?"
    return next((ev.get("who", "?") for ev in events if ev.get("type") == "hello"), "?")


def _pins(args: argparse.Namespace) -> Pins | None:
    """``--hosts``, read once before any recording (None: not given): a pin
    file with a line that is no pin is the command's error (exit 2)."""
    from screencodec.recording.sign import load_pins

    return None if args.hosts is None else load_pins(args.hosts)


def _checked_against(reader: RecordingReader, pins: Pins | None) -> VerifyReport:
    """The chunks' verdict (``verify --no-pictures``'s), against the pinned
    hosts when given."""
    if pins is None:
        return reader.verify()
    return reader.verify(set(pins.keys.values()), revoked=pins.revoked)


def _verify(args: argparse.Namespace) -> int:
    from screencodec.recording import RecordingReader
    from screencodec.recording.crypto import OtherAuditorError
    from screencodec.recording.format import NewerFormatError
    from screencodec.recording.pictures import check_pictures
    from screencodec.recording.reader import keep_listed
    from screencodec.recording.retention import being_written

    pins = _pins(args)
    key = _auditor_key(args)
    worst = 0
    for path in _recording_files(args.files):
        try:
            with RecordingReader(path, private_key=key) as r:
                # What it is, kept for the files after it that name it (its
                # META read: walkcost52, not its index walked again for them).
                keep_listed(r)
                report = _checked_against(r, pins)
                plain_with_key = args.key is not None and not r.sealed
                if plain_with_key and report.status == "complete":
                    pass  # exit 3 below: no picture makes it verified
                elif (args.pictures and report.status not in report.NO_PICTURES
                      and not report.unchecked):  # sealed, no --key: no payload opens
                    report = report.with_pictures(check_pictures(r, report.intact_chunks))
                refused = _reader_refused(r)  # said with a sound verdict only
            if plain_with_key and report.status == "complete":
                # A sealed recording swapped for a plain one (anyone can write
                # CRCs) must not pass as verified by an auditor who gave --key.
                _say(f"{path}: unverified: NOT sealed (plain: its CRC-32s catch accidents, "
                     "not edits), so --key checked nothing; checked: "
                     f"{counted(report.chunks, 'chunk')}, {counted(report.updates, 'update')}, "
                     f"{report.duration:.3f} s, with an END chunk")  # fmt: skip
                code = 3
            else:
                # Cut short because a host is still writing it: not a killed host.
                live = report.status == "incomplete" and being_written(path)
                _say(report.describe() + ("; a host is still writing it: verify it once its"
                                          " session has ended" if live else "")
                     + (f"; a refused session: {refused}" if refused and report.exit_code == 0
                        else ""))  # fmt: skip
                code = report.exit_code
                if code == 0 and report.chain_broken:  # each file sound, the set is not
                    code = 10
        except OtherAuditorError as exc:  # a key mix-up is no proof of tampering
            _say(f"{path}: unverified: {exc}")
            code = 3
        except NewerFormatError as exc:  # not damage: a newer screencodec reads it
            _say(f"{path}: newer: {str(exc).removeprefix(f'{path}: ')}")
            code = 9
        except (ScreencodecError, ValueError) as exc:  # its HEADER or key is bad
            _say(f"{path}: damaged: {exc}")
            code = 1
        worst = min(worst, code, key=lambda c: c or 99)  # the lowest, 0 only if all are
    return worst


class _NoDirectoryError(ScreencodecError, ValueError):
    """The directory to list or prune is not there (or not a directory), or
    a folder given to verify holds no recording."""


def _recording_files(paths: list[Path]) -> list[Path]:
    """The files ``verify`` checks: each path given, a folder standing for
    the recordings directly in it (``*.screc``, as ``list`` reads them)."""
    files = []
    for path in paths:
        if not path.is_dir():
            files.append(path)
            continue
        found = _by_start(path.glob("*.screc"))
        if not found:
            raise _NoDirectoryError(f"{path}: no recordings (*.screc) in this folder")
        files.extend(found)
    return files


def _by_start(paths: Iterable[Path]) -> list[Path]:
    """``paths`` in the order their recordings began (the start each HEADER
    states; a file that states none, its mtime; one that cannot be looked
    at, last), then by name. Not in name order: a name of the version
    before milliseconds (``...T080000Z-id``) sorted after every newer one
    of its second (``...T080000.500Z-id``: '.' before 'Z')."""
    from screencodec.recording.retention import recording_start

    def start(path: Path) -> float:
        try:
            return recording_start(path)
        except OSError:  # gone, a link to nothing
            return math.inf

    return sorted(paths, key=lambda p: (start(p), p.name))


def _check_directory(directory: Path) -> None:
    if not directory.exists():
        raise _NoDirectoryError(f"{directory}: no such directory")
    if not directory.is_dir():
        raise _NoDirectoryError(f"{directory}: not a directory")


def _claims_on(verdicts: list[Verdict], going: set[str]) -> dict[Path, tuple[str, str, bool]]:
    """Each kept recording that says it resumes the session of a file among
    ``going`` (read before they go): that file's name, what of its claim
    does not check out, in ``list``'s words ("": it does; the same check,
    :func:`~screencodec.recording.parts.refuted`), and whether it is
    unsigned (so not proven). One whose log does not read without a key
    (sealed: prune cannot tell) says nothing."""
    from screencodec.recording import RecordingReader
    from screencodec.recording.parts import claim, refuted
    from screencodec.recording.reader import keep_listed, kept_listed

    out = {}
    for verdict in verdicts:
        if verdict.delete:
            continue
        try:
            with RecordingReader(verdict.path) as reader:
                said = claim(reader)
                if said is None or said.file not in going:
                    continue
                # What that file is, read once while unchanged however many
                # name it (walkcost52: each opened it again, its index whole).
                there = verdict.path.parent / said.file
                found = kept_listed(there, None)
                if found is None:
                    try:
                        with RecordingReader(there) as earlier:
                            found = keep_listed(earlier)
                    except (ScreencodecError, OSError, ValueError):
                        found = None
                why = "that file does not read" if found is None else refuted(said, found)
        except (ScreencodecError, OSError):
            continue
        out[verdict.path] = (said.file, why, said.signer is None)
    return out


def _prune(args: argparse.Namespace) -> int:
    from screencodec.recording import RetentionPolicy
    from screencodec.recording.retention import delete, judge

    _check_directory(args.directory)
    # Each file with why it goes or stays (walk44: files went without a
    # reason, and nothing was said of those kept).
    verdicts = judge(args.directory, RetentionPolicy(args.days, args.max_size))
    gone = [v.path for v in verdicts if v.delete]
    # What a kept part says it resumes, checked as list checks it while the
    # file it names is still here (rec52b: the note took any file's word).
    claims = _claims_on(verdicts, {p.name for p in gone}) if gone else {}
    if not args.dry_run:
        gone = delete(verdicts)  # not one another prune deleted first: its line
    names = {p.name for p in gone}
    for verdict in verdicts:  # a name anyone who can write the directory chose
        why = verdict.why
        if verdict.delete and verdict.path in gone:
            verb = "would delete" if args.dry_run else "deleted"
        elif verdict.delete:
            continue
        else:
            verb = "kept"
            earlier, refuted, unsigned = claims.get(verdict.path, ("", "", False))
            now = "would be deleted now" if args.dry_run else "deleted now"
            if earlier in names and refuted:  # no part of that session: its own
                why += (f"; its claim to resume the session of {earlier} ({now}) does NOT"
                        f" check out: {refuted}")  # fmt: skip
            elif earlier in names:  # a session's later link kept, its start not
                proof = " (unsigned, so not proven)" if unsigned else ""
                why += (f"; it resumes the session of {earlier}{proof}, {now}: the session's"
                        " start is no longer here")  # fmt: skip
        _say(f"{verb} {verdict.path}: {why}")
    if not gone:
        cap = "" if args.max_size is None else " and together they fit in --max-size"
        days = f"{args.days:g} day" + ("" if args.days == 1 else "s")
        print(f"nothing to delete in {args.directory}: no recording is older than {days}{cap}")
    return 0
