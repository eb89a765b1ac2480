"""The ``screencodec recordings`` command: keygen, revoke, list, verify, prune, export, play.

Exit status: 0 success; ``verify`` gives 1 for a damaged recording, 2 for
an incomplete one (intact, but it stops early: a killed host or a cut tail)
and 3 for a sealed one given without ``--key`` (its seal cannot be checked,
so it is not verified) or a plain one given with it; with ``--hosts``, 4 for
an unsigned recording, 5 for one signed by a host key not pinned, 6 for one
a pinned host signed only in part (the rest unsigned); 7 for one whose
chunks are readable but whose screen does not decode (the picture check,
on unless ``--no-pictures``); 8 for one signed after its host key's
revocation (``recordings revoke``); 9 for one made by a newer version of
screencodec (its HEADER's format version; any command); with several files,
the lowest of these that applies. ``play`` and ``export`` refuse what
``verify`` calls damaged (1) or, given ``--hosts``, unsigned, unpinned,
signed-prefix or revoked (4, 5, 6, 8), with its status, and a picture that is
not the host's (7); they show a resumed session's parts as one, and give 10
(after showing the parts after it) for a broken link of its chain. Any command
gives 2 for unusable arguments or unreadable files.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import math
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from screencodec.cli.main import other_words
from screencodec.errors import ScreencodecError
from screencodec.transport.channel.display import counted
from screencodec.transport.session.endreasons import NO_REQUEST, NO_VIEW_ASKED, refused_words

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from screencodec.recording import RecordingReader
    from screencodec.recording.chain import Chain
    from screencodec.recording.reader import VerifyReport
    from screencodec.recording.sign import Pins

__all__ = ["register"]

_VERIFY_EXIT = ("exit status: 0 complete and verified (with --hosts: and signed to its last "
                "chunk by a pinned host); 1 damaged (also: a bad host signature, or bytes "
                "that are not the ones signed); 2 cut short (intact, but it "
                "stops early); 3 sealed and given without --key: its seal cannot be checked "
                "without the auditor's private key, so it is NOT verified (only its layout "
                "is); 3 too for a plain (unsealed) recording given with --key, and for one "
                "sealed for another auditor key than --key's. With --hosts "
                "(the host public keys the auditor trusts: a file of "
                "'screencodec-host-public-v1 BASE64' lines, or a directory of such *.pub "
                "files), each NOT verified as a host's recording: 4 unsigned; 5 signed by a "
                "host key that is not pinned; 6 signed by a pinned host only up to a chunk "
                "(a killed host, or chunks added after its last signature): the line says "
                "which chunk, time and update. 7 bad picture: the chunks are readable "
                "(any of 0, 2, 4-6 above: the line says which) but a screen update does not "
                "decode: every update is decoded in order with the viewer's decoder (VIDEO "
                "with PyAV) and every checkpoint compared with the stream; the line names "
                "the first that fails (update number, session sequence, chunk, time, "
                "reason). --no-pictures skips that check (chunks only, faster). 8 revoked: "
                "signed by a pinned host key revoked (recordings revoke) as of a time "
                "before one of its signatures; a recording whose signatures all precede "
                "the revocation keeps its code, and its line says it was signed by a key "
                "later revoked. 9 newer: made by a newer version of screencodec (its format "
                "version is above this one's): not damaged, not verified here. 10 broken "
                "chain: complete and verified itself (0 above), a resumed link's recording "
                "whose earlier file, the one of the name it gives beside it, is NOT the one "
                "it names (SHA-256), or that names it wrongly; an earlier file not in the "
                "directory is said, not failed. With several "
                "files: the lowest of these that applies.")  # fmt: skip


#: play's and export's epilog: what they check before they show a picture.
_SHOWN = ("What is shown is checked first, as verify checks it, without a pass over the "
          "pictures of its own: the chunks (CRC or seal, and a host's signatures over the "
          "bytes: damaged is refused, exit 1), then each picture and pointer as it is "
          "decoded, against the hash the host's recorder took of it (PICTURE and POINTER "
          "chunks): one that is not the host's (or does not decode, or whose hash is "
          "missing) is refused, exit 7, nothing of it written (export's MP4 is left out "
          "whole; PNGs of the pictures before it stay: each was checked). A recording "
          "without hashes (made before them, or with picture_hashes=False) is shown as "
          "before: only its chunks are checked.")  # fmt: skip
_SESSION_HELP = ("a session's last recording, or a folder of one session: a resumed "
                 "session's earlier parts (each resumed link names the file before it) are "
                 "followed back, checked as verify checks them, and shown in order as one "
                 "session, time running on; a part missing is said, a link broken is said "
                 "and exits 10 (verify's), the parts before it not shown")  # fmt: skip
_HOSTS_HELP = ("the host public keys you trust (host .pub lines in a file, or a directory "
               "of .pub files): a recording must be signed by one of them to its end")
_HOSTS_SHOWN = ("; its verdict is said first, in verify --hosts's words, and one that is "
                "not a pinned host's is NOT shown, with verify's exit status: 4 unsigned, "
                "5 signed by a key not pinned, 6 signed in part, 8 signed after its key's "
                "revocation (--unverified shows it, marked)")  # fmt: skip
_UNVERIFIED_HELP = ("show a recording that does not verify all the same, marked: a PNG of "
                    "a picture (or pointer) that is not the host's, or of a damaged "
                    "recording, is named *.UNVERIFIED.png and its Comment says why; the "
                    "MP4's comment tag (ffprobe) starts with UNVERIFIED; the exit status "
                    "stays verify's (1 or 7; with --hosts 4, 5, 6 or 8 too)")  # fmt: skip


def _finite(text: str, what: str) -> float:
    """``text`` as a finite number (argparse: exit 2 otherwise)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a {what}: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a {what}: {text}")
    return value


