"""The host stopped by Ctrl-C while nobody is connected says so.

Walked by hand: ``screencodec host`` in a terminal, the code read out, then
Ctrl-C before the agent connected: the program ended without a word, and a
user who had just read the code out could not tell whether it still worked.
The real command in a subprocess, stopped by the SIGINT a terminal's Ctrl-C
sends. Expected outcome: it says the code no longer works, exits 0, and says
nothing of sharing that never began."""

from __future__ import annotations

import signal

from screencodec.cli.host import CODE_GONE

from .test_cli import start_host


def test_ctrl_c_before_anyone_connected_says_the_code_no_longer_works() -> None:
    host, _, _, _ = start_host()
    try:
        host.send_signal(signal.SIGINT)
        out, _ = host.communicate(timeout=20)
    finally:
        host.kill()
        host.wait()
    assert host.returncode == 0, out
    assert out.strip().splitlines()[-1] == CODE_GONE, out
    assert "Screen sharing stopped" not in out
