"""``recordings list`` shows the agent's name as the agent chose it, but
harmless: the name comes from the agent's own PermissionRequest (recorded as
sent), so an escape sequence in it would retitle the auditor's terminal or
clear it, and a bidi override would reorder the line. The real CLI prints it
through safe_text."""

from __future__ import annotations

from pathlib import Path

from screencodec.capture import open_source
from screencodec.encoder import ScreenEncoder
from screencodec.recording import CheckpointPolicy, Recorder
from screencodec.transport.session import messages as m
from screencodec.transport.session.permissions import VIEW

from .helpers import recordings_cli

NAME = "Al\x1b]0;pwned\x07\x1b[2Jice\u202e"


def test_list_shows_the_agents_chosen_name_harmless(tmp_path: Path) -> None:
    rec = Recorder(tmp_path, host_id="t", checkpoints=CheckpointPolicy(budget=0.0))
    session = rec.start("192.0.2.7:5000")
    enc = ScreenEncoder(160, 100)
    try:
        frame = open_source("synthetic", width=160, height=100, scenario="idle").grab()
        session.put("in", m.encode(m.PermissionRequest(VIEW.bits, NAME)), at=session.t0)
        session.put("out", m.encode(m.Update(1, enc.encode(frame))), at=session.t0 + 0.1)
        session.end("ended", at=session.t0 + 0.2)
        assert rec.wait(1)
    finally:
        enc.close()
    done = recordings_cli("list", tmp_path)
    assert done.returncode == 0, done.stderr
    line = done.stdout.splitlines()[1]
    assert "\x1b" not in done.stdout and "\x07" not in done.stdout and "\u202e" not in line
    assert " complete  Al??ice? (192.0.2.7:5000)  " in line, line
