"""Someone else's bulk TCP upload through the same bottleneck (step42,
cross42): a loss-based sender keeps the shared FIFO full whatever we do, so
its queue is a floor under every update's delay that no cut can drain.

A pure model (no sockets, no wall clock), the send loop of ``test_flow``. The
FIFO holds ``full`` bytes; while the upload runs it is always full of its
bytes, so our first byte waits ``full / link`` behind theirs, and our bytes,
admitted in turn with theirs as it drains, cross at half the link (the
ShapingProxy's readers take the freed room in turn). When it stops, its
bytes drain at the link's rate. Measured on main (step42, real Host/Viewer
through the proxy, drag 4M,40ms): 271-517 kbit/s during the upload and lag
p95 1.2-2.0 s: cut every round trip to the backoff's floor.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

import pytest

from screencodec.transport.session.flow import CongestionControl

from .test_flow import MBIT, OFFSET, Run, simulate

_LINK = 4 * MBIT
_FULL = 256 * 1024  # the proxy's queue, as in the bench
_STAND = _FULL / _LINK  # 0.52 s of their bytes ahead of ours


def simulate_upload(
    cc: CongestionControl, seconds: float, start: float, stop: float, *, owd: float = 0.020
) -> Run:
    """Run's queue is ours plus theirs ahead of the update's first byte."""

    def theirs(t: float) -> float:
        if t < start:
            return 0.0
        return _STAND if t < stop else max(0.0, _STAND - (t - stop))

    run = Run()
    t = next_tick = free_at = last = 0.0
    pending: list[tuple[float, int, float, float]] = []
    while t < seconds:
        while pending and pending[0][0] <= t:
            at, seq, arrived, span = heapq.heappop(pending)
            cc.receipt(seq, at, arrived, 0.003, span)
            run.backoff.append((at, cc.backoff))
        wait = max(next_tick - t, cc.delay(t))
        if wait > 0:
            nxt = t + min(wait, 0.25)
            if pending:
                nxt = min(nxt, pending[0][0])
            t = max(nxt, t + 1e-6)
            continue
        next_tick = t + 1 / 30
        n = max(200, int(cc.target_rate() / 30))  # the encoder's budget
        seq = cc.sent(n, t)
        ours = max(t, free_at)  # our own bytes ahead of this update
        rate = _LINK / 2 if start <= ours < stop else _LINK
        free_at = ours + n / rate
        span = max(0, n - 1448) / rate
        arrival = last = max(ours + theirs(ours) + owd + span, last)
        heapq.heappush(pending, (arrival + 0.003 + owd, seq, arrival + OFFSET, span))
        run.sent.append((t, ours - t + theirs(ours), cc.target_rate(), n))
    return run


def test_an_upload_that_keeps_the_queue_full_leaves_the_session_a_share() -> None:
    """From 3 s to 13 s the upload keeps 0.52 s queued. After a few cuts the
    floor is learnt as the path's: the session sends >= 1.5 Mbit/s (half the
    link is 2) and its updates wait little beyond the upload's queue."""
    cc = CongestionControl()
    run = simulate_upload(cc, 13.0, 3.0, 13.0)
    assert run.throughput(7.0, 13.0) >= 1.5 * MBIT
    assert run.queue_after(7.0) <= _STAND + 0.15


def test_when_the_upload_stops_the_session_keeps_its_own_queue_empty_again() -> None:
    """The upload stops at 9 s: its 0.52 s drain, the learnt floor falls with
    them, and within a few seconds our own queue is near empty at the link's
    whole rate (no floor left learnt)."""
    cc = CongestionControl()
    run = simulate_upload(cc, 14.0, 3.0, 9.0)
    assert cc.standing == 0.0
    assert run.queue_after(11.0) <= 0.1
    assert min(run.target_at(12.0, 14.0)) >= 0.7 * _LINK


class _Watching(CongestionControl):
    """Notes whether a floor was ever learnt as someone else's."""

    def __init__(self) -> None:
        super().__init__()
        self.ever_shared = False

    def receipt(self, seq: int, now: float, *args: object, **kwargs: object) -> float:
        rtt = super().receipt(seq, now, *args, **kwargs)  # type: ignore[arg-type]
        self.ever_shared |= self.shared
        return rtt


@pytest.mark.parametrize(
    ("link", "cross"),
    [
        # 4 -> 1 Mbit/s: the queue in flight at the old rate is ours (0.5 s)
        (lambda t: 4 * MBIT if t < 4 else 1 * MBIT, None),
        (lambda t: 4 * MBIT if t < 4 else 0.5 * MBIT, None),
        # a steady flow takes half the link: the queue the window holds is ours
        (lambda t: 4 * MBIT, lambda t: 0.5 if t >= 2.0 else 0.0),
    ],
)
def test_a_queue_of_our_own_is_never_taken_for_someone_elses(
    link: Callable[[float], float], cross: Callable[[float], float] | None
) -> None:
    """What we queue ourselves drains after our cuts: cut as before (the
    300 ms bound of test_gcc_gradient), never learnt as the path's."""
    cc = _Watching()
    run = simulate(cc, link, 12.0, tick=1 / 30, cross=cross)
    assert not cc.ever_shared
    assert cc.standing == 0.0
    assert run.queue_after(8.0) <= 0.15
