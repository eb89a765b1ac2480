"""walk44: ``recordings export FILE --mp4 OUT`` of a 6-minute session ran a
minute on a loaded machine with nothing on the terminal until its last
line. Now, on a terminal, one line says how far it has gone (rewritten in
place at most once a second) and is cleared before the outcome's line; a
script's output is as before.

The command in tmux (a real terminal), its pane read while it runs."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .synth import synth

TMUX = shutil.which("tmux")


def _pane(sock: str) -> str:
    return subprocess.run(["tmux", "-L", sock, "capture-pane", "-p", "-J", "-t", "t"],
                          capture_output=True, text=True, check=False).stdout  # fmt: skip


@pytest.mark.skipif(TMUX is None, reason="tmux is needed")
def test_walk44_export_says_how_far_it_has_gone_on_a_terminal(tmp_path: Path) -> None:
    path, _ = synth(tmp_path / "recs", frames=40, fps=0.1, size=(320, 200))
    out = tmp_path / "s.mp4"
    sock = f"walk44-{os.getpid()}"
    src = os.environ.get("PYTHONPATH", "")
    cmd = (
        f"PYTHONPATH={shlex.quote(src)} {shlex.quote(sys.executable)} -m screencodec"
        f" recordings export {path} --mp4 {out} --fps 10; echo DONE=$?"
    )
    subprocess.run(["tmux", "-L", sock, "new-session", "-d", "-s", "t", "-x", "200", "-y", "20",
                    "sh", "-c", cmd + "; sleep 60"], check=True)  # fmt: skip
    try:
        seen: set[str] = set()
        deadline = time.monotonic() + 120
        while "DONE=" not in (pane := _pane(sock)):
            assert time.monotonic() < deadline, pane
            seen.update(re.findall(rf"writing {re.escape(str(out))}: \d+ % \(\d+ of \d+ frames\)",
                                   pane))  # fmt: skip
            time.sleep(0.1)
        assert seen, pane  # found: nothing until the end
        lines = [x for x in pane.splitlines() if x.strip()]
        assert lines[-1] == "DONE=0", lines
        assert re.fullmatch(rf"{re.escape(str(out))}: \d+ frames, [\d.]+ s,"
                            rf" {out.stat().st_size} bytes", lines[-2]), lines  # fmt: skip
        assert "writing" not in pane, pane  # cleared before the outcome's line
    finally:
        subprocess.run(["tmux", "-L", sock, "kill-server"], check=False)
