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

import asyncio
import contextlib
import json
import os
import pickle
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from typing import Any

from ..errors import NetnsError
from .session import SessionResult
from .shaper import Link
from .steps import LinkStep
from .tunwire import HOST_ADDR, VIEWER_ADDR, WIRE_DEV
from .workloads import measure

__all__ = [
    "NetnsError", "netem_args", "netns_unavailable", "run_in_netns", "run_over_wire",
    "wire_between",
]  # fmt: skip

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


def _tbf(link: Link, rate: float) -> tuple[str, ...]:
    """tbf's arguments for ``rate`` bytes/s with ``link``'s queue."""
    burst = str(max(_MIN_BURST, int(rate / 1000)))
    return ("tbf", "rate", f"{rate * 8:.0f}bit", "burst", burst, "limit", str(link.queue))
def netem_args(link: Link) -> list[str]:
    """netem's words for ``link``'s delay, jitter and loss (each packet crosses
    ``lo`` once: half the RTT; netem's jitter is +-, so half of ours each way
    around the mean), or [] when it has none."""
    args: list[str] = []
    if link.rtt > 0 or link.jitter > 0:
        args += ["delay", f"{(link.delay + link.jitter / 2) * 1000:g}ms"]
        if link.jitter > 0:
            args.append(f"{link.jitter / 2 * 1000:g}ms")
    if link.loss > 0:
        args += ["loss", f"{link.loss * 100:g}%"]
    return args


