"""walk40: how long an agent was gone, as the customer was told it.

Found in a real session (the agent's ``view`` stopped 20 s with ``kill
-STOP``): the customer's terminal said ``no word from 'Dave' ... for 6 s``,
then at 15 s ``the connection to 'Dave' ... was lost``, then, as the view ran
again, ``'Dave' ... is back after 6 s``: the seconds since the loss was
told. The customer's screen had not reached Dave for 20 s, and the line
above said 6 s of silence 15 s earlier. Now, when the silence was told
before the loss, the seconds count from the last word heard.

The same session asserts silent39's view stopped past cold (it was
test_silent39_host_parks_silent.py's own test, the same 18 s stall of the
same host and view: time43 made the two one).
"""

from __future__ import annotations

import os
import re
import signal
import time

from .test_attack_prompts import PtyHost, _credentials
from .test_silent39_host_parks_silent import LOST, SILENT, STALLED, WITHIN
from .test_view_cli_send_screens import PtyView

BACK = (r"'Dave' \(127\.0\.0\.1:\d+\) is back after (\d+) s: their connection had dropped;"
        r" they see your screen again, as you allowed")  # fmt: skip


def test_back_after_counts_from_the_last_word_heard() -> None:
    """``kill -STOP`` 18 s (a laptop asleep): the host takes the link for lost
    after 15 s (silent39); the view, running again, reads the host's close
    and takes the session up again; the host's user is told, not asked, and
    told how long the agent was gone counting from the last word heard."""
    host = PtyHost("--scenario", "idle")
    view = None
    try:
        port, code, password = _credentials(host)
        view = PtyView(f"127.0.0.1:{port}", "--code", code, "--password", password,
                       "--name", "Dave")  # fmt: skip
        host.say_yes(1)
        view.wait_for(r"decoded")
        time.sleep(2)
        mark, seen = len(host.text), len(view.text)
        os.kill(view.proc.pid, signal.SIGSTOP)
        stopped = time.monotonic()
        silent = host.wait_for(SILENT, mark, WITHIN)
        lost = host.wait_for(LOST, silent.end(), WITHIN)
        assert time.monotonic() - stopped < STALLED, host.text[mark:]
        time.sleep(max(0.0, stopped + STALLED - time.monotonic()))
        os.kill(view.proc.pid, signal.SIGCONT)
        back = host.wait_for(BACK, lost.end(), WITHIN)
        gone = time.monotonic() - stopped  # at least: the view's last word came before
        assert int(back.group(1)) >= int(gone) - 1, (back.group(0), gone)
        assert int(back.group(1)) <= gone + 4, (back.group(0), gone)  # a warm view's 3 s
        assert not re.search(r"is back after [0-9] s", host.text), host.text
        view.wait_for(r"back in the session", seen)
        assert "Question 2" not in host.text, host.text
        assert "session ended" not in view.text[seen:], view.text[seen:]
        assert view.proc.poll() is None
    finally:
        if view is not None:
            os.kill(view.proc.pid, signal.SIGCONT)
            view.close()
        host.close()
