"""Someone else's bulk TCP upload through the same bottleneck (step42,
cross42): a loss-based sender keeps the shared FIFO full whatever we do, so
its queue is a floor under every update's delay that no cut can drain.

A pure model (no sockets, no wall clock): ``test_flow``'s send loop. The
FIFO holds ``full`` bytes; while the upload runs it is always full of its
bytes, so our first byte waits ``full / link`` behind theirs, and our bytes,
admitted in turn with theirs as it drains, cross at half the link (the
ShapingProxy's readers take the freed room in turn). When it stops, its
bytes drain at the link's rate. Measured on main (step42, real Host/Viewer
through the proxy, drag 4M,40ms): 271-517 kbit/s during the upload and lag
p95 1.2-2.0 s: cut every round trip to the backoff's floor.

The real session's delay over their floor is not flat (cross42, traced at
load 4-10; flowb43 again): every 0.7-1.3 s it rose 0.07-0.27 s and fell
back within a few updates, from the session's own bursts (a 13-26 kB drag
frame waits for its turns) and from a viewer that read late (a few updates
read whole at once). ``bursty`` gives the model both; without them it
passed where the real session did not (cross42: 480-726 kbit/s, not 1.5).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from screencodec.transport.session.flow import CongestionControl

from .test_flow import MBIT, Run, simulate

_LINK = 4 * MBIT
_FULL = 256 * 1024  # the proxy's queue, as in the bench
_STAND = _FULL / _LINK  # 0.52 s of their bytes ahead of ours
_BURST = 13_000  # a drag frame's refinement, as traced
_STALL = 0.2  # the viewer reads nothing for this long ...
_EVERY = 0.9  # ... this often (the rises came every 0.7-1.3 s)


def simulate_upload(
    cc: CongestionControl,
    seconds: float,
    start: float,
    stop: float,
    *,
    bursty: bool = False,
    turns: float = 0.0,
) -> Run:
    """Run's queue is ours plus theirs ahead of the update's first byte;
    ``bursty``: one update in 24 is a burst (three budgets, ``_BURST`` bytes
    at least), and the viewer stalls ``_STALL`` s every ``_EVERY`` s (what
    came meanwhile is read whole when it wakes). ``turns``: while the upload
    runs, an update of more than two segments has this long of their bytes
    between its own (its span and its last byte that much later), as the
    proxy's readers take turns in chunks: its span times our turns, well
    under our share of the link."""

    def theirs(t: float) -> float:
        if t < start:
            return 0.0
        return _STAND if t < stop else max(0.0, _STAND - (t - stop))

    ticks = [0]

    def size(c: CongestionControl) -> int:
        ticks[0] += 1
        n = max(200, int(c.target_rate() / 30))  # the encoder's budget
        return max(n * 3, _BURST) if bursty and ticks[0] % 24 == 0 else n

    def stalled(t: float) -> float:
        into = t % _EVERY
        return _STALL - into + 0.002 if bursty and into < _STALL else 0.0

    def link(t: float) -> float:
        return _LINK / 2 if start <= t < stop else _LINK

    def split(seq: int) -> float:
        sent = cc._sent[seq]
        return turns if start <= sent.at < stop and sent.size > 2 * 1448 else 0.0

    return simulate(
        cc, link, seconds, tick=1 / 30, ahead=theirs, size=size, offset=stalled, late=split
    )


@pytest.mark.parametrize("bursty", [False, True], ids=["flat", "bursty"])
def test_an_upload_that_keeps_the_queue_full_leaves_the_session_a_share(bursty: bool) -> None:
    """From 3 s to 13 s the upload keeps 0.52 s queued. After a few cuts the
    floor is learnt as the path's: the session sends >= 1.5 Mbit/s (half the
    link is 2) and its updates wait little beyond the upload's queue."""
    cc = CongestionControl()
    run = simulate_upload(cc, 13.0, 3.0, 13.0, bursty=bursty)
    assert run.throughput(7.0, 13.0) >= 1.5 * MBIT
    assert run.queue_after(7.0) <= _STAND + 0.15


