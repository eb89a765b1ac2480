"""Cross-check the shaping proxy against the kernel: a session in a network
namespace whose loopback is shaped by ``tc``.

:func:`run_in_netns` creates a namespace of its own, gives its ``lo`` an
Ethernet MTU (tbf cannot pass loopback's 64 KiB packets with a small burst),
puts a token bucket on it (``tbf rate R burst B limit QUEUE``: the same rate
and queue bound as :class:`~.shaper.Link`, a bucket of two packets) and, when
the kernel has ``sch_netem``, a ``netem delay RTT/2`` above it, then runs the
session inside
(``ip netns exec NS python -m screencodec.linkbench.netns``) with no proxy:
host and viewer talk over the shaped ``lo``. The namespace and every process
in it are removed afterwards.

Differences from the proxy, by design of the kernel's qdiscs: both directions
share one bucket (acks and input are small), and a full queue *drops*
packets (TCP then retransmits and backs off) where the proxy holds the sender
back. Without ``sch_netem`` only ``rtt = 0`` can be checked. kbit/s counts
update payloads (there is no proxy to count the wire). Needs root and iproute2.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import uuid
from dataclasses import asdict
from typing import Any

from ..errors import NetnsError
from .session import SessionResult
from .shaper import Link
from .workloads import measure

__all__ = ["NetnsError", "netns_unavailable", "run_in_netns"]

#: tbf's bucket: two Ethernet packets, or a millisecond at the rate if more.
#: The proxy serializes with no burst at all; a 16 KiB bucket (the usual
#: example) lets small updates through at once and halves the lag measured.
_MIN_BURST = 2 * 1514




def netns_unavailable() -> str | None:
    """Why :func:`run_in_netns` cannot run here, or None if it can."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "needs root"
    if not (shutil.which("ip") and shutil.which("tc")):
        return "needs iproute2 (ip, tc)"
    return None


def _run(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=30)
    if check and out.returncode != 0:
        raise NetnsError(f"{' '.join(cmd)}: {out.stderr.strip()}")
    return out


def _shape(ns: str, link: Link) -> None:
    if link.rate is not None and link.up_rate != link.rate:
        raise ValueError("a namespace's loopback has one bucket: rate and up_rate must match")
    tc = ("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "lo")
    parent: tuple[str, ...] = ("root",)
    if link.rtt > 0:
        delay = f"{link.delay * 1000:g}ms"
        netem = _run(*tc, "root", "handle", "1:", "netem", "delay", delay, check=False)
        if netem.returncode != 0:
            raise NetnsError(f"this kernel has no sch_netem, so the RTT must be 0: "
                             f"{netem.stderr.strip()}")  # fmt: skip
        parent = ("parent", "1:", "handle", "2:")
    if link.rate is not None:
        rate = f"{link.rate * 8:.0f}bit"
        burst = str(max(_MIN_BURST, int(link.rate / 1000)))
        _run(*tc, *parent, "tbf", "rate", rate, "burst", burst, "limit", str(link.queue))


def run_in_netns(
    workload: str,
    link: Link,
    *,
    seconds: float = 8.0,
    size: tuple[int, int] = (1920, 1080),
    **session: Any,
) -> SessionResult:
    """One session of ``workload`` over ``link`` made by the kernel (see the module notes)."""
    why = netns_unavailable()
    if why:
        raise NetnsError(f"network namespaces: {why}")
    ns = f"screencodec-lb-{uuid.uuid4().hex[:8]}"
    _run("ip", "netns", "add", ns)
    try:
        _run("ip", "-n", ns, "link", "set", "lo", "up", "mtu", "1500")
        _shape(ns, link)
        spec = {"workload": workload, "link": asdict(link), "seconds": seconds,
                "size": list(size), "session": session}  # fmt: skip
        out = subprocess.run(
            ["ip", "netns", "exec", ns, sys.executable, "-m", __name__, json.dumps(spec)],
            capture_output=True, check=False, timeout=seconds + 180,
        )  # fmt: skip
        if out.returncode != 0:
            raise NetnsError(f"the session in {ns} failed: {out.stderr.decode()[-2000:]}")
        result: SessionResult = pickle.loads(out.stdout)  # our own child's
        result.link = f"{link.name} (tc)"
        return result
    finally:
        # Only processes inside our own namespace: the ones started here.
        for pid in _run("ip", "netns", "pids", ns, check=False).stdout.split():
            with contextlib.suppress(OSError):
                os.kill(int(pid), signal.SIGKILL)
        _run("ip", "netns", "del", ns, check=False)


def _child(spec: dict[str, Any]) -> None:
    link = Link(**spec["link"])
    w, h = spec["size"]
    result = measure(spec["workload"], link, seconds=spec["seconds"], size=(w, h),
                     proxy="none", **spec["session"])  # fmt: skip
    sys.stdout.buffer.write(pickle.dumps(result))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    _child(json.loads(sys.argv[1]))
