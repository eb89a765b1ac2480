"""walk42: a second relay started on one machine with the first one's
``--metrics-port`` (docs/relay.md's line copied for relay 2 with another
``--listen`` only). Found: its log said ``event=listening
address=0.0.0.0:7392 ...`` and then ``screencodec relay: cannot serve
metrics on 127.0.0.1:9390: Address already in use``, exit status 2: a
relay that said it listened and did not. Now the metrics port is taken
first: the refusal is all it says. A real relay process, a port in use."""

from __future__ import annotations

import socket
import subprocess
import sys

from free_port import free_port


def test_a_metrics_port_in_use_is_refused_before_the_relay_says_it_listens() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "screencodec", "relay", "--listen", str(free_port()),
             "--bind", "127.0.0.1", "--metrics-port", str(port)],
            check=False, capture_output=True, text=True, timeout=30)  # fmt: skip
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stderr.splitlines()[-1] == (
        f"screencodec relay: cannot serve metrics on 127.0.0.1:{port}: Address already in use"
    )
    said = done.stdout + done.stderr
    assert "event=listening" not in said and "relay listening" not in said, said  # found