@pytest.mark.parametrize("turns", [0.064, 0.128])
def test_spans_that_time_our_turns_do_not_pass_their_queue_for_a_late_reader(turns: float) -> None:
    """Traced live (flowc43, drag 4M,40ms --cross): behind their bytes the
    spans timed 0.44-0.88 Mbit/s, under the 2 the link leaves us, and the
    cuts took the target to 0.2-0.3 Mbit/s: updates of 1-2 kB, too small to
    show whether they were read late. On main that flat floor was learnt as
    a late reader's offset (``standing``, not ``shared``), and the rate
    stayed what the spans timed: 0.36-0.41 Mbit/s over the 6 s upload, the
    floor never learnt as theirs. The upload runs from 3 s to 9 s."""
    cc = CongestionControl()
    shared_at: list[float] = []
    receipt = cc.receipt

    def noting(seq: int, now: float, *args: float) -> float:
        rtt = receipt(seq, now, *args)
        if cc.shared and not shared_at:
            shared_at.append(now)
        return rtt

    cc.receipt = noting  # type: ignore[method-assign]
    run = simulate_upload(cc, 9.0, 3.0, 9.0, turns=turns)
    assert shared_at and shared_at[0] <= 6.0
    assert run.throughput(3.0, 9.0) >= 1.0 * MBIT
    assert run.queue_after(5.0) <= _STAND + 0.15


def test_the_cuts_made_before_their_queue_was_learnt_are_given_back() -> None:
    """The cuts before the floor is learnt were for their queue, which no
    cut drains: once it is, the share is targeted at the backoff before
    them (traced live: 0.5-0.6 after three cuts, a 1.7 Mbit/s share was
    targeted at 0.85 and regained 0.5 a second only while no queue of ours
    showed over the floor)."""
    cc = CongestionControl()
    backoff: list[float] = []
    receipt = cc.receipt

    def noting(seq: int, now: float, *args: float) -> float:
        rtt = receipt(seq, now, *args)
        if cc.shared and not backoff:
            backoff.append(cc.backoff)
        return rtt

    cc.receipt = noting  # type: ignore[method-assign]
    simulate_upload(cc, 9.0, 3.0, 9.0)
    assert cc.congestion_events >= 2
    assert backoff == [1.0]


@pytest.mark.parametrize("bursty", [False, True], ids=["flat", "bursty"])
def test_when_the_upload_stops_the_session_keeps_its_own_queue_empty_again(bursty: bool) -> None:
    """The upload stops at 9 s: its 0.52 s drain, the learnt floor falls with
    them, and within a few seconds our own queue is near empty at the link's
    whole rate (no floor left learnt)."""
    cc = CongestionControl()
    run = simulate_upload(cc, 14.0, 3.0, 9.0, bursty=bursty)
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


@pytest.mark.parametrize("bursty", [False, True], ids=["flat", "bursty"])
def test_a_cut_that_leaves_their_queue_where_it_was_is_enough(bursty: bool) -> None:
    """Traced live (cross45, drag 4M,40ms --cross 5s-11s): the floor was
    learnt 2.4 s into the upload, after a second cut made 0.7 s after the
    first (the smoothed round trip still near the empty path's) and before
    any update sent after the first had been answered, then a 0.5 s watch;
    meanwhile the bytes in flight, capped at a round trip of the empty
    path, let one update through per 0.7 s round trip. On main the model
    learns at 4.94 s (flat) and 5.71 s (bursty) with the upload from 3 s,
    after two cuts of the episode. Now the second cut waits for the first's
    effect, and an update sent after it that still waited the floor with
    few bytes of ours ahead makes it theirs: one cut, learnt by 4.7 s."""
    cc = _Watching()
    cuts_before: list[int] = []
    receipt = cc.receipt
    shared_at: list[float] = []
    upload_cuts = [0]

    def noting(seq: int, now: float, *args: float) -> float:
        events = cc.congestion_events
        rtt = receipt(seq, now, *args)
        if now >= 3.0 and not shared_at:
            upload_cuts[0] += cc.congestion_events - events
        if cc.shared and not shared_at:
            shared_at.append(now)
            cuts_before.append(upload_cuts[0])
        return rtt

    cc.receipt = noting  # type: ignore[method-assign]
    run = simulate_upload(cc, 9.0, 3.0, 9.0, bursty=bursty)
    assert shared_at and shared_at[0] <= 4.7
    assert cuts_before == [1]
    assert run.throughput(3.0, 9.0) >= 1.5 * MBIT
    assert run.queue_after(5.0) <= _STAND + 0.15
