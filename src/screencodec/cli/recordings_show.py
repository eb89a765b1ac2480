"""``recordings play`` and ``export``: what they check before they show a
picture (verify's verdicts, ``--hosts``, the picture check), a resumed
session's parts as one chain, and the web player."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from screencodec.cli.recordings_args import _positive
from screencodec.cli.recordings_check import (
    _auditor_key,
    _checked_against,
    _NoDirectoryError,
    _pins,
    _reader_refused,
)
from screencodec.cli.recordings_lines import _LINE, _say
from screencodec.errors import ScreencodecError
from screencodec.transport.channel.display import counted, safe_text

if TYPE_CHECKING:
    from screencodec.recording import RecordingReader
    from screencodec.recording.chain import Chain, Ends
    from screencodec.recording.reader import VerifyReport

__all__ = [
    "_NOT_A_PINNED_HOSTS", "_UNVERIFIED_HINT", "_NeedsKeyError", "_RefusedError", "_chain_end",
    "_chain_said", "_chunks_checked", "_export", "_not_shown", "_open_readable",
    "_open_session", "_play", "_play_web", "_png_every", "_session_chain", "_session_said",
    "_sessions_end", "_unverified_end", "_warn"
]


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
    session whose last part is in it; a file whose claim to resume another
    does not check out is a session of its own, rec52c), each open as
    :func:`_open_readable` opens one file."""
    from screencodec.recording.chain import open_chain, session_ends

    def opened(path: Path) -> RecordingReader:
        return _open_readable(args, path)

    if not args.file.is_dir():
        return open_chain(args.file, opened)
    ends = session_ends(args.file, opened)
    if len(ends.last) != 1:
        raise _NoDirectoryError(_sessions_end(args.file, ends))
    return open_chain(ends.last[0], opened, ends.hashed)


def _sessions_end(folder: Path, ends: Ends) -> str:
    """Why a folder is not one session (docs/recording.md "Playing and
    exporting a chain": refused, naming the sessions' last files), and
    which links were not taken, in verify's words (rec52c: a crafted file
    naming a session's last part is a session of its own; sanitised where
    it is printed, as every error is)."""
    if not ends.last:
        if next(folder.glob("*.screc"), None) is None:
            return f"{folder}: no recordings (*.screc) in this folder"
        # Each names another as the file it resumes, in a cycle (attack52:
        # two crafted files naming each other were "no recordings").
        return (f"{folder}: no session ends in this folder: each recording in it is named as"
                " the earlier part of another (resumed links in a cycle): give one file")
    names = ", ".join(p.name for p in ends.last[:5]) + (", ..." if len(ends.last) > 5 else "")
    line = (f"{folder}: {len(ends.last)} sessions end in this folder ({names}): give the last"
            " file of one")  # fmt: skip
    if ends.not_taken:
        links = "; ".join(f"{path.name}: {words}" for path, words in ends.not_taken[:5])
        more = "; ..." if len(ends.not_taken) > 5 else ""
        line += (f"; a session of its own, not taken as a later part of the file it names"
                 f" (verify exits 10): {links}{more}")  # fmt: skip
    return line


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
        # An unsigned later part's link is its SHA-256 alone: list's words.
        proof = "; unsigned, so not proven" if k and r.signer is None else ""
        where = (f" (part {k + 1} of {len(chain.parts)}, from t={part.offset:.2f} s of the "
                 f"session{proof})" if several else "")  # fmt: skip
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

    if not (args.mp4 or args.png_every or args.log or args.srt):
        raise ValueError("nothing to do: give --mp4, --png-every, --log or --srt")
    for out in (args.mp4, args.log, args.srt):
        # Before the session is read (walk46: --mp4 in a folder not there
        # said "REC.screc: MP4 export of its 1280x720 picture failed
        # ([Errno 2] ...)", the recording named, not the folder).
        if out is not None and not Path(out).parent.is_dir():
            raise ValueError(f"cannot write {out}: its folder {Path(out).parent} is not there")
    chain, unverified, code = _open_session(args)
    with chain as r:
        if len(r.parts) > 1:
            _session_said(r)
        marked: list[Any] = []
        strict = not args.unverified
        if args.mp4:
            with _Encoding(args.mp4) as shown:
                res = export_mp4(r, args.mp4, fps=args.fps, cursor=not args.no_cursor,
                                 strict=strict, unverified=unverified,
                                 on_frame=shown.frame)  # fmt: skip
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
            print(f"{args.log}: {_log_lines(n, len(r.parts))}")
        if args.srt:
            from screencodec.recording.subtitles import export_srt

            n = export_srt(r, args.srt)
            print(f"{args.srt}: {counted(n, 'subtitle')} (who had the input)")
    return _chain_end(chain, _unverified_end(args, code, marked))


