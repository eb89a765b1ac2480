"""``--leak-log`` (leak_check.py) names the test that left a socket to the
garbage collector, not the test the collector happened to run in: proved on
a planted leak, in a pytest of its own run as the suite runs (warnings are
errors)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

_PLANTED = """
import gc
import socket


def test_a_leaves_a_socket():
    s = socket.socket()
    cycle = [s]
    cycle.append(cycle)


def test_b_innocent():
    gc.collect()  # the collector runs here, as it runs when it likes
"""


def _pytest(where: Path, *args: str, trace: bool = False) -> subprocess.CompletedProcess[str]:
    # No plugins from entry points (hypothesis, xdist...): started under
    # tracemalloc, they took a loaded machine minutes. ``trace``: log where.
    # Not the outer run's PYTEST_ADDOPTS either: its options (--file-times)
    # belong to plugins this inner run does not load.
    env = {**{k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"},
           "PYTHONPATH": str(Path(__file__).parent),
           "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}  # fmt: skip
    traced = ["-X", "tracemalloc=5"] if trace else []
    return subprocess.run(
        [sys.executable, *traced, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "-p", "leak_check", "-W", "error", "test_planted.py", *args],
        cwd=where, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_leak_log_names_the_test_that_left_the_socket(tmp_path: Path) -> None:
    (tmp_path / "test_planted.py").write_text(_PLANTED)
    without = _pytest(tmp_path)
    assert without.returncode == 1, without.stdout
    assert "FAILED test_planted.py::test_b_innocent" in without.stdout, without.stdout

    log = tmp_path / "leaks.log"
    run = _pytest(tmp_path, f"--leak-log={log}", trace=True)
    assert run.returncode == 0, run.stdout
    lines = log.read_text().splitlines()
    assert lines[0].startswith("[main] test_planted.py::test_a_leaves_a_socket: ResourceWarning:"
                               " unclosed <socket.socket fd="), lines  # fmt: skip
    assert "test_b_innocent" not in "".join(lines), lines
    assert lines[1] == "    allocated at:", lines
    assert lines[2].endswith('test_planted.py", line 7'), lines
    assert lines[3].strip() == "s = socket.socket()", lines
