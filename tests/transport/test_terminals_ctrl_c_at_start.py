"""Ctrl-C right after ``screencodec host`` or ``view`` was started, while
Python still imports the command: a clean exit, status 130, no traceback
(it printed one from wherever the import was). The Ctrl-C is a real SIGINT
the process sends itself as a given module starts to be imported, so it
lands inside that import every time, not at a lucky moment."""

from __future__ import annotations

import subprocess
import sys

import pytest

from screencodec.cli.main import Exit

from .test_cli import ENV

#: Sends SIGINT to itself when ``argv[1]`` starts to be imported, then runs
#: the command as the console script does (``from screencodec.cli import main``).
_PROGRAM = """
import importlib.abc, os, signal, sys

class CtrlC(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == sys.argv[1]:
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, CtrlC())
from screencodec.cli import main
sys.exit(main(sys.argv[2:]))
"""

HOST = ["host", "--listen", "0", "--bind", "127.0.0.1", "--source", "synthetic",
        "--size", "160x120", "--once"]  # fmt: skip
VIEW = ["view", "127.0.0.1:1", "--code", "123 456 789", "--password", "7kq2m9xa"]


def _interrupted_in(module: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _PROGRAM, module, *argv],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          env=ENV, timeout=60, check=False)  # fmt: skip


@pytest.mark.parametrize(("module", "argv"), [
    ("screencodec.cli.sessions", HOST),  # the parser's session commands
    ("screencodec.cli.sessions", VIEW),
    # Inside the host's event loop (Host._share's listen: startup39 made the
    # X input modules this named before load only with an X injector).
    ("screencodec.transport.connect", HOST),
], ids=["host-parser", "view-parser", "host-loop"])  # fmt: skip
def test_ctrl_c_while_the_command_imports_exits_130_without_a_traceback(
        module: str, argv: list[str]) -> None:
    done = _interrupted_in(module, argv)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == Exit.INTERRUPTED, (done.stdout, done.stderr)
    assert done.stderr == "\n", done.stderr  # the line ended, nothing else
    assert "Session code" not in done.stdout  # nothing was shared


def test_ctrl_c_while_the_package_imports_exits_130_without_a_traceback() -> None:
    """The codec (numpy, the extensions) loads on first use, in main(): a
    Ctrl-C while it loads is the command's to handle (``import screencodec``
    took 0.25 s and came before any of its code)."""
    done = _interrupted_in("screencodec.capture", HOST)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == Exit.INTERRUPTED, (done.stdout, done.stderr)
