"""Chat between the two terminals: ``screencodec host`` and ``screencodec
view`` as real processes on loopback. Each side's ``/say`` line reaches the
other, and what the other side typed is shown harmless."""

from __future__ import annotations

import re
import subprocess
import threading

from .test_cli import answer_when_asked, start_host
from .test_view_cli_ux import read_until, stop, viewer


def test_the_agent_and_the_hosts_user_chat_from_their_terminals() -> None:
    host, code, password, port = start_host()
    assert host.stdin is not None
    view = viewer(f"127.0.0.1:{port}", "--code", code, "--password", password,
                  stdin=subprocess.PIPE)  # fmt: skip
    assert view.stdin is not None
    try:
        answer_when_asked(host)
        read_until(view, "type /say")
        view.stdin.write(b"not chat, ignored\n/say hello from the agent\n")
        view.stdin.flush()
        read_until(view, "you said: hello from the agent")
        # The host's user answers with an escape sequence and a bidi override.
        host.stdin.write("/say hi \x1b[2J\u202eyou\n")
        host.stdin.flush()
        out = read_until(view, re.compile(r"host says: [^\n]*\n"))
        line = out[out.index("host says: ") :].splitlines()[0]
        assert line.startswith("host says: hi ") and line.endswith("you"), repr(line)
        assert "\x1b" not in line and "\u202e" not in line
        # ... and the agent's line reached the host's user (read in a thread:
        # a host that never prints it is killed, which ends the read).
        seen: list[str] = []

        def read_host() -> None:
            assert host.stdout is not None
            while "says: hello from the agent" not in "".join(seen):
                ch = host.stdout.read(1)
                if not ch:
                    return
                seen.append(ch)

        reader = threading.Thread(target=read_host, daemon=True)
        reader.start()
        reader.join(30)
        assert "says: hello from the agent" in "".join(seen), "".join(seen)
    finally:
        stop(view)
        stop(host)
