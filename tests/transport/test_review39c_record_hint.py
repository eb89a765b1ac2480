"""review39c: host --record's "make it first: mkdir -p DIR" (tail39) is a
command the user copies, so DIR is quoted for a shell. Found: a folder with
a space ("/tmp/My Recordings") was printed bare, and the command the line
gave made two folders, "/tmp/My" and "./Recordings", neither the one asked
for. Real CLI, and the printed command run by a real shell."""

from __future__ import annotations

import subprocess
from pathlib import Path

from warm_start import warm_run

from .test_cli import CLI, ENV


def test_review39c_the_mkdir_hint_makes_the_folder_it_names(tmp_path: Path) -> None:
    missing = tmp_path / "My Recordings" / "desk 7; echo no"
    done = warm_run(
        [*CLI, "host", "--listen", "0", "--bind", "127.0.0.1", "--source", "synthetic",
         "--control", "none", "--record", str(missing)],
        capture_output=True, text=True, env=ENV, timeout=30, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 2, done
    head, sep, hint = done.stderr.rstrip("\n").partition(" (make it first: ")
    assert sep and hint.endswith(")"), done.stderr
    assert head == f"screencodec host: --record {missing}: no such directory"
    made = subprocess.run(["sh", "-c", hint[:-1]], cwd=tmp_path, capture_output=True, text=True,
                          timeout=10, check=False)  # fmt: skip
    assert made.returncode == 0 and made.stdout == "", made
    assert missing.is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["My Recordings"]
