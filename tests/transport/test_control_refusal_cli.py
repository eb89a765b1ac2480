"""``screencodec view --control`` says who refused control and why, and
``screencodec host`` that cannot be controlled never asks its user about it.
Real processes through their entry points, on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import sys

import pytest

from screencodec.cli.host import VIEW_ONLY
from screencodec.geometry import Monitor
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import listen_direct
from screencodec.transport.session import messages as m
from screencodec.transport.session.permissions import CONTROL, VIEW

from .test_attack_prompts import PtyHost, _credentials
from .test_cli import ENV, answer_when_asked, start_host
from .test_view_cli_ux import read_until, stop, viewer

HOSTILE = "\x1b]0;pwned\x07\x1b[2Jremote \u202econtrol\x9b31m is off\x1bc"
UNASKED = "control refused (the host's user was not asked): "


def test_a_view_only_host_refuses_control_unasked_and_the_agent_reads_why() -> None:
    host, code, password, port = start_host()  # --control none
    try:
        view = viewer(f"127.0.0.1:{port}", "--code", code, "--password", password,
                      "--name", "Alice", "--control")  # fmt: skip
        try:
            answer_when_asked(host)  # the screen: yes
            shown = read_until(view, re.compile(r"control (refused|granted|not granted).*\n"))
            view.send_signal(signal.SIGINT)  # leave
            view.communicate(timeout=30)
        finally:
            stop(view)
        assert f"{UNASKED}{VIEW_ONLY}\n" in shown
        out, _ = host.communicate(timeout=30)  # --once: it ends with the session
        # After the first question (answered above): a line, and no question.
        assert "[y/N]" not in out and "MORE ACCESS" not in out and "Question 2" not in out
        assert re.search(r"refused: 'Alice' \(127\.0\.0\.1:\d+\) asked to control your mouse"
                         r" and keyboard, but remote control is unavailable on this computer"
                         r" \(started with --control none\)\n", out), out
        assert out.count("refused: 'Alice'") == 1
    finally:
        stop(host)


def test_the_users_refusal_is_reported_as_the_users(
        xvfb_display: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPLAY", xvfb_display)  # XTEST there: control can be granted
    host = PtyHost("--control", "xtest")
    try:
        port, code, password = _credentials(host)
        view = viewer(f"127.0.0.1:{port}", "--code", code, "--password", password,
                      "--control")  # fmt: skip
        try:
            first = host.wait_for(r"Question 1: .*?\[y/N\] ")
            host.type("y")
            more = host.wait_for(r"Question 2: MORE ACCESS.*?\[y/N\] ", first.end())
            assert "CONTROL your mouse and keyboard" in more.group(0)
            host.type("n")
            shown = read_until(view, re.compile(r"control (refused|granted|not granted).*\n"))
            view.send_signal(signal.SIGINT)
            view.communicate(timeout=30)
        finally:
            stop(view)
        assert ("control refused by the host's user (they said no, or did not answer in"
                " time)\n") in shown
        assert "not asked" not in shown
    finally:
        host.close()


def test_a_hostile_reason_is_printed_harmless() -> None:
    """A hand-written host refuses control with escape sequences, a bidi
    override and a C1 CSI in its reason; ``view`` prints it sanitised."""

    async def fake_host(ch: SecureChannel) -> None:
        with contextlib.suppress(Exception):
            while not isinstance(m.decode(await ch.recv()), m.PermissionRequest):
                pass
            await ch.send(m.encode(m.PermissionGrant(VIEW.bits)))
            await ch.send(m.encode(m.MonitorList((Monitor(1, 0, 0, 64, 48, True),), 1)))
            while not isinstance(m.decode(await ch.recv()), m.PermissionRequest):
                pass
            await ch.send(m.encode(m.Notice(m.Notice.CONTROL_UNAVAILABLE, HOSTILE)))
            await ch.send(m.encode(m.PermissionDeny(CONTROL.bits)))
            while True:
                await ch.recv()

    async def main() -> bytes:
        creds = SessionCredentials()
        async with await listen_direct("127.0.0.1", 0, creds, fake_host) as listener:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "screencodec", "view", f"127.0.0.1:{listener.port}",
                "--code", creds.code, "--password", creds.password, "--control",
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=ENV,
            )  # fmt: skip
            assert proc.stdout is not None
            out = b""
            try:
                while b"control " not in out.split(b"granted: view", 1)[-1]:
                    line = await asyncio.wait_for(proc.stdout.readline(), 30)
                    assert line, out
                    out += line
                proc.send_signal(signal.SIGINT)
                rest, _ = await asyncio.wait_for(proc.communicate(), 30)
                return out + rest
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()

    out = asyncio.run(main())
    text = out.decode("utf-8", "replace")
    line = next(x for x in text.splitlines() if x.startswith("control "))
    assert line.startswith(UNASKED) and "is off" in line, line
    for bad in ("\x1b", "\x9b", "\u202e", "\x07", "pwned"):
        assert bad not in text
