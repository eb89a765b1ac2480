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

This module holds the command's arguments and help and its dispatch; the
commands live beside it: recordings_check.py (keygen, revoke, list, verify,
prune), recordings_show.py (play, export), recordings_args.py (argument
types) and recordings_lines.py (what is printed, harmlessly).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from screencodec.cli.args import port
from screencodec.cli.main import other_words
from screencodec.cli.recordings_args import _days, _positive, _seconds, _size, _utc
from screencodec.cli.recordings_check import _keygen, _list, _prune, _revoke, _verify
from screencodec.cli.recordings_lines import _LINE, _reader_left, _stdout_gone
from screencodec.cli.recordings_show import _UNVERIFIED_HINT, _export, _play, _RefusedError
from screencodec.errors import ScreencodecError

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
    ls.add_argument("directory", type=Path, help="the folder of recordings (*.screc)")
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
    p.add_argument("directory", type=Path, help="the folder of recordings (*.screc)")
    p.add_argument("--days", type=_days, default=90.0,
                   help="age limit in days, more than 0 (default 90)")
    p.add_argument("--max-size", type=_size, default=None, help="size cap, e.g. 50G")
    p.add_argument("--dry-run", action="store_true",
                   help="print what would be deleted, delete nothing")
    e = sub.add_parser("export", help="MP4 video, PNG screenshots, JSONL audit log",
                       epilog=_SHOWN)
    e.add_argument("file", type=Path, metavar="FILE|DIR", help=_SESSION_HELP)
    e.add_argument("--key", type=Path, help="auditor private key (sealed recordings)")
    e.add_argument("--mp4", type=Path, metavar="OUT.mp4", help="write the session as an "
                   "MP4 video (H.264) to OUT.mp4")
    e.add_argument("--fps", type=_positive, default=10.0, help="MP4 frame rate (default 10)")
    e.add_argument("--png-every", nargs=2, metavar=("SECONDS", "DIR"),
                   help="write a PNG screenshot every SECONDS into the folder DIR (from 0;"
                   " the first at the first picture when it came later)")
    e.add_argument("--log", type=Path, metavar="OUT.jsonl",
                   help="the audit log as JSON lines: consent, chat, files, who had the input")
    other_words(e, "the audit log is written with --log OUT.jsonl", "--audit", "--audit-log",
                "--events", "--jsonl")
    e.add_argument("--srt", type=Path, metavar="OUT.srt",
                   help="who had the pointer and keyboard, and control's grants, as"
                   " subtitles on the session's clock: name it as the MP4 with .srt, and"
                   " a player (VLC, mpv) shows them over the video")
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
    # extend, no default list: argparse would add to it, and with nargs="+"
    # alone a second --at replaced the first (tail39b); None is 0 (_play).
    pl.add_argument("--at", type=_seconds, nargs="+", action="extend", metavar="SECONDS",
                    help="the times to show, in seconds from the session's start "
                         "(default 0; --at 1 2 and --at 1 --at 2 are both two times): "
                         "one PNG each, in --out")
    # str, not Path: Path drops a trailing slash, and "shots.png/" is a folder.
    pl.add_argument("--out", default=".", metavar="DIR|FILE.png",
                    help="directory for the PNGs (default: this one); with one --at time, "
                         "a name ending in .png is that picture's file (not with a "
                         "trailing /: that is a folder)")
    pl.add_argument("--hosts", type=Path, metavar="FILE|DIR", help=_HOSTS_HELP + _HOSTS_SHOWN)
    pl.add_argument("--events", action="store_true", help="print the audit log too")
    pl.add_argument("--no-cursor", action="store_true", help="leave the pointer out")
    pl.add_argument("--unverified", action="store_true", help=_UNVERIFIED_HELP + " (not "
                    "with --web: the page does not show such a picture, its banner names it)")
    pl.add_argument("--web", action="store_true",
                    help="play it in a browser page: timeline, speed, the event log")
    pl.add_argument("--web-port", type=port, default=0, metavar="N",
                    help="with --web: the page's port on 127.0.0.1 (default: a free one)")
    pl.add_argument("--no-open", action="store_true",
                    help="with --web: print the link, do not open a browser")  # fmt: skip
    r.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from screencodec.recording.format import NewerFormatError
    from screencodec.recording.reader import digests_kept
    from screencodec.recording.verdicts import BadPictureError
    from screencodec.transport.channel.display import safe_text

    try:
        # A file resumed links name hashed once however many name it (attack52).
        with digests_kept():
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
        # A file not there: "NAME: No such file or directory", not "[Errno 2] ..." (walk39).
        if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
            exc = OSError(f"{exc.filename}: {exc.strerror}")
        # Through safe_text: the message can quote a file's name or content.
        print(f"screencodec recordings {args.action}: {safe_text(exc, _LINE)}", file=sys.stderr)
        return 2


_ACTIONS = {"keygen": _keygen, "revoke": _revoke, "list": _list, "verify": _verify, "prune": _prune,
            "export": _export, "play": _play}  # fmt: skip
