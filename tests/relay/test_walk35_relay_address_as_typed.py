"""``screencodec relay --advertise`` / ``--public-name`` that cannot work
name the value as the user typed it. Found (walk35): a value whose host
part holds a colon and is no IPv6 literal was quoted back in brackets the
user never typed: ``--advertise http://relay1.example.org:7390`` said
``'[http://relay1.example.org]:7390' is not a host name or IP address and
port``, as if the relay had read an IPv6 address. Expected: the value as
given (``'http://relay1.example.org:7390' is not ...``), status 2; an
IPv6 literal typed without brackets is still advertised bracketed.

Real ``screencodec relay`` processes.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from .cluster import free_port


def _relay(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "screencodec", "relay", "--listen", str(free_port()),
         "--bind", "127.0.0.1", *args],
        capture_output=True, text=True, timeout=20, check=False)


@pytest.mark.parametrize(("option", "value"), [
    ("--advertise", "http://relay1.example.org:7390"),
    ("--advertise", "relay1.example.org::7390"),
    ("--public-name", "http://lb.example.org:7100"),
])
def test_a_refused_address_is_quoted_as_typed(option: str, value: str) -> None:
    extra = ("--advertise", "127.0.0.1:7390") if option == "--public-name" else ()
    done = _relay(*extra, option, value)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.endswith(f"\nscreencodec relay: error: argument {option}: {value!r} is"
                                " not a host name or IP address and port\n")  # argparse's words
