"""apt50: scripts/bootstrap.sh installs the Debian packages only the tests
use (Xvfb, Chromium, ffmpeg, ...) in the background while pip and the
build run, and ``bootstrap.sh --wait`` (``make test``, before the suite)
waits for them: done, it returns 0; failed, it fails with apt-get's words
and drops make's stamp, so the next ``make`` sets up again.

The real script and the real bash, in a folder of its own: ``apt-get`` is a
script that notes each call, takes its time and fails when told to; the
venv's python a script that notes pip's calls; PATH holds only the tools
the script itself runs, so every test-only package reads as missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

# As another user the script names what is missing and stops (its own test:
# none; the project's machines and CI run as root).
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="bootstrap installs packages as root")

ROOT = Path(__file__).resolve().parents[1]

_APT = """#!/bin/sh
echo "apt-get $*" >> "$CALLS"
case "$*" in
  *install*) sleep "$STUB_TAKES"; echo "apt-get done" >> "$CALLS"; exit "$STUB_STATUS" ;;
esac
exit 0
"""
_PY = """#!/bin/sh
echo "python $*" >> "$CALLS"
exit 0
"""


def _setup(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "bootstrap.sh", tmp_path / "scripts" / "bootstrap.sh")
    tools = tmp_path / "tools"
    tools.mkdir()
    for name in ("bash", "sh", "sleep", "cat", "rm", "tail", "id", "dirname", "kill"):
        found = shutil.which(name)
        if found is not None:
            (tools / name).symlink_to(found)
    (tools / "python3").symlink_to(sys.executable)  # it has venv and Python.h here
    (tools / "apt-get").write_text(_APT)
    (tools / "apt-get").chmod(0o755)
    venv = tmp_path / ".venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "python").write_text(_PY)
    (venv / "python").chmod(0o755)
    (tmp_path / "calls").touch()
    env = {"PATH": str(tools), "CALLS": str(tmp_path / "calls"), "HOME": str(tmp_path),
           "PYTHON": "python3", "VENV": ".venv"}  # fmt: skip
    return tmp_path / "scripts" / "bootstrap.sh", env


def _run(script: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(script), *args], cwd=script.parent.parent, env=env,
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip


def test_setup_returns_before_the_packages_and_wait_waits_for_them(tmp_path: Path) -> None:
    script, env = _setup(tmp_path)
    env.update(STUB_TAKES="4", STUB_STATUS="0")
    started = time.monotonic()
    setup = _run(script, env)
    took = time.monotonic() - started
    assert setup.returncode == 0, setup.stderr
    assert "in the background" in setup.stdout, setup.stdout
    calls = (tmp_path / "calls").read_text().splitlines()
    # pip ran while apt-get was still installing (it takes 4 s).
    assert any(c.startswith("python -m pip install") for c in calls), calls
    assert took < 4, f"setup waited for apt-get: {took:.1f} s"
    assert not (tmp_path / ".venv" / "debian-packages.status").exists()
    (tmp_path / ".venv" / ".installed").touch()  # what make does after a setup

    waited = _run(script, env, "--wait")
    assert waited.returncode == 0, waited.stderr
    assert "waiting for the Debian packages" in waited.stdout
    calls = (tmp_path / "calls").read_text().splitlines()
    install = [c for c in calls if c.startswith("apt-get install")]
    assert len(install) == 1, calls
    for package in ("xvfb", "chromium", "chromium-driver", "redis-server", "ffmpeg", "nodejs"):
        assert f" {package}" in install[0], install
    assert not (tmp_path / ".venv" / "debian-packages.pid").exists()
    assert (tmp_path / ".venv" / ".installed").exists()
    # Nothing left to wait for: at once.
    again = _run(script, env, "--wait")
    assert again.returncode == 0 and again.stdout == "", again


def test_a_failed_install_fails_the_wait_and_the_next_make_sets_up_again(tmp_path: Path) -> None:
    script, env = _setup(tmp_path)
    env.update(STUB_TAKES="1", STUB_STATUS="100")
    assert _run(script, env).returncode == 0
    (tmp_path / ".venv" / ".installed").touch()
    waited = _run(script, env, "--wait")
    assert waited.returncode == 1
    assert "installing the Debian packages the tests need failed (apt-get status 100" \
        in waited.stderr, waited.stderr
    assert not (tmp_path / ".venv" / ".installed").exists()  # make runs bootstrap again


def test_a_setup_while_the_last_one_installs_waits_for_it_first(tmp_path: Path) -> None:
    """dpkg takes one apt-get at a time: a second setup (make demo, then make
    test at once) must not start another install beside the first."""
    script, env = _setup(tmp_path)
    env.update(STUB_TAKES="3", STUB_STATUS="0")
    assert _run(script, env).returncode == 0
    second = _run(script, env)
    assert second.returncode == 0, second.stderr
    assert "waiting for the Debian packages" in second.stdout
    assert _run(script, env, "--wait").returncode == 0
    calls = (tmp_path / "calls").read_text().splitlines()
    # Both setups ask for the packages (the stub installs nothing), one after the other.
    apt = [c.split()[1] for c in calls if c.startswith(("apt-get install", "apt-get done"))]
    assert apt == ["install", "done", "install", "done"], calls
