"""A queue of our own that drained is not someone else's (cross46).

Found by the lead (test_shaped_session's scenario traced live at load 8:
drag 960x540, the link 20 Mbit/s 40 ms, then 0.5 Mbit/s): after the drop our
own queue drained, then with updates too small to show a late read and a
viewer reading ~58 ms late, the flat floor left was learnt as someone else's
queue (``shared``), and the share started at half the link timed before the
drop: a 10 Mbit/s target on a 0.5 Mbit/s link.

A pure model (``test_flow``'s send loop). The one cut of the episode came
while the queue was still building, so the least level of the window at the
cut was the level from before the queue; every update answered until the
queue had drained was sent before the cut, and the first sent after it came
back at that level: "unmoved" (:mod:`.cut_effect`), learnt at once.
"""

from __future__ import annotations

from screencodec.transport.session.flow import CongestionControl

from .test_flow import MBIT, Run, simulate

_DROP = 6.0  # the link falls from 20 to 0.5 Mbit/s
_SMALL = 7.0  # from then on the screen sends small updates (too small to time)
_LATE = 0.058  # the viewer reads this late from the drop on (load 8)


def _drop(cc: CongestionControl, seconds: float, *, theirs: float = 0.0,
          small_from: float = _SMALL) -> tuple[Run, list[tuple[float, float]]]:  # fmt: skip
    """Drag frames of up to 30 kB, then (``small_from``) updates of at most
    2.5 kB; ``theirs``: someone else's upload keeps that long queued from
    the drop on. Returns the run and, when ``shared`` was learnt, (time,
    rate) just after."""
    clock = [0.0]
    shared: list[tuple[float, float]] = []
    sent, receipt = cc.sent, cc.receipt

    def sending(n: int, now: float) -> int:
        clock[0] = now
        return sent(n, now)

    def noting(seq: int, now: float, *args: float) -> float:
        rtt = receipt(seq, now, *args)
        if cc.shared and not shared:
            shared.append((now, cc.rate))
        return rtt

    cc.sent, cc.receipt = sending, noting  # type: ignore[method-assign]

    def size(c: CongestionControl) -> int:
        n = max(200, int(c.target_rate() / 30))
        return min(2_500, n) if clock[0] >= small_from else min(30_000, n)

    run = simulate(
        cc,
        lambda t: 20 * MBIT if t < _DROP else 0.5 * MBIT,
        seconds,
        tick=1 / 30,
        size=size,
        offset=lambda t: _LATE if t >= _DROP else 0.0,
        ahead=lambda t: theirs if t >= _DROP else 0.0,
    )
    return run, shared


def test_a_drained_queue_of_ours_is_not_learnt_as_someone_elses() -> None:
    """Expected: nothing learnt as shared, and the target after the drop
    never over twice the 0.5 Mbit/s link. Main learnt the late reader's
    0.08 s as their floor 4.5 s after the drop (after the one cut, the first
    update sent after it) and targeted 9.3 Mbit/s."""
    cc = CongestionControl()
    run, shared = _drop(cc, 16.0)
    assert not shared, shared
    assert max(run.target_at(_DROP + 2.0, 16.0)) <= 1.0 * MBIT


def test_their_share_starts_from_the_link_our_own_queue_timed() -> None:
    """Someone else's upload (0.5 s queued) starts as the link drops. Our
    own queue drains after the cut and the spans under it time the slow
    link. Expected: the share, once learnt, starts at no more than the 0.5
    Mbit/s link, and our updates wait at most 0.15 s beyond their queue
    from 12 s on. Main started it at half the fast link's 20 Mbit/s and
    queued 11 s of ours."""
    cc = CongestionControl()
    run, shared = _drop(cc, 16.0, theirs=0.5, small_from=100.0)
    assert shared, "their queue never learnt"
    assert shared[0][1] <= 0.5 * MBIT, shared[0][1] * 8
    assert run.queue_after(12.0) <= 0.5 + 0.15
