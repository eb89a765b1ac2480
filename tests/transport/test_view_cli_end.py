"""How ``screencodec view`` says a session ended: in plain words, not the
channel's ("session ended: channel closed: closed by peer: ..."), keeping the
host's reason shown harmless. Real ``host`` and ``view`` processes on
loopback; the host's user types on a pty."""

from __future__ import annotations

import re
import signal
import subprocess
from typing import Any

import pytest

from loop_thread import LoopThread
from screencodec.capture import open_source
from screencodec.transport import Host, allow
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import listen_direct

from .test_attack_prompts import PtyHost, _can_control, _credentials
from .test_cli import ENV
from .test_host_cli_commands import LongHost
from .test_view_cli_ux import read_until, stop, viewer


def _ended(view: subprocess.Popen[bytes], status: int = 0) -> str:
    """The viewer's last line, once it has exited with ``status`` (0: ended
    in order; 5: lost, cli.main.Exit)."""
    out, err = view.communicate(timeout=30)
    assert view.returncode == status, err
    return out.decode().rstrip("\n").rsplit("\n", 1)[-1]


def _watching(*hosts: PtyHost) -> list[subprocess.Popen[bytes]]:
    """A viewer process per host entry (started together), each let in by the
    host's user; returns once each is granted."""
    views = []
    for host in hosts:
        port, code, password = _credentials(host)
        views.append(viewer(f"127.0.0.1:{port}", "--code", code, "--password", password))
    for host in dict.fromkeys(hosts):
        for n in range(1, hosts.count(host) + 1):  # asked one at a time
            host.wait_for(rf"Question {n}: .*?\[y/N\] ")
            host.type("y")
    for view in views:
        read_until(view, "granted: view")
    return views


def test_the_agent_leaving_and_the_hosts_user_ending_in_plain_words() -> None:
    host = LongHost()
    views: list[subprocess.Popen[bytes]] = []
    try:
        views = _watching(host, host)
        read_until(views[0], "decoded")  # its Ctrl-C handler is in place by then
        views[0].send_signal(signal.SIGINT)  # one agent leaves
        assert _ended(views[0]) == "session ended: you left the session"
        # The customer reads why, once, in words (it said "viewer left").
        # walk38: "ended: viewer said bye: the agent left the session" (the link's words).
        host.wait_for(r"ended: the agent left the session\r?\n")
        host.type("/end")
        assert _ended(views[1]) == "session ended: the host's user ended the session"
    finally:
        for view in views:
            stop(view)
        host.close()


def test_the_host_stopping_and_vanishing_in_plain_words(monkeypatch: pytest.MonkeyPatch) -> None:
    """The vanished host's viewer takes 2 s of refusals for a stopped host,
    not 10 (reconnect.REFUSED_FOR, through its test-only variable)."""
    monkeypatch.setitem(ENV, "SCREENCODEC_TEST_REFUSED_FOR", "2")
    stopped, killed = PtyHost(), PtyHost()
    views: list[subprocess.Popen[bytes]] = []
    try:
        views = _watching(stopped, killed)
        # Its first picture shown: the resume ticket, sent before it, came.
        # Killed before that, the host leaves nothing to resume (the session
        # ends "the connection was lost", as it failed once under load).
        read_until(views[1], "decoded")
        stopped.proc.send_signal(signal.SIGINT)  # the host's user stops the program
        killed.proc.kill()
        # The host's close lingers (channel/sealed.py), so a receipt the viewer
        # sends meanwhile cannot meet a reset and lose the goodbye unread.
        # Ctrl-C is the host's user ending it, as /end is: their own Bye.
        assert _ended(views[0]) == "session ended: the host's user ended the session"
        # A vanished host looks like a lost link: the viewer tries to take
        # the session up again, and the host's machine refuses at once.
        # words39: not "(its program has stopped)": it cannot know why.
        assert _ended(views[1], 5) == ("session ended: the connection was lost, and the"
                                       " host no longer answers: the host's user may have"
                                       " ended the session, or their computer went offline"
                                       " or its program stopped")  # fmt: skip
        # The customer's own terminal says it ended the session, as after
        # /end, not that the agent went away.
        line = stopped.wait_for(r"session with .* ended: [^\n]*")
        assert line.group(0).endswith("ended: you ended it"), line.group(0)
    finally:
        for view in views:
            stop(view)
        stopped.close()
        killed.close()


