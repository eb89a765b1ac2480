"""A lossy link between two kernels' TCP: ``wire:RATE,RTT[,QUEUE][,loss=P%][,jitter=T]``.

The shaping proxy (:mod:`.shaper`) ends TCP on both sides, so it cannot lose a
packet; ``tc:`` (:mod:`.netns`) needs the kernel's ``sch_netem`` for a delay or
a loss, which some kernels lack. Here the host and the viewer sit in two
network namespaces of their own, each with a point-to-point ``tun`` device
(``sc0``, 10.77.0.1 for the host, 10.77.0.2 for the viewer), and this module's
wire process moves every IP packet between the two devices the way a lossy
uplink does, per direction:

* **Loss.** Each packet is dropped with probability ``loss`` as it arrives
  (independent drops, as netem's ``loss P%``), data and acks alike.
* **Queue and serialization.** Packets wait in a queue of at most ``queue``
  bytes (a packet that finds it full is dropped, as tbf's ``limit``) and leave
  it one at a time at ``rate``.
* **Delay and jitter.** A packet reaches the other device ``rtt / 2`` after it
  left the queue, plus a uniform extra delay in ``[0, jitter]``; never before
  the packet ahead of it (Wi-Fi's link layer retransmits in order: jitter here
  delays, it does not reorder).

Both kernels run real TCP: a lost segment is retransmitted (fast retransmit,
a tail-loss probe or the 200 ms minimum RTO), and everything behind it waits.
Counters (packets, bytes, drops) per direction are written as JSON to the
path given when the wire is stopped (SIGTERM). Needs root, iproute2 and
``/dev/net/tun``; the session side is in :func:`.netns.run_over_wire`.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import random
import select
import signal
import struct
import sys
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["HOST_ADDR", "VIEWER_ADDR", "WIRE_DEV", "Direction", "in_netns", "serve", "setns"]

WIRE_DEV = "sc0"
HOST_ADDR = "10.77.0.1"
VIEWER_ADDR = "10.77.0.2"
_TUNSETIFF = 0x400454CA
_IFF_TUN, _IFF_NO_PI = 0x0001, 0x1000
_CLONE_NEWNET = 0x40000000
_MTU = 1500


def setns(name: str) -> None:
    """Move the calling thread into network namespace ``name`` (``ip netns``'s).
    Sockets made afterwards belong to it; sockets made before stay where they are."""
    _setns(f"/var/run/netns/{name}")


def _setns(path: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, _CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns {path}: {os.strerror(err)}")
    finally:
        os.close(fd)


@contextlib.contextmanager
def in_netns(name: str) -> Iterator[None]:
    """The calling thread in namespace ``name`` for the block, then back where it was
    (a listening socket made inside stays in ``name``, with every connection it accepts)."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        setns(name)
        try:
            yield
        finally:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.setns(own, _CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back to the thread's own namespace")
    finally:
        os.close(own)


def _attach(ns: str) -> int:
    """An fd on namespace ``ns``'s tun device ``sc0`` (made by ``ip tuntap add``)."""
    setns(ns)
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, _TUNSETIFF, struct.pack("16sH", WIRE_DEV.encode(), _IFF_TUN | _IFF_NO_PI))
    return fd


@dataclass
class Direction:
    """One way of the wire: its queue and counters (times in ``time.monotonic``)."""

    rate: float | None  #: bytes/s, None unlimited
    delay: float  #: one-way, seconds
    jitter: float  #: the most extra delay, seconds
    loss: float  #: probability of a drop
    queue: int  #: bytes
    packets: int = 0
    octets: int = 0  #: bytes of the packets that came
    lost: int = 0  #: dropped by ``loss``
    overflowed: int = 0  #: dropped by a full queue
    delivered: int = 0

    def __post_init__(self) -> None:
        self._free = 0.0  # when the link has sent what it holds
        self._last = 0.0  # when the packet ahead arrives
        self._backlog: deque[tuple[float, int]] = deque()  # (leaves the queue, size)
        self._in_queue = 0
        self._due: deque[tuple[float, bytes]] = deque()  # (arrives, packet)

    def admit(self, packet: bytes, now: float, rng: random.Random) -> None:
        self.packets += 1
        self.octets += len(packet)
        if self.loss and rng.random() < self.loss:
            self.lost += 1
            return
        while self._backlog and self._backlog[0][0] <= now:
            self._in_queue -= self._backlog.popleft()[1]
        if self.rate is not None and self._in_queue + len(packet) > self.queue:
            self.overflowed += 1
            return
        leaves = now
        if self.rate is not None:
            leaves = self._free = max(now, self._free) + len(packet) / self.rate
            self._backlog.append((leaves, len(packet)))
            self._in_queue += len(packet)
        arrives = leaves + self.delay + (rng.uniform(0, self.jitter) if self.jitter else 0.0)
        self._last = max(arrives, self._last)
        self._due.append((self._last, packet))

    def next_due(self) -> float | None:
        return self._due[0][0] if self._due else None

    def pop_due(self, now: float) -> list[bytes]:
        out = []
        while self._due and self._due[0][0] <= now:
            out.append(self._due.popleft()[1])
        self.delivered += len(out)
        return out

    def counters(self) -> dict[str, int]:
        """The counts so far; ``on_wire``: packets admitted and not yet due
        (a session's last ACK or FIN when the wire is stopped: fresh114's
        test read one as lost from the counts)."""
        d = asdict(self)
        counts = {k: d[k] for k in ("packets", "octets", "lost", "overflowed", "delivered")}
        return {**counts, "on_wire": len(self._due)}


def serve(spec: dict[str, Any]) -> None:
    """The wire process: attach both devices, say ``ready``, move packets until SIGTERM."""
    host_fd, viewer_fd = _attach(spec["host_ns"]), _attach(spec["viewer_ns"])
    link = spec["link"]
    rng = random.Random(spec.get("seed", 0))

    def way(rate: float | None) -> Direction:
        return Direction(rate, link["rtt"] / 2, link["jitter"], link["loss"], link["queue"])

    down, up = way(link["rate"]), way(link["up_rate"])
    # fd read from -> (its direction, the fd it goes out on)
    ways = {host_fd: (down, viewer_fd), viewer_fd: (up, host_fd)}
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while not stopping:
        now = time.monotonic()
        dues = [d for d in (down.next_due(), up.next_due()) if d is not None]
        timeout = max(0.0, min(dues) - now) if dues else 0.05
        try:
            readable, _, _ = select.select([host_fd, viewer_fd], [], [], min(timeout, 0.05))
        except InterruptedError:
            continue
        now = time.monotonic()
        for fd in readable:
            direction = ways[fd][0]
            for _ in range(64):
                try:
                    packet = os.read(fd, _MTU + 64)
                except BlockingIOError:
                    break
                direction.admit(packet, now, rng)
        for direction, out in ways.values():
            for packet in direction.pop_due(time.monotonic()):
                try:
                    os.write(out, packet)
                except OSError:  # the device's queue is full: the packet is lost
                    direction.overflowed += 1
    with open(spec["counters"], "w", encoding="utf-8") as fh:
        json.dump({"down": down.counters(), "up": up.counters()}, fh)
