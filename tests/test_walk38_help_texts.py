"""walk38: walk37 gave every option of ``host`` and ``view`` a word in
``--help``; the other commands still listed options that said nothing:
``recordings play --at SECONDS`` (a newcomer playing a recording could not
tell the seconds are since the session's start, nor that several may be
given), ``export --mp4``/``--png-every``, ``prune --dry-run``, ``list`` and
``prune``'s ``directory``, ``relay --listen``/``--bind``/``--log-level``,
``demo --source``/``--scenario``/``--seconds``/``--fps``/``--monitor`` and
``bench --resolution``. Expected: every option and argument of every
command, subcommands included, says what it does."""

from __future__ import annotations

import argparse
import sys

from screencodec.cli.main import build_parser
from warm_start import warm_run


def _silent(parser: argparse.ArgumentParser, path: str) -> list[str]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _silent(sub, f"{path} {name}")
        elif not isinstance(action, argparse._HelpAction) and not (action.help or "").strip():
            name = action.option_strings[0] if action.option_strings else action.dest
            found.append(f"{path} {name}")
    return found


def test_walk38_every_option_of_every_command_says_what_it_does() -> None:
    assert _silent(build_parser(), "screencodec") == []


def test_walk38_play_help_says_what_at_is() -> None:
    text = warm_run([sys.executable, "-m", "screencodec", "recordings", "play", "--help"],
                    capture_output=True, text=True, timeout=60, check=True).stdout
    flat = " ".join(text.split())
    said = "--at SECONDS [SECONDS ...] the times to show, in seconds from the session's start"
    assert said in flat, text


def test_walk38_view_help_says_control_is_used_by_the_page() -> None:
    """``view --control`` in a terminal: the host's user was asked to hand
    over their mouse and keyboard, said yes, and only then the agent read
    that the terminal sends no input; --help said only "ask for remote
    control too"."""
    text = warm_run([sys.executable, "-m", "screencodec", "view", "--help"],
                    capture_output=True, text=True, timeout=60, check=True).stdout
    flat = " ".join(text.split())
    # walk43: the terminal types too (/type, /key); the mouse needs --web.
    assert "in this terminal, /type TEXT and /key NAME type on their keyboard" in flat, text
