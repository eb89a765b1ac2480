"""The host's stats line as a log shows it (walk3 left it open): no "rtt 0.0
ms" before a round trip was measured."""

from __future__ import annotations

from screencodec.transport.session.stats import LinkStats


def _stats(rtt_ms: float) -> LinkStats:
    return LinkStats("127.0.0.1:5", 30.0, 100.0, rtt_ms, 1, 10, 0, 0, 1000)


def test_a_stats_line_before_a_round_trip_was_measured_says_so() -> None:
    assert "rtt not measured yet" in _stats(0.0).line()
    assert "rtt 0.0" not in _stats(0.0).line()


def test_a_measured_round_trip_is_shown() -> None:
    assert "rtt   41.5 ms" in _stats(41.5).line()
