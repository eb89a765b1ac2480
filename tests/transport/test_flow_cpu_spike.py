"""A busy host or viewer is not a queue: one update's delay spike should not
cut the rate, where a queue, which delays the updates after it too, does.
Driven by a scripted receipt sequence (4 Mbit/s, 40 ms; no sockets)."""

from __future__ import annotations

from screencodec.transport.session.flow import CongestionControl

RATE = 4e6 / 8
OWD = 0.020
OFFSET = 3000.0


def _update(cc: CongestionControl, now: float, extra: float, size: int = 12_000) -> float:
    """One update whose first byte comes ``extra`` late; returns the receipt's time."""
    seq = cc.sent(size, now)
    arrived = now + extra + OWD + size / RATE
    receipt = arrived + OWD
    cc.receipt(seq, receipt, arrived + OFFSET, 0.0, (size - 1448) / RATE)
    return receipt


def _steady(cc: CongestionControl, now: float, count: int, extra: float | None = None) -> float:
    """``count`` updates a frame apart; their first bytes 5-20 ms over the
    empty path (a short queue, as traced) unless ``extra`` says otherwise."""
    for i in range(count):
        _update(cc, now, (0.005, 0.020)[i % 2] if extra is None else extra)
        now += 1 / 30
    return now


def test_one_update_sent_late_by_a_busy_host_does_not_cut_the_rate() -> None:
    cc = CongestionControl()
    now = _steady(cc, 0.0, 60)
    for spike in (0.086, 0.055, 0.062):  # traced: single spikes among 5-20 ms
        _update(cc, now, spike)
        now = _steady(cc, now + 1 / 30, 30)
    assert cc.congestion_events == 0 and cc.backoff == 1.0


def test_a_queue_still_cuts_it() -> None:
    cc = CongestionControl()
    now = _steady(cc, 0.0, 60)
    _steady(cc, now, 6, extra=0.080)  # every update 80 ms late: queued
    assert cc.congestion_events >= 1 and cc.backoff < 1.0


def test_a_stall_that_delays_two_updates_does_not_cut_the_rate() -> None:
    """Traced too: a stall of the host, the viewer or the machine delays the
    updates sent within it, two sent 10-35 ms apart, then the level falls
    back. Two samples in a row over the threshold (GCC's count alone) cut;
    over it for less than ``persist`` seconds of sends does not."""
    cc = CongestionControl()
    now = _steady(cc, 0.0, 60)
    for first, second in ((0.062, 0.055), (0.082, 0.071), (0.048, 0.048)):
        _update(cc, now, first)
        _update(cc, now + 1 / 30, second)
        now = _steady(cc, now + 2 / 30, 30)
    assert cc.congestion_events == 0 and cc.backoff == 1.0
