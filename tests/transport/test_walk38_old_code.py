"""walk38: the customer's ``screencodec host`` was stopped and started
again (a window closed by mistake, a restart); the agent still has the
code read out before, the same address and port. ``view`` said "error: no
session with that code at 127.0.0.1:PORT: check the 9-digit code": the
agent rechecked the digits written down, which were right, and was stuck.
Expected: the line says that a host started again has a new code and
password. Real host processes, stopped as its user does (Ctrl-C), on the
same port."""

from __future__ import annotations

import signal

from .test_cli import start_host, stop
from .test_view_cli_ux import NEW_CODE, refused


def test_walk38_an_old_code_after_the_host_started_again_says_so() -> None:
    first, code, password, port = start_host()
    first.send_signal(signal.SIGINT)
    assert first.wait(30) == 0
    stop(first)
    again, _, _, _ = start_host(where=("--listen", str(port), "--bind", "127.0.0.1"))
    try:
        err = refused(f"127.0.0.1:{port}", "--code", code, "--password", password, status=3)
        assert err == (f"no session with that code at 127.0.0.1:{port}: check the"
                       f" 9-digit code {NEW_CODE}\n"), err
    finally:
        stop(again)
