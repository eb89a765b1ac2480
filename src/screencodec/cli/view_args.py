"""The arguments of ``screencodec view`` (its parser, and what ``--help``
says): apart from view.py, so that ``view --help`` and a usage error load
no session layer (0.5 s of CPU a start). The command runs from view.py's
``run_view`` (sessions.COMMANDS, imported once the words are parsed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from screencodec.cli.args import dial_address, pixels, port, seconds
from screencodec.transport.channel.limits import DEFAULT_MAX_PIXELS

__all__ = ["EXIT_STATUS", "register"]


#: The exit statuses, as ``--help`` lists them (cli.main.Exit, docs/cli.md).
EXIT_STATUS = (
    "exit status: 0 the session ended (you left, or the host ended it); 1 an error (could"
    " not connect, ...); 2 bad arguments; 3 refused (declined, no such session, ...); 4"
    " wrong password; 5 the connection was lost and not taken up again; 130 interrupted"
    " (docs/cli.md)")


def register(subparsers: Any, summary: str) -> None:
    """Add ``view`` to an argparse subparsers object."""
    v = subparsers.add_parser("view", help=summary, epilog=EXIT_STATUS)
    v.add_argument("address", nargs="?", type=dial_address, metavar="HOST:PORT",
                   help="the host's address (screencodec host --listen PORT)")  # fmt: skip
    v.add_argument("--relay", type=dial_address, metavar="HOST:PORT",
                   help="the relay the host registered at, instead (host --relay)")  # fmt: skip
    v.add_argument("--code", required=True,
                   help="the session code the host's user reads out: 9 digits, like"
                        " '123 456 789'")  # fmt: skip
    v.add_argument("--password", help="the password the host's user reads out: 8 letters"
                   " and digits (spaces or dashes between groups are fine); prompted for"
                   " if omitted (keeps it out of `ps`)")  # fmt: skip
    v.add_argument("--name", default="support", help="who you are, shown to the user")
    v.add_argument("--control", action="store_true",
                   help="ask the host's user for control of their mouse and keyboard as soon"
                        " as you are let in (with --web: the page's Request control asks"
                        " later; in this terminal, /type TEXT and /key NAME type on their"
                        " keyboard, /control asks later, and the mouse needs --web)")
    v.add_argument("--duration", type=seconds, default=None, metavar="S",
                   help="leave S seconds after the host's user let you in (with --web: S"
                        " seconds after the start, the page's opening and the user's answer"
                        " included)")  # fmt: skip
    v.add_argument("--reconnect-for", type=seconds, default=60.0, metavar="S",
                   help="after a lost connection, try to take the session up again for S"
                        " seconds (default 60: a host keeps a lost session that long)")  # fmt: skip
    v.add_argument("--snapshot", type=Path, metavar="FILE.png", help="write the last frame")
    v.add_argument("--snapshot-cursor", action="store_true",
                   help="draw the host's pointer into the snapshot")  # fmt: skip
    v.add_argument("--web", action="store_true",
                   help="watch and control in a browser page on this machine")  # fmt: skip
    v.add_argument("--web-port", type=port, default=0, metavar="N",
                   help="port of the page on 127.0.0.1 (default: a free one)")  # fmt: skip
    v.add_argument("--no-open", action="store_true",
                   help="only print the page's address, do not open a browser")  # fmt: skip
    v.add_argument("--download-dir", type=Path, metavar="DIR",
                   help="with --web: where files the user sends you are saved")  # fmt: skip
    v.add_argument("--max-pixels", type=pixels, default=DEFAULT_MAX_PIXELS, metavar="N",
                   help="the largest host screen shown, in pixels (default"
                        f" {DEFAULT_MAX_PIXELS}: an 8K screen, three 4K side by side);"
                        " a larger one ends the session, and is marked in the list of"
                        " the host's screens")  # fmt: skip
