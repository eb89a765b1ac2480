"""walk32: ``screencodec recordings list DIR | head`` ends quietly.

Walked by hand: ``recordings list DIR | head -8`` printed its lines, then
``screencodec recordings list: [Errno 32] Broken pipe`` on stderr (exit 2,
"bad arguments"): the reader having left was said as the command's error.
Now it stops without a word, with the status a command killed by SIGPIPE
has in the shell (141). The real Recorder's files, the real CLI, a pipe
whose reader is gone before the command writes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from screencodec.recording import Recorder
from warm_start import warm_popen


def test_list_into_a_pipe_whose_reader_left_says_nothing(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path, host_id="desk7")
    for who in ("a", "b", "c"):
        recorder.start(who).end("bye")
    recorder.close()
    proc = warm_popen([sys.executable, "-m", "screencodec", "recordings", "list",
                       str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                      text=True)  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # as head does once it has its lines
    with proc.stderr:
        err = proc.stderr.read()
    assert proc.wait(60) == 141, err
    assert err == ""
