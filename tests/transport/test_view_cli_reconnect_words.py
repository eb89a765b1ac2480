"""``view``'s "still reconnecting" lines say why in words, without the
relay's protocol code.

Walked by hand (walk33): through a relay, the host's program killed under
the session, the agent's terminal printed ``still reconnecting
(UNKNOWN_SESSION: the host has not been heard from for 4 s ...)``; the web
page, for the same attempt, said it without the code (one function now
words both). Real relay, host and view processes on loopback; the host is
killed outright, so the relay has nothing from it. Expected outcome: the
line gives the relay's words, and no refusal code."""

from __future__ import annotations

import re
import signal

from .test_cli import answer_when_asked, start_host
from .test_view_cli_ux import read_until, start_relay, stop, viewer


def test_still_reconnecting_gives_the_relays_words_without_its_code() -> None:
    relay, port = start_relay()
    where = f"127.0.0.1:{port}"
    host, code, password, _ = start_host(where=("--relay", where))
    view = viewer("--relay", where, "--code", code, "--password", password)
    try:
        answer_when_asked(host)
        read_until(view, "decoded")
        host.send_signal(signal.SIGKILL)
        host.wait(10)
        seen = read_until(view, re.compile(r"still reconnecting: .*\n"))
        line = re.search(r"still reconnecting: (.*)\n", seen).group(1)  # type: ignore[union-attr]
        assert "UNKNOWN_SESSION" not in line and not re.match(r"[A-Z_]+:", line), line
        assert "the host has not been heard from" in line, line
        assert "(" not in line, line  # endwords35: "(... (its connection ...))" nested
    finally:
        stop(view)
        stop(host)
        stop(relay)