def _days(text: str) -> float:
    """``--days``: a retention of more than 0 days (argparse: exit 2 otherwise)."""
    days = _finite(text, "number of days")
    if days <= 0:
        raise argparse.ArgumentTypeError(
            f"must be more than 0 days, not {text} (it would delete every recording)")
    return days


def _size(text: str) -> int:
    """``--max-size``: more than 0 bytes, e.g. ``50G`` (argparse: exit 2 otherwise)."""
    from screencodec.recording import parse_size

    try:
        size = parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if size <= 0:
        raise argparse.ArgumentTypeError(
            f"must be more than 0 bytes, not {text} (it would delete every recording)")
    return size


#: The latest --at, seconds: 31 years.
_FAR = 1e9


def _seconds(text: str) -> float:
    """``--at``: a finite time (argparse: exit 2 otherwise). Before the start
    or past the end is fine (no picture yet / the last picture); NaN and inf
    are no time at all (they raised ValueError and OverflowError)."""
    t = _finite(text, "time")
    if abs(t) > _FAR:  # its PNG's name would be over 255 bytes
        raise argparse.ArgumentTypeError(f"{text} s: no recording is that long")
    return t


def _positive(text: str) -> float:
    """``--fps``, ``--png-every``'s SECONDS: a finite number above 0 (0 and
    inf raised ZeroDivisionError and OverflowError)."""
    value = _finite(text, "number")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number above 0, not {text}")
    return value