def _shape(ns: str, link: Link) -> None:
    if link.rate is not None and link.up_rate != link.rate:
        raise ValueError("a namespace's loopback has one bucket: rate and up_rate must match")
    tc = ("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "lo")
    parent: tuple[str, ...] = ("root",)
    if netem_args(link):
        netem = _run(*tc, "root", "handle", "1:", "netem", *netem_args(link), check=False)
        if netem.returncode != 0:
            raise NetnsError(f"this kernel has no sch_netem, so the RTT must be 0 with no loss"
                             f" or jitter (wire: needs none): {netem.stderr.strip()}")  # fmt: skip
        parent = ("parent", "1:", "handle", "2:")
    if link.rate is not None:
        _run(*tc, *parent, *_tbf(link, link.rate))


def run_in_netns(
    workload: str,
    link: Link,
    *,
    seconds: float = 8.0,
    size: tuple[int, int] = (1920, 1080),
    steps: Sequence[LinkStep] = (),
    cross: tuple[float, float] | None = None,
    **session: Any,
) -> SessionResult:
    """One session of ``workload`` over ``link`` made by the kernel (see the
    module notes). ``steps`` change the bucket's rate (``tc qdisc change``) at
    their times after the source started; ``cross``: from its first to its
    second time a bulk TCP upload (:func:`_bulk`) shares the bucket."""
    why = netns_unavailable()
    if why:
        raise NetnsError(f"network namespaces: {why}")
    ns = f"screencodec-lb-{uuid.uuid4().hex[:8]}"
    _run("ip", "netns", "add", ns)
    try:
        _run("ip", "-n", ns, "link", "set", "lo", "up", "mtu", "1500")
        _shape(ns, link)
        spec = {"workload": workload, "link": asdict(link), "seconds": seconds,
                "size": list(size), "session": session, "cross": cross,
                "steps": [asdict(s) for s in steps]}  # fmt: skip
        result = _child_in(ns, spec, seconds)
        result.link = f"{link.name} (tc)"
        return result
    finally:
        _delete(ns)


def _delete(ns: str) -> None:
    """Kill what runs in our own namespace ``ns`` (only processes started
    here) and delete it."""
    for pid in _run("ip", "netns", "pids", ns, check=False).stdout.split():
        with contextlib.suppress(OSError):
            os.kill(int(pid), signal.SIGKILL)
    _run("ip", "netns", "del", ns, check=False)


def run_over_wire(
    workload: str,
    link: Link,
    *,
    seconds: float = 8.0,
    size: tuple[int, int] = (1920, 1080),
    seed: int = 0,
) -> SessionResult:
    """One session of ``workload``, the host and the viewer in two namespaces
    joined by :mod:`.tunwire`'s wire (rate, delay, jitter, loss). The result's
    ``extra["wire"]`` has the wire's counters per direction, ``extra["tcp"]``
    each side's TCP retransmits and timeouts (``/proc/net/snmp``, ``netstat``)."""
    why = netns_unavailable() or (None if os.path.exists("/dev/net/tun") else "needs /dev/net/tun")
    if why:
        raise NetnsError(f"network namespaces: {why}")
    if link.tcp:
        with open("/proc/sys/net/ipv4/tcp_allowed_congestion_control", encoding="utf-8") as fh:
            allowed = fh.read().split()
        if link.tcp not in allowed:
            raise NetnsError(
                f"tcp={link.tcp}: this kernel allows {' '.join(allowed)} in a "
                "network namespace (net.ipv4.tcp_allowed_congestion_control)"
            )
    with wire_between(link, seed=seed) as (host_ns, viewer_ns, counters, wire):
        result = _session_in(viewer_ns, workload, link, seconds=seconds, size=size,
                             listen_in=[host_ns, HOST_ADDR])  # fmt: skip
        result.extra["tcp"] = {"host": _tcp_counters(host_ns),
                               "viewer": _tcp_counters(viewer_ns)}  # fmt: skip
        wire.send_signal(signal.SIGTERM)
        wire.wait(timeout=10)
        with open(counters, encoding="utf-8") as fh:
            result.extra["wire"] = json.load(fh)
        result.link = f"wire:{link.name}"
        return result


@contextlib.contextmanager
def wire_between(
    link: Link, *, seed: int = 0
) -> Iterator[tuple[str, str, str, subprocess.Popen[str]]]:
    """Two network namespaces joined by :mod:`.tunwire`'s wire shaped as
    ``link``, its process started: ``(host_ns, viewer_ns, counters, wire)``
    (``counters``: the JSON file the wire writes as it stops). Both gone
    after, the wire killed if still running. Shared by :func:`run_over_wire`
    and benchmarks/wire_bulk.py (one bulk TCP flow over the same link)."""
    tag = uuid.uuid4().hex[:8]
    host_ns, viewer_ns = f"screencodec-wh-{tag}", f"screencodec-wv-{tag}"
    wire: subprocess.Popen[str] | None = None
    made: list[str] = []
    with tempfile.TemporaryDirectory(prefix="screencodec-wire-") as tmp:
        counters = os.path.join(tmp, "wire.json")
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
                    "counters": counters, "seed": seed}  # fmt: skip
            wire = subprocess.Popen(
                [sys.executable, "-m", "screencodec.linkbench._wire_main", json.dumps(spec)],
                stdout=subprocess.PIPE, text=True)  # fmt: skip
            assert wire.stdout is not None
            if wire.stdout.readline().strip() != "ready":
                raise NetnsError("the wire did not start")
            yield host_ns, viewer_ns, counters, wire
        finally:
            if wire is not None:
                if wire.poll() is None:
                    wire.kill()
                    wire.wait()
                if wire.stdout is not None:
                    wire.stdout.close()
            for ns in made:
                _delete(ns)


def _session_in(
    ns: str,
    workload: str,
    link: Link,
    *,
    seconds: float,
    size: tuple[int, int],
    listen_in: list[str] | None = None,
) -> SessionResult:
    spec = {"workload": workload, "link": asdict(link), "seconds": seconds,
            "size": list(size), "session": {}, "listen_in": listen_in}  # fmt: skip
    return _child_in(ns, spec, seconds)


