"""Where PyAV is not installed, ``recordings export --mp4`` names the extra
to install (walk39, a venv with ``pip install 'screencodec[transport]'``):
it said "MP4 export needs PyAV (pip install av)", where README promises that
"a command whose extra is missing says so in one line and names it" and
every other command names one (``pip install 'screencodec[record]'``).
PyAV is hidden from the process by an ``av`` module that cannot be
imported, as when it is not installed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_walk39_mp4_export_without_pyav_names_the_extra(
    sealed_recording: tuple[Path, Path], tmp_path: Path
) -> None:
    path, key = sealed_recording
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "av.py").write_text("raise ImportError('No module named av')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(hide), *sys.path])}
    mp4 = tmp_path / "out.mp4"
    argv = [sys.executable, "-m", "screencodec", "recordings", "export", path, "--key", key]
    done = subprocess.run([*map(str, argv), "--mp4", str(mp4)], capture_output=True, text=True,
                          timeout=120, env=env, check=False)  # fmt: skip
    assert (done.returncode, done.stderr) == (
        2,
        "screencodec recordings export: MP4 export needs PyAV, the 'record' extra:"
        " pip install 'screencodec[record]'\n",
    )
    assert not mp4.exists()
