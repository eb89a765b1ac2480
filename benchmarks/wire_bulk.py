"""What one bulk TCP flow carries over a ``wire:`` link: the ceiling a
session over the same link is measured against (flow44).

``python benchmarks/wire_bulk.py wire:4M,40ms,loss=2%,tcp=reno [SECONDS]``
(root). The same two namespaces and wire process as
:func:`screencodec.linkbench.netns.run_over_wire`; a sender in the host's
namespace writes as fast as its TCP lets it, a receiver in the viewer's
counts what came. Prints kbit/s over the whole run and over its second half
(as the bench's figure), and each side's retransmits.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import uuid
from dataclasses import asdict

from screencodec.linkbench.netns import _delete, _run, _tcp_counters
from screencodec.linkbench.shaper import parse_link
from screencodec.linkbench.tunwire import HOST_ADDR, VIEWER_ADDR, WIRE_DEV

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
    tag = uuid.uuid4().hex[:8]
    host_ns, viewer_ns = f"screencodec-bh-{tag}", f"screencodec-bv-{tag}"
    made: list[str] = []
    with tempfile.TemporaryDirectory(prefix="screencodec-bulk-") as tmp:
        wire = None
        try:
            for ns, me, peer in ((host_ns, HOST_ADDR, VIEWER_ADDR),
                                 (viewer_ns, VIEWER_ADDR, HOST_ADDR)):  # fmt: skip
                _run("ip", "netns", "add", ns)
                made.append(ns)
                _run("ip", "-n", ns, "link", "set", "lo", "up")
                _run("ip", "-n", ns, "tuntap", "add", "dev", WIRE_DEV, "mode", "tun")
                _run("ip", "-n", ns, "addr", "add", me, "peer", peer, "dev", WIRE_DEV)
                _run("ip", "-n", ns, "link", "set", WIRE_DEV, "up", "mtu", "1500")
                if link.tcp:
                    _run("ip", "netns", "exec", ns, "sysctl", "-qw",
                         f"net.ipv4.tcp_congestion_control={link.tcp}")  # fmt: skip
            spec = {"host_ns": host_ns, "viewer_ns": viewer_ns, "link": asdict(link),
                    "counters": f"{tmp}/wire.json", "seed": 0}  # fmt: skip
            wire = subprocess.Popen(
                [sys.executable, "-m", "screencodec.linkbench._wire_main", json.dumps(spec)],
                stdout=subprocess.PIPE, text=True)  # fmt: skip
            assert wire.stdout is not None
            assert wire.stdout.readline().strip() == "ready"
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
        finally:
            if wire is not None and wire.poll() is None:
                wire.kill()
                wire.wait()
            for ns in made:
                _delete(ns)


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 10.0)