def register(subparsers: Any, summary: str) -> None:
    """Add ``recordings`` to an argparse subparsers object."""
    r = subparsers.add_parser("recordings", help=summary)
    sub = r.add_subparsers(dest="action", required=True)
    k = sub.add_parser("keygen", help="make an auditor key pair (NAME.key, NAME.pub), or "
                       "with --host a host signing key pair")  # fmt: skip
    k.add_argument("name", type=Path, help="path prefix, e.g. auditor")
    k.add_argument("--host", action="store_true", help="a host's Ed25519 signing key (for "
                   "screencodec host --record-sign NAME.key; pin NAME.pub with verify "
                   "--hosts)")  # fmt: skip
    rv = sub.add_parser("revoke", help="revoke a pinned host key as of a time: verify "
                        "--hosts then refuses its signatures made after it (exit 8)",
                        description="Revoke a host key in the auditor's pin file (or "
                        "directory of .pub files): its pin line becomes a "
                        "'screencodec-host-revoked-v1 BASE64 TIME' line, after a comment "
                        "saying when and why. verify --hosts then calls a recording with "
                        "a signature of that key dated after TIME 'revoked' (exit 8); one "
                        "signed wholly before it verifies, 'signed by a key later revoked'. "
                        "A signature's date is the host's own claim: a stolen key can "
                        "sign a recording dated before the revocation, so give the time "
                        "the key was last known safe, not the time you found out.")  # fmt: skip
    rv.add_argument("hosts", type=Path, metavar="PINS", help="the pin file (or directory "
                    "of .pub files) verify --hosts reads")  # fmt: skip
    rv.add_argument("key", metavar="KEY", help="the host key: its key id (16 hex digits, "
                    "as list and verify print it) or its .pub file")  # fmt: skip
    rv.add_argument("--as-of", type=_utc, default=None, metavar="TIME", help="ISO 8601 "
                    "time with its zone, e.g. 2026-12-04T21:00:00Z (default: now)")
    rv.add_argument("--reason", default="", help="written in the comment above the line")
    ls = sub.add_parser("list", help="session, start, duration, size, signer (the host key "
                        "id the file names; verify --hosts checks it), state, who")  # fmt: skip
    ls.add_argument("directory", type=Path)
    ls.add_argument("--key", type=Path, help="auditor private key (sealed recordings)")
    v = sub.add_parser("verify", help="check integrity; exit 0 complete, 1 damaged, "
                       "2 cut short, 3 sealed but no --key (not verified), with --hosts: "
                       "4 unsigned, 5 signed by an unpinned key, 6 signed in part; "
                       "7 a screen update does not decode; 8 signed after its key's "
                       "revocation; 9 made by a newer version; 10 the earlier file a "
                       "resumed link's recording names is not the one here",
                       description="Check recordings chunk by chunk, then decode their "
                       "screen updates.", epilog=_VERIFY_EXIT)
    v.add_argument("files", type=Path, nargs="+", metavar="FILE|DIR",
                   help="recordings; a folder: the recordings (*.screc) directly in it")
    v.add_argument("--key", type=Path, help="auditor private key: needed to verify a sealed "
                   "recording (checks every chunk's tag)")
    v.add_argument("--hosts", type=Path, metavar="FILE|DIR", help=_HOSTS_HELP)
    v.add_argument("--no-pictures", dest="pictures", action="store_false",
                   help="skip the picture check (decoding every screen update, about as "
                   "long as the session's viewer spent decoding): chunks only")  # fmt: skip
    p = sub.add_parser("prune", help="delete old recordings and keep the directory under a cap")
    p.add_argument("directory", type=Path)
    p.add_argument("--days", type=_days, default=90.0,
                   help="age limit in days, more than 0 (default 90)")
    p.add_argument("--max-size", type=_size, default=None, help="size cap, e.g. 50G")
    p.add_argument("--dry-run", action="store_true")
    e = sub.add_parser("export", help="MP4 video, PNG screenshots, JSONL audit log",
                       epilog=_SHOWN)
    e.add_argument("file", type=Path, metavar="FILE|DIR", help=_SESSION_HELP)
    e.add_argument("--key", type=Path, help="auditor private key (sealed recordings)")
    e.add_argument("--mp4", type=Path, metavar="OUT.mp4")
    e.add_argument("--fps", type=_positive, default=10.0, help="MP4 frame rate (default 10)")
    e.add_argument("--png-every", nargs=2, metavar=("SECONDS", "DIR"))
    e.add_argument("--log", type=Path, metavar="OUT.jsonl",
                   help="the audit log as JSON lines: consent, chat, files, who had the input")
    other_words(e, "the audit log is written with --log OUT.jsonl", "--audit", "--audit-log",
                "--events", "--jsonl")
    e.add_argument("--no-cursor", action="store_true", help="leave the pointer out")
    e.add_argument("--hosts", type=Path, metavar="FILE|DIR", help=_HOSTS_HELP + _HOSTS_SHOWN)
    e.add_argument("--unverified", action="store_true", help=_UNVERIFIED_HELP)
    pl = sub.add_parser("play", help="seek to times and write the framebuffer as PNG, "
                        "or play it in the browser (--web)",
                        epilog=_SHOWN + " --at writes pictures up to the wire's "
                        "16384x16384 in about their framebuffer's memory (1 GiB at that "
                        "size); --web refuses one above 8192x8192 pixels (it re-encodes "
                        "every picture), exit 2")  # fmt: skip
    pl.add_argument("file", type=Path, metavar="FILE|DIR", help=_SESSION_HELP)
    pl.add_argument("--key", type=Path, help="auditor private key (sealed recordings)")
    pl.add_argument("--at", type=_seconds, nargs="+", default=[0.0], metavar="SECONDS")
    pl.add_argument("--out", type=Path, default=Path("."), help="directory for the PNGs")
    pl.add_argument("--hosts", type=Path, metavar="FILE|DIR", help=_HOSTS_HELP + _HOSTS_SHOWN)
    pl.add_argument("--events", action="store_true", help="print the audit log too")
    pl.add_argument("--no-cursor", action="store_true", help="leave the pointer out")
    pl.add_argument("--unverified", action="store_true", help=_UNVERIFIED_HELP + " (not "
                    "with --web: the page does not show such a picture, its banner names it)")
    pl.add_argument("--web", action="store_true",
                    help="play it in a browser page: timeline, speed, the event log")
    pl.add_argument("--web-port", type=int, default=0, metavar="N",
                    help="with --web: the page's port on 127.0.0.1 (default: a free one)")
    pl.add_argument("--no-open", action="store_true",
                    help="with --web: print the link, do not open a browser")  # fmt: skip
    r.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from screencodec.recording.format import NewerFormatError
    from screencodec.recording.verdicts import BadPictureError
    from screencodec.transport.channel.display import safe_text

    try:
        return int(_ACTIONS[args.action](args))
    except _RefusedError as exc:
        print(safe_text(exc, _LINE), file=sys.stderr)
        return exc.code
    except NewerFormatError as exc:  # not damage: say what it is
        print(f"screencodec recordings {args.action}: {safe_text(exc, _LINE)}", file=sys.stderr)
        return 9
    except BadPictureError as exc:  # a picture play or export was to show
        hint = ("play --at T --unverified writes it, marked" if getattr(args, "web", False)
                else _UNVERIFIED_HINT)  # fmt: skip
        print(safe_text(f"{exc}; NOT shown: `recordings verify` says the same (exit 7); "
                        f"{hint}", _LINE), file=sys.stderr)  # fmt: skip
        return 7
    except (ScreencodecError, OSError, ValueError) as exc:
        if isinstance(exc, BrokenPipeError) and _stdout_gone():
            return _reader_left()
        # Through safe_text: the message can quote a file's name or content.
        print(f"screencodec recordings {args.action}: {safe_text(exc, _LINE)}", file=sys.stderr)
        return 2


