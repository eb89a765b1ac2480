"""An agent whose request for control timed out is not told the customer
refused it.

Found (walk43, host and view in tmux): the customer did not answer
"'Dave' asks to ALSO CONTROL your mouse and keyboard" in time; their
terminal said "Question 2 closed without an answer: no", and the agent's
``control refused by the host's user``, read as the customer's no. The
host's answer is the same for a no and a timeout (a PermissionDeny).

Expected: the agent's words cover both. A real host (XTEST on Xvfb, a 2 s
question timeout) and ``screencodec view --control``, each on a pty.
"""

from __future__ import annotations

import pytest

from .test_attack_prompts import PtyHost, _can_control, _credentials
from .test_view_cli_send_screens import PtyView


def test_a_control_question_left_to_time_out_is_told_as_said_no_or_not_answered(
    xvfb_display: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = PtyHost("--consent-timeout", "2", *_can_control(xvfb_display, monkeypatch))
    view = None
    try:
        port, code, password = _credentials(host)
        view = PtyView(f"127.0.0.1:{port}", "--code", code, "--password", password, "--control")
        host.say_yes(1)  # view; Question 2 (control) is left unanswered
        host.wait_for(r"Question 2 closed without an answer: no\.")
        # Found: "control refused by the host's user\n".
        view.wait_for(r"control refused by the host's user \(they said no, or did not answer in"
                      r" time\)\n")  # fmt: skip
    finally:
        if view is not None:
            view.close()
        host.close()
