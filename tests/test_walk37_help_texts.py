"""walk37: ``screencodec host --help`` and ``view --help`` listed some
options with no word of what they do (host: --source, --consent-timeout,
--max-duration; view: HOST:PORT, --relay, --code), among the very ones a
new user reaches for first (how long the question waits, where to connect,
what the code is). Expected: every option of the two session commands says
what it does."""

from __future__ import annotations

import argparse
import sys

import pytest

from screencodec.cli.main import _commands, build_parser
from warm_start import warm_run


@pytest.mark.parametrize("command", ["host", "view"])
def test_walk37_every_option_says_what_it_does(command: str) -> None:
    parser = _commands(build_parser(command))[command]
    silent = [a.option_strings[0] if a.option_strings else a.metavar
              for a in parser._actions
              if not isinstance(a, argparse._HelpAction) and not (a.help or "").strip()]
    assert silent == [], f"{command} --help: {silent} say nothing"


def test_walk37_host_help_says_how_long_a_question_waits() -> None:
    text = warm_run([sys.executable, "-m", "screencodec", "host", "--help"],
                    capture_output=True, text=True, timeout=60, check=True).stdout
    flat = " ".join(text.split())
    assert ("--consent-timeout S how long each question to you waits for your answer"
            " (default 30 s); no answer is a no") in flat, text