def _stdout_gone() -> bool:
    """Whether standard output is a pipe (or socket) whose reader has left
    (``recordings list DIR | head``): its write end polls as an error."""
    import select

    try:
        poll = select.poll()
        poll.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poll.poll(0))
    except (OSError, ValueError, AttributeError):
        return False


def _reader_left() -> int:
    """The reader of the output left: stop without a word (what is still
    buffered goes nowhere, not into an error at the interpreter's exit),
    with the status a command killed by SIGPIPE has in the shell."""
    import os

    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return 128 + 13  # SIGPIPE


#: The longest line the commands print about one file (a path is up to 4096).
_LINE = 8192


def _say(line: str) -> None:
    """One line about a recording, harmless on the auditor's terminal: it
    holds the file's name (anyone who can write the directory chose it: an
    escape sequence would retitle or clear the terminal) and what the file
    says of itself."""
    from screencodec.transport.channel.display import safe_text

    print(safe_text(line, _LINE))


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


def _utc(text: str) -> float:
    """``--as-of``: an ISO 8601 time with its zone (argparse: exit 2 otherwise)."""
    from screencodec.recording.sign import parse_utc

    when = parse_utc(text)
    if when is None:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 time with its zone (e.g. 2026-12-04T21:00:00Z): {text!r}")
    return when


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
                sid = safe_text(meta.get("session_id", "?"))[:12]
                if meta and "who" not in meta:  # no END (a killed host): the hello has it
                    meta["who"] = _hello_who(r)
                who = (f"{safe_text(meta.get('who', '?'), 64)} "
                       f"({safe_text(meta.get('peer', '?'), 64)})") if meta else "?"  # fmt: skip
                # Complete, but no session took place: said (walkfix35b: it
                # read "complete  Alice (...)" as one that did).
                refused = _refused(meta) if state == "complete" else ""
                if refused:
                    state, who = "refused", f"{who}  {refused}"
                print(f"{sid:14} {_when(r.start_unix):21} {r.duration:8.1f}s "
                      f"{path.stat().st_size:>10}  {r.signer_id or '-':16}  {state:9} {who}  "
                      f"{safe_text(path.name, 255)}")  # fmt: skip
        except (ScreencodecError, OSError) as exc:
            print(f"{'?':14} {'?':21} {'?':>9} {'?':>10}  unreadable "
                  f"{safe_text(path.name, 255)}: {safe_text(exc, 300)}")  # fmt: skip
    return 0


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
    return "" if words is None else f"nobody was let in ({safe_text(words, 100)})"


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
    from screencodec.recording.retention import being_written

    pins = _pins(args)
    key = _auditor_key(args)
    worst = 0
    for path in _recording_files(args.files):
        try:
            with RecordingReader(path, private_key=key) as r:
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


