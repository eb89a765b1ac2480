"""walk38: an agent whose earlier connections still hang at the host (a
link that came back with a burst of stale attempts, a script retrying)
was refused with "error: access refused: too many connections from this
address", exit 3, and nothing said that it passes: those slots free
within seconds (the host's 5 s for a connection to commit to a guess).
Expected: it says to try again in a few seconds, as the host's other
busy refusal does. A real host program; three real connections from the
same address that say nothing; a real ``view``."""

from __future__ import annotations

import socket
import threading

from .test_cli import start_host, stop
from .test_view_cli_ux import refused


def _crowded_way(port: int, hanging: list[socket.socket]) -> int:
    """A port that, once the viewer dials it, opens three silent connections
    to the host's ``port`` and then passes the viewer's bytes on. Opened
    before the viewer started, the three aged out (5 s) while a loaded
    machine started it: the viewer got in and was asked (leak39: 1 of 1
    loaded run of tests/transport, 'the host declined: its user did not
    answer in time')."""
    way = socket.create_server(("127.0.0.1", 0))

    def pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the other side went; the test reads the view's own words

    def serve() -> None:
        with way:
            way.settimeout(60)
            try:
                view, _ = way.accept()
            except OSError:
                return
            hanging.append(view)
            hanging.extend(socket.create_connection(("127.0.0.1", port), timeout=5)
                           for _ in range(3))  # fmt: skip
            up = socket.create_connection(("127.0.0.1", port), timeout=5)
            hanging.append(up)
            threading.Thread(target=pump, args=(view, up), daemon=True).start()
            pump(up, view)

    threading.Thread(target=serve, daemon=True).start()
    return way.getsockname()[1]


def test_walk38_too_many_connections_says_it_passes() -> None:
    host, code, password, port = start_host()
    hanging: list[socket.socket] = []
    try:
        way = _crowded_way(port, hanging)
        err = refused(f"127.0.0.1:{way}", "--code", code, "--password", password, status=3)
        assert err == (
            "access refused: too many connections from this address at"
            " once; try again in a few seconds\n"
        ), err
        assert len(hanging) == 5  # the viewer's, the three, and the viewer's way on
    finally:
        for s in hanging:
            s.close()
        stop(host)
