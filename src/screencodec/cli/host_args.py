"""The arguments of ``screencodec host`` (its parser, and what ``--help``
says): apart from host.py, so that ``host --help`` and a usage error load
no session layer (0.5 s of CPU a start). The command runs from host.py's
``run_host`` (sessions.COMMANDS, imported once the words are parsed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from screencodec.cli.args import dial_address, port, seconds, size

__all__ = ["EXIT_STATUS", "SCENARIOS", "register"]

#: The synthetic desktop's scenarios, as --help names them.
SCENARIOS = ("typing", "terminal", "browser", "drag", "video", "idle")


#: The exit statuses, as ``--help`` lists them (cli.main.Exit, docs/cli.md).
EXIT_STATUS = (
    "exit status: 0 stopped, or with --once the session ended in order; 1 an error (the X"
    " display died; with --once: this screen can no longer be captured); 2 bad arguments or"
    " could not start; 3 with --once: no one was let in (the agent was refused, or asked"
    " nothing or not to view); 5 with --once: the agent's"
    " connection was lost and not taken up again; 130 interrupted (docs/cli.md)")


def register(subparsers: Any, summary: str) -> None:
    """Add ``host`` to an argparse subparsers object."""
    h = subparsers.add_parser("host", help=summary, epilog=EXIT_STATUS)
    where = h.add_mutually_exclusive_group()
    where.add_argument("--listen", type=port, metavar="PORT", help="accept viewers directly")
    where.add_argument("--relay", type=dial_address, metavar="HOST:PORT",
                       help="register at a relay")  # fmt: skip
    h.add_argument("--bind", default="0.0.0.0", metavar="ADDRESS",
                   help="address for --listen (default all)")  # fmt: skip
    h.add_argument("--source", choices=("auto", "screen", "synthetic"), default="auto",
                   help="what is shared: this screen, a synthetic desktop, or auto (the"
                        " default): the screen when there is a display")  # fmt: skip
    # walk41: "--scenario SCENARIO  synthetic desktop scenario" named none
    # (the names are SyntheticDesktop's, held here so --help loads no numpy;
    # tests/test_walk41_help_words.py holds them to scenario_names()).
    h.add_argument("--scenario", default="typing", metavar="NAME",
                   help=f"what the synthetic desktop plays: {', '.join(SCENARIOS)}"
                        " (default typing)")  # fmt: skip
    h.add_argument("--size", type=size, default=(1280, 720), metavar="WxH",
                   help="the synthetic desktop's size (default 1280x720)")  # fmt: skip
    h.add_argument("--monitor", type=int, default=1, metavar="N",
                   help="monitor shown first (0 = all)")  # fmt: skip
    h.add_argument("--consent-timeout", type=seconds, default=30.0, metavar="S",
                   help="how long each question to you waits for your answer (default"
                        " 30 s); no answer is a no")  # fmt: skip
    h.add_argument("--max-duration", type=seconds, default=None, metavar="S",
                   help="end each session S seconds after it began, also one taken up"
                        " again after a lost connection (default: no limit)")  # fmt: skip
    h.add_argument(
        "--control",
        choices=("none", "xtest"),
        default="xtest",
        help="how granted remote input is injected (default xtest if a display)",
    )
    h.add_argument(
        "--download-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="accept files (each after a y/N question) into this directory",
    )
    h.add_argument("--once", action="store_true",
                   help="exit when the first session ends (an agent whose connection"
                        " dropped has 60 s to come back first)")  # fmt: skip
    h.add_argument("--record", type=Path, metavar="DIR", default=None,
                   help="record every session into DIR, which must be there (90-day "
                        "retention; the local user is told in the consent question)")  # fmt: skip
    h.add_argument("--record-key", type=Path, metavar="AUDITOR.pub", default=None,
                   help="seal recordings for this auditor key (screencodec recordings "
                        "keygen): this host cannot read them back")  # fmt: skip
    h.add_argument("--record-sign", type=Path, metavar="HOST.key", default=None,
                   help="sign recordings with this host key (screencodec recordings keygen "
                        "--host; refused if group or others have any access to it): an auditor "
                        "can tell they came from this host (verify --hosts)")  # fmt: skip