def _prune(args: argparse.Namespace) -> int:
    from screencodec.recording import RetentionPolicy, prune

    _check_directory(args.directory)
    gone = prune(args.directory, RetentionPolicy(args.days, args.max_size), dry_run=args.dry_run)
    for path in gone:  # a name anyone who can write the directory chose
        _say(("would delete " if args.dry_run else "deleted ") + str(path))
    if not gone:
        cap = "" if args.max_size is None else " and together they fit in --max-size"
        days = f"{args.days:g} day" + ("" if args.days == 1 else "s")
        print(f"nothing to delete in {args.directory}: no recording is older than {days}{cap}")
    return 0


_UNVERIFIED_HINT = ("--unverified shows it all the same, each picture that is not the host's "
                    "marked UNVERIFIED")  # fmt: skip


class _RefusedError(ScreencodecError):
    """A recording play or export will not show: verify's line, and its exit status."""

    def __init__(self, line: str, code: int) -> None:
        super().__init__(line)
        self.code = code


#: The verdicts of ``verify --hosts`` that are no pinned host's recording
#: (exit 4, 5, 6, 8): play and export refuse them as they refuse damage.
_NOT_A_PINNED_HOSTS = frozenset({"unsigned", "unpinned", "signed-prefix", "revoked"})


def _chunks_checked(args: argparse.Namespace, reader: RecordingReader) -> tuple[str, int]:
    """The chunks' verdict, before play or export shows anything (as
    ``verify --no-pictures``: every chunk's CRC or seal, and a host's
    signatures over the bytes; no decoding), with ``--hosts`` against the
    pinned hosts, said first in verify's words (signed by a pinned host,
    or why not). Damaged, or with ``--hosts`` not a pinned host's
    recording (unsigned, unpinned, signed-prefix, revoked): refused
    (_RefusedError, verify's exit status: 1, 4, 5, 6, 8), or with
    ``--unverified`` (why every output is marked, that status). Else ("",
    0): every picture is then checked as it is decoded."""
    report = _checked_against(reader, _pins(args))
    refused = report.status == "damaged" or (
        args.hosts is not None and report.status in _NOT_A_PINNED_HOSTS)
    if not refused:
        if args.hosts is not None:
            _say(report.describe())
        return "", 0
    if not args.unverified:
        raise _RefusedError(_not_shown(args, report, "--unverified shows it all the same, "
                                       "every output marked UNVERIFIED"), report.exit_code)
    line = report.describe().removeprefix(f"{reader.path}: ")
    _warn(f"{reader.path}: UNVERIFIED: {line}: every output is marked UNVERIFIED")
    return line, report.exit_code


