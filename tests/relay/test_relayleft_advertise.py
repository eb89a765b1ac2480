"""``screencodec relay --advertise HOST:PORT`` checked as ``--public-name``
is: the address goes into every claim (the other relays redirect viewers
to it) and first into every RELAY_OK's cluster list. Found: any
``HOST:PORT`` argparse split started a relay: a host a viewer does not
believe (``evil host``, control characters) made every redirect to that
relay refused by the viewer ("redirected to something that is not a host
name") and every RELAY_OK's list believed in nothing; a port 0 or 70000, an
unspecified address (0.0.0.0, ::: nobody can dial it from another machine)
or one longer than a redirect carries (255 bytes) started as well.
Expected: a clear line on stderr and exit status 2 (USAGE), before
anything is listened on; a value that works starts, as given.

Real ``screencodec relay`` processes.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from screencodec.transport.relay import Relay

from .cluster import _wait_for_line, free_port

_LONG = f"{'a' * 60}.{'b' * 60}.{'c' * 60}.{'d' * 60}.example:65000"  # 257 bytes


def _relay(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "screencodec", "relay", "--listen", str(free_port()),
         "--bind", "127.0.0.1", *args],
        capture_output=True, text=True, timeout=20, check=False)


@pytest.mark.parametrize(("advertise", "why"), [
    ("evil host:80", "'evil host:80' is not a host name or IP address and port"),
    ("\x1b]0;owned\x07:80", "is not a host name or IP address and port"),
    ("relay.example.net:0", "'relay.example.net:0' is not HOST:PORT with a port 1-65535"),
    ("relay.example.net:70000",
     "'relay.example.net:70000' is not HOST:PORT with a port 1-65535"),
    ("0.0.0.0:7390", "'0.0.0.0:7390' is not an address clients can dial (0.0.0.0 is this "
                     "machine's wildcard: give its name or address)"),
    ("[::]:7390", "'[::]:7390' is not an address clients can dial (:: is this machine's "
                  "wildcard: give its name or address)"),
    (_LONG, "is longer than a redirect carries (255 bytes)"),
])
def test_cli_relay_refuses_an_advertise_that_cannot_work_as_a_bad_argument(
        advertise: str, why: str) -> None:  # fmt: skip
    done = _relay("--advertise", advertise)
    assert done.returncode == 2, done.stdout + done.stderr
    # In argparse's words, as any value typed wrong (walkfix35b: one line
    # without "error:" before, where "--advertise relay1" had argparse's).
    assert done.stderr.startswith("usage: screencodec relay"), done.stderr
    last = done.stderr.splitlines()[-1]
    assert last.startswith("screencodec relay: error: argument --advertise: "), done.stderr
    assert why in last
    assert "relay listening" not in done.stdout


def test_a_relay_object_refuses_the_same_advertise() -> None:
    for bad in ("evil host:80", "relay.example.net:0", "0.0.0.0:7390", "[::]:7390", _LONG):
        with pytest.raises(ValueError, match="--advertise"):
            Relay(advertise=bad)


@pytest.mark.parametrize(("advertise", "said"), [
    ("Relay-1.Example.NET:7390", "Relay-1.Example.NET:7390"),
    ("[::1]:7391", "[::1]:7391"),
    ("::1:7392", "[::1]:7392"),
    ("10.0.0.5:7393", "10.0.0.5:7393"),
])
def test_cli_relay_starts_with_an_advertise_that_works(advertise: str, said: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "screencodec", "relay", "--listen", str(free_port()),
         "--bind", "127.0.0.1", "--advertise", advertise],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        line = _wait_for_line(proc, b"relay listening", 20)
        assert f"(advertised as {said}, directory".encode() in line, line
    finally:
        proc.kill()
        proc.wait(5)
        assert proc.stdout is not None
        proc.stdout.close()