class _Encoding:
    """How far ``export --mp4`` has gone, on a terminal only: one line
    rewritten in place at most once a second, cleared at the end (walk44:
    a 6-minute session took a minute to export on a loaded machine, the
    terminal silent meanwhile; a script's output stays as it was)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.shown = sys.stderr.isatty()
        self._next = 0.0

    def frame(self, done: int, frames: int) -> None:
        now = time.monotonic()
        if not self.shown or now < self._next or done >= frames:
            return
        self._next = now + 1.0
        line = f"writing {self.path}: {100 * done // frames} % ({done} of {frames} frames)"
        sys.stderr.write(f"\r{safe_text(line, 300)}\x1b[K")
        sys.stderr.flush()

    def __enter__(self) -> _Encoding:
        return self

    def __exit__(self, *_: object) -> None:
        if self.shown and self._next:
            sys.stderr.write("\r\x1b[K")  # the outcome's own line follows
            sys.stderr.flush()


def _log_lines(events: int, parts: int) -> str:
    """What ``export --log`` wrote, counted as its file's lines are: each
    part's session line and the events (walk43: "12 events" for a file of
    13 lines, its first the session's)."""
    if parts == 1:
        return f"{counted(events + 1, 'line')}: the session's, then {counted(events, 'event')}"
    return (f"{counted(events + parts, 'line')}: {parts} session lines (one a part, before"
            f" its events) and {counted(events, 'event')}")  # fmt: skip


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
    times = [0.0] if args.at is None else args.at
    one = _one_picture(args.out, times)  # refused before anything is made
    folder = Path(args.out)
    chain, unverified, code = _open_session(args)
    with chain as r:
        (folder.parent if one else folder).mkdir(parents=True, exist_ok=True)
        _session_said(r)
        # write_png takes no copy of the picture: up to the wire's largest
        # (16384x16384) it costs its 1 GiB framebuffer and a few MiB more.
        # Each picture and pointer is checked as it is decoded: one that is
        # not the host's raises BadPictureError (exit 7), or is marked.
        player = ChainPlayer(r, max_pixels=None, strict=not args.unverified)
        track = None if args.no_cursor else ChainCursor(r, strict=not args.unverified)
        for t in sorted(times):  # forward only: each seek continues the last
            fb = player.frame_at(t)
            if fb is None:
                print(f"t={t:.3f}: no picture yet")
                _clear_named(one, None)
                continue
            drawn = None if track is None else track.at(t)
            note = output_note(unverified, player.shown_failure,
                           None if track is None else track.shown_failure)  # fmt: skip
            mark = ".UNVERIFIED" if note else ""
            out = (folder / f"{r.path.stem}_t{t:09.3f}{mark}.png" if one is None
                   else one.with_name(f"{one.stem}{mark}{one.suffix}"))  # fmt: skip
            _clear_named(one, out)
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


def _one_picture(raw: str, times: list[float]) -> Path | None:
    """The file ``--out`` (``raw``, as typed) names when it is one picture's
    (``x.png``, not a folder that exists nor ``x.png/``), else None: a
    folder, one PNG per time in it. words39: ``--out x.png`` made a folder
    of that name; tail39b: ``x.png/`` (a folder, as typed) was that file.
    A file for several times is refused (ValueError, exit 2), before
    anything is made."""
    out = Path(raw)
    seps = (os.sep, os.altsep) if os.altsep else (os.sep,)
    if out.suffix.lower() != ".png" or out.is_dir() or raw.endswith(seps):
        return None
    if len(times) > 1:
        raise ValueError(f"--out {out} names one PNG file, and --at gives {len(times)} times:"
                         " give one --at time, or a folder for --out (one PNG each in it)")
    return out


def _clear_named(one: Path | None, written: Path | None) -> None:
    """With ``--out x.png`` (``one``), remove x.png and x.UNVERIFIED.png
    but ``written``, this run's picture: review39a, a run that wrote no
    x.png (no picture yet, exit 0; a picture not the host's, written
    marked) left an earlier run's there, another recording's picture that
    a script read as this one's. The folder form names each file by its
    recording and time, so it never meets another's."""
    if one is None:
        return
    for name in (one, one.with_name(f"{one.stem}.UNVERIFIED{one.suffix}")):
        if name != written:
            name.unlink(missing_ok=True)


def _play_web(args: argparse.Namespace) -> int:
    import asyncio
    import importlib.util
    import signal

    from screencodec.cli.sessions import needs_extra
    from screencodec.cli.terminal import ending_signals

    if importlib.util.find_spec("aiohttp") is None:
        print(needs_extra("screencodec recordings play: --web", "web", "aiohttp"),
              file=sys.stderr)  # fmt: skip
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