def _not_shown(args: argparse.Namespace, report: VerifyReport, hint: str) -> str:
    """Why a recording is not shown: verify's line, and its exit status."""
    verify = "recordings verify" + (" --hosts" if args.hosts is not None else "")
    return (f"{report.describe()}; NOT shown: `{verify}` says the same (exit "
            f"{report.exit_code}); {hint}")  # fmt: skip


def _warn(line: str) -> None:
    from screencodec.transport.channel.display import safe_text

    print(safe_text(line, _LINE), file=sys.stderr)


def _unverified_end(args: argparse.Namespace, code: int, failures: list[Any]) -> int:
    """--unverified's exit status: what verify would say (1 damaged, 7 a bad
    picture shown), 0 when everything shown was the host's."""
    if failures:
        _warn(f"{args.file}: UNVERIFIED: {len(failures)} picture(s) or pointer(s) shown are "
              f"NOT the host's recorded ones (marked UNVERIFIED), the first: "
              f"{failures[0].describe()}")  # fmt: skip
        code = code or 7
    return code


class _NeedsKeyError(ScreencodecError, ValueError):
    """A sealed recording's pictures and log were asked for without --key."""


def _open_readable(args: argparse.Namespace, path: Path | None = None) -> RecordingReader:
    """The recording ``path`` (default ``args.file``), open for its content: a
    sealed one without ``--key`` is refused here, as ``list`` shows it
    ("sealed"), rather than failing later on whatever payload is read first."""
    from screencodec.recording import RecordingReader

    path = args.file if path is None else path
    # With --hosts, pinned: what the check passed is then what is shown, even
    # if the file is rewritten in place meanwhile (a mapping would show the
    # new bytes): a chunk read again must be the bytes it was when checked.
    reader = RecordingReader(path, private_key=_auditor_key(args),
                             pinned=getattr(args, "hosts", None) is not None)  # fmt: skip
    if reader.sealed and args.key is None:
        reader.close()
        raise _NeedsKeyError(f"{path} is sealed: its content needs the auditor's "
                             "private key (--key AUDITOR.key)")  # fmt: skip
    return reader


def _open_session(args: argparse.Namespace) -> tuple[Chain, str, int]:
    """The session ``args.file`` ends (a folder: the one session whose last
    part is in it), its parts followed back through each resumed link's
    ``earlier`` (docs/recording.md "A resumed link"), each part's chunks
    checked as :func:`_chunks_checked` checks one file. Said first: the
    parts, and where the chain stops early, in verify's words. Returns the
    chain, why it is unverified ("" when it is not) and that exit status."""
    chain = _session_chain(args)
    try:
        lines: list[str] = []
        code = 0
        for part in chain.parts:
            line, status = _chunks_checked(args, part.reader)
            if line:
                lines.append(line if len(chain.parts) == 1 else f"{part.path.name}: {line}")
            code = code or status
        _chain_said(chain)
    except BaseException:
        chain.close()
        raise
    return chain, "; ".join(lines), code


def _session_chain(args: argparse.Namespace) -> Chain:
    """The parts of the session ``args.file`` ends (a folder: the one
    session whose last part is in it), each open as :func:`_open_readable`
    opens one file."""
    from screencodec.recording.chain import last_parts, open_chain

    def opened(path: Path) -> RecordingReader:
        return _open_readable(args, path)

    last = args.file
    if args.file.is_dir():
        ends = last_parts(args.file, opened)
        if len(ends) != 1:
            names = ", ".join(p.name for p in ends[:5]) + (", ..." if len(ends) > 5 else "")
            raise _NoDirectoryError(
                f"{args.file}: no recordings (*.screc) in this folder" if not ends else
                f"{args.file}: {len(ends)} sessions end in this folder ({names}): give the "
                "last file of one")  # fmt: skip
        last = ends[0]
    return open_chain(last, opened)


