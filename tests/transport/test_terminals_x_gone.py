"""The X display a host shares dies mid-session (a real Xvfb, killed), with
remote control on: the injector's and the local-user watchers' own X
connections fail. Before, nothing was said and nothing ended: the watchers
ended without a word, the agent kept "control" of a display that was gone,
and each injected action failed on the dead connection (a warning printed
raw into the host's terminal). Now the host says so in one line, ends the
session with a Bye that says why, and exits 1; the injector stops using
the dead connection after its first failure."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import threading
from collections.abc import Callable

import pytest

from screencodec.cli.main import Exit
from screencodec.errors import CaptureError
from screencodec.transport.input.xtest import ANSWER_WITHIN, LocalPointerWatcher, XTestInjector
from screencodec.transport.session.screens import ANSWER_WITHIN as SCREEN_ANSWER_WITHIN

from .test_cli import ENV, answer_when_asked, start_host
from .test_cliux_screen_gone import doomed_xvfb  # noqa: F401 - a fixture
from .test_view_cli_ux import read_until, stop, viewer
from .test_xtest_dead_server import _doomed_xvfb, _kill

X_GONE = ("session ended: the host's X display is gone: its screen, mouse and keyboard can"
          " no longer be used")  # fmt: skip


@pytest.mark.parametrize("source", ["synthetic", "screen"])
def test_the_display_dying_under_remote_control_ends_the_host_in_one_line(
    doomed_xvfb: tuple[str, subprocess.Popen[bytes]], source: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``synthetic``: the picture goes on, only the X connections die;
    ``screen``: the capture fails too, and whichever notices first ends the
    session."""
    display, xvfb = doomed_xvfb
    monkeypatch.setitem(ENV, "DISPLAY", display)
    # The later --source and --control win over start_host's own.
    host, code, password, port = start_host("--source", source, "--control", "xtest")
    try:
        view = viewer(f"127.0.0.1:{port}", "--code", code, "--password", password, "--control")
        try:
            answer_when_asked(host)  # to see
            answer_when_asked(host)  # to control
            read_until(view, "control granted")
            read_until(view, "decoded")
            xvfb.kill()
            xvfb.wait()
            out, err = view.communicate(timeout=60)
        finally:
            stop(view)
        said = out.decode().rstrip("\n").rsplit("\n", 1)[-1]
        assert said in (X_GONE, "session ended: the host's screen can no longer be captured")
        assert view.returncode == Exit.ENDED, err.decode()
        if source == "synthetic":
            assert said == X_GONE  # nothing else could have noticed
        rest, _ = host.communicate(timeout=60)  # the host ends by itself
        assert host.returncode == Exit.ERROR, rest
        told = [x for x in rest.splitlines() if f"the X display {display} is gone" in x]
        # Once, unless the capture noticed first: its end is then the line.
        if source == "screen" and not told:
            assert "ended: the host's screen can no longer be captured" in rest, rest
        else:
            assert len(told) == 1, rest
            assert told[0].endswith("remote control has stopped; ending the sessions and"
                                    " stopping")  # fmt: skip
        assert "Traceback" not in rest and "injection failed" not in rest, rest
    finally:
        stop(host)


@pytest.mark.parametrize("told", [True, False], ids=["on_lost", "logged"])
def test_the_injector_stops_using_a_dead_connection_and_says_so_once(
        told: bool, caplog: pytest.LogCaptureFixture) -> None:
    """Xvfb killed under an injector that is then given thousands of
    actions: ``lost`` says why, ``on_lost`` is called once (or, without
    it, one warning is logged), the actions are dropped without touching
    the connection, and a flush still returns."""
    calls: list[str] = []
    with _doomed_xvfb() as (display, pid):
        inj = XTestInjector(display)
        if told:
            inj.on_lost = calls.append
        try:
            _kill(pid)
            with caplog.at_level(logging.WARNING, "screencodec.transport.input.xtest"):
                for i in range(5000):
                    inj.pointer_move(i % 300, i % 200)
                    inj.key(ord("a"), i % 2 == 0, "a")
                assert inj.flush(30)
            assert inj.lost is not None
            assert calls == ([inj.lost] if told else [])
            assert inj.errors == 1  # the action that found the connection dead
            assert inj.dropped_events >= 10_000 - 1
            warnings = [r.getMessage() for r in caplog.records]
            assert len(warnings) == (0 if told else 1), warnings
        finally:
            inj.close(timeout=10)


