"""A link that slows under a session (Wi-Fi 4 -> 1 Mbit/s, someone else's
upload): the estimate must fall to what the link now delivers and STAY there
once the queue the old rate built has drained, not come back to the old rate.

The simulated bottleneck of ``test_flow`` (a pure model: no sockets, no wall
clock). Traced in a real session (step42, drag 4M,40ms, the link set to 1
Mbit/s by the shaping proxy): the estimate fell to 1.0 Mbit/s within 0.24 s,
but 0.73 s after the step, with the queue drained and no longer capping it,
the window's bytes-weighted median was the old 15 kB trains' 3.9 Mbit/s
again; four 10 kB updates queued 300 ms more and the lag stayed over 250 ms
for 3.4 s.
"""

from __future__ import annotations

import pytest

from screencodec.transport.session.flow import CongestionControl

from .test_flow import MBIT, simulate


class _Noting(CongestionControl):
    """Notes the estimate and the in-flight bound after each receipt."""

    def __init__(self) -> None:
        super().__init__()
        self.after: list[tuple[float, float, float]] = []  # (time, rate, max_in_flight)

    def receipt(self, seq: int, now: float, *args: object, **kwargs: object) -> float:
        rtt = super().receipt(seq, now, *args, **kwargs)  # type: ignore[arg-type]
        self.after.append((now, self.rate, self.max_in_flight()))
        return rtt


# (the rate it drops to, the send loop's tick): the model's cases where the
# estimate came back to the old link's after it had fallen (3.06 and 2.6
# Mbit/s targets on a 2 and a 1.5 Mbit/s link).
_CASES = [(2.0, 1 / 30), (1.5, 1 / 60), (1.0, 1 / 30)]


@pytest.mark.parametrize(("low", "tick"), _CASES)
def test_after_a_step_down_the_target_stays_down_once_the_queue_drained(
    low: float, tick: float
) -> None:
    cc = CongestionControl()
    link = lambda t: 4 * MBIT if t < 4 else low * MBIT  # noqa: E731
    run = simulate(cc, link, 8.0, tick=tick)
    after = [(t, r) for t, _, r, _ in run.sent if t >= 4.0]
    fell = next(t for t, r in after if r <= low * MBIT)
    assert fell < 5.5  # it fell within 1.5 s ...
    assert max(r for t, r in after if t > fell) <= 1.05 * low * MBIT  # ... and stayed
    assert run.queue_after(fell + 0.5) <= 0.1  # no second queue


def test_after_a_step_down_the_estimate_and_the_in_flight_bound_follow_within_receipts() -> None:
    """4 -> 1 Mbit/s: within a dozen receipts after the first one that came
    through the slower link, the estimate is at most 1.1x what the link now
    delivers, and the bytes let in flight shrink with it (at least to a
    third: the bound is a round trip and the queue allowed, at the target)."""
    cc = _Noting()
    link = lambda t: 4 * MBIT if t < 4 else 1 * MBIT  # noqa: E731
    simulate(cc, link, 7.0, tick=1 / 30)
    before = [b for t, _, b in cc.after if 3.0 <= t < 4.0]
    # receipts of updates that crossed the slower link: 20 ms one way, so
    # from about 4.06 on (the first update sent after 4 s)
    later = [(r, b) for t, r, b in cc.after if t >= 4.06]
    within = next(k for k, (r, _) in enumerate(later) if r <= 1.1 * MBIT)
    assert within <= 12
    assert all(r <= 1.1 * MBIT for r, _ in later[within:])
    assert max(b for _, b in later[within:]) <= max(before) / 3


def test_the_estimate_comes_back_after_the_link_does() -> None:
    """1 -> 4 Mbit/s after a drop: the target is back over 3 Mbit/s within 2 s
    (forgetting the fast link's trains must not keep the slow rate)."""
    cc = CongestionControl()
    link = lambda t: 1 * MBIT if 3 <= t < 6 else 4 * MBIT  # noqa: E731
    run = simulate(cc, link, 9.0, tick=1 / 30)
    assert min(run.target_at(8.0, 9.0)) >= 3.0 * MBIT
    assert run.queue_after(7.0) <= 0.1
