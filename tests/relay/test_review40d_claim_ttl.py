"""review40d: ``screencodec relay --claim-ttl`` is the value every claim,
attack40's recovering grace and its stall window reach Redis as (``PX``
milliseconds, ``int(ttl * 1000)``) and the heartbeat's period (ttl / 3).

Found: any float was taken, and each started and said "relay listening".
Measured with a real redis-server: ``0`` made a relay whose heartbeat never
sleeps (``asyncio.sleep(0)``), 559 log lines in 3.5 s
("directory_error op=announce ... ResponseError": Redis refuses ``PX 0``),
and a registration got no answer in 5 s; with ``nan`` the relay was not
accepting connections 2.5 s after it was started. Expected: refused as a
value typed wrong is (usage, exit status 2, the message naming
``--claim-ttl``), before anything listens; 1 s is the least (the tests'
shortest through the command is 1.5 s).

The real command in a subprocess (the memory directory: the value is
refused before any directory is opened).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

__all__ = ["refused_relay"]


def refused_relay(option: str) -> bytes:
    """``screencodec relay`` with ``option`` (e.g. ``--claim-ttl=0``), which
    it must refuse as a value typed wrong: it never listens, exits 2, no
    traceback. Its stderr, for the message's words."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "screencodec", "relay", "--listen", "0", "--bind", "127.0.0.1",
         option],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        out, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    assert b"relay listening" not in out, (option, out)
    assert proc.returncode == 2, (option, err)
    assert b"Traceback" not in err, err
    return err


@pytest.mark.parametrize("value", ["0", "-1", "0.2", "nan", "inf"])
def test_a_claim_ttl_that_is_no_usable_number_of_seconds_is_refused(value: str) -> None:
    err = refused_relay(f"--claim-ttl={value}")
    assert b"error: argument --claim-ttl: " in err
