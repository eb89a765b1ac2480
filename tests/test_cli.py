"""The command line, run as a user runs it."""

from __future__ import annotations

import argparse
import json
import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import screencodec.cli
from screencodec.cli import main
from screencodec.cli.main import build_parser


def test_demo_on_synthetic_desktop_is_bit_exact(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", "--source", "synthetic", "--seconds", "1.2", "--size", "320x200"])
    out = capsys.readouterr().out
    assert code == 0
    for name in ("typing", "terminal", "browser", "drag", "video", "idle"):
        line = next(r for r in out.splitlines() if r.startswith(name) and "320x200" in r)
        done, total = line.split()[-1].split("/")
        assert done == total and int(total) > 0, line


def test_bench_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench.json"
    code = main(
        ["bench", "--resolution", "1080p", "--scenario", "typing", "--frames", "3",
         "--json", str(out)]
    )  # fmt: skip
    assert code == 0
    report = json.loads(out.read_text())
    (row,) = report["scenarios"]
    assert row["scenario"] == "typing" and row["frames"] == 3 and row["exact"] is True
    assert set(row["ratios"]) == {"encode/zstd_time", "bytes/zstd", "bytes/tiles64", "bytes/raw"}
    assert report["detection"][0]["ratios"]["tile_diff/memcmp"] > 0
    assert "typing" in capsys.readouterr().out


def test_module_entry_point_and_codecs() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    run = subprocess.run(
        [sys.executable, "-m", "screencodec", "codecs"], capture_output=True, text=True,
        check=True, env=env,
    )  # fmt: skip
    assert "lossless" in run.stdout and "copy" in run.stdout


def test_bad_arguments_exit_with_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["demo", "--size", "big"])
    assert e.value.code == 2
    assert "size must look like 1920x1080" in capsys.readouterr().err


def test_help_names_only_real_commands() -> None:
    """``screencodec --help`` describes the tool and names its commands, and no
    name that is not one (it once leaked a docstring naming ``sessions``)."""
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    run = subprocess.run([sys.executable, "-m", "screencodec", "--help"], capture_output=True,
                         text=True, check=True, env=env)  # fmt: skip
    description = run.stdout.split("\n\n")[1]  # between the usage and the argument lists
    words = set(re.findall(r"[a-z]+", description))
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    commands = set(sub.choices)
    assert commands <= words, description
    # The modules of screencodec.cli are the names a leaked docstring would use.
    modules = {m.name for m in pkgutil.iter_modules(screencodec.cli.__path__)}
    assert not (modules - commands) & words, description
    assert "`" not in description


def test_a_chat_line_is_say_and_a_space_and_nothing_else_is() -> None:
    from screencodec.cli.say import said

    assert said("/say  hello there \n") == "hello there"
    assert said("  /say\tx") == "x"
    assert said("/say\n") == ""  # still chat: never an answer to a question
    assert said("/sayno") is None  # not chat: the host's questions read it
    assert said("y") is None and said("") is None
