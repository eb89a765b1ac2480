"""The pacer does not leave the link idle while an update waits: driven by a
scripted receipt sequence of a 1 Mbit/s, 100 ms link (what the viewer would
report), no sockets and no wall clock. The session figures are in
benchmarks/RESULTS.md (pace41)."""

from __future__ import annotations

from screencodec.transport.session.flow import CongestionControl

RATE = 1e6 / 8  # the link, bytes a second
OWD = 0.050  # one way
OFFSET = 7000.0  # the viewer's clock


def _timed(cc: CongestionControl) -> float:
    """A caret's updates (300 B: the round trip) and some of 12 kB, each
    answered before the next: the link timed at RATE. Returns when the last
    receipt came."""
    now = 0.0
    for size in [300] * 4 + [12_000] * 8:
        seq = cc.sent(size, now)
        arrived = now + OWD + size / RATE
        span = (size - 1448) / RATE
        now = arrived + OWD
        cc.receipt(seq, now, arrived + OFFSET, 0.0, span)
        now += 0.05
    return now


def test_a_page_down_larger_than_the_window_does_not_wait_for_its_receipt() -> None:
    cc = CongestionControl()
    now = _timed(cc)
    assert 0.95 * RATE <= cc.rate <= 1.05 * RATE
    assert cc.max_in_flight() < 30_000  # a Page Down's frame is more than may be in flight
    cc.sent(30_000, now)
    free = now + 30_000 / RATE  # the link has moved it all (0.24 s)
    # Its receipt comes a round trip and the viewer's decode later (0.1 s +):
    # the next frame, waiting, goes before that, within a frame of the link's
    # being free at the rate the controller targets.
    at_target = now + 30_000 / cc.target_rate()
    assert cc.delay(free) <= at_target - free
    assert cc.delay(at_target) == 0.0


def test_updates_unanswered_past_the_link_still_hold_the_sender() -> None:
    # A viewer that stops answering: the credit for what the link moved goes
    # to the oldest update only, so what is sent stays bounded.
    cc = CongestionControl()
    now = _timed(cc)
    cc.sent(30_000, now)
    t = now + 0.5
    assert cc.delay(t) == 0.0
    cc.sent(30_000, t)
    # However long: one update and the allowance, no more.
    for later in (t + 0.5, t + 5.0, t + 60.0):
        assert cc.delay(later) == float("inf")
        assert cc.unanswered(later) == 30_000


def test_a_caret_update_before_the_page_down_does_not_hold_the_next_frame() -> None:
    # The receipts are answered per update: a small update sent just before
    # the big one must not leave the big one's bytes counted until its receipt.
    cc = CongestionControl()
    now = _timed(cc)
    cc.sent(6_000, now)
    cc.sent(24_000, now + 0.01)
    at_target = now + 30_000 / cc.target_rate()
    assert cc.delay(at_target) == 0.0
