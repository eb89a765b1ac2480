"""The exit statuses of ``screencodec host`` and ``screencodec view``
(cli.main.Exit, docs/cli.md): a script running them tells what happened
from the status alone. Before, ``view`` exited 0 when the host vanished
mid-session, 1 for a wrong password, a wrong code and a declined request
alike, and a ``--once`` host 0 whatever became of its one agent. Real
``host`` (on a pty) and ``view`` processes on loopback."""

from __future__ import annotations

import signal
import subprocess

import pytest

from screencodec.cli.main import Exit
from warm_start import warm_run

from .test_attack_prompts import PtyHost, _credentials
from .test_cli import CLI, ENV
from .test_view_cli_end import _watching
from .test_view_cli_ux import another, read_until, stop, viewer


def _view(*args: str) -> subprocess.CompletedProcess[str]:
    return warm_run([*CLI, "view", *args], capture_output=True, text=True, env=ENV,
                    timeout=60, check=False)  # fmt: skip


def _last_line(text: str) -> str:
    return text.rstrip("\n").rsplit("\n", 1)[-1]


def test_a_wrong_password_and_a_wrong_code_are_told_apart() -> None:
    host = PtyHost()
    try:
        port, code, password = _credentials(host)
        wrong = "7kq2m9xa" if password != "7kq2m9xa" else "8kq2m9xa"
        done = _view(f"127.0.0.1:{port}", "--code", code, "--password", wrong)
        assert (done.returncode, done.stderr) == (Exit.WRONG_PASSWORD,
                                                  "wrong session password\n"), done
        done = _view(f"127.0.0.1:{port}", "--code", another(code), "--password", password)
        assert done.returncode == Exit.REFUSED, done
        assert done.stderr.startswith("no session with that code"), done.stderr
    finally:
        host.close()


def test_nothing_to_connect_to_is_an_error() -> None:
    done = _view("127.0.0.1:1", "--code", "123 456 789", "--password", "7kq2m9xa")
    assert done.returncode == Exit.ERROR, done
    assert done.stderr == "error: nothing listens at 127.0.0.1:1 (connection refused)\n"


def test_declined_is_refused_on_both_sides() -> None:
    """The host's user says no: the agent's viewer exits REFUSED, and the
    ``--once`` host (nobody was let in) too."""
    host = PtyHost()
    try:
        port, code, password = _credentials(host)
        view = viewer(f"127.0.0.1:{port}", "--code", code, "--password", password)
        try:
            host.wait_for(r"Question 1: .*?\[y/N\] ")
            host.type("n")
            out, err = view.communicate(timeout=60)
        finally:
            stop(view)
        assert view.returncode == Exit.REFUSED, (out, err)
        assert _last_line(err.decode()) == "the host's user declined", err
        assert host.proc.wait(timeout=30) == Exit.REFUSED, host.text
    finally:
        host.close()


def test_the_host_vanishing_mid_session_is_lost_not_ended(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The host's program is killed while the agent watches: the viewer
    tries to take the session up again, the host's machine refuses, and it
    exits LOST (it exited 0, as if someone had ended the session). The
    viewer takes 2 s of refusals for a stopped host, not 10
    (reconnect.REFUSED_FOR, through its test-only variable)."""
    monkeypatch.setitem(ENV, "SCREENCODEC_TEST_REFUSED_FOR", "2")
    host = PtyHost()
    try:
        (view,) = _watching(host)
        try:
            read_until(view, "decoded")
            host.proc.kill()
            out, err = view.communicate(timeout=60)
        finally:
            stop(view)
        assert view.returncode == Exit.LOST, (out, err)
        assert _last_line(out.decode()) == ("session ended: the connection was lost, and the"
                                            " host no longer answers: the host's user may"
                                            " have ended the session, or their computer went"
                                            " offline or its program stopped")  # fmt: skip
    finally:
        host.close()


def test_leaving_and_being_ended_are_ended_on_both_sides() -> None:
    """The statuses that stay 0: the agent leaving (Ctrl-C), and the
    ``--once`` host whose agent left."""
    host = PtyHost()
    try:
        (view,) = _watching(host)
        try:
            read_until(view, "decoded")  # its Ctrl-C handler is in place by then
            view.send_signal(signal.SIGINT)
            out, err = view.communicate(timeout=60)
        finally:
            stop(view)
        assert view.returncode == Exit.ENDED, (out, err)
        assert _last_line(out.decode()) == "session ended: you left the session"
        assert host.proc.wait(timeout=30) == Exit.ENDED, host.text
    finally:
        host.close()


def test_a_once_host_whose_agent_did_not_come_back_exits_lost() -> None:
    """``--once``: the agent's link was lost and its time to come back
    (60 s in the real host; 0.05 s here) passed: the host's status is LOST
    (it was 0, as after an agent who said goodbye). The host's own objects,
    a real Host and terminal, driven by the event the session emits."""
    import asyncio
    import io

    from screencodec.capture import open_source
    from screencodec.cli.host import _Commands
    from screencodec.transport import Host, TerminalQuestions, allow
    from screencodec.transport.session.events import SessionEnded
    from screencodec.transport.session.permissions import VIEW

    async def main() -> Exit:
        out = io.StringIO()
        ui = TerminalQuestions(io.StringIO(), out)
        done = asyncio.Event()
        commands = _Commands(ui, done, once=True, takes_files=False)
        host = commands.host = Host(open_source("synthetic", width=160, height=120),
                                    consent=allow())  # fmt: skip
        try:
            commands.lost(SessionEnded("127.0.0.1:5000", "the connection broke", 0.05,
                                       who="Alice"), VIEW)  # fmt: skip
            await asyncio.wait_for(done.wait(), 10)
            assert "may reconnect within 0 s" in out.getvalue()
            return commands.status
        finally:
            await host.close()

    assert asyncio.run(main()) == Exit.LOST
