"""The ``screencodec`` command's parser and entry point: the codec's own
commands (demo, bench, codecs) are defined here, the session commands come
from :mod:`screencodec.cli.sessions`. ``DESCRIPTION`` is what ``--help`` says.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import os
import signal
import sys
from collections.abc import Sequence
from enum import IntEnum
from pathlib import Path
from typing import Any, NoReturn

__all__ = ["DESCRIPTION", "Exit", "main", "other_words"]


class Exit(IntEnum):
    """The exit statuses of ``screencodec host`` and ``screencodec view``
    (docs/cli.md, "Exit status"), so that a script running them can tell
    what happened; the line printed last says it in words."""

    #: The session ended as one side meant it to: the agent left (Ctrl-C,
    #: SIGTERM, SIGHUP, --duration, the page's Leave) or the host ended it
    #: (its user, its program stopped, its screen gone); the host was
    #: stopped (Ctrl-C, SIGTERM, SIGHUP, /end with --once).
    ENDED = 0
    #: Something failed: nothing to connect to (nothing listens, not a
    #: screencodec host or relay, a name that does not resolve), a peer that
    #: broke the protocol, a picture over --max-pixels, a snapshot not written.
    ERROR = 1
    #: Bad arguments (argparse's status too), or the host could not start
    #: with them (a port in use, the relay unreachable, no screen).
    USAGE = 2
    #: Not let in: the host's user said no or did not answer, no session has
    #: that code, it has ended, the host or relay refused (busy, too many
    #: attempts). A ``--once`` host: the one agent asked was refused.
    REFUSED = 3
    #: ``view``: the password was wrong.
    WRONG_PASSWORD = 4
    #: The connection was lost and the session not taken up again (the host,
    #: the relay or the network gone; the resume window passed). A ``--once``
    #: host: the agent's link was lost and the agent did not come back.
    LOST = 5
    #: Ctrl-C before the command could end in order (while Python was
    #: still importing it, at the password prompt, a second Ctrl-C).
    INTERRUPTED = 130

#: The first line of ``screencodec --help``: what the tool is and its commands.
DESCRIPTION = (
    "screencodec: share a screen for remote support (host, view, relay, recordings) "
    "and try out its codec (demo, bench, codecs)."
)


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 1920x1080, not {text!r}") from None
    return w, h


def _bench_scenario(text: str) -> str:
    from screencodec.capture import scenario_names

    if text in scenario_names() or (text.startswith("corpus:") and len(text) > 7):
        return text
    names = ", ".join(scenario_names())
    raise argparse.ArgumentTypeError(f"unknown scenario {text!r}: use {names} or corpus:NAME")


def _bench_file(text: str) -> tuple[str, int]:
    way, _, size = text.partition(":")
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    try:
        scale = units.get(size[-1:].lower(), 1)
        count = float(size[:-1] if scale > 1 else size)
    except ValueError:
        count = 0
    if way not in ("down", "up") or not 0 < count * scale <= 1 << 34:
        raise argparse.ArgumentTypeError(f"use down:SIZE or up:SIZE (e.g. down:4M), not {text!r}")
    return way, int(count * scale)


def _bench_step(text: str) -> object:
    from screencodec.linkbench.steps import parse_step

    try:
        return parse_step(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _bench_cross(text: str) -> tuple[float, float]:
    from screencodec.linkbench.steps import parse_cross

    try:
        return parse_cross(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _demo(args: argparse.Namespace) -> int:
    from screencodec.demo import run_demo

    return run_demo(
        source=args.source,
        scenario=args.scenario,
        size=args.size,
        seconds=args.seconds,
        fps=args.fps,
        monitor=args.monitor,
    )


def _bench(args: argparse.Namespace) -> int:
    if args.link:  # whole sessions over a shaped link: screencodec.linkbench
        from screencodec.linkbench.report import check_workload, parse_link_spec
        from screencodec.linkbench.report import run as run_sessions

        try:
            for spec in args.link:
                parse_link_spec(spec)
            for name in args.scenario or ():
                check_workload(name)
        except ValueError as exc:
            raise SystemExit(f"screencodec bench: {exc}") from None
        try:
            run_sessions(links=args.link, scenarios=args.scenario, seconds=args.seconds,
                         json_path=args.json, file=args.file, steps=args.step or (),
                         cross=args.cross)  # fmt: skip
        except ValueError as exc:
            raise SystemExit(f"screencodec bench: {exc}") from None
        return 0
    if any(s.startswith("corpus:") for s in args.scenario or ()):
        raise SystemExit("screencodec bench: corpus:<name> scenarios need --link")
    if args.step or args.cross:
        raise SystemExit("screencodec bench: --step and --cross need --link")
    from screencodec import bench

    bench.run(
        scenarios=args.scenario or None,
        resolutions=args.resolution or None,
        frames_1080p=args.frames + 1,
        frames_4k=max(2, args.frames // 4 + 1),
        json_path=args.json,
    )
    return 0


def _codecs(args: argparse.Namespace) -> int:
    from screencodec.codecs import default_registry

    reg = default_registry()
    print(f"{'codec':<10} {'ops':<28} {'lossless':>8} {'speed':>5} {'quality':>7} {'available':>9}")
    for spec in reg.specs():
        ops = ",".join(sorted(op.name for op in spec.ops))
        print(
            f"{spec.name:<10} {ops:<28} {spec.lossless!s:>8} {spec.speed:5d} "
            f"{spec.quality:7d} {reg.is_available(spec.name)!s:>9}"
        )
    return 0


class Parser(argparse.ArgumentParser):
    """Options are taken whole, never by a prefix (argparse's default takes
    ``--mp`` for ``--mp4``): a later version's new option would silently
    change what a script's short word means. Subcommands' parsers are of
    this class too (argparse makes them of their parent's)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        self._words: list[str] = []
        #: Options a person may try that this command has under another
        #: name, each with the words that say what to give instead
        #: (:func:`other_words`).
        self.meant: dict[str, str] = {}

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        self._words = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        """A command's own error, unless a word it was given is an option it
        does not have: then that is said (with the option it is closest
        to), not what followed from it. argparse checks what is required,
        and the positionals' types, before main sees the words it did not
        take: ``relay --lis 7100`` said "the following arguments are
        required: --listen", and ``view --cod 123456789`` that the code is
        not a HOST:PORT (walk33). Not a parser of subcommands: there an
        option of the command given is no stray."""
        subcommands = any(isinstance(a, argparse._SubParsersAction) for a in self._actions)
        if not subcommands and not message.startswith(_UNRECOGNIZED):
            known = {o for a in self._actions for o in a.option_strings}
            words = self._words[: self._words.index("--")] if "--" in self._words else self._words
            stray = [w for w in words if w.startswith("--") and w.split("=", 1)[0] not in known]
            if stray:
                message = unrecognized_words(self, stray)
        super().error(message)


class _Version(argparse.Action):
    """``--version``: the installed version, looked up only when asked (walk39:
    it was "the following arguments are required: command")."""

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        import screencodec

        print(f"screencodec {screencodec.__version__}")
        parser.exit()


def build_parser(running: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; ``running``: the command about to run, the only
    session command whose module is imported (:func:`add_subcommands`)."""
    names: Sequence[str] = ()
    if running in (None, "demo", "bench"):  # the names load the synthetic desktop (60 ms)
        from screencodec.capture import scenario_names

        names = scenario_names()
    parser = Parser(prog="screencodec", description=DESCRIPTION)
    parser.add_argument("--version", action=_Version, nargs=0,
                        help="print the version installed and exit")  # fmt: skip
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="capture -> encode -> decode live, checked bit-exact")
    demo.add_argument("--source", choices=["auto", "screen", "synthetic"], default="auto",
                      help="what to capture: the screen ($DISPLAY), the synthetic desktop, "
                           "or auto (the screen when there is one; default)")
    demo.add_argument("--scenario", choices=["all", *names], default="all",
                      help="with the synthetic desktop: which scenario to play (default all)")
    demo.add_argument("--size", type=_size, default=(1920, 1080), help="synthetic size, WxH")
    demo.add_argument("--seconds", type=float, default=6.0,
                      help="how long to run, shared by the scenarios played (default 6)")
    demo.add_argument("--fps", type=float, default=30.0,
                      help="frames captured a second, at most (default 30)")
    demo.add_argument("--monitor", type=int, default=1,
                      help="with the screen: which monitor, 1 the first, 0 all (default 1)")
    demo.set_defaults(func=_demo)

    bench = sub.add_parser("bench", help="the benchmark table at 1080p and 4K")
    bench.add_argument("--scenario", action="append", type=_bench_scenario,
                       help=f"{', '.join(names)}, or corpus:NAME (with --link)")
    bench.add_argument("--resolution", action="append", choices=["1080p", "4K"],
                       help="measure at this size only; repeatable (default both)")
    bench.add_argument("--frames", type=int, default=60, help="frames per scenario at 1080p")
    bench.add_argument("--json", type=Path, help="also write the results as JSON")
    bench.add_argument("--link", action="append", metavar="RATE,RTT",
                       help="measure whole sessions over this link instead (e.g. 4M,40ms, "
                            "unlimited; tc:RATE,RTT shapes with the kernel in a network "
                            "namespace; wire:RATE,RTT puts the host and the viewer in two "
                            "namespaces joined by a wire that can lose packets, each kernel's "
                            "TCP retransmitting; ,loss=P%% and ,jitter=T add random drops and "
                            "in-order delay, e.g. wire:4M,40ms,loss=1%%,jitter=10ms; "
                            "a wire's ,tcp=NAME sets both kernels' TCP congestion control (one of "
                            "net.ipv4.tcp_allowed_congestion_control, e.g. reno); "
                            "repeatable)")  # fmt: skip
    bench.add_argument("--seconds", type=float, default=8.0, help="with --link: per session")
    bench.add_argument("--file", type=_bench_file, metavar="WAY:SIZE",
                       help="with --link: a file sent beside the screen in each session, "
                            "down (host to viewer) or up, e.g. down:4M")  # fmt: skip
    bench.add_argument("--step", action="append", type=_bench_step, metavar="TIME:RATE",
                       help="with --link: the link's rate becomes RATE this long after the "
                            "screen starts changing, e.g. --step 5s:1M --step 12s:4M; the "
                            "line under each row says what the person saw after the drop "
                            "and the recovery (repeatable)")  # fmt: skip
    bench.add_argument("--cross", type=_bench_cross, metavar="START-STOP",
                       help="with --link: someone else's bulk TCP upload through the same "
                            "bottleneck over this time (after the screen starts changing), "
                            "e.g. 5s-12s")  # fmt: skip
    bench.set_defaults(func=_bench)

    codecs = sub.add_parser("codecs", help="list the registered codecs and their specs")
    codecs.set_defaults(func=_codecs)

    from screencodec.cli.sessions import add_subcommands

    try:
        add_subcommands(sub, running)
    except ImportError as exc:  # the transport's optional dependencies are not installed
        _add_missing_extra(sub, exc)
    return parser


def _add_missing_extra(sub: argparse._SubParsersAction[Any], exc: ImportError) -> None:
    """Keep the session commands visible, each saying in one line what to install."""
    from screencodec.cli.sessions import COMMANDS, needs_extra

    missing = exc.name or str(exc)

    def explain(args: argparse.Namespace) -> int:
        extra = COMMANDS[args.command].extra
        print(needs_extra(f"screencodec {args.command}:", extra, missing), file=sys.stderr)
        return 2

    for name, command in COMMANDS.items():
        extra = command.extra
        p = sub.add_parser(name, help=f"(needs: pip install 'screencodec[{extra}]')",
                           add_help=False)  # fmt: skip
        p.set_defaults(func=explain, takes_anything=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``screencodec`` command; its exit status. A Ctrl-C that no
    command turned into an orderly end (the commands' own imports take a
    moment after start) is a clean :attr:`Exit.INTERRUPTED`, no traceback.

    Without ``argv`` it is the program (its console script, ``python -m
    screencodec``): once the command has ended, a Ctrl-C is ignored while
    the interpreter exits (it joins the threads the command used: a
    traceback, or status 130 for a command that ended in order), and after
    ``view`` a SIGTERM or SIGHUP is noted and let be (ends53: -15). Given
    ``argv`` (run inside another program), the signals' handlers are left
    as the command gave them back (``host``, ``view`` and ``relay`` put
    back the ones they found)."""
    program = argv is None
    if program:
        # The commands use no BLAS. NumPy's OpenBLAS starts a thread a core
        # when imported, and those spin: 0.15 s of CPU a start on 2 cores,
        # a quarter of the host's start (stop 35). A user's setting stands.
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        gc.disable()  # until the command's modules are in (_settled)
    try:
        words = sys.argv[1:] if argv is None else list(argv)
        # The top level takes no option but --help: the first word names the command.
        parser = build_parser(running=words[0] if words else None)
        if words:
            _misplaced_command(parser, words)
        args, unknown = parser.parse_known_args(words)
        if unknown and not getattr(args, "takes_anything", False):
            unrecognized(parser, args, unknown)
        if program:
            _settled(args)
        code: int = args.func(args)
        if program:
            _ignore_ctrl_c()
            if getattr(args, "command", None) == "view":
                _stops_noted()
    except KeyboardInterrupt:
        return interrupted(program)
    return code


def _settled(args: argparse.Namespace) -> None:
    """The program's modules imported, the command's included (``host``,
    ``view``: sessions.COMMANDS ``runs``), then frozen (:func:`gc.freeze`)
    and the cyclic garbage collector on again (main turned it off). The
    imports make tens of thousands of objects that live as long as the
    process, none of them garbage: the collector walked them again and
    again while they were made, at every full collection after and at the
    exit (time50a, instructions: a view that finds nothing to connect to
    1019 -> 952 M, a host to its password 965 -> 944 M). Only as the
    program: frozen objects are never collected, which a process that runs
    :func:`main` among other work would not want."""
    from screencodec.cli.sessions import COMMANDS

    command = COMMANDS.get(getattr(args, "command", ""))
    try:
        # Not for a command whose extra is missing (its words say so instead).
        if command is not None and command.runs and not getattr(args, "takes_anything", False):
            importlib.import_module(command.runs.partition(":")[0])
    except ImportError:
        pass  # said as before, where the command imports it
    finally:
        gc.freeze()
        gc.enable()


def _misplaced_command(parser: argparse.ArgumentParser, words: Sequence[str]) -> None:
    """Refuse a first word that is no command but a subcommand of one
    (``screencodec export FILE``: ``recordings export``), saying the
    command meant, with the words given (USAGE, as argparse's refusals):
    argparse's "invalid choice" named only the top level's commands. The
    subcommands are read from the parser (the commands' modules are loaded
    for it: this is the way to an error only)."""
    first = words[0]
    if first.startswith("-") or first in _commands(parser):
        return
    import shlex

    whole = build_parser()  # every command's parser, not only the one named
    for name, command in _commands(whole).items():
        if first in _commands(command):
            parser.error(f"{first!r} is a {name} command: screencodec {name} "
                         f"{shlex.join(words)}")  # fmt: skip


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The subcommands ``parser`` takes, by name (none: a command without)."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(subs[0].choices) if subs else {}


def _ignore_ctrl_c() -> None:
    with contextlib.suppress(ValueError):  # not the main thread
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _stops_noted() -> None:
    """``view`` has ended (its end line told, its status worked out): a
    SIGTERM or SIGHUP while the interpreter exits is let be, as from its
    end line on (cli/view_signals.py; ends53: SIGTERM's default made the
    status -15, a crash to a shell or a service manager). Ignored, not
    handled: the interpreter's finalization puts the default back in place
    of a Python handler before the process ends (words52's Leave then a
    SIGTERM 30 ms later was still -15), and keeps SIG_IGN; no process is
    started from here any more to inherit it."""
    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None:
            with contextlib.suppress(ValueError):  # not the main thread
                signal.signal(sig, signal.SIG_IGN)


def unrecognized(parser: argparse.ArgumentParser, args: argparse.Namespace,
                 unknown: Sequence[str]) -> NoReturn:  # fmt: skip
    """Refuse words no parser took, as the command they were given to (its
    usage and name: argparse hands a subcommand's unknown words up to the
    top level, which said them as its own), with the option of that command
    a mistyped one is closest to."""
    command = parser
    while True:
        subs = [a for a in command._actions if isinstance(a, argparse._SubParsersAction)]
        name = getattr(args, subs[0].dest, None) if subs else None
        if not subs or name not in subs[0].choices:
            break
        command = subs[0].choices[name]
    command.error(unrecognized_words(command, unknown))


_UNRECOGNIZED = "unrecognized arguments: "


def unrecognized_words(command: argparse.ArgumentParser, unknown: Sequence[str]) -> str:
    """How ``command`` refuses the words it has no use for: them, and the
    option of its own the first mistyped one is closest to."""
    import difflib

    said = f"{_UNRECOGNIZED}{' '.join(unknown)}"
    options = [o for a in command._actions for o in a.option_strings if o.startswith("--")]
    meant = getattr(command, "meant", {})
    for word in unknown:
        given = word.split("=", 1)[0]
        if given in meant:
            return f"{said} ({meant[given]})"
        # What a prefix would have meant before options were taken whole.
        close = [o for o in options if o.startswith(given)] if len(given) > 2 else []
        close = close if len(close) == 1 else []
        close = close or difflib.get_close_matches(given, options, n=1, cutoff=0.75)
        if word.startswith("--") and close:
            return f"{said} (did you mean {close[0]}?)"
    return said


def other_words(command: argparse.ArgumentParser, hint: str, *words: str) -> None:
    """``words``, options a person may try on ``command`` that it has under
    another name (``recordings export --audit``: its ``--log``), are
    refused all the same, with ``hint``, the words that say what to give
    instead (walk34: "unrecognized arguments: --audit" alone left the
    person to guess). A parser not of :class:`Parser` (none here) is left
    as it is."""
    if isinstance(command, Parser):
        command.meant.update(dict.fromkeys(words, hint))


def interrupted(program: bool = True) -> Exit:
    """After a Ctrl-C that cut a command short: the line ended (the shell's
    prompt starts on a line of its own) and, in the ``program`` (not run
    inside another), a further Ctrl-C ignored while the interpreter exits
    (it printed a traceback from wherever it landed)."""
    if program:
        _ignore_ctrl_c()
    with contextlib.suppress(OSError, ValueError):  # the terminal is gone
        print(file=sys.stderr, flush=True)
    return Exit.INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
