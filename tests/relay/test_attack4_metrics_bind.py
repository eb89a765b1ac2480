"""``screencodec relay --metrics-port N`` served its metrics on the relay's
public --bind (0.0.0.0 by default): anyone who could reach the relay could
read its counters. Metrics are for the operator's scraper: they go on
``--metrics-bind``, 127.0.0.1 unless told otherwise. The real CLI; 127.0.0.2
stands for another address of the machine (all of 127/8 is loopback on
Linux, so a socket bound to 0.0.0.0 answers there and one bound to
127.0.0.1 does not)."""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from .cluster import free_port


@contextmanager
def _relay(*extra: str) -> Iterator[tuple[int, str]]:
    """A relay on the default --bind with metrics on a free port: (that
    port, the line it printed once listening)."""
    metrics = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "screencodec", "relay", "--listen", "0",
         "--metrics-port", str(metrics), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "relay listening on 0.0.0.0:" in line, proc.stderr and proc.stderr.read()
        yield metrics, line
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def _scrape(addr: str, port: int) -> bytes:
    return bytes(urllib.request.urlopen(f"http://{addr}:{port}/metrics", timeout=5).read())


def test_metrics_are_served_on_loopback_only_by_default() -> None:
    with _relay() as (port, line):
        assert b"screencodec_relay_sessions" in _scrape("127.0.0.1", port)
        with pytest.raises(urllib.error.URLError, match="Connection refused"):
            _scrape("127.0.0.2", port)  # where the relay itself answers (0.0.0.0)
        assert f"metrics on http://127.0.0.1:{port}/metrics" in line


def test_metrics_bind_puts_them_where_the_operator_says() -> None:
    with _relay("--metrics-bind", "127.0.0.2") as (port, line):
        assert b"screencodec_relay_sessions" in _scrape("127.0.0.2", port)
        with pytest.raises(urllib.error.URLError, match="Connection refused"):
            _scrape("127.0.0.1", port)
        assert f"metrics on http://127.0.0.2:{port}/metrics" in line


def test_metrics_bind_that_cannot_be_bound_says_which() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "screencodec", "relay", "--listen", "0", "--metrics-port",
         str(free_port()), "--metrics-bind", "192.0.2.1"],
        check=False, capture_output=True, text=True, timeout=30)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1].startswith(
        "screencodec relay: cannot serve metrics on 192.0.2.1:")
