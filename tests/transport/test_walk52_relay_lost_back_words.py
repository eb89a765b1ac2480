"""walk52: the relay an agent watched through was killed (SIGKILL) and
started again. The customer's host read "lost the relay at ...", then
"connected to the relay at ... again", and then "'Fay' (relay ...) is back
after 16 s: their connection had dropped": the agent's connection blamed
for the relay's loss, which the same terminal had just told.

Expected: the agent's return names what dropped, the relay: "is back after
N s: the connection through the relay had dropped (the relay was lost)".

A real relay process (killed, then started again on its port), a real
``screencodec host --relay`` and ``screencodec view --relay`` each on a
pseudo-terminal."""

from __future__ import annotations

import os
import pty
import re
import signal
import subprocess
import sys
import time

from free_port import free_port
from warm_start import warm_popen

from .test_attack_prompts import PtyHost
from .test_cli import CLI
from .test_view_cli_send_screens import PtyView


class RelayHost(PtyHost):
    """``screencodec host --relay 127.0.0.1:PORT --once`` on a
    pseudo-terminal (PtyHost's own listens directly)."""

    def __init__(self, port: int) -> None:
        master, slave = pty.openpty()
        self.proc = warm_popen(
            [*CLI, "host", "--relay", f"127.0.0.1:{port}", "--source", "synthetic", "--size",
             "160x120", "--scenario", "idle", "--control", "none", "--once"],
            stdin=slave, stdout=slave, stderr=slave, close_fds=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        self._collect(master, slave)


def _relay(port: int) -> subprocess.Popen[bytes]:
    proc = warm_popen([sys.executable, "-m", "screencodec", "relay", "--listen", str(port),
                       "--bind", "127.0.0.1"], stdout=subprocess.PIPE,
                      stderr=subprocess.DEVNULL)  # fmt: skip
    assert proc.stdout is not None
    assert "relay listening on" in proc.stdout.readline().decode()
    return proc


def test_an_agent_back_after_the_relay_was_lost_is_not_told_as_their_drop() -> None:
    port = free_port()
    relays = [_relay(port)]
    host = view = None
    try:
        host = RelayHost(port)
        found = host.wait_for(r"Session code: ([\d ]+)\nPassword:\s+(\S+)\n")
        code, password = found[1].strip(), found[2]
        view = PtyView("--relay", f"127.0.0.1:{port}", "--code", code, "--password", password,
                       "--name", "Fay")  # fmt: skip
        host.say_yes(1)
        view.wait_for(r"decoded")
        mark = len(host.text)
        os.kill(relays[0].pid, signal.SIGKILL)
        relays[0].communicate(timeout=10)
        host.wait_for(r"lost the relay at ", mark)
        time.sleep(2)
        relays.append(_relay(port))
        back = host.wait_for(r"'Fay' \([^)]*\) is back[^\n]*\n", mark, 60)[0]
        # Found: "... is back after 16 s: their connection had dropped; ...".
        assert "their connection had dropped" not in back, back
        assert re.search(r"is back after \d+ s: the connection through the relay had dropped"
                         r" \(the relay was lost\); they see your screen again", back), back
    finally:
        for proc in (view, host):
            if proc is not None:
                proc.close()
        for relay in relays:
            relay.kill()
            relay.communicate(timeout=10)
