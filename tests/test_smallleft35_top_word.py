"""smallleft35: a ``recordings`` subcommand typed without ``recordings``
(``screencodec export FILE``) got argparse's bare "invalid choice" with the
top level's command list: nothing said the word is a ``recordings``
command. Expected: the refusal says what was meant, the whole command to
type, exit status USAGE (2). The real command in a subprocess, as a person
types it (tests/test_walk32_cli_typo.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from screencodec.cli.main import build_parser


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "screencodec", *args], capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip


def _recordings_actions() -> list[str]:
    """The recordings subcommands, from the parser (none hard-coded here)."""
    parser = build_parser(running="recordings")
    top = next(a for a in parser._actions if a.dest == "command")
    recordings = top.choices["recordings"]  # type: ignore[index]
    sub = next(a for a in recordings._actions if a.dest == "action")
    return list(sub.choices)  # type: ignore[arg-type]


def test_every_recordings_action_is_listed() -> None:
    assert {"list", "verify", "export", "play", "prune", "keygen", "revoke"} <= set(
        _recordings_actions())


@pytest.mark.parametrize("action", _recordings_actions())
def test_a_recordings_action_at_the_top_level_says_what_was_meant(action: str) -> None:
    done = _run(action, "session dir.screc", "--key", "a.key")
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    last = done.stderr.strip().splitlines()[-1]
    assert last == (f"screencodec: error: '{action}' is a recordings command: screencodec "
                    f"recordings {action} 'session dir.screc' --key a.key"), done.stderr


def test_a_word_that_is_no_command_anywhere_keeps_argparse_words() -> None:
    done = _run("exprot", "x")
    assert done.returncode == 2
    assert "invalid choice: 'exprot'" in done.stderr.strip().splitlines()[-1]


def test_a_recordings_action_alone_says_it_too() -> None:
    done = _run("list")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "screencodec: error: 'list' is a recordings command: screencodec recordings list")