def test_the_hosts_own_reason_is_kept_and_shown_harmless() -> None:
    loop = LoopThread()
    call = loop.call
    creds = SessionCredentials()

    async def start() -> tuple[Host, Any]:
        host = Host(open_source("synthetic", width=160, height=120, scenario="idle"),
                    consent=allow())  # fmt: skip
        return host, await listen_direct("127.0.0.1", 0, creds, host.serve)

    host, listener = call(start())
    view = viewer(f"127.0.0.1:{listener.port}", "--code", creds.code,
                  "--password", creds.password)  # fmt: skip
    try:
        read_until(view, "decoded")
        call(host.disconnect(reason="going home\x1b[2J \u202eevil"))
        line = _ended(view)
        assert re.fullmatch(r"session ended: going home\?+ \?evil", line), repr(line)
    finally:
        stop(view)
        call(listener.close())
        call(host.close())
        loop.close()


def test_the_hosts_user_taking_control_back_is_told_to_the_agent(
        xvfb_display: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The customer typed /view: the agent's terminal said nothing, and the
    agent went on typing into a screen that no longer took it."""
    host = PtyHost(*_can_control(xvfb_display, monkeypatch))
    view = None
    try:
        port, code, password = _credentials(host)
        view = viewer(f"127.0.0.1:{port}", "--code", code, "--password", password, "--control")
        host.say_yes(2)  # view, then control
        read_until(view, "control granted")
        host.type("/view")
        read_until(view, "the host's user took back control: you can only watch now")
    finally:
        if view is not None:
            stop(view)
        host.close()


def test_a_file_the_terminal_cannot_take_is_told_to_the_agent(tmp_path: Any) -> None:
    """A host offered a file: the agent's terminal takes no files, and
    refused it without a word, so neither side knew what happened to it.
    Since nofiles35 the terminal says so up front, and the host's ``/send``
    asks it nothing (since files36 it offers it the file only so that this
    line is said: test_host_cli_send_nofiles.py); ``Host.send`` offers."""
    loop = LoopThread()
    call = loop.call
    creds = SessionCredentials()

    async def start() -> tuple[Host, Any]:
        host = Host(open_source("synthetic", width=160, height=120, scenario="idle"),
                    consent=allow())  # fmt: skip
        return host, await listen_direct("127.0.0.1", 0, creds, host.serve)

    async def takes_files(host: Host) -> bool:
        (peer,) = host.viewers
        return host.takes_files(peer)

    host, listener = call(start())
    view = viewer(f"127.0.0.1:{listener.port}", "--code", creds.code,
                  "--password", creds.password)  # fmt: skip
    try:
        read_until(view, "decoded")
        assert call(takes_files(host)) is False  # said up front
        offered = tmp_path / "notes\x1b[2J.txt"
        offered.write_bytes(b"x" * 20)
        call(host.send(offered, host.viewers[0]))
        line = read_until(view, re.compile(r"the host's user offered .*\n"))
        assert ("the host's user offered 'notes[2J.txt' (20 bytes): not received, this viewer"
                " takes no files") in line  # fmt: skip
        assert "\x1b" not in line
    finally:
        stop(view)
        call(listener.close())
        call(host.close())
        loop.close()


def test_a_broken_connection_reads_as_lost_in_plain_words() -> None:
    from screencodec.cli.view import ended_words

    for reason in ("channel closed: the connection broke: Connection lost",
                   "channel closed: the connection broke: [Errno 104] Connection reset by peer",
                   "channel closed: the peer closed the connection"):  # fmt: skip
        assert ended_words(reason) == "session ended: the connection was lost"
