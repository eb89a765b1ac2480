"""tests/free_port.py: a port picked for a server started later is one the
kernel does not hand out meanwhile (flake40: one picked by binding port 0
was, to the listeners of the tests running beside it)."""

from __future__ import annotations

import socket

from free_port import _ephemeral_low, free_port


def test_the_port_is_free_and_outside_the_range_the_kernel_picks_from() -> None:
    port = free_port()
    assert port < _ephemeral_low()
    with socket.socket() as server:  # the server started later binds it
        server.bind(("127.0.0.1", port))
        others = []
        try:
            for _ in range(200):  # other tests' listeners, started meanwhile
                other = socket.socket()
                others.append(other)
                other.bind(("127.0.0.1", 0))
                assert other.getsockname()[1] != port
        finally:
            for other in others:
                other.close()
