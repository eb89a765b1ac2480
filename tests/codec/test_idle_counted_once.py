"""Refinement's extra credit is the link time no update used, counted once
(video47).

Found (video46, traced; video47): quality.controller's ``_idle`` took the
time since the last update past one interval, less the backlog left *after*
``_drain`` had taken that same time off it: the link time that carried a
big update counted as idle again. On a link that is never idle (the host
sends the next update once at most 1/30 s of data waits, as the flow
control does), each update's refinement was then as big as the one before
it: 2-4 budgets an update at 1 and 2 Mbit/s, and a film beside it (its
pictures wait behind those updates) fell to 6 pictures a second at 2 Mbit/s.
Now refinement takes more than the budget only when the link carried all
that was pending (a host too busy to send as often as the link lets it).

Modelled on an injected clock (deterministic): the synthetic video
scene's still desktop (the first picture all stills, then refined), each
update its bytes' time on the link, the next encoded once at most one
interval of data waits ahead.
"""

from __future__ import annotations

import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.encoder import ScreenEncoder

pytest.importorskip("av")

W, H = 960, 540
INTERVAL = 1 / 30


@pytest.mark.parametrize("rate", [1_000_000, 2_000_000])
def test_updates_on_a_busy_link_refine_a_budget_not_the_link_time_again(rate: int) -> None:
    frame = SyntheticDesktop(W, H, scenario="video", seed=0, fps=30).frame_at(0)
    enc = ScreenEncoder(W, H, threads=1, video=False, lossy=True, history=True)
    enc.set_rate(rate, interval=INTERVAL)
    q = enc.quality
    assert q is not None and q.budget is not None
    now = free = 0.0
    sizes: list[int] = []
    while now < 3.0:
        now = max(now, free - INTERVAL)  # at most an interval of data ahead
        size = len(enc.encode(frame.copy(), now=now))
        free = max(free, now) + size * 8 / rate
        sizes.append(size)
        if not q.map:
            break
        now += INTERVAL
    assert len(sizes) > 10, "the first picture was not refined over several updates"
    # The link was never idle: each update refines what its budget leaves,
    # a refinement round's overshoot over it at most (``_PRICE_SLACK``).
    over = [round(s / q.budget, 2) for s in sizes[1:] if s > 1.5 * q.budget]
    assert not over, f"updates of {over} budgets on a busy link ({len(sizes)} updates)"
    enc.close()


@pytest.mark.parametrize("rate", [4_000_000])
def test_updates_sent_once_the_last_receipt_is_back_refine_only_the_idle_time(rate: int) -> None:
    """Found (lag53): with a flow control that sends the next update only once
    the last one's receipt is back, nothing was pending at any update, and
    the whole gap since the last (its link time and the round trip) counted
    as idle: every update refined ``delta_picture`` of the link (60-68 kB
    at 4 Mbit/s, here 3.7-4.5 budgets), and a key typed meanwhile waited behind
    one and rode in the next (typing's lag p95 205-303 ms over 4 Mbit/s,
    40 ms). Only the round trip is idle link time: an update takes its
    budget and that, a round of refinement's overshoot at most."""
    rtt = 0.04
    frame = SyntheticDesktop(W, H, scenario="video", seed=0, fps=30).frame_at(0)
    enc = ScreenEncoder(W, H, threads=1, video=False, lossy=True, history=True)
    enc.set_rate(rate, interval=INTERVAL)
    q = enc.quality
    assert q is not None and q.budget is not None
    now = 0.0
    sizes: list[int] = []
    while now < 3.0:
        size = len(enc.encode(frame.copy(), now=now))
        sizes.append(size)
        if not q.map:
            break
        # The next update once this one went through the link and its
        # receipt came back (and an interval passed at least).
        now += max(INTERVAL, size * 8 / rate + rtt)
    assert len(sizes) > 3, "the first picture was not refined over several updates"
    idle = q.budget + rate * rtt / 8
    over = [round(s / idle, 2) for s in sizes[1:] if s > 1.5 * idle]
    assert not over, f"updates of {over} x (budget + a round trip) ({len(sizes)} updates)"
    enc.close()