def test_a_watcher_on_a_server_that_stops_answering_ends_and_leaves_the_loop_free() -> None:
    """Xvfb stopped (SIGSTOP: a hung server): the pointer watcher's poll, a
    round trip, waited for its answer on the event loop, which stopped, the
    host's sessions and its Ctrl-C with it. Now the loop goes on meanwhile,
    and after ``answer_within`` the watcher cuts the connection and ends
    with an error that says so, its socket released. (The presses watcher
    only reads what has arrived: it never waits on the server.)"""
    with _doomed_xvfb() as (display, pid):
        inj = XTestInjector(display)
        watcher = LocalPointerWatcher(lambda: None, inj, display, period=0.01)
        watcher.answer_within = 0.5
        sock = watcher._disp.display.socket
        ended: dict[str, object] = {}

        async def main() -> None:
            task = asyncio.ensure_future(watcher.run())
            await asyncio.sleep(0.1)
            os.kill(pid, signal.SIGSTOP)
            ticks = 0
            while not task.done():  # the loop runs while the poll waits
                await asyncio.sleep(0.01)
                ticks += 1
            ended.update(ticks=ticks, error=task.exception())

        # On a thread of its own: a loop held by the watcher fails the test
        # instead of hanging it.
        loop_thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
        try:
            loop_thread.start()
            loop_thread.join(30)
            assert not loop_thread.is_alive(), "the watcher held the event loop"
            assert isinstance(ended["error"], CaptureError), ended
            assert str(ended["error"]) == "the X server did not answer within 0.5 s"
            assert isinstance(ended["ticks"], int) and ended["ticks"] > 0
            assert sock.fileno() == -1
        finally:
            inj.close(timeout=1)
            sock.close()


def stopped_under_a_viewer(
    doomed: tuple[str, subprocess.Popen[bytes]], monkeypatch: pytest.MonkeyPatch,
    *host_args: str, then: Callable[[subprocess.Popen[str]], None] = lambda host: None,
) -> tuple[str, int, str, int]:
    """A host started with ``host_args`` on the ``doomed`` display, a viewer
    watching it, then the X server stopped (SIGSTOP) and ``then(host)``:
    what the viewer printed and its status, what the host printed and its
    status, once both ended."""
    display, xvfb = doomed
    monkeypatch.setitem(ENV, "DISPLAY", display)
    host, code, password, port = start_host(*host_args)
    try:
        view = viewer(f"127.0.0.1:{port}", "--code", code, "--password", password)
        try:
            answer_when_asked(host)
            read_until(view, "decoded")
            xvfb.send_signal(signal.SIGSTOP)
            then(host)
            out, _ = view.communicate(timeout=60)
        finally:
            stop(view)
        rest, _ = host.communicate(timeout=60)
        return out.decode(), view.returncode, rest, host.returncode
    finally:
        xvfb.send_signal(signal.SIGCONT)
        stop(host)


@pytest.mark.parametrize("source", ["synthetic", "screen"])
def test_the_host_ends_by_itself_when_its_x_server_stops_answering(
    doomed_xvfb: tuple[str, subprocess.Popen[bytes]],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch, source: str,
) -> None:
    """The X server stopped (SIGSTOP) under a host with remote control on:
    the host hung for good, Ctrl-C included. Now it says the display is
    gone, ends the session and exits 1 by itself. The host is given 3 s for
    the X server's answers (xtest.ANSWER_WITHIN, through its test-only
    variable), not 10 s to notice and 10 more to close its injector (21 s a
    run). ``screen``: the capture keeps its real 15 s, so the X watchers
    notice first, as on the real bounds (10 s, docs/cli.md, before 15 s);
    ``synthetic``: no capture to notice."""
    assert ANSWER_WITHIN < SCREEN_ANSWER_WITHIN  # the real bounds' order
    display = doomed_xvfb[0]
    within = 3.0
    monkeypatch.setitem(ENV, "SCREENCODEC_TEST_X_ANSWER_WITHIN", f"{within:g}")
    out, _, rest, status = stopped_under_a_viewer(
        doomed_xvfb, monkeypatch, "--source", source, "--control", "xtest")
    assert out.rstrip("\n").rsplit("\n", 1)[-1] == X_GONE
    assert status == Exit.ERROR, rest
    told = [x for x in rest.splitlines() if f"the X display {display} is gone" in x]
    assert told == [f"the X display {display} is gone (the X server did not answer within"
                    f" {within:g} s): remote control has stopped; ending the sessions and"
                    " stopping"]  # fmt: skip
    assert "Traceback" not in rest and "connection is cut" not in rest, rest
