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


def test_the_send_loop_is_told_when_to_ask_again_not_to_wait_for_a_receipt() -> None:
    # The host's loop sleeps until a receipt or 250 ms when told ``inf``: the
    # wait must be finite while the link moving the bytes is what frees room.
    cc = CongestionControl()
    now = _timed(cc)
    cc.sent(30_000, now)
    wait = cc.delay(now + 0.01)
    assert 0.0 < wait < 0.3
    t = now + 0.01 + wait
    while cc.delay(t) > 0:  # asked again when told, it is let through
        assert t < now + 30_000 / cc.target_rate()
        t += cc.delay(t)


def _short_trains(cc: CongestionControl, now: float, count: int, stretch: float) -> float:
    """Refinement: 4 kB updates a viewer sharing its CPU timed ``stretch``
    times their time on the link (no queue: their first bytes are on time)."""
    for _ in range(count):
        size = 4_000
        seq = cc.sent(size, now)
        arrived = now + OWD + size / RATE
        span = stretch * (size - 1448) / RATE
        now = arrived + OWD
        cc.receipt(seq, now, arrived + OFFSET, 0.0, span)
        now += 0.02
    return now


def test_short_trains_read_slowly_do_not_talk_the_long_ones_down() -> None:
    cc = CongestionControl()
    now = _timed(cc)
    for size in (24_000, 30_000):  # a Page Down: two long trains
        seq = cc.sent(size, now)
        arrived = now + OWD + size / RATE
        now = arrived + OWD
        cc.receipt(seq, now, arrived + OFFSET, 0.0, (size - 1448) / RATE)
    now = _short_trains(cc, now, 20, 1.5)  # more than a rate window of them
    assert cc.rate >= 0.95 * RATE
    assert not cc.congested()


def test_without_long_trains_the_short_ones_still_set_the_rate() -> None:
    cc = CongestionControl()
    now = _short_trains(cc, 0.0, 30, 1.0)
    now = _short_trains(cc, now, 30, 2.0)  # the link halved, say
    assert cc.rate <= 0.6 * RATE


def test_a_queue_forgets_the_long_trains() -> None:
    # The link slowed (a queue shows): the long trains timed before it no
    # longer hold the rate up, even after the queue drains.
    cc = CongestionControl()
    now = _timed(cc)
    for size in (24_000, 30_000):
        seq = cc.sent(size, now)
        arrived = now + OWD + size / RATE
        now = arrived + OWD
        cc.receipt(seq, now, arrived + OFFSET, 0.0, (size - 1448) / RATE)
    for _ in range(6):  # queued: each first byte 80 ms late, the link at half
        seq = cc.sent(4_000, now)
        arrived = now + 0.080 + OWD + 4_000 / (RATE / 2)
        now = arrived + OWD
        cc.receipt(seq, now, arrived + OFFSET, 0.0, (4_000 - 1448) / (RATE / 2))
    assert cc.congested()
    now = _short_trains(cc, now, 12, 2.0)  # drained, at half the rate (2 s)
    assert not cc.congested()
    assert cc.rate <= 0.6 * RATE
