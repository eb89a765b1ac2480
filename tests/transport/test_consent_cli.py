"""The host command's honest messages: an unanswered question is reported to
the viewer as timed out (not declined), Ctrl-C shows the "sharing stopped"
banner, and failures to start are one clear line (no traceback)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import subprocess

from screencodec.errors import SessionClosedError
from screencodec.transport.connect import connect_direct
from screencodec.transport.session import messages as m
from screencodec.transport.session.permissions import VIEW
from warm_start import warm_run

from .secure_fixtures import run
from .test_attack_prompts import CLI, PtyHost, _credentials, _next_of


def _start_error(*args: str) -> subprocess.CompletedProcess[str]:
    return warm_run([*CLI, "host", "--source", "synthetic", "--control", "none", *args],
                    capture_output=True, text=True, timeout=60, check=False)


def test_listening_on_a_port_in_use_is_one_line() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = _start_error("--listen", str(port), "--bind", "127.0.0.1")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"screencodec host: cannot listen on 127.0.0.1:{port}: address already in use"]


def test_a_relay_nobody_listens_on_is_one_line() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nobody listens there
    done = _start_error("--relay", f"127.0.0.1:{port}")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    # In words: it was "cannot reach 127.0.0.1:P: [Errno 111] Connect call failed (...)".
    assert done.stderr.strip().splitlines() == [
        f"screencodec host: cannot register at the relay 127.0.0.1:{port}: connection refused"]


def test_an_unanswered_question_is_reported_as_timed_out_not_declined() -> None:
    host = PtyHost("--consent-timeout", "0.5")
    try:
        port, code, password = _credentials(host)

        async def ask() -> None:
            ch = await connect_direct("127.0.0.1", port, code, password)
            await ch.send(m.encode(m.PermissionRequest(VIEW.bits, "agent")))
            assert await _next_of(ch, m.PermissionDeny) == m.PermissionDeny(VIEW.bits)
            bye = await _next_of(ch, m.Bye)
            assert bye == m.Bye("the local user did not answer in time")
            with contextlib.suppress(SessionClosedError):
                while True:
                    await ch.recv()

        run(ask())
        host.wait_for(r"Question 1 closed without an answer: no\.")
        # Before stop 37: "ended: consent denied: no answer in time" (jargon, walk36).
        host.wait_for(r"ended: you did not answer in time\n")
    finally:
        host.close()


def test_ctrl_c_while_sharing_shows_the_sharing_stopped_banner() -> None:
    host = PtyHost()
    try:
        port, code, password = _credentials(host)

        async def share_then_interrupt() -> None:
            ch = await connect_direct("127.0.0.1", port, code, password)
            await ch.send(m.encode(m.PermissionRequest(VIEW.bits, "agent")))
            host.wait_for(r"Question 1: .*?\[y/N\] ")
            host.type("y")
            await _next_of(ch, m.PermissionGrant)
            shared = host.wait_for("YOUR SCREEN IS BEING SHARED WITH: 'agent'")
            host.proc.send_signal(signal.SIGINT)
            host.wait_for(r"Screen sharing stopped\.", shared.end())
            with contextlib.suppress(SessionClosedError):
                while True:
                    await ch.recv()  # the host said bye and closed
            await asyncio.to_thread(host.proc.wait, 20)

        run(share_then_interrupt(), timeout=60)
        assert host.proc.returncode == 0
    finally:
        host.close()
