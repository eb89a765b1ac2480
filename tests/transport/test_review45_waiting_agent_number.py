"""review45: an agent the host numbered (``ADDR #2``: every agent through
one relay has one address) is named the same in each line the terminal
shows of them.

Found (walk45's TerminalQuestions.show_as): a name the terminal showed as
the host gave it was recorded as said but not as that agent's, so the next
line about the same agent numbered them anew, past their own name: Bob
waiting behind Alice's question read ``(also waiting: 'Bob' (ADDR #2)
asks ...`` and his own question then ``'Bob' (ADDR #3) asks to SEE``.

Real relay, host on a pseudo-terminal, two view processes on loopback."""

from __future__ import annotations

import signal

from .test_view_cli_ux import read_until, start_relay, stop, viewer
from .test_walk44_back_not_second import _RelayHost


def test_an_agent_waiting_then_asked_keeps_one_number() -> None:
    relay, port = start_relay()
    where = f"127.0.0.1:{port}"
    addr = rf"relay {where} viewer 127\.0\.0\.1"
    host = _RelayHost(where, once=False)
    views = []
    try:
        found = host.wait_for(r"Session code: ([\d ]+)\n\s*Password:\s+(\S+)\n")
        code, password = found.group(1).strip(), found.group(2)
        alice = viewer("--relay", where, "--code", code, "--password", password,
                       "--name", "Alice")  # fmt: skip
        views.append(alice)
        asked = host.wait_for(rf"'Alice' \({addr}\) asks to SEE")
        bob = viewer("--relay", where, "--code", code, "--password", password, "--name", "Bob")
        views.append(bob)
        waits = host.wait_for(rf"\(also waiting: 'Bob' \({addr} #2\) asks", asked.end())
        host.type("y")  # Alice's question; Bob's comes after it
        # Found: "'Bob' (relay H:P viewer 127.0.0.1 #3) asks to SEE".
        bobs = host.wait_for(r"\n([^\n]*) asks to SEE your screen", waits.end())
        assert bobs.group(1).endswith(f"'Bob' (relay {where} viewer 127.0.0.1 #2)"), host.text
        host.wait_for(r"\[y/N\] ", bobs.end())
        host.type("y")
        read_until(bob, "decoded")
        bob.send_signal(signal.SIGINT)
        bob.communicate(timeout=30)
        host.wait_for(rf"session with 'Bob' \({addr} #2\) ended", bobs.end())
        assert "#3" not in host.text, host.text
    finally:
        for view in views:
            stop(view)
        host.close()
        stop(relay)
