"""``screencodec view`` in a terminal as a new support agent meets it: the
lines typed that are not chat, Ctrl-C and Ctrl-D at the password prompt,
and ``--download-dir`` without ``--web`` (Ctrl-C while the host's user is
asked: test_view_cli_signals.py). Real host and view processes on loopback
and pseudo-terminals."""

from __future__ import annotations

import subprocess

from .test_cli import CLI, ENV, answer_when_asked, start_host
from .test_view_cli_ux import read_until, stop


def test_a_typed_line_that_is_not_chat_is_answered() -> None:
    """"hello" without /say, /help and a mistyped command each get a line
    (all three were dropped without a word: the agent saw nothing happen)."""
    host, code, password, port = start_host()
    view = subprocess.Popen(
        [*CLI, "view", f"127.0.0.1:{port}", "--code", code, "--password", password],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV,
    )  # fmt: skip
    assert view.stdin is not None
    try:
        answer_when_asked(host)
        read_until(view, "type /say")
        for typed, answer in [
            (b"hello there", "(not sent: to write to the host's user, type /say and your message)"),
            (b"/help", "/say TEXT  write TEXT to the host's user"),
            (b"/sya \x1b[2Jhi", "(unknown command /sya: type /help for the list)"),
            (b"/say still chats", "you said: still chats"),
        ]:
            view.stdin.write(typed + b"\n")
            view.stdin.flush()
            read_until(view, answer)
    finally:
        stop(view)
        stop(host)
