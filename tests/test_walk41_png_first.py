"""walk41: ``recordings export --png-every N`` writes its first PNG at the
first picture.

Found: a recorded session of 87 s exported with ``--png-every 30`` gave
``t_0000030.0.png`` and ``t_0000060.0.png``: nothing at 0, though
docs/recording.md and ``export_pngs`` promise a PNG every N s "from 0". A
session is recorded from the agent's join, and its first picture comes once
the host's user said yes: at 0 there is nothing to show, and the PNG was
left out. The first PNG is now that picture, named after its time rounded
up to the tenth (the screen at that time), then every N s as before.

A real ``screencodec host --record`` whose user says yes 1.5 s after the
agent's ``screencodec view`` asked (both on pseudo-terminals), then the real
``screencodec recordings export``."""

from __future__ import annotations

import math
import time
from pathlib import Path

from screencodec.recording import RecordingReader
from transport.test_attack_prompts import PtyHost, _credentials
from transport.test_cli import CLI, ENV
from transport.test_view_cli_send_screens import PtyView
from warm_start import warm_run


def test_the_first_png_is_the_first_picture_then_every_n_seconds(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    rec.mkdir()
    host = PtyHost("--record", str(rec))
    view = None
    try:
        port, code, password = _credentials(host)
        view = PtyView(f"127.0.0.1:{port}", "--code", code, "--password", password)
        host.wait_for(r"Question 1: .*?\[y/N\] ")
        time.sleep(1.5)  # the customer reads the question
        host.type("y")
        view.wait_for(r"\[view\] 160x120 decoded")
        time.sleep(4.0)
        assert view.leave() == 0
        assert host.proc.wait(timeout=30) == 0  # --once: the session ended in order
    finally:
        if view is not None:
            view.close()
        host.close()

    (path,) = rec.glob("*.screc")
    with RecordingReader(path) as reader:
        first, duration = reader.update_time(0), reader.duration
    assert 1.5 <= first < duration - 3.5, (first, duration)
    out = tmp_path / "png"
    export = [*CLI, "recordings", "export", str(path), "--png-every", "2", str(out)]
    done = warm_run(export, capture_output=True, text=True, env=ENV, timeout=120,
                    check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    shown = math.ceil(round(first * 10, 6)) / 10
    expected = [shown, *(2.0 * k for k in range(1, int(duration // 2) + 1) if 2.0 * k > shown)]
    assert sorted(p.name for p in out.iterdir()) == [f"t_{t:09.1f}.png" for t in expected]
    assert done.stdout.strip().endswith(f"{len(expected)} screenshots in {out}"), done.stdout
