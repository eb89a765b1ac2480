"""walk35: ``view --control`` printed ``connected ..., granted: view`` and
then nothing while the host's user was asked about control (up to the
question's timeout): the agent could not tell a question on the host's
screen from a view that hung. Expected: one line saying it waits for the
host's user's answer about control, then the answer.

Real ``screencodec host`` on a pty (XTEST on Xvfb: control can be granted)
and ``screencodec view`` on loopback."""

from __future__ import annotations

import re
import signal

import pytest

from screencodec.cli.view import CONTROL_ASKED

from .test_attack_prompts import PtyHost, _credentials
from .test_view_cli_ux import read_until, stop, viewer


def test_view_says_it_waits_for_the_users_answer_about_control(
        xvfb_display: str, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("DISPLAY", xvfb_display)
    host = PtyHost("--control", "xtest")
    try:
        port, code, password = _credentials(host)
        view = viewer(f"127.0.0.1:{port}", "--code", code, "--password", password,
                      "--control")  # fmt: skip
        try:
            first = host.wait_for(r"Question 1: .*?\[y/N\] ")
            host.type("y")
            host.wait_for(r"Question 2: MORE ACCESS.*?\[y/N\] ", first.end())
            # The question is on the host's screen, unanswered: the view says so.
            waiting = read_until(view, re.compile(re.escape(CONTROL_ASKED) + r"\n"), timeout=8)
            assert re.search(r"granted: view\n", waiting), waiting
            assert waiting.count(CONTROL_ASKED) == 1, waiting
            host.type("n")
            shown = read_until(view, re.compile(r"control (refused|granted|not granted).*\n"))
            view.send_signal(signal.SIGINT)
            view.communicate(timeout=30)
        finally:
            stop(view)
        assert ("control refused by the host's user (they said no, or did not answer in"
                " time)\n") in shown
        assert CONTROL_ASKED not in shown  # once
    finally:
        host.close()
