"""The host / view / relay commands, as processes talking over loopback."""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image

from screencodec.cli.sessions import add_subcommands
from warm_start import warm_popen, warm_run

CLI = [sys.executable, "-m", "screencodec"]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONWARNINGS": "error"}


def start_host(
    *extra: str, where: tuple[str, ...] = ("--listen", "0", "--bind", "127.0.0.1")
) -> tuple[subprocess.Popen[str], str, str, int]:
    host = warm_popen(
        [*CLI, "host", *where, "--source", "synthetic",
         "--size", "320x240", "--control", "none", "--once", *extra],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, env=ENV,
    )  # fmt: skip
    assert host.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 20
    while not any(x.startswith("Password:") for x in lines):
        assert time.monotonic() < deadline, lines
        line = host.stdout.readline()
        assert line, f"host exited: {lines}"
        lines.append(line)
    text = "".join(lines)
    found = re.search(r"listening on 127.0.0.1:(\d+)", text)
    port = int(found.group(1)) if found else 0
    code = re.search(r"Session code: ([\d ]+)", text).group(1).strip()  # type: ignore[union-attr]
    password = re.search(r"Password:\s+(\S+)", text).group(1)  # type: ignore[union-attr]
    return host, code, password, port


def answer_when_asked(host: subprocess.Popen[str], answer: str = "y") -> None:
    """Wait for the consent question on the host's terminal, then answer."""
    assert host.stdout is not None and host.stdin is not None
    seen = ""
    while not seen.endswith("[y/N] "):
        ch = host.stdout.read(1)
        assert ch, f"host exited before asking: {seen!r}"
        seen += ch
    host.stdin.write(answer + "\n")
    host.stdin.flush()


def leave_once_shown(view: subprocess.Popen[bytes], shown: str) -> str:
    """Wait until ``view`` has printed ``shown`` (a pattern of its once-a-second
    line), leave as its user's Ctrl-C does, and return all it printed (it
    exited 0). A viewer given ``--duration`` instead had to show its first
    frame within that second; under load it sometimes had not."""
    from .test_view_cli_ux import read_until  # it imports this module

    seen = read_until(view, re.compile(shown), timeout=60)
    view.send_signal(signal.SIGINT)  # its Ctrl-C handler is in place before the line
    out, err = view.communicate(timeout=60)
    assert view.returncode == 0, err.decode()
    return seen + out.decode()


def view_until_shown(host: subprocess.Popen[str], args: list[str], shown: str) -> str:
    """``screencodec view ARGS`` let in by ``host``'s user, left once its line
    matches ``shown``: all it printed."""
    view = warm_popen([*CLI, "view", *args], stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE, env=ENV)  # fmt: skip
    try:
        answer_when_asked(host)
        return leave_once_shown(view, shown)
    finally:
        stop(view)


