"""flake48a: ``xvfb_xterm`` handed its display over before the xterm had
drawn. It waited for the window's background (which the X server paints
when the window maps) and moved the pointer over it, but the xterm itself
had not yet handled its exposure or the focus: on a loaded machine it
redrew its whole window (a 364x160 damage) after the test began.
test_x11damage's typing test then found a hint a tenth of the screen (1
failure in 3 runs of tests/capture, load 20-40 on 2 cores).

Here the xterm is starved as a loaded machine starves it: stopped (SIGSTOP)
as the pointer moves over it, resumed 0.5 s later. Expected: when the
display is handed over, the xterm has the keyboard focus and has drawn (its
block cursor is filled), and it draws nothing more while nobody types.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import threading
import time
from typing import Any

import pytest

from screencodec.capture import ScreenSource
from screencodec.capture.xvfb import xvfb_xterm

AT = (20, 20)
#: Inside the top-left character cell, where the cursor is (the window's
#: 1 px border and the xterm's 2 px inner border before it).
CURSOR = (AT[1] + 8, AT[0] + 5)


NEEDS = ("Xvfb", "xterm", "xdotool")


@pytest.mark.skipif(not all(map(shutil.which, NEEDS)), reason="needs Xvfb, xterm, xdotool")
def test_flake48_the_xterm_is_drawn_and_focused_when_handed_over(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_popen, real_run = subprocess.Popen, subprocess.run
    xterms: list[subprocess.Popen[Any]] = []
    resumes: list[threading.Timer] = []

    def popen(args: Any, *a: Any, **k: Any) -> subprocess.Popen[Any]:
        proc = real_popen(args, *a, **k)
        if isinstance(args, list) and args[:1] == ["xterm"]:
            xterms.append(proc)
        return proc

    def go_on(proc: subprocess.Popen[Any]) -> None:
        if proc.poll() is None:  # not once it is reaped: its pid may be another's
            proc.send_signal(signal.SIGCONT)

    def run(args: Any, *a: Any, **k: Any) -> Any:
        if isinstance(args, list) and args[:2] == ["xdotool", "mousemove"] and xterms:
            xterms[0].send_signal(signal.SIGSTOP)  # our own child, by its handle
            resume = threading.Timer(0.5, go_on, (xterms[0],))
            resume.start()
            resumes.append(resume)
        return real_run(args, *a, **k)

    monkeypatch.setattr(subprocess, "Popen", popen)
    monkeypatch.setattr(subprocess, "run", run)
    try:
        with xvfb_xterm(640, 400, at=AT) as display, ScreenSource(display=display) as src:
            monkeypatch.undo()
            assert resumes, "the xterm was not stopped: the test tested nothing"
            frame, _ = src.grab_hinted()
            assert frame[CURSOR][:3].max() < 128, "handed over before the xterm drew its focus"
            drawn = []
            quiet_until = time.monotonic() + 1.0
            while time.monotonic() < quiet_until:
                _, hint = src.grab_hinted()
                drawn += hint[:-1].tolist()  # the last rect is the source's rolling band
            assert drawn == [], "the xterm drew after it was handed over"
    finally:
        for resume in resumes:
            resume.join()
