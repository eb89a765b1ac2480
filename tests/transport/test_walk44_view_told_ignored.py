"""walk44: the customer used their own mouse while the agent's ``/type``
went: the host ignored 195 of its 205 characters (its status line: "their
input ignored: 195"), and the agent's terminal said only "sent 205
characters to the host's keyboard". The host tells the viewer (its
LOCAL_USER_ACTIVE notice, which the page shows); the terminal printed
nothing of it. Expected: one line saying the host's user is using their
own mouse or keyboard and that what was sent meanwhile is not typed; and
(words45, walk45) the /type's last line no longer says all were sent to the
keyboard.

A real Xvfb with an xterm running bash, a real ``screencodec host --control
xtest`` and ``screencodec view`` each on a pseudo-terminal; the customer's
mouse is xdotool moving the pointer on that display."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from .helpers import CustomerMouse
from .test_attack_prompts import PtyHost, _credentials
from .test_type43_view_typing import xterm_log  # noqa: F401 (the fixture)
from .test_view_cli_send_screens import PtyView
from .test_walk43_view_types import GRANTED

TOLD = re.escape(
    "(the host's user is using their own mouse or keyboard: what you send their keyboard"
    " meanwhile is ignored, not typed later; type it again once they stop)"
)

#: The host counts the key presses it ignored (Notice.KEYS_IGNORED, words45).
IGNORED_MEANWHILE = (r"(\d+) of 205 characters reached the host's keyboard; (\d+) (?:was|were)"
                     r" ignored while the host's user used their own mouse or keyboard\n")


def test_walk44_the_terminal_agent_is_told_its_keys_were_ignored_for_the_customers_mouse(
    xterm_log: tuple[str, Path],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    display, _ = xterm_log
    monkeypatch.setenv("DISPLAY", display)
    host = PtyHost("--control", "xtest")
    view = None
    mouse = CustomerMouse(display, (100, 300))
    try:
        port, code, password = _credentials(host)
        view = PtyView(f"127.0.0.1:{port}", "--code", code, "--password", password,
                       "--name", "Dave", "--control")  # fmt: skip
        host.say_yes(2)
        view.wait_for(GRANTED)
        mouse.start()
        time.sleep(0.5)
        view.type("/type echo " + "x" * 200)
        # words45 (walk45: 'sent 49 characters to the host's keyboard' though none
        # were typed): the last line says what the host said, not that all were typed.
        counted = view.wait_for(IGNORED_MEANWHILE)
        assert int(counted[1]) + int(counted[2]) == 205 and int(counted[2]) > 0, counted[0]
        view.wait_for(TOLD)
        assert "sent 205 characters to the host's keyboard" not in view.text, view.text
        host.wait_for(r"their input ignored: \d+")
        assert len(re.findall(TOLD, view.text)) == 1, view.text  # once a stretch of use
    finally:
        mouse.stop()
        if view is not None:
            view.close()
        host.close()
