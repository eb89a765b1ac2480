"""The host's X display dies mid-session (the user logged out, the X server
crashed): the host ends each session with a Bye that says its screen is gone,
and says so to its own user (the agent read 'closed by peer: closed locally',
the host's user 'failed: ...' or nothing plain). A real Xvfb, killed while a
real host shares it with a real viewer on loopback."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from warm_start import warm_popen

from .test_cli import CLI, ENV, answer_when_asked
from .test_view_cli_ux import read_until, stop, viewer

SCREEN_GONE = "the host's screen can no longer be captured"


@pytest.fixture
def doomed_xvfb() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """An Xvfb of this test's own, which the test kills: its display and process."""
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "320x240x24", "-nolisten", "tcp",
         "-noreset"],
        pass_fds=(write_fd,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(write_fd)
    try:
        with os.fdopen(read_fd, "rb") as pipe:
            number = pipe.readline().strip().decode()
        assert number.isdigit(), "Xvfb did not start"
        yield f":{number}", proc
    finally:
        proc.kill()
        proc.wait()


def test_the_display_dying_ends_the_session_in_plain_words(
    doomed_xvfb: tuple[str, subprocess.Popen[bytes]],
) -> None:
    display, xvfb = doomed_xvfb
    host = warm_popen(
        [*CLI, "host", "--listen", "0", "--bind", "127.0.0.1", "--source", "screen",
         "--control", "none", "--once"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**ENV, "DISPLAY": display},
    )  # fmt: skip
    assert host.stdout is not None
    try:
        seen = ""
        while "Password:" not in seen or not seen.endswith("\n"):
            line = host.stdout.readline()
            assert line, seen
            seen += line
        port = seen.split("listening on 127.0.0.1:")[1].split()[0]
        code = seen.split("Session code: ")[1].split("\n")[0].strip()
        password = seen.split("Password:")[1].split()[0]
        view = viewer(f"127.0.0.1:{port}", "--code", code, "--password", password)
        try:
            answer_when_asked(host)
            read_until(view, "[view] 320x240 decoded")  # the screen is shown
            xvfb.kill()
            xvfb.wait()
            out, err = view.communicate(timeout=60)
        finally:
            stop(view)
        assert view.returncode == 0, err.decode()
        assert f"session ended: {SCREEN_GONE}\n" in out.decode(), out.decode()
        host_out, _ = host.communicate(timeout=60)
        # walkfix36: no Python repr to the user ("(grabbing Rect(x=0, y=0,
        # w=320, h=240) on display ':N' failed)"): which display, in words.
        assert f"ended: {SCREEN_GONE} (display '{display}' stopped answering)\n" in host_out, (
            host_out)  # fmt: skip
        assert "Rect(" not in host_out, host_out
        assert "closed locally" not in host_out, host_out
    finally:
        stop(host)
