"""review39b: silent39 parks a warm viewer's session after 15 s of silence
(Timeouts.cold), so a view only stalled that long (a laptop asleep, a CPU
starved) is taken for lost and resumes unasked. What that costs the
customer and the agent, with the real ``host`` (XTEST on a private Xvfb, its
clipboard through xclip) and ``view`` on ptys: the agent holds CONTROL
after the resume as before (no second question), and its clipboard text is
put on the host's clipboard again."""

from __future__ import annotations

import os
import signal
import time

from screencodec.capture.xvfb import private_xvfb

from .test_attack_prompts import PtyHost, _credentials
from .test_cli import ENV
from .test_clip39_cli import _xclip_get, _xclip_set
from .test_silent39_host_parks_silent import LOST, STALLED, WITHIN
from .test_view_cli_send_screens import PtyView


def test_attack_a_false_loss_keeps_control_and_the_clipboard(xvfb_display: str) -> None:
    host = PtyHost("--control", "xtest", "--scenario", "idle", env={"DISPLAY": xvfb_display})
    view = None
    try:
        with private_xvfb(320, 240) as agent_display:
            port, code, password = _credentials(host)
            view = PtyView(f"127.0.0.1:{port}", "--code", code, "--password", password,
                           "--name", "Dave", "--control",
                           env={**ENV, "DISPLAY": agent_display})  # fmt: skip
            host.say_yes(2)
            view.wait_for(r"control granted", 0, 30)
            time.sleep(2)
            mark, seen = len(host.text), len(view.text)
            os.kill(view.proc.pid, signal.SIGSTOP)
            stopped = time.monotonic()
            lost = host.wait_for(LOST.replace("see your screen", "see and control your screen"),
                                 mark, WITHIN)  # fmt: skip
            time.sleep(max(0.0, stopped + STALLED - time.monotonic()))
            os.kill(view.proc.pid, signal.SIGCONT)
            host.wait_for(r"'Dave' \(127\.0\.0\.1:\d+\) is back after \d+ s: their connection had"
                          r" dropped; they see and control your screen again, as you allowed",
                          lost.end())  # fmt: skip
            view.wait_for(r"back in the session", seen)
            assert "Question 3" not in host.text, host.text[mark:]
            # A host the machine runs late: its first picture on the resumed
            # link comes after the agent's /clip, typed at once. The view holds
            # the text until that picture (before it, the host refuses it as
            # typed blind: 2 of 2 runs, with the test's 1 s wait then).
            os.kill(host.proc.pid, signal.SIGSTOP)
            try:
                _xclip_set(agent_display, "systemctl status nginx")
                view.type("/clip")
                time.sleep(1.5)  # the host stopped, the view reads the line meanwhile
            finally:
                os.kill(host.proc.pid, signal.SIGCONT)
            host.wait_for(r"'Dave' put 22 characters on your clipboard", lost.end(), 15)
            assert _xclip_get(xvfb_display) == "systemctl status nginx"
            assert "not put on your clipboard" not in host.text
    finally:
        if view is not None:
            os.kill(view.proc.pid, signal.SIGCONT)
            view.close()
        host.close()
