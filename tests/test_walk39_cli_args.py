"""Wrong input at the command line is refused at the start, in one line,
with status 2 (docs/cli.md: "bad arguments"), found by walk39 from a fresh
venv with the wheel installed:

- a port over 65535 (``view 127.0.0.1:99999``, ``host --listen 99999``,
  ``relay --listen 70000``) raised OverflowError out of the socket call: a
  traceback and status 1;
- ``host --source synthetic --scenario nope`` (or ``--size 10x10``) started,
  printed a code and a password, asked its user, and only after the user's
  y ended the session with "failed: unknown scenario 'nope'"; the agent read
  "error: closed by peer: closed locally" (status 1).

The real CLI in a subprocess; nothing listens on the ports named."""

from __future__ import annotations

import subprocess

import pytest

from transport.test_cli import CLI, ENV
from warm_start import warm_popen

CREDS = ("--code", "123 456 789", "--password", "abcd2345")


def _run(*args: str) -> tuple[int | None, str, str]:
    """Status (None: still running after 20 s, then killed), stdout, stderr."""
    proc = warm_popen([*CLI, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE, text=True, env=ENV)  # fmt: skip
    try:
        out, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return None, out, err
    return proc.returncode, out, err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("view", "127.0.0.1:99999", *CREDS),
         "argument HOST:PORT: '127.0.0.1:99999' is not HOST:PORT with a port 1-65535"),
        (("view", "--relay", "127.0.0.1:0", *CREDS),
         "argument --relay: '127.0.0.1:0' is not HOST:PORT with a port 1-65535"),
        (
            ("host", "--listen", "99999", "--source", "synthetic"),
            "argument --listen: the port 99999 is not 0-65535",
        ),
        (("relay", "--listen", "70000"), "argument --listen: the port 70000 is not 0-65535"),
    ],
)
def test_walk39_a_port_out_of_range_is_bad_arguments(args: tuple[str, ...], words: str) -> None:
    status, _, err = _run(*args)
    assert "Traceback" not in err, err
    assert status == 2, err
    assert err.rstrip().splitlines()[-1].endswith(words), err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (
            ("--scenario", "nope"),
            "--scenario nope: unknown scenario 'nope'; choose one of "
            "['browser', 'drag', 'idle', 'terminal', 'typing', 'video']",
        ),
        (
            ("--size", "10x10"),
            "--size 10x10: synthetic desktop size 10x10 is outside 64x64 .. 3840x2160",
        ),
    ],
)
def test_walk39_a_synthetic_desktop_that_cannot_be_made_stops_the_start(
    args: tuple[str, ...], words: str
) -> None:
    status, out, err = _run("host", "--listen", "0", "--bind", "127.0.0.1",
                            "--source", "synthetic", *args)  # fmt: skip
    assert "Session code" not in out, out
    assert status == 2, (out, err)
    assert err.strip() == f"screencodec host: {words}", err


ABOVE_0 = "is not a number of seconds above 0"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("host", "--consent-timeout", "-5"), f"argument --consent-timeout: -5 {ABOVE_0}"),
        (("host", "--consent-timeout", "nan"), f"argument --consent-timeout: nan {ABOVE_0}"),
        (("host", "--max-duration", "0"), f"argument --max-duration: 0 {ABOVE_0}"),
        (("view", "127.0.0.1:9", *CREDS, "--duration", "-1"), f"argument --duration: -1 {ABOVE_0}"),
    ],
)
def test_walk39_seconds_not_above_0_are_bad_arguments(args: tuple[str, ...], words: str) -> None:
    """walk39: ``host --consent-timeout -5`` started and answered every
    question no at once (no answer in time); ``--max-duration 0`` ended
    every session as it began; ``view --duration -1`` went on to connect."""
    where = ("--listen", "0", "--bind", "127.0.0.1", "--source", "synthetic")
    status, out, err = _run(*args, *(where if args[0] == "host" else ()))
    assert "Session code" not in out, out
    assert status == 2, (out, err)
    assert err.rstrip().splitlines()[-1].endswith(words), err
