"""The CPU a command's start costs, against ``python -c pass`` in the same run.

The test suite starts hundreds of hosts and viewers on 2 cores, and a person
starting ``screencodec host`` waits for its password: each case is the CPU
(user + system, every thread) of a fresh ``python -m screencodec`` process
up to a point, taken alternately with a bare interpreter's so that load from
other processes hits both alike:

* ``host`` up to its ``Password:`` line (``--listen 0 --source synthetic``);
* ``host --help``, ``view --help`` and ``recordings list`` to their exit.

Reported (min and median of ``ROUNDS``, and the ratio of the minima), not
asserted: what a command loads is asserted in tests/test_cli_lazy.py.
Run: ``pytest benchmarks/test_bench_cli_start.py``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from _report import write_lines

ROUNDS = int(os.environ.get("SCREENCODEC_START_ROUNDS", "10"))
_TICK = os.sysconf("SC_CLK_TCK")
_ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
_ENV.pop("DISPLAY", None)  # the same start on every machine: no X watchers
RESULTS: dict[str, tuple[float, float, float]] = {}  # case -> (min s, median s, python min s)


def _cpu_to_exit(args: list[str]) -> float:
    process = subprocess.Popen([sys.executable, *args], env=_ENV, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.returncode == 0, args
    return usage.ru_utime + usage.ru_stime


def _cpu_to_password() -> float:
    """The host's CPU when it has printed its password (/proc: the process is
    still running; 1/CLK_TCK s resolution)."""
    args = ["-m", "screencodec", "host", "--listen", "0", "--bind", "127.0.0.1",
            "--source", "synthetic", "--once"]  # fmt: skip
    with subprocess.Popen([sys.executable, *args], env=_ENV, stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          text=True) as host:  # fmt: skip
        deadline = time.monotonic() + 60
        assert host.stdout is not None
        for line in host.stdout:
            if line.startswith("Password:"):
                break
            assert time.monotonic() < deadline, "no password line within 60 s"
        else:
            pytest.fail("the host ended before its password line")
        fields = Path(f"/proc/{host.pid}/stat").read_text().rsplit(")", 1)[1].split()
        host.kill()
    return (int(fields[11]) + int(fields[12])) / _TICK


CASES: dict[str, Callable[[Path], float]] = {
    "host to its password": lambda _: _cpu_to_password(),
    "host --help": lambda _: _cpu_to_exit(["-m", "screencodec", "host", "--help"]),
    "view --help": lambda _: _cpu_to_exit(["-m", "screencodec", "view", "--help"]),
    "recordings list": lambda d: _cpu_to_exit(["-m", "screencodec", "recordings", "list", str(d)]),
}


@pytest.fixture(scope="module", autouse=True)
def _table(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if RESULTS:
        load = os.getloadavg()[0]
        head = f"{'case':<22} {'min':>6} {'median':>6} {'python -c pass':>14} {'x':>6}"
        lines = [f"CPU of a start, s ({ROUNDS} rounds, load {load:.1f}):", head]
        for case, (low, mid, bare) in RESULTS.items():
            lines.append(f"{case:<22} {low:6.3f} {mid:6.3f} {bare:14.3f} {low / bare:6.1f}")
        write_lines(request, lines)


@pytest.mark.parametrize("case", list(CASES))
def test_start_cpu(case: str, tmp_path: Path) -> None:
    ours: list[float] = []
    bare: list[float] = []
    for _ in range(ROUNDS):
        bare.append(_cpu_to_exit(["-c", "pass"]))
        ours.append(CASES[case](tmp_path))
    RESULTS[case] = (min(ours), statistics.median(ours), min(bare))
