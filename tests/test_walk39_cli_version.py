"""``screencodec --version`` says the version installed (walk39: from a fresh
venv with the wheel it was "error: the following arguments are required:
command", status 2; the first thing a person checks after pip install)."""

from __future__ import annotations

import subprocess

import screencodec
from transport.test_cli import CLI, ENV


def test_walk39_version_prints_the_installed_version() -> None:
    done = subprocess.run([*CLI, "--version"], capture_output=True, text=True, timeout=30,
                          env=ENV, check=False)  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        f"screencodec {screencodec.__version__}\n",
        "",
    )
