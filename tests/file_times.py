"""``--file-times FILE``: each test file's wall time and CPU time, appended to
FILE by each process that ran it (xdist's workers too), one line a file:
``path<TAB>wall<TAB>cpu<TAB>start<TAB>end<TAB>worker<TAB>tree`` (start and
end: the epoch seconds its first test began and its last ended, for a
timeline of the run: which files ran side by side when the cores idled). CPU
is this process's (its threads) and its children's that it waited for (the
hosts, viewers and relays a test starts and reaps), from setup to teardown of
each test. ``tree`` is the CPU of every process this one started, reaped or
not (Chromium, the warm starter's children, X servers), where the machine
lets a process make a cgroup v1 cpuacct group of its own (root): -1 where
not (stop 54: those were a third of the suite's CPU, outside ``cpu``). A file whose CPU is a
small part of its wall waits (the product's limits, sleeps, a peer); one
near its share of a core computes. ``python tests/file_times.py FILE``
sums them (time44: which files wait and which compute, for the suite)."""

from __future__ import annotations

import os
import resource
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["main"]

_TIMES: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0, 0.0])
_CPUACCT = Path("/sys/fs/cgroup/cpuacct")
_TREE_USAGE: list[Path] = []  # this process's group's cpuacct.usage, once made


def pytest_configure(config: pytest.Config) -> None:
    """Move this process into a cpuacct group of its own, which everything
    it starts afterwards inherits (--file-times only, where allowed)."""
    if config.getoption("--file-times") is None or not os.access(_CPUACCT, os.W_OK):
        return
    group = _CPUACCT / f"screencodec-tests-{os.getpid()}"
    try:
        group.mkdir(exist_ok=True)
        (group / "cgroup.procs").write_text(str(os.getpid()))  # every thread
    except OSError:
        return
    _TREE_USAGE[:] = [group / "cpuacct.usage"]


def _tree_cpu() -> float:
    return int(_TREE_USAGE[0].read_text()) / 1e9 if _TREE_USAGE else 0.0


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--file-times", metavar="FILE", default=None,
                     help="append each test file's wall and CPU seconds to FILE")  # fmt: skip


def _cpu() -> float:
    return sum(
        r.ru_utime + r.ru_stime
        for r in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    if item.config.getoption("--file-times") is None:
        yield
        return
    wall, cpu, tree, began = time.monotonic(), _cpu(), _tree_cpu(), time.time()
    yield
    times = _TIMES[item.nodeid.split("::")[0]]
    times[0] += time.monotonic() - wall
    times[1] += _cpu() - cpu
    times[2] = times[2] or began
    times[3] = time.time()
    times[4] += _tree_cpu() - tree


def pytest_sessionfinish(session: pytest.Session) -> None:
    out = session.config.getoption("--file-times")
    if out is None or not _TIMES:
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    lines = "".join(
        f"{path}\t{w:.2f}\t{c:.2f}\t{start:.2f}\t{end:.2f}\t{worker}"
        f"\t{tree if _TREE_USAGE else -1:.2f}\n"
        for path, (w, c, start, end, tree) in sorted(_TIMES.items())
    )
    with open(out, "a") as f:  # one write a process: O_APPEND keeps them whole
        f.write(lines)


def main(argv: list[str]) -> int:
    """Sum a --file-times FILE: the files whose CPU is under a quarter of
    their wall (waiting), the others (computing), slowest first. With
    ``--costs FILE``: write each file's sums as tests/file_costs.tsv reads
    them (the order slow_first.py hands the files out in), to stdout."""
    costs = argv[:1] == ["--costs"]
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for line in Path(argv[-1]).read_text().splitlines():
        fields = line.split("\t")
        totals[fields[0]][0] += float(fields[1])
        totals[fields[0]][1] += float(fields[2])
        totals[fields[0]][2] += float(fields[6]) if len(fields) > 6 else -1.0
    if costs:
        print(f"# path\twall s\tCPU s (tests/file_times.py --costs {argv[-1]})")
        for path, (wall, cpu, _) in sorted(totals.items()):
            print(f"{path}\t{wall:.1f}\t{cpu:.1f}")
        return 0
    kinds: dict[bool, list[tuple[float, float, float, str]]] = {True: [], False: []}
    for path, (wall, cpu, tree) in totals.items():
        kinds[cpu < 0.25 * wall].append((wall, cpu, tree, path))
    print("   wall     CPU    tree  (tree: every process the file started; < 0: not measured)")
    for waits, name in ((True, "waiting (CPU < wall/4)"), (False, "computing")):
        rows = sorted(kinds[waits], reverse=True)
        print(f"{name}: {len(rows)} files, wall {sum(r[0] for r in rows):.0f} s,"
              f" CPU {sum(r[1] for r in rows):.0f} s, tree {sum(r[2] for r in rows):.0f} s")
        for wall, cpu, tree, path in rows[:25]:
            print(f"  {wall:7.1f} {cpu:7.1f} {tree:7.1f}  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
