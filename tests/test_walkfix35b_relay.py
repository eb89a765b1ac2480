"""walkfix35b: ``screencodec relay`` refused a bad --advertise in two styles
(a new user's walk): ``--advertise relay1`` through argparse (usage lines,
then ``screencodec relay: error: argument --advertise: expected HOST:PORT,
not 'relay1'``), ``--advertise http://relay1:7390`` in one line without
``error:`` or usage. A value typed wrong is now argparse's refusal whichever
check finds it, as for every command's bad arguments; what the machine
refuses (a port in use) stays one line, as ``screencodec host`` says it.
Exit status 2 either way. The real CLI in a subprocess."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from warm_start import warm_run

USAGE = "usage: screencodec relay [-h] --listen PORT"


def _relay(*words: str) -> subprocess.CompletedProcess[str]:
    return warm_run([sys.executable, "-m", "screencodec", "relay", *words],
                    capture_output=True, text=True, timeout=30, check=False)  # fmt: skip


@pytest.mark.parametrize(("words", "error"), [
    (("--advertise", "relay1"), "argument --advertise: expected HOST:PORT, not 'relay1'"),
    (("--advertise", "http://relay1:7390"),
     "argument --advertise: 'http://relay1:7390' is not a host name or IP address and port"),
    (("--advertise", "0.0.0.0:7390"),
     "argument --advertise: '0.0.0.0:7390' is not an address clients can dial (0.0.0.0 is this"
     " machine's wildcard: give its name or address)"),
    (("--public-name", "lb one:443"),
     "argument --public-name: 'lb one:443' is not a host name or IP address and port"),
    (("--directory", "foo://x"),
     "argument --directory: unknown directory 'foo://x': use memory:// or redis://HOST:PORT/DB"),
])  # fmt: skip
def test_a_bad_value_is_refused_in_argparse_words(words: tuple[str, ...], error: str) -> None:
    done = _relay("--listen", "0", "--bind", "127.0.0.1", *words)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith(USAGE)
    assert done.stderr.endswith(f"\nscreencodec relay: error: {error}\n"), done.stderr


def test_a_port_in_use_is_one_line_with_status_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _relay("--listen", str(port), "--bind", "127.0.0.1")
    assert done.returncode == 2
    assert done.stderr == (f"screencodec relay: cannot listen on 127.0.0.1:{port}: address"
                           " already in use\n")  # fmt: skip
