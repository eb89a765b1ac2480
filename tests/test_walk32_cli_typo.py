"""walk32: a mistyped option is told by the command it was given to.

Walked by hand: ``screencodec host --recrod DIR`` printed the top level's
usage (``usage: screencodec [-h] {demo,bench,...} ...``) and ``screencodec:
error: unrecognized arguments: --recrod DIR``: nothing of host's options,
and nothing said which one was meant (argparse's subcommands hand their
unknown words to the top level, which said them as its own). The real
command in a subprocess, as a person types it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from warm_start import warm_run


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return warm_run([sys.executable, "-m", "screencodec", *args], capture_output=True,
                    text=True, timeout=60, check=False)  # fmt: skip


@pytest.mark.parametrize(("argv", "prog", "meant"), [
    (["host", "--recrod", "DIR"], "screencodec host", "--record"),
    (["recordings", "list", "--kye", "a.key", "DIR"], "screencodec recordings list", "--key"),
    (["recordings", "export", "--mp5", "out.mp4", "DIR"], "screencodec recordings export",
     "--mp4"),
    (["codecs", "--bogus"], "screencodec codecs", None),
    # A prefix is refused, not taken for the option (argparse's default ran
    # export --mp as --mp4), and the option it began is named.
    (["recordings", "export", "--mp", "out.mp4", "DIR"], "screencodec recordings export",
     "--mp4"),
    (["host", "--recor", "DIR"], "screencodec host", "--record"),
])  # fmt: skip
def test_an_unknown_option_is_said_by_its_command(
    argv: list[str], prog: str, meant: str | None,
) -> None:
    done = _run(*argv)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith(f"usage: {prog} "), lines
    typo = argv[len(prog.split()) - 1]
    assert lines[-1].startswith(f"{prog}: error: unrecognized arguments: {typo}"), lines
    assert lines[-1].endswith(f" (did you mean {meant}?)" if meant else typo), lines
