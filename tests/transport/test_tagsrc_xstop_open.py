"""Opening a screen whose X server stopped answering (SIGSTOP: a hung
server), off the event loop. The host opened its source on the loop (mss
connects to X and reads the screen's layout): at the first viewer and at a
monitor switch, a stopped server held the whole host, its chat, its other
viewers and Ctrl-C with it, for as long as it stayed stopped; at the host's
start, for good. Now opening runs on the capture hub's threads (the host
CLI opens its first source at its start, on a thread), each waited for at
most ``screens.ANSWER_WITHIN`` s, like the grabs. A real Xvfb, a real host
and a real viewer on loopback."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading
import time
from typing import Any

import pytest

from screencodec.cli.main import Exit
from screencodec.errors import CaptureError
from screencodec.transport.session.screens import ANSWER_WITHIN, HintCursor

from .test_cli import CLI, ENV, answer_when_asked, start_host
from .test_cliux_screen_gone import (
    SCREEN_GONE,
    doomed_xvfb,  # noqa: F401 - a fixture
)
from .test_view_cli_ux import read_until, stop, viewer
from .test_xstop_hub import hub_on, stop_server
from .test_xtest_dead_server import _doomed_xvfb


@pytest.mark.parametrize("server", ["stays_stopped", "goes_on"])
def test_a_host_whose_x_server_stopped_before_the_first_viewer_stays_responsive(
    doomed_xvfb: tuple[str, subprocess.Popen[bytes]],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch, server: str,
) -> None:
    """The X server stops after the host started and before the agent
    joins. Found: the host answered the agent's grant and nothing more (it
    waited on the loop for X to answer its new connection), so a chat line
    its user typed never went. Expected: the chat line reaches the agent
    while the screen does not answer; ``stays_stopped``: the agent then
    reads that the screen can no longer be captured and the ``--once`` host
    exits 1 by itself; ``goes_on`` (SIGCONT): the agent sees the picture.
    ``stays_stopped`` gives its host 6 s for the screen's answer
    (screens.ANSWER_WITHIN, through its test-only variable), not 15."""
    display, xvfb = doomed_xvfb
    monkeypatch.setitem(ENV, "DISPLAY", display)
    within = ANSWER_WITHIN
    if server == "stays_stopped":
        within = 6.0
        monkeypatch.setitem(ENV, "SCREENCODEC_TEST_SCREEN_ANSWER_WITHIN", f"{within:g}")
    host, code, password, port = start_host("--source", "screen")
    try:
        xvfb.send_signal(signal.SIGSTOP)
        view = viewer(f"127.0.0.1:{port}", "--code", code, "--password", password)
        try:
            answer_when_asked(host)
            assert host.stdin is not None and host.stdout is not None
            # Both before the host gives up on the screen (and ends the session).
            _host_shows(host, "YOUR SCREEN IS BEING SHARED", within - 3)  # chat goes now
            host.stdin.write("/say one moment please\n")
            host.stdin.flush()
            read_until(view, "host says: one moment please", timeout=within - 3)
            if server == "goes_on":
                xvfb.send_signal(signal.SIGCONT)
                read_until(view, "decoded")
                return
            out, _ = view.communicate(timeout=60)
        finally:
            stop(view)
        assert out.decode().rstrip("\n").rsplit("\n", 1)[-1] == f"session ended: {SCREEN_GONE}"
        rest, _ = host.communicate(timeout=60)
        assert host.returncode == Exit.ERROR, rest
        assert (f"ended: {SCREEN_GONE} (the screen did not answer within"
                f" {within:g} s)") in rest, rest  # fmt: skip
        assert "Traceback" not in rest, rest
    finally:
        xvfb.send_signal(signal.SIGCONT)
        stop(host)


def _host_shows(host: subprocess.Popen[str], text: str, within: float) -> None:
    """Wait up to ``within`` s until ``host`` printed a line with ``text`` (a
    host whose loop is held never does: the test fails, it does not hang)."""
    seen = threading.Event()

    def read() -> None:
        assert host.stdout is not None
        for line in host.stdout:
            if text in line:
                seen.set()
                return

    threading.Thread(target=read, daemon=True).start()
    assert seen.wait(within), f"the host did not show {text!r}"


def test_a_host_started_on_a_stopped_x_server_says_so_and_exits(
    doomed_xvfb: tuple[str, subprocess.Popen[bytes]],  # noqa: F811
) -> None:
    """Found: ``host --source screen`` on a stopped X server never started
    nor ended (its screen check waited on the loop). Expected: it says in
    one line that there is no screen to share, because the screen did not
    answer, and exits 2 (could not start). Its screen check is given 4 s
    (screens.ANSWER_WITHIN, through its test-only variable), not 15."""
    display, xvfb = doomed_xvfb
    within = 4.0
    xvfb.send_signal(signal.SIGSTOP)
    try:
        host = subprocess.Popen(
            [*CLI, "host", "--listen", "0", "--bind", "127.0.0.1", "--source", "screen",
             "--once"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**ENV, "DISPLAY": display, "SCREENCODEC_TEST_SCREEN_ANSWER_WITHIN": f"{within:g}"},
        )  # fmt: skip
        try:
            out, err = host.communicate(timeout=within + 30)
        finally:
            stop(host)
        assert host.returncode == Exit.USAGE, (out, err)
        assert err.strip() == (
            "screencodec host: no screen to share (the screen did not answer within"
            f" {within:g} s): start it where $DISPLAY is this computer's screen, or"
            " with --source synthetic for a demo desktop"), err  # fmt: skip
    finally:
        xvfb.send_signal(signal.SIGCONT)


def test_a_monitor_opened_while_the_server_is_stopped_leaves_the_loop_free() -> None:
    """A hub watching monitor 1, the server stopped, a viewer switches to
    monitor 0 (a new source). Found: ``acquire`` opened it on the loop,
    which stopped with the server. Expected: the loop goes on; the first
    grab there fails after ``answer_within`` with a CaptureError that says
    so; letting both monitors go and closing the hub wait at most
    ``LOOP_WAIT`` each (the loop, and ``asyncio.run``, end); once the server
    goes on, the source opened late is closed, and the other one too."""
    with _doomed_xvfb() as (display, pid):
        hub, sources = hub_on(display)
        outcome: dict[str, Any] = {}

        async def main() -> None:
            hub.acquire(1)
            await hub.grab_hinted_then(1, HintCursor(), lambda f, o, h: None)
            stop_server(hub, pid)
            hub.acquire(0)  # the switch: acquire the new monitor, release the old
            hub.release(1)
            with pytest.raises(CaptureError) as first:
                await hub.grab_hinted_then(0, HintCursor(), lambda f, o, h: None)
            outcome["said"] = str(first.value)
            hub.release(0)
            hub.close()

        loop_thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
        try:
            loop_thread.start()
            loop_thread.join(30)
            assert not loop_thread.is_alive(), "the open held the event loop"
            assert outcome["said"] == "the screen did not answer within 0.5 s", outcome
            assert len(sources) == 1  # monitor 0's source is still opening
        finally:
            os.kill(pid, signal.SIGCONT)
        deadline = time.monotonic() + 20
        while not (len(sources) == 2 and all(s._closed for s in sources)):
            assert time.monotonic() < deadline, "the late source was not closed"
            time.sleep(0.01)
