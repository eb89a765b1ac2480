"""Whole sessions over shaped links: what the person at the viewer sees.

The real Host and Viewer over the sealed transport (SPAKE2 + AEAD, TCP on
127.0.0.1) through the shaping proxy (``screencodec.linkbench``), one session
of ``SECONDS`` per scenario x link: the synthetic scenarios at 1080p and, when
``corpus/`` holds recordings, every one of them (``corpus:<name>``). Links: a
slow uplink (1 Mbit/s, 100 ms RTT), the home uplink (4 Mbit/s, 40 ms), a good
one (20 Mbit/s, 20 ms) and no shaping at all (``unlimited``, the baseline of
the same run). Reported per session: display lag p50/p95/max, updates and
screen states shown per second, kbit/s on the wire, PSNR of lossy frames,
time to the first picture and time to exact after the screen stops; and
every byte of each session's second half by what it carries, both
directions (``linkbench.ledger``: update and op headers, op payloads, Stats,
receipts, framing).

Targets (reported as met / not met, not asserted): at 4 Mbit/s and 40 ms, lag
p95 <= 150 ms for typing, terminal and browser, <= 250 ms for drag and video;
at 1 Mbit/s and 100 ms, p95 <= 400 ms for typing, terminal and browser; lossy
frames >= 30 dB; exact within 1 s after the screen stops.

Run: ``pytest benchmarks/test_bench_session.py -s`` (about 15 s a session;
select with ``-k``, e.g. ``-k "typing and 4M_40ms"``). The table is printed at
the end; each session's figures also go into pytest-benchmark's extra_info.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from typing import Any

import pytest

from screencodec.linkbench import (
    LINKS,
    SCENARIOS,
    SessionResult,
    format_ledger,
    format_table,
    measure,
)
from screencodec.linkbench.report import corpus_workloads

SECONDS = float(os.environ.get("SCREENCODEC_SESSION_SECONDS", "8"))
WORKLOADS = [*SCENARIOS, *corpus_workloads()]
_RESULTS: list[SessionResult] = []


def _id(name: str) -> str:
    return name.replace("/", "_").replace(":", "_")


@pytest.fixture(scope="module", autouse=True)
def _table() -> Iterator[None]:
    yield
    if not _RESULTS:
        return
    print("\n\nSessions (" + f"{SECONDS:g} s each, load {os.getloadavg()[0]:.1f}):")
    print(format_table(_RESULTS))
    base = {r.scenario: r for r in _RESULTS if r.link == "unlimited"}
    ratios = [f"{r.scenario} {r.link}: {r.lag_p95_ms / base[r.scenario].lag_p95_ms:.1f}x"
              for r in _RESULTS if r.link != "unlimited" and r.scenario in base
              and base[r.scenario].lag_p95_ms > 0]  # fmt: skip
    if ratios:
        print("lag p95 / unlimited: " + ", ".join(ratios))
    print("\nWhat the second half of each session carried:")
    print(format_ledger(_RESULTS))


@pytest.mark.slow
@pytest.mark.parametrize("link", list(LINKS), ids=[_id(k) for k in LINKS])
@pytest.mark.parametrize("workload", WORKLOADS, ids=[_id(w) for w in WORKLOADS])
def test_session(workload: str, link: str, benchmark: Any) -> None:
    result: SessionResult = benchmark.pedantic(
        lambda: measure(workload, LINKS[link], seconds=SECONDS), rounds=1, iterations=1
    )
    _RESULTS.append(result)
    benchmark.extra_info.update(result.to_dict())
    print("\n" + format_table([result]).splitlines()[-1])
    # Only that the instrument worked; the figures are the report.
    assert result.updates > 0
    assert result.lag_samples > 0 or result.changes == 0
    assert result.extra["unmatched"] == 0
    assert not math.isnan(result.first_picture_ms)


@pytest.mark.slow
def test_idle_session(benchmark: Any) -> None:
    """The synthetic idle desktop (a caret, a clock) on the home uplink: what
    an idle screen costs on the wire, both ways (the ledger's table; the
    recorded idle desktop runs in the grid above as corpus:idle)."""
    result: SessionResult = benchmark.pedantic(
        lambda: measure("idle", LINKS["4M/40ms"], seconds=SECONDS), rounds=1, iterations=1
    )
    _RESULTS.append(result)
    benchmark.extra_info.update(result.to_dict())
    print("\n" + format_ledger([result]))
    assert result.updates > 0 and result.extra["unmatched"] == 0
