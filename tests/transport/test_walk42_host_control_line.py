"""walk42: what the customer's terminal says once they let the agent
control their mouse and keyboard. Found: only "*** Question 2: yes"; the
banner above still said the screen is shared, and nothing said how to take
control back (``/view``, said on a resume only, and in /help). Now one line
says the agent can use them, that the customer's own come first, and how
to take it back or stop; /view's own line is not followed by it.

The real ``host`` (XTEST on a private Xvfb) and ``view --control`` on ptys."""

from __future__ import annotations

import re

from .test_attack_prompts import PtyHost, _credentials
from .test_cli import ENV
from .test_view_cli_send_screens import PtyView

LINE = (r"'Dave' \(127\.0\.0\.1:\d+\) can now use your mouse and keyboard \(yours come first:"
        r" while you use them, theirs is ignored\); /view takes control back, /end or Ctrl-C"
        r" stops sharing\n")  # fmt: skip


def test_the_host_says_control_was_given_and_how_to_take_it_back(xvfb_display: str) -> None:
    host = PtyHost("--control", "xtest", "--scenario", "idle", env={"DISPLAY": xvfb_display})
    view = None
    try:
        port, code, password = _credentials(host)
        view = PtyView(f"127.0.0.1:{port}", "--code", code, "--password", password,
                       "--name", "Dave", "--control", env=ENV)  # fmt: skip
        host.say_yes(2)
        view.wait_for(r"control granted", 0, 30)
        yes = host.wait_for(r"\*\*\* Question 2: yes\n")
        host.wait_for(LINE, yes.end())  # found: nothing after the yes
        host.type("/view")
        back = host.wait_for(r"you took back control from 'Dave'", yes.end())
        assert len(re.findall(LINE, host.text)) == 1  # not said of its end
        assert "can now use" not in host.text[back.end() :]
    finally:
        if view is not None:
            view.close()
        host.close()
