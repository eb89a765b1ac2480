"""walk44: an agent whose link dropped and who came back through a relay was
named to the customer as ``'Alice' (relay H:P viewer 127.0.0.1 #2) is
back``, and the status line went on ``[shared] relay H:P viewer 127.0.0.1
#2``: a person reading "#2" thinks a second agent came. Through a relay
both links come from the same address, and the host gives the new link a
unique name (takeover36); where the host knows it is the same session taken
up again it now says so, ``(relay H:P viewer 127.0.0.1, reconnected)``.

Real relay, host (on a pseudo-terminal, as the customer runs it) and view
processes on loopback; the view's way to the relay through a proxy that
resets it."""

from __future__ import annotations

import os
import pty
import re
import signal

from screencodec.cli.host_lines import reconnected_as
from warm_start import warm_popen

from .test_attack_prompts import PtyHost
from .test_cli import CLI
from .test_resume_cli import _ProxyThread
from .test_view_cli_ux import read_until, start_relay, stop, viewer
from .test_view_cli_ux import stop as stop_view


class _RelayHost(PtyHost):
    """``screencodec host --relay RELAY`` on a pseudo-terminal."""

    def __init__(self, relay: str, once: bool = True) -> None:  # not PtyHost's own start
        master, slave = pty.openpty()
        self.proc = warm_popen(
            [*CLI, "host", "--relay", relay, "--source", "synthetic", "--size", "160x120",
             "--control", "none", *(["--once"] if once else [])],
            stdin=slave, stdout=slave, stderr=slave, close_fds=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        self._collect(master, slave)


def test_walk44_an_agent_back_through_a_relay_is_not_told_as_a_second_one() -> None:
    relay, port = start_relay()
    where = f"127.0.0.1:{port}"
    host = _RelayHost(where)
    proxy = _ProxyThread(port)
    try:
        found = host.wait_for(r"Session code: ([\d ]+)\n\s*Password:\s+(\S+)\n")
        code, password = found.group(1).strip(), found.group(2)
        view = viewer("--relay", f"127.0.0.1:{proxy.port}", "--code", code,
                      "--password", password)  # fmt: skip
        try:
            host.say_yes(1)
            read_until(view, "decoded")
            proxy.cut()
            read_until(view, "back in the session")
            back = host.wait_for(r"\n([^\n]*) is back")
            assert re.fullmatch(rf"'[^']*' \(relay {where} viewer 127\.0\.0\.1, reconnected\)",
                                back.group(1)), host.text  # fmt: skip
            # The status line after it names the agent so too.
            host.wait_for(rf"\[shared\] relay {where} viewer 127\.0\.0\.1, reconnected: ",
                          back.end())  # fmt: skip
            view.send_signal(signal.SIGINT)
            view.communicate(timeout=30)
        finally:
            stop_view(view)
        host.wait_for(r"session with [^\n]* ended")
        assert host.proc.wait(20) == 0
        assert "#2" not in host.text, host.text
    finally:
        proxy.close()
        host.close()
        stop(relay)


def test_walk44_two_agents_of_one_address_that_both_came_back_stay_apart() -> None:
    """Through one relay every agent has one address: Alice's first link is
    ADDR, Bob's ADDR #2 (takeover36). Each back on a new link (ADDR #3, ADDR
    #4) is shown as its session was, plus ", reconnected", never both as
    "ADDR, reconnected"; a second return keeps the words."""
    addr = "relay 127.0.0.1:7144 viewer 127.0.0.1"
    alice = reconnected_as(f"{addr} #3", addr)
    bob = reconnected_as(f"{addr} #4", f"{addr} #2")
    assert (alice, bob) == (f"{addr}, reconnected", f"{addr} #2, reconnected")
    assert reconnected_as(f"{addr} #5", f"{addr} #3", alice or "") == alice
    assert reconnected_as("127.0.0.1:40002", "127.0.0.1:40001") is None  # its own name
    assert reconnected_as(f"{addr} #2", "relay 127.0.0.1:7144 viewer 10.0.0.9") is None
