"""walkfix36 (walk36): docs/cli.md said "`screencodec --help` lists them
[the exit statuses] under each command too", but the top level's help
lists none, nor do demo, bench, codecs, relay and recordings: only host and
view. Each ``screencodec ... --help`` the exit-status section names must
list them (the real CLI, in a subprocess)."""

from __future__ import annotations

import re
from pathlib import Path

from transport.test_cli import CLI, ENV
from warm_start import warm_run

DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


def test_each_help_the_exit_status_section_names_lists_the_statuses() -> None:
    intro = DOC.read_text().split("\n\n")[1]  # the paragraph under the title
    named = re.findall(r"`screencodec((?:\s+[a-z]+)*)\s+--help`", intro)
    assert named, intro
    for words in named:
        done = warm_run([*CLI, *words.split(), "--help"], capture_output=True,
                        text=True, timeout=30, env=ENV, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "exit status: 0 " in done.stdout, (words, done.stdout)