def _chain_said(chain: Chain) -> None:
    """Where the chain stops early, in verify's words (stdout), and a broken
    link on stderr too."""
    for naming, words in chain.said:
        _say(f"{naming}: {words}" + ("" if chain.broken else "; the session is played "
                                    "from this file on"))  # fmt: skip
    if chain.broken:
        _warn(f"{chain.parts[0].path}: the chain is broken before it (verify exits 10): "
              "the session is played from this file on, the files before it are NOT")


def _session_said(chain: Chain) -> None:
    """Each part's line: its length, updates, checkpoints and state (with
    several parts: where in the session it plays)."""
    several = len(chain.parts) > 1
    for k, part in enumerate(chain.parts):
        r = part.reader
        state = "complete" if r.complete else "cut short"
        if refused := _reader_refused(r):
            state = f"refused: {refused}"
        where = (f" (part {k + 1} of {len(chain.parts)}, from t={part.offset:.2f} s of the "
                 "session)" if several else "")  # fmt: skip
        _say(f"{part.path}: {r.duration:.2f} s, {counted(r.update_count, 'update')}, "
             f"{counted(len(r.index.checkpoints), 'checkpoint')}, {state}{where}")
    if several:
        _say(f"{chain.path}: one session of {len(chain.parts)} parts, "
             f"{chain.duration:.2f} s, {counted(chain.update_count, 'update')}")


def _chain_end(chain: Chain, code: int) -> int:
    """A broken chain's exit status (verify's 10) when nothing else failed."""
    return 10 if code == 0 and chain.broken else code


def _export(args: argparse.Namespace) -> int:
    from screencodec.recording.export import export_log, export_mp4, export_pngs

    if not (args.mp4 or args.png_every or args.log):
        raise ValueError("nothing to do: give --mp4, --png-every or --log")
    chain, unverified, code = _open_session(args)
    with chain as r:
        if len(r.parts) > 1:
            _session_said(r)
        marked: list[Any] = []
        strict = not args.unverified
        if args.mp4:
            res = export_mp4(r, args.mp4, fps=args.fps, cursor=not args.no_cursor,
                             strict=strict, unverified=unverified)  # fmt: skip
            print(f"{args.mp4}: {counted(res['frames'], 'frame')}, {res['duration']:.2f} s, "
                  f"{res['bytes']} bytes{'; ' + res['unverified'] if res['unverified'] else ''}")
            marked += res["failures"]
        if args.png_every:
            pngs = export_pngs(r, Path(args.png_every[1]), _png_every(args.png_every[0]),
                               cursor=not args.no_cursor, strict=strict,
                               unverified=unverified, failures=marked)  # fmt: skip
            print(f"{counted(len(pngs), 'screenshot')} in {args.png_every[1]}")
        if args.log:
            n = export_log(r, args.log)
            print(f"{args.log}: {counted(n, 'event')}")
    return _chain_end(chain, _unverified_end(args, code, marked))


def _png_every(text: str) -> float:
    try:
        return _positive(text)
    except argparse.ArgumentTypeError as exc:
        raise ValueError(f"--png-every {exc}") from None


