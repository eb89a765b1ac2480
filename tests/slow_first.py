"""The order the test files are handed out in (``--dist loadfile`` hands
them to the processes in collection order): longest first, and never more
than a few files that mostly wait side by side.

Longest first keeps a long file from running alone at the end (the fresh
clone of d8fdd03, in plain collection order: the last 13% of the tests took
a third of its 891 s). But most of the longest files wait (on the product's
own limits: a relay's hold, a host's grace), and a timeline of a full run
(fresh144, 2026-12-07: ``--file-times`` with each file's start and end, the
2 cores' use every 10 s) showed the cost of handing them out together: its
first 60 s ran six waiting files side by side and the 2 cores were 39-51%
busy; tests/relay/'s waiting files, together in collection order, left
them 39-56% busy for another 50 s; the run's last 10 s ran one file alone.
Over the whole run the cores were 87% busy.

So: each file's wall and CPU seconds measured in a full run
(tests/file_costs.tsv; ``python tests/file_times.py --costs RUN`` writes it
from a ``--file-times`` run) order the files longest first, except that of
any six files in a row at most two mostly wait (CPU under a quarter of the
wall). The page tests count as computing: their pages run in Chromium,
whose CPU the figures miss (process accounting of a full run: ~380 s of
Chromium's). A file not in the table (new since it was measured) goes
first, where a long one costs least. A model of the run (2 cores shared
in proportion to each file's CPU, xdist's hand-out rule) put this order at
804-862 s against 874-924 s for the old one."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

__all__ = ["file_order"]

COSTS = Path(__file__).with_name("file_costs.tsv")
WAITING_AT_MOST = 2  # files that mostly wait ...
IN_A_ROW = 6  # ... among this many handed out in a row (the -n 6 processes)


def _costs() -> dict[str, tuple[float, float]]:
    costs = {}
    for line in COSTS.read_text().splitlines():
        if line and not line.startswith("#"):
            path, wall, cpu = line.split("\t")[:3]
            costs[path] = (float(wall), float(cpu))
    return costs


def _waits(path: str, wall: float, cpu: float) -> bool:
    return cpu < wall / 4 and not path.startswith("tests/web/")


def file_order(paths: Iterable[str]) -> list[str]:
    """``paths`` (as collected) in the order to hand them out."""
    costs = _costs()
    paths = list(dict.fromkeys(paths))
    unknown = [p for p in paths if p not in costs]
    longest = sorted((p for p in paths if p in costs), key=lambda p: -costs[p][0])
    waiting = [p for p in longest if _waits(p, *costs[p])]
    computing = [p for p in longest if not _waits(p, *costs[p])]
    order: list[str] = []
    while waiting or computing:
        recent = sum(_waits(p, *costs[p]) for p in order[-(IN_A_ROW - 1) :] if p in costs)
        wait_next = waiting and (
            not computing
            or (recent < WAITING_AT_MOST and costs[waiting[0]][0] >= costs[computing[0]][0])
        )
        order.append((waiting if wait_next else computing).pop(0))
    return unknown + order
