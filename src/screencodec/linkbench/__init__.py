"""linkbench: measure whole sessions, not the codec.

The real :class:`~screencodec.transport.Host` and
:class:`~screencodec.transport.Viewer`, over the real sealed transport, through
a shaped link (:class:`ShapingProxy`: rate, propagation delay, bounded
bottleneck queue), reporting what the viewer's user sees: display lag, frames
shown, bits on the wire, picture quality, time to the first picture and time
to an exact picture (:func:`run_session`). ``screencodec bench --link 4M,40ms``
prints the table; ``benchmarks/test_bench_session.py`` runs the grid.
"""

from __future__ import annotations

from .isolated import ProxyError, ProxyProcess
from .ledger import FRAMING, CountingChannel, Ledger
from .report import format_ledger, format_table, targets
from .session import SessionResult, run_session
from .shaper import DEFAULT_QUEUE, DirectionStats, Link, ShapingProxy, parse_link
from .workloads import LINKS, SCENARIOS, measure, open_workload

__all__ = [
    "DEFAULT_QUEUE",
    "FRAMING",
    "LINKS",
    "SCENARIOS",
    "CountingChannel",
    "DirectionStats",
    "Ledger",
    "Link",
    "ProxyError",
    "ProxyProcess",
    "SessionResult",
    "ShapingProxy",
    "format_ledger",
    "format_table",
    "measure",
    "open_workload",
    "parse_link",
    "run_session",
    "targets",
]