def _play(args: argparse.Namespace) -> int:
    import json

    from screencodec.recording.chain import ChainCursor, ChainPlayer
    from screencodec.recording.export import output_note, write_png

    if args.web:
        return _play_web(args)
    chain, unverified, code = _open_session(args)
    with chain as r:
        args.out.mkdir(parents=True, exist_ok=True)
        _session_said(r)
        # write_png takes no copy of the picture: up to the wire's largest
        # (16384x16384) it costs its 1 GiB framebuffer and a few MiB more.
        # Each picture and pointer is checked as it is decoded: one that is
        # not the host's raises BadPictureError (exit 7), or is marked.
        player = ChainPlayer(r, max_pixels=None, strict=not args.unverified)
        track = None if args.no_cursor else ChainCursor(r, strict=not args.unverified)
        for t in sorted(args.at):  # forward only: each seek continues the last
            fb = player.frame_at(t)
            if fb is None:
                print(f"t={t:.3f}: no picture yet")
                continue
            drawn = None if track is None else track.at(t)
            note = output_note(unverified, player.shown_failure,
                           None if track is None else track.shown_failure)  # fmt: skip
            out = args.out / f"{r.path.stem}_t{t:09.3f}{'.UNVERIFIED' if note else ''}.png"
            write_png(out, fb, drawn, note=note)
            # A time past the end is the last picture: said, so that it is
            # not read as the screen at that time (it was one more file name).
            _say(f"t={t:.3f}: {out}")
            if t > r.duration:  # on stderr: stdout may carry --events' JSON lines
                _warn(f"t={t:.3f} is past the end at {r.duration:.2f} s: {out.name} is the "
                      "last picture")  # fmt: skip
        if args.events:
            for ev in r.events():
                print(json.dumps(ev, sort_keys=True))
    return _chain_end(chain, _unverified_end(
        args, code, player.failures + (track.failures if track else [])))


def _play_web(args: argparse.Namespace) -> int:
    import asyncio
    import importlib.util
    import signal

    from screencodec.cli.terminal import ending_signals

    if importlib.util.find_spec("aiohttp") is None:
        print("--web needs the web extra: pip install 'screencodec[web]'", file=sys.stderr)
        return 2
    from screencodec.web.playback import STOPPED, PlaybackOptions, RecordingPlayback

    # The session's parts (one file, or a resumed session's chain), each
    # pinned with --hosts: what the check passed is what plays.
    chain = _session_chain(args)
    reports = None  # with --hosts, each part's verdict is the page's too
    try:
        if args.hosts is not None:  # the page marks nothing: one not the host's is refused
            reports = [_checked_against(part.reader, _pins(args)) for part in chain.parts]
            hint = "play --at T --unverified writes it, marked"
            for report in reports:
                if report.status in _NOT_A_PINNED_HOSTS:
                    raise _RefusedError(_not_shown(args, report, hint), report.exit_code)
            for report in reports:
                if report.status != "damaged":  # the playback refuses it, in its words
                    _say(report.describe())
        _chain_said(chain)
    except BaseException:
        chain.close()
        raise

    def on_url(url: str) -> None:
        opened = "" if args.no_open else "   (opening it in your browser)"
        print(f"recording player: {url}{opened}", flush=True)
        print("keep this link private: it admits one page, once", flush=True)

    options = PlaybackOptions(port=args.web_port, open_browser=not args.no_open,
                              private_key=args.key, reports=reports, on_url=on_url,
                              on_step=lambda text: print(text, flush=True))  # fmt: skip
    playback = RecordingPlayback(chain, options)

    async def played() -> str:
        """The playback's run; Ctrl-C, SIGTERM and SIGHUP end it in order,
        as the page's Leave does (STOPPED): they cancel it, and the page
        is told. Before, Ctrl-C left the page saying the viewer program was
        lost, and the others ended the command without a word to it."""
        loop = asyncio.get_running_loop()
        main = asyncio.current_task()
        assert main is not None
        for sig in (signal.SIGINT, *ending_signals()):
            loop.add_signal_handler(sig, main.cancel)
        try:
            return await playback.run()
        except asyncio.CancelledError:
            return STOPPED

    try:
        reason = asyncio.run(played())
    except KeyboardInterrupt:  # before the handlers were set
        reason = "interrupted"
    print(f"playback ended: {reason}")
    if playback.bridge is not None and playback.bridge.refused is not None:
        raise playback.bridge.refused  # told as play --at tells it (exit 7)
    return _chain_end(chain, 0)


_ACTIONS = {"keygen": _keygen, "revoke": _revoke, "list": _list, "verify": _verify, "prune": _prune,
            "export": _export, "play": _play}  # fmt: skip
