"""Congestion control tells a growing queue from a viewer that reads late.

The same simulated bottleneck as ``test_flow`` (a pure model: no sockets, no
wall clock). A queue at the bottleneck GROWS while we send above what the link
leaves us; a viewer whose process is starved reads its updates late, which
adds a roughly standing offset to every arrival stamp. The controller must
back off on the first (within a few hundred ms) and not on the second: a
delay-based controller that read the offset as queueing cut its backoff to
its floor, and ran a 4 Mbit/s link at 0.1-1.8 Mbit/s (a lossy first picture
took 13-67 s to refine on a loaded machine).
"""

from __future__ import annotations

import pytest

from screencodec.transport.session.delay_trend import DelayTrend
from screencodec.transport.session.flow import CongestionControl

from .test_flow import MBIT, Run, simulate


def _backoff(run: Run, t0: float, t1: float) -> list[float]:
    return [b for t, b in run.backoff if t0 <= t < t1]


def test_a_viewer_that_starts_reading_late_does_not_collapse_the_rate() -> None:
    """From 3 s on the viewer reads every update 150 ms after its first byte
    came (the whole update at once: no span to time). The link is as free
    as before: at most one cut, and the target stays near the link's."""
    cc = CongestionControl()
    late = lambda t: 0.150 if t >= 3.0 else 0.0  # noqa: E731
    run = simulate(cc, lambda t: 4 * MBIT, 12.0, offset=late)
    assert min(_backoff(run, 3.0, 12.0)) >= 0.7
    assert min(run.target_at(6.0, 12.0)) >= 0.7 * 4 * MBIT


def test_a_viewer_late_by_a_varying_offset_does_not_collapse_the_rate() -> None:
    """Starved by its neighbours, the viewer reads 80-250 ms late, the
    offset wandering every half second: steps, never a slope that lasts."""
    cc = CongestionControl()
    steps = [0.08, 0.25, 0.12, 0.2, 0.09, 0.22, 0.15, 0.25, 0.1, 0.18]
    late = lambda t: steps[int(t / 0.5) % len(steps)] if t >= 2.0 else 0.0  # noqa: E731
    run = simulate(cc, lambda t: 4 * MBIT, 12.0, offset=late)
    assert sum(run.target_at(4.0, 12.0)) / len(run.target_at(4.0, 12.0)) >= 0.6 * 4 * MBIT


def test_a_queue_that_grows_is_cut_within_a_few_hundred_ms() -> None:
    """At 4 s other traffic takes half the link: the trains still cross at
    the link's rate (the estimate stays 4 Mbit/s), and the target, 0.9 of
    it, is 1.8x what is left: the queue grows at 0.4 s a second. The backoff
    must drop within 300 ms and the queue must stay bounded."""
    cc = CongestionControl()
    run = simulate(cc, lambda t: 4 * MBIT, 8.0, cross=lambda t: 0.5 if t >= 4.0 else 0.0)
    assert min(_backoff(run, 0.0, 4.0)) == 1.0
    assert min(_backoff(run, 4.0, 4.3)) < 1.0
    assert run.queue_after(4.0) <= 0.25


def test_cross_traffic_leaves_half_the_link_and_the_target_settles_there() -> None:
    cc = CongestionControl()
    run = simulate(cc, lambda t: 4 * MBIT, 14.0, cross=lambda t: 0.5 if t >= 2.0 else 0.0)
    late = run.target_at(8.0, 14.0)
    assert 0.35 * 4 * MBIT <= sum(late) / len(late) <= 0.6 * 4 * MBIT
    assert run.throughput(8.0, 14.0) >= 0.35 * 4 * MBIT  # the share left is used
    assert run.queue_after(6.0) <= 0.15


@pytest.mark.parametrize("step", [0.05, 0.15, 0.4])
def test_one_step_of_offset_costs_one_cut_and_the_rate_comes_back(step: float) -> None:
    """At 3 s the viewer starts reading ``step`` late and stays so. The step
    is one delay slope among many flat ones: it may cost one cut (a delay
    over the threshold that does not grow is cut once, to see whether it
    drains), and no more. The rate must then be back within 1.5 s: ``learn``
    (0.5 s after the cut, seeing that nothing drains), plus the round trip
    the cut takes to show (0.05-0.45 s with the offset), plus 0.3 s to
    recover from one cut (0.15 at 0.5 a second); 0.86-1.05 s measured."""
    cc = CongestionControl()
    run = simulate(cc, lambda t: 4 * MBIT, 8.0, offset=lambda t: step if t >= 3.0 else 0.0)
    before = max(run.target_at(2.5, 3.0))
    assert cc.congestion_events <= 1
    low = [t for t, _, rate, _ in run.sent if t >= 3.0 and rate < 0.95 * before]
    assert max(low, default=3.0) - 3.0 <= 1.5
    assert min(run.target_at(4.5, 8.0)) >= 0.95 * before


def test_a_standing_queue_of_our_own_is_not_learnt_as_an_offset() -> None:
    """Cross traffic takes half the link: after the cuts, the window can hold
    the link exactly full, and the queue stands as flat as a late reader's
    offset, even after one more cut. Its updates still cross the link back to
    back (spans of their full time on it), so it is not learnt: learnt, the
    standing level grew by a step each time (0.04 -> 0.18 s) and the queue
    reached 0.14 s after 6 s."""
    cc = CongestionControl()
    run = simulate(cc, lambda t: 4 * MBIT, 14.0, cross=lambda t: 0.5 if t >= 2.0 else 0.0)
    assert cc.standing == 0.0
    assert run.queue_after(6.0) <= 0.1


def test_the_delay_slope_sees_a_ramp_and_not_a_step() -> None:
    """Updates every 33 ms: a delay growing 0.4 s a second is that slope; a
    150 ms step in the middle of the window is one slope among twelve (a
    least-squares line through the same window rises 0.52 s a second)."""
    ramp, step = DelayTrend(), DelayTrend()
    for i in range(13):
        ramp.add(i / 30, 0.4 * i / 30)
        step.add(i / 30, 0.150 if i >= 6 else 0.0)
    assert ramp.growth() == pytest.approx(0.4)
    assert step.growth() == 0.0
