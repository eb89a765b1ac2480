"""walk33: a prefix of an option the command requires is refused as the
prefix it is, with the option it began. Walked by hand, now that options
are taken whole (tests/test_walk32_cli_typo.py): ``screencodec relay --lis
7100`` said "the following arguments are required: --listen" (the person
gave it, as they think), ``screencodec view 127.0.0.1:7000 --cod "123 456
789"`` "... required: --code", ``screencodec view --cod 123456789`` took
the code for HOST:PORT ("argument HOST:PORT: expected HOST:PORT, not
'123456789'"), and ``screencodec recordings verify --hel`` "... required:
FILE|DIR": argparse checks what is required before main sees the words it
did not take. The real command in a subprocess, as a person types it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from warm_start import warm_run


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return warm_run([sys.executable, "-m", "screencodec", *args], capture_output=True,
                    text=True, timeout=60, check=False)  # fmt: skip


@pytest.mark.parametrize(("argv", "prog", "typo", "meant"), [
    (["relay", "--lis", "7100"], "screencodec relay", "--lis", "--listen"),
    (["view", "127.0.0.1:7000", "--cod", "123 456 789"], "screencodec view", "--cod", "--code"),
    (["view", "--cod", "123456789"], "screencodec view", "--cod", "--code"),
    (["recordings", "verify", "--hel"], "screencodec recordings verify", "--hel", "--help"),
])  # fmt: skip
def test_walk33_a_prefix_of_a_required_option_is_named(
    argv: list[str], prog: str, typo: str, meant: str
) -> None:
    done = _run(*argv)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith(f"usage: {prog} "), lines
    assert lines[-1].startswith(f"{prog}: error: unrecognized arguments: {typo}"), lines
    assert lines[-1].endswith(f" (did you mean {meant}?)"), lines


def test_walk33_what_is_missing_is_still_said_without_a_stray_option() -> None:
    done = _run("relay", "--bind", "127.0.0.1")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "screencodec relay: error: the following arguments are required: --listen")
