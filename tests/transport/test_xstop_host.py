"""The X server a host shares stops answering (SIGSTOP: a hung server) and
no remote control watches it: the screen's grab waited in XGetImage for
good. The agent saw the last picture and nothing more, a ``--once`` host
never ended, and Ctrl-C did not end it either (``asyncio.run`` joined the
grab's worker thread). Now a grab not answered within
``screens.ANSWER_WITHIN`` s ends the session in the words a dead screen
gets, and the host exits by itself; Ctrl-C meanwhile ends it at once. A real
Xvfb, a real host and a real viewer on loopback."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from screencodec.cli.main import Exit
from screencodec.transport.session.screens import ANSWER_WITHIN

from .test_cli import ENV
from .test_cliux_screen_gone import (
    SCREEN_GONE,
    doomed_xvfb,  # noqa: F401 - a fixture
)
from .test_terminals_x_gone import stopped_under_a_viewer


@pytest.mark.parametrize("end", ["by_itself", "ctrl_c"])
def test_a_host_whose_x_server_stops_ends_the_session_and_exits(
    doomed_xvfb: tuple[str, subprocess.Popen[bytes]],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch, end: str,
) -> None:
    """``by_itself``: the agent reads that the screen can no longer be
    captured, and the ``--once`` host exits 1 (its screen gone) by itself;
    its host waits 4 s for a grab (screens.ANSWER_WITHIN, through its
    test-only variable), not 15. ``ctrl_c``: Ctrl-C pressed while the grab
    waits (on the real bound) stops the host (0)."""
    within = ANSWER_WITHIN
    if end == "by_itself":
        within = 4.0
        monkeypatch.setitem(ENV, "SCREENCODEC_TEST_SCREEN_ANSWER_WITHIN", f"{within:g}")

    def ctrl_c(host: subprocess.Popen[str]) -> None:
        time.sleep(2)  # a grab now waits on the stopped server
        host.send_signal(signal.SIGINT)

    out, view_status, rest, status = stopped_under_a_viewer(
        doomed_xvfb, monkeypatch, "--source", "screen",
        then=ctrl_c if end == "ctrl_c" else lambda host: None,
    )  # fmt: skip
    assert view_status == Exit.ENDED, out
    assert "Traceback" not in rest, rest
    if end == "by_itself":
        assert out.rstrip("\n").rsplit("\n", 1)[-1] == f"session ended: {SCREEN_GONE}", out
        assert status == Exit.ERROR, rest
        assert (f"ended: {SCREEN_GONE} (the screen did not answer within"
                f" {within:g} s)") in rest, rest  # fmt: skip
    else:
        assert status == Exit.ENDED, rest
