"""A loopback port that is free now, for a server a test starts later and
must name its port beforehand (a relay process with ``--advertise``,
redis-server), or for a test that wants a port nothing listens on.

The usual way, ``bind(("127.0.0.1", 0))`` then close, hands out a port from
the kernel's ephemeral range, which the kernel goes on handing out: to the
listeners and connections of the tests running beside it (``-n 4``),
Chromium's and chromedriver's. Between the pick and the server's bind
(a process's start, seconds on a loaded machine) one of them could take it
(flake40: 7 of 5,000 picks were taken by 20 binds made meanwhile, about
20 in the 14,000 ports the kernel chooses from). A port below that range
is never chosen by the kernel; only another caller of this could pick the
same one, at random among thousands."""

from __future__ import annotations

import random
import socket
from pathlib import Path

__all__ = ["free_port"]

#: The lowest port tried: above the well-known and most registered services.
_LOWEST = 10000
_random = random.SystemRandom()


def _ephemeral_low() -> int:
    """The first port of the kernel's ephemeral range (Linux's default: 32768)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A loopback TCP port that nothing is bound to now, outside the range
    the kernel picks ports from (see the module's docstring)."""
    high = _ephemeral_low()
    if high - _LOWEST < 1000:  # a range opened wide: no room below it
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])
    for _ in range(200):
        port = _random.randrange(_LOWEST, high)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:  # in use (or in TIME_WAIT): another one
                continue
            return port
    raise RuntimeError(f"no free loopback port between {_LOWEST} and {high}")
