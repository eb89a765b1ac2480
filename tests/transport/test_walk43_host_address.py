"""``screencodec host`` listening on every address says the agent needs
this computer's address and the port.

Found (walk43, a customer told "run ``screencodec host``"): it printed
``listening on 0.0.0.0:38325``, the code, the password and "Read both to
your support agent": the customer read the code and password, and the
agent had no address to connect to (0.0.0.0 is none, and the port was new
that start).

Expected: one line under it that says the address and the port are needed
too, how the agent types them, that a port picked at start changes each
start, and the relay for agents outside the network. A real host on a pty.
"""

from __future__ import annotations

import re
import socket

from .test_attack_prompts import PtyHost

NEEDED = (r"listening on 0\.0\.0\.0:(\d+)\nYour agent also needs this computer's address and"
          r" the port \1 \(screencodec view ADDRESS:\1{again}\); from outside your network,"
          r" use a relay instead: screencodec host --relay HOST:PORT\nSession code: ")  # fmt: skip
AGAIN = r"; a new port each start: --listen PORT keeps one"


def _said(*args: str) -> str:
    host = PtyHost(*args)
    try:
        return host.wait_for(r"Session code: ").string
    finally:
        host.close()


def test_a_host_on_every_address_with_a_port_picked_at_start_says_what_the_agent_needs() -> None:
    text = _said("--bind", "0.0.0.0")  # the default --bind, --listen 0: a free port
    assert re.search(NEEDED.format(again=AGAIN), text), text


def test_a_fixed_port_is_not_said_to_change_and_one_address_needs_no_line() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    text = _said("--bind", "0.0.0.0", "--listen", str(port))
    assert re.search(NEEDED.format(again=""), text), text
    text = _said()  # --bind 127.0.0.1: the first line names the address
    assert re.search(r"listening on 127\.0\.0\.1:\d+\nSession code: ", text), text