def stop(proc: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    """Kill ``proc`` if it still runs and close its pipes (when a test failed
    half-way, they were left to a later test's garbage collection)."""
    proc.kill()
    proc.communicate(timeout=10)


def test_subcommands_are_registered() -> None:
    parser = argparse.ArgumentParser()
    add_subcommands(parser.add_subparsers(dest="cmd"))
    for argv in (["host", "--listen", "1"], ["view", "h:1", "--code", "1"],
                 ["relay", "--listen", "1"]):  # fmt: skip
        assert callable(parser.parse_args(argv).func)


def test_host_and_view_with_consent_and_snapshot(tmp_path: Path) -> None:
    host, code, password, port = start_host()
    try:
        snap = tmp_path / "snap.png"
        # Shown, with the host's stats: the host has printed its own by then.
        vout = view_until_shown(
            host,
            [f"127.0.0.1:{port}", "--code", code, "--password", password,
             "--snapshot", str(snap), "--snapshot-cursor"],
            r"\[view\] 320x240 decoded \d+ errors 0 [\d.]+ fps",
        )  # fmt: skip
        assert "granted: view" in vout
        out, _ = host.communicate(timeout=20)
        assert host.returncode == 0
        assert "YOUR SCREEN IS BEING SHARED" in out
        assert "[shared]" in out and "fps" in out
        # The synthetic demo desktop plays at its own 30 fps (LiveDesktop,
        # live54): one frame a grab, the 60 Hz tick played it at twice that.
        rates = [float(r) for r in re.findall(r"\[shared\][^\n]*?: +([\d.]+) fps", out)]
        assert rates and max(rates) <= 31, out
        assert "Screen sharing stopped" in out
        with Image.open(snap) as img:
            assert img.size == (320, 240)
    finally:
        stop(host)


def test_yes_typed_before_the_question_does_not_count() -> None:
    """A "y" typed before the question is shown is discarded: the question
    waits for its own answer, here "n", and the viewer is declined. Were the
    early "y" counted, it would answer the question and the viewer get in."""
    host, code, password, port = start_host()
    try:
        assert host.stdin is not None
        host.stdin.write("y\n")  # typed before any viewer connected, so before any question
        host.stdin.flush()
        view = warm_popen(
            [*CLI, "view", f"127.0.0.1:{port}", "--code", code, "--password", password,
             "--duration", "1"],  # if let in, it ends soon and the asserts below fail
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
        )  # fmt: skip
        try:
            answer_when_asked(host, "n")
            vout, verr = view.communicate(timeout=60)
        finally:
            stop(view)
        assert view.returncode == 3, (vout, verr)  # refused (cli.main.Exit)
        assert "declined" in verr
        assert "granted" not in vout
        out, _ = host.communicate(timeout=20)
        assert "ended: you declined\n" in out  # stop 37: it read "consent denied"
        assert "BEING SHARED" not in out
    finally:
        stop(host)


def test_no_answer_is_no(tmp_path: Path) -> None:
    host, code, password, port = start_host("--consent-timeout", "0.5")
    try:
        view = warm_run(
            [*CLI, "view", f"127.0.0.1:{port}", "--code", code, "--password", password],
            capture_output=True, text=True, timeout=60, env=ENV, check=False,
        )  # fmt: skip
        assert view.returncode == 3  # refused (cli.main.Exit)
        assert "declined" in view.stderr
        out, _ = host.communicate(timeout=20)
        assert "ended: you did not answer in time\n" in out  # stop 37: "consent denied: ..."
        assert "BEING SHARED" not in out
    finally:
        stop(host)


def start_relay(port: int = 0) -> tuple[subprocess.Popen[str], int]:
    """A `screencodec relay` process on 127.0.0.1 (``port`` 0: any free one),
    once it listens; returns it and its port."""
    relay = warm_popen(
        [*CLI, "relay", "--listen", str(port), "--bind", "127.0.0.1"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV,
    )  # fmt: skip
    try:
        assert relay.stdout is not None
        seen: list[str] = []
        while not (found := re.search(r"relay listening on 127.0.0.1:(\d+)", "".join(seen))):
            line = relay.stdout.readline()  # log lines may come first
            assert line, f"relay exited: {seen}"
            seen.append(line)
    except BaseException:
        stop(relay)
        raise
    return relay, int(found.group(1))


def test_through_relay_processes() -> None:
    relay, rport = start_relay()
    try:
        host, code, password, _ = start_host(where=("--relay", f"127.0.0.1:{rport}"))
        try:
            vout = view_until_shown(
                host,
                ["--relay", f"127.0.0.1:{rport}", "--code", code, "--password", password],
                r"\[view\] 320x240 decoded",
            )
            assert "you left the session" in vout
            out, _ = host.communicate(timeout=20)
            assert "YOUR SCREEN IS BEING SHARED" in out
        finally:
            stop(host)
    finally:
        relay.terminate()
        relay.communicate(timeout=10)
