"""review44: ``make test`` after time44 (lint beside ``test-prep`` in a
sub-make with -j2): a failing lint or a failing test-prep must fail ``make
test``, and the suite must not start; with both passing, it starts after
both (test_typing reads mypy's cache).

The real Makefile and the real make, in a folder of its own whose venv's
programs (python, ruff, mypy, auditwheel) are scripts that note each call
and fail when told to: what is tested is the Makefile's order and
outcomes, not the tools (the suite is not run)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Each venv program: notes its name and arguments, fails if $FAIL names it
#: (python's pip wheel as "pip", test-prep's two collections as
#: "collect-transport" and "collect-rest"), and writes what make then looks for.
_STUB = """#!/bin/sh
echo "$(basename "$0") $*" >> "$CALLS"
case "$(basename "$0") $*" in
  "python -m pip wheel"*) [ "$FAIL" = pip ] && exit 1
    mkdir -p build/wheel-raw && : > build/wheel-raw/screencodec-0-py3-none-any.whl ;;
  "auditwheel "*) exit 1 ;;  # not a manylinux wheel: the Makefile copies it
  "python -m pytest"*"--collect-only tests/transport") [ "$FAIL" = collect-transport ] && exit 1 ;;
  "python -m pytest"*"--collect-only --ignore"*) [ "$FAIL" = collect-rest ] && exit 1 ;;
  "$FAIL "*) exit 1 ;;
esac
exit 0
"""


def _make_test(tmp_path: Path, fail: str) -> tuple[int, list[str], str]:
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    for name in ("pyproject.toml", "setup.py", "scripts/bootstrap.sh"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    (tmp_path / "wheels").mkdir()
    bin_ = tmp_path / ".venv" / "bin"
    bin_.mkdir(parents=True)
    for tool in ("python", "ruff", "mypy", "auditwheel"):
        (bin_ / tool).write_text(_STUB)
        (bin_ / tool).chmod(0o755)
    (tmp_path / ".venv" / ".installed").touch()  # newer than what it is made from
    calls = tmp_path / "calls"
    calls.touch()
    env = {**os.environ, "CALLS": str(calls), "FAIL": fail}
    env.pop("MAKEFLAGS", None)
    done = subprocess.run(["make", "test"], cwd=tmp_path, env=env, capture_output=True, check=False,
                          text=True, timeout=120)  # fmt: skip
    return done.returncode, calls.read_text().splitlines(), done.stdout + done.stderr


def _suite_ran(calls: list[str]) -> bool:
    return any(c.startswith("python -m pytest") and "-n " in c for c in calls)


@pytest.fixture(autouse=True)
def _make() -> None:
    if shutil.which("make") is None:
        pytest.fail("make is needed (scripts/bootstrap.sh installs it)")


def test_make_test_runs_the_suite_after_lint_and_test_prep(tmp_path: Path) -> None:
    status, calls, out = _make_test(tmp_path, fail="")
    assert status == 0, out
    assert _suite_ran(calls), calls
    last = calls[-1]
    assert last.startswith("python -m pytest") and "-n " in last, calls
    for before in ("ruff check", "mypy", "python -m compileall", "python -m pip wheel"):
        assert any(c.startswith(before) for c in calls[:-1]), (before, calls)
    assert sum("--collect-only" in c for c in calls[:-1]) == 2, calls


@pytest.mark.parametrize("fail", ["ruff", "mypy", "pip", "collect-transport", "collect-rest"])
def test_make_test_fails_without_running_the_suite_when_lint_or_test_prep_fails(
    tmp_path: Path, fail: str
) -> None:
    status, calls, out = _make_test(tmp_path, fail=fail)
    assert status != 0, out
    assert not _suite_ran(calls), calls
    if fail.startswith("collect"):  # a failing collection says what to run to see why
        assert "collecting the tests failed" in out, out
