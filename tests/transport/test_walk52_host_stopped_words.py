"""walk52: the customer's own ``screencodec host`` stopped (``kill -STOP``
45 s, as a frozen machine or a job stopped in its shell) while an agent
watched. The agent's view said the host was silent and reconnected; once
the host ran again its user read ``the connection to 'Eve' (...) was lost``
and at once ``'Eve' (...) is back: their connection had dropped; they see
and control your screen again``: the agent's connection blamed, and no
word of the 45 s in which nobody saw the screen.

Expected: the host, which can tell that it did not run (its own ticks came
late), says so: the link was lost while this program did not run, and for
how long; the agent is back after that long.

A real ``screencodec host`` and ``screencodec view`` each on a pseudo-terminal."""

from __future__ import annotations

import os
import re
import signal
import time

from .test_attack_prompts import PtyHost, _credentials
from .test_view_cli_send_screens import PtyView

STOPPED = 16.0  # over the view's 10 s of silence before it reconnects


def test_a_host_that_did_not_run_says_so_not_that_the_agent_dropped() -> None:
    host = PtyHost("--scenario", "idle")
    view = None
    try:
        port, code, password = _credentials(host)
        view = PtyView(f"127.0.0.1:{port}", "--code", code, "--password", password,
                       "--name", "Eve")  # fmt: skip
        host.say_yes(1)
        view.wait_for(r"decoded")
        time.sleep(1)
        mark, seen = len(host.text), len(view.text)
        os.kill(host.proc.pid, signal.SIGSTOP)
        try:
            view.wait_for(r"reconnecting", seen, 30)
            # /control while reconnecting: said not asked, not "unknown command".
            view.type("/control")
            view.wait_for(r"\(not asked: [^\n]*; type it again once back in the session\)", seen)
            time.sleep(max(0.0, STOPPED - 10))
        finally:
            os.kill(host.proc.pid, signal.SIGCONT)
        back = host.wait_for(r"'Eve' \([^)]*\) is back[^\n]*\n", mark, 30)[0]
        view.wait_for(r"back in the session", seen)
        said = host.text[mark:]
        # Found: "... is back: their connection had dropped; ..." of a host stopped 16 s.
        assert "their connection had dropped" not in said, said
        lost = re.search(r"was lost while this program did not run for (\d+) s", said)
        assert lost is not None and int(lost[1]) >= STOPPED - 3, said
        assert re.search(r"is back after (\d+) s: the connection had dropped while this"
                         r" program did not run", back), back  # fmt: skip
    finally:
        if view is not None:
            view.close()
        host.close()
