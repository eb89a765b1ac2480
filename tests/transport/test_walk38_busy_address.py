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

from .test_cli import start_host, stop
from .test_view_cli_ux import refused


def test_walk38_too_many_connections_says_it_passes() -> None:
    host, code, password, port = start_host()
    hanging = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(3)]
    try:
        err = refused(f"127.0.0.1:{port}", "--code", code, "--password", password, status=3)
        assert err == ("error: access refused: too many connections from this address at"
                       " once; try again in a few seconds\n"), err
    finally:
        for s in hanging:
            s.close()
        stop(host)
