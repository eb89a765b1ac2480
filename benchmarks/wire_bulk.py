"""What one bulk TCP flow carries over a ``wire:`` link: the ceiling a
session over the same link is measured against (flow44).

``python benchmarks/wire_bulk.py wire:4M,40ms,loss=2%,tcp=reno [SECONDS]``
(root). The same two namespaces and wire process as
:func:`screencodec.linkbench.netns.run_over_wire` (``wire_between``); a sender in the host's
namespace writes as fast as its TCP lets it, a receiver in the viewer's
counts what came. Prints kbit/s over the whole run and over its second half
(as the bench's figure), and each side's retransmits.
"""

from __future__ import annotations

import signal
import subprocess
import sys

from screencodec.linkbench.netns import _tcp_counters, wire_between
from screencodec.linkbench.shaper import parse_link
from screencodec.linkbench.tunwire import VIEWER_ADDR

__all__: list[str] = []

_PORT = 5201

_RECEIVER = f"""
import socket, sys, time
srv = socket.create_server(("{VIEWER_ADDR}", {_PORT}))
print("ready", flush=True)
conn, _ = srv.accept()
start, total, marks = time.monotonic(), 0, []
end = start + float(sys.argv[1])
conn.settimeout(0.2)
while time.monotonic() < end:
    try:
        n = len(conn.recv(1 << 16))
    except TimeoutError:
        continue
    if not n:
        break
    total += n
    marks.append((time.monotonic() - start, total))
half = float(sys.argv[1]) / 2
at_half = max((b for t, b in marks if t <= half), default=0)
print(total * 8 / float(sys.argv[1]) / 1000, (total - at_half) * 8 / half / 1000)
"""

_SENDER = f"""
import socket
s = socket.create_connection(("{VIEWER_ADDR}", {_PORT}))
chunk = bytes(1 << 16)
try:
    while True:
        s.sendall(chunk)
except OSError:
    pass
"""


def main(text: str, seconds: float) -> None:
    link = parse_link(text.removeprefix("wire:"))
    with wire_between(link) as (host_ns, viewer_ns, _, wire):
        exec_in = ("ip", "netns", "exec")
        receiver = subprocess.Popen(
            [*exec_in, viewer_ns, sys.executable, "-c", _RECEIVER, str(seconds)],
            stdout=subprocess.PIPE, text=True)  # fmt: skip
        assert receiver.stdout is not None
        assert receiver.stdout.readline().strip() == "ready"
        sender = subprocess.Popen([*exec_in, host_ns, sys.executable, "-c", _SENDER])
        whole, second_half = receiver.stdout.readline().split()
        receiver.wait(timeout=10)
        sender.kill()
        sender.wait()
        tcp = _tcp_counters(host_ns)
        cc, resent = tcp.get("congestion_control"), tcp.get("RetransSegs")
        print(f"bulk TCP {text}: {float(whole):.0f} kbit/s over {seconds:g} s, "
              f"{float(second_half):.0f} kbit/s the second half; host {cc}"
              f" {resent} retransmitted")  # fmt: skip
        wire.send_signal(signal.SIGTERM)
        wire.wait(timeout=10)


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 10.0)