def _child_in(ns: str, spec: dict[str, Any], seconds: float) -> SessionResult:
    """Run :func:`_child` with ``spec`` inside namespace ``ns``; its result."""
    out = subprocess.run(
        ["ip", "netns", "exec", ns, sys.executable, "-m", __name__, json.dumps(spec)],
        capture_output=True, check=False, timeout=seconds + 180,
    )  # fmt: skip
    if out.returncode != 0:
        raise NetnsError(f"the session in {ns} failed: {out.stderr.decode()[-2000:]}")
    result: SessionResult = pickle.loads(out.stdout)  # our own child's
    return result


#: /proc/net/snmp's and netstat's counters of a lost segment's cost.
_TCP_COUNTERS = {"Tcp": ("RetransSegs",),
                 "TcpExt": ("TCPTimeouts", "TCPLossProbes", "TCPFastRetrans",
                            "TCPSpuriousRTOs", "TCPSACKRecovery")}  # fmt: skip


def _tcp_counters(ns: str) -> dict[str, int | str]:
    """The namespace's TCP retransmit counters (it is new: since the session
    began) and its TCP congestion control."""
    text = _run("ip", "netns", "exec", ns, "cat", "/proc/net/snmp", "/proc/net/netstat").stdout
    out: dict[str, int | str] = {}
    cc = "/proc/sys/net/ipv4/tcp_congestion_control"
    out["congestion_control"] = _run("ip", "netns", "exec", ns, "cat", cc).stdout.strip()
    lines = text.splitlines()
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        kind, _, keys = names.partition(":")
        if kind not in _TCP_COUNTERS or not values.startswith(kind + ":"):
            continue
        row = dict(zip(keys.split(), values.partition(":")[2].split(), strict=False))
        out |= {k: int(row[k]) for k in _TCP_COUNTERS[kind] if k in row}
    return out


def _child(spec: dict[str, Any]) -> None:
    link = Link(**spec["link"])
    w, h = spec["size"]
    steps = [LinkStep(**s) for s in spec.get("steps", ())]
    bulk: list[asyncio.subprocess.Process] = []

    async def change(rate: float) -> None:  # inside the namespace: its own lo
        parent = ("parent", "1:", "handle", "2:") if link.rtt > 0 else ("root",)
        proc = await asyncio.create_subprocess_exec(
            "tc", "qdisc", "change", "dev", "lo", *parent, *_tbf(link, rate))
        if await proc.wait() != 0:
            raise NetnsError(f"tc qdisc change to {rate * 8:.0f} bit/s failed")

    async def upload() -> None:
        bulk.append(await asyncio.create_subprocess_exec(
            sys.executable, "-m", __name__, "--bulk",  # not our stdout: the result's
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL))

    async def stop_upload() -> None:
        for proc in bulk:  # our own child, by its handle
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()

    actions = []
    if spec.get("cross"):
        start, stop = spec["cross"]
        actions = [(start, upload), (stop, stop_upload)]
    listen_in = spec.get("listen_in")
    if listen_in:
        spec["session"]["listen_in"] = tuple(listen_in)
    try:
        result = measure(spec["workload"], link, seconds=spec["seconds"], size=(w, h),
                         proxy="none", steps=steps, actions=actions, link_control=change,
                         **spec["session"])  # fmt: skip
    finally:
        for proc in bulk:  # still uploading when the source ended
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
    sys.stdout.buffer.write(pickle.dumps(result))
    sys.stdout.buffer.flush()


def _bulk() -> None:
    """A bulk TCP upload over this namespace's lo until killed: the sender
    writes as fast as TCP lets it, a thread reads and drops it all."""
    server = socket.create_server(("127.0.0.1", 0))
    sender = socket.create_connection(server.getsockname())
    receiver, _ = server.accept()

    def sink() -> None:
        while receiver.recv(1 << 16):
            pass

    threading.Thread(target=sink, daemon=True).start()
    chunk = bytes(1 << 16)
    while True:
        sender.sendall(chunk)


if __name__ == "__main__":
    if sys.argv[1] == "--bulk":
        _bulk()
    else:
        _child(json.loads(sys.argv[1]))
