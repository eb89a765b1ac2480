"""review44b: relay44's doubt (a host whose warm viewer is silent 6 s pings
its relay and moves if nothing comes in 3 s) against a viewer silent on
purpose. A viewer is only an authenticated agent: if its silence alone could
move the host, it could make the host abandon a healthy relay every 9 s.

Expected: the host pings, the healthy relay answers, nothing moves; each new
silence (the viewer stopped, let go a moment, stopped again) is asked about
once and answered; the view, let go, decodes again in the same session.
Real relay processes, redis-server and the CLI (``host --relay A``, ``view
--relay A``); the viewer's silence is SIGSTOP of its process.
"""

from __future__ import annotations

import os
import signal
import time

from .cluster import RedisServer
from .test_failover42_cli import watching


def test_review44b_a_viewer_silent_on_purpose_does_not_move_its_host(
    redis_server: RedisServer,
) -> None:
    with watching(redis_server, "a", counted=True) as w:
        for _ in range(2):  # two silences, each past the doubt and its answer
            os.kill(w.view.pid, signal.SIGSTOP)
            try:
                time.sleep(6.0 + 3.0 + 2.0)  # the doubt (6 s), its answer (3 s), a margin
            finally:
                os.kill(w.view.pid, signal.SIGCONT)
            time.sleep(1.0)
        # flake47a: its decoded count grows, not merely a line printed (a
        # line is printed when it has news: CI's view had none in 20 s).
        before = len(w.seen.text)
        w.decodes_again(before)
        # The host noticed each silence (its own line at the doubt's 6 s).
        assert w.out.text.count("no word from 'support'") >= 2, w.out.text
        assert "moved to the relay" not in w.out.text, w.out.text
        assert "lost the relay" not in w.out.text, w.out.text
        assert w.out.text.count("[y/N]") == 1, w.out.text
        assert w.view.poll() is None
