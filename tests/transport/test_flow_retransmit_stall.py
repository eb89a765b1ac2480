"""A lost TCP segment is not a queue (loss42).

flowa43: the persist rule (flow.py ``_stamped_sample``) counts the
over-threshold updates' arrivals as well as their sends (benchmarks/RESULTS.md,
loss42 and flowa43).

On a lossy link (Wi-Fi, 0.5-2 % of packets) TCP holds everything behind a
lost segment until its retransmit comes, a round trip and more later: the
update it was in arrives stretched, and the updates sent meanwhile arrive
whole, all at once, when the hole is filled, their first bytes late by as
much as they waited. Traced over ``wire:4M,40ms,loss=2%`` (drag, 4 cuts in
8 s, each right after such a stall): spans of 67-157 ms where the link takes
25-28 ms, then two or three updates read whole at the same instant with
levels of 50-100 ms falling back by their send spacing. A queue's updates
cross the link one after another at its rate; a stall's are released
together. Driven by a scripted receipt sequence (4 Mbit/s, 40 ms; no sockets).
"""

from __future__ import annotations

from screencodec.transport.session.flow import CongestionControl

RATE = 4e6 / 8
OWD = 0.020
OFFSET = 3000.0  # the viewer's clock, anywhere
SIZE = 12_500  # a drag update at 4 Mbit/s: 25 ms on the link
FRAME = 1 / 30
SEGMENT = 1448


def _steady(cc: CongestionControl, now: float, count: int) -> float:
    """``count`` updates a frame apart; first bytes 5-20 ms over the empty path."""
    for i in range(count):
        seq = cc.sent(SIZE, now)
        arrived = now + (0.005, 0.020)[i % 2] + OWD + SIZE / RATE
        cc.receipt(seq, arrived + OWD, arrived + OFFSET, 0.0, (SIZE - SEGMENT) / RATE)
        now += FRAME
    return now


def _retransmit_stall(cc: CongestionControl, now: float, stall: float, behind: int) -> float:
    """An update with its last segment lost: its bytes up to the hole
    come on time, the rest ``stall`` later with the retransmit. The ``behind``
    updates sent meanwhile wait in the viewer's kernel and are read whole
    at that instant (span 0); receipts go out in order after it."""
    sends = [now + i * FRAME for i in range(behind + 1)]
    seqs = [cc.sent(SIZE, t) for t in sends]
    first = sends[0] + 0.005 + OWD
    release = first + (SIZE - SEGMENT) / RATE + stall
    arrivals = [(release, release - first)]
    arrivals += [(max(release, t + 0.005 + OWD + SIZE / RATE), 0.0) for t in sends[1:]]
    for seq, (arrived, span) in zip(seqs, arrivals, strict=True):
        cc.receipt(seq, arrived + OWD, arrived + OFFSET, 0.0, span)
    return sends[-1] + FRAME


def test_a_queue_of_the_same_updates_still_cuts() -> None:
    """The control: updates that cross the link one after another, each
    80 ms late (a queue), are cut, on main as after the fix asked below."""
    cc = CongestionControl()
    now = _steady(cc, 0.0, 60)
    for _ in range(6):
        seq = cc.sent(SIZE, now)
        arrived = now + 0.080 + OWD + SIZE / RATE
        cc.receipt(seq, arrived + OWD, arrived + OFFSET, 0.0, (SIZE - SEGMENT) / RATE)
        now += FRAME
    assert cc.congestion_events >= 1 and cc.backoff < 1.0


def test_a_retransmit_stall_does_not_cut_the_rate() -> None:
    """Each stall: one update stretched 120 ms, the three sent meanwhile read
    whole at the same instant (levels 109, 75, 42 ms falling back). Before
    flowa43 the persist rule counted sends only, and the 3 stalls cut 3 times."""
    cc = CongestionControl()
    now = _steady(cc, 0.0, 60)
    for _ in range(3):
        # Traced: spans stretched 47-131 ms, three updates late behind them;
        # a segment lost at an update's end waits for a tail-loss probe.
        now = _retransmit_stall(cc, now, stall=0.120, behind=3)
        now = _steady(cc, now, 30)
    assert cc.congestion_events == 0 and cc.backoff == 1.0
