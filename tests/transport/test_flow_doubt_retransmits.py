"""An honest viewer is not doubted for spans the host itself left untimed.

CI (stop 45) failed test_shaped_session's "the target recovering": traced
at load 8 (1 run in 42), the link dropped 20 -> 0.5 Mbit/s, the host's TCP
retransmitted (loopback under load: a spurious timeout or tail-loss probe)
and :mod:`.retransmits` left every update of the next 2 s untimed; nothing
re-timed the link, the estimate stayed at the fast link's 18 Mbit/s while
the receipts delivered 0.5, and :class:`.receipt_bound.SpanDoubt` took
that stale estimate for the viewer's claim: an honest viewer doubted for
good, timed by its acks from then on, and its target never came back over
1.8 Mbit/s of the 20 the link gave again (the screen did not fill more).

Driven by a scripted FIFO (no sockets): the viewer's spans are true.
"""

from __future__ import annotations

import pytest

from screencodec.transport.session.flow import CongestionControl

OWD = 0.020
OFFSET = 700.0  # the viewer's clock, anywhere
SIZE = 30_000  # a drag frame at a fast link's quality (``size`` below: the most)
FRAME = 1 / 30
SEGMENT = 1448
FAST, SLOW = 20e6 / 8, 0.5e6 / 8


def _session(cc: CongestionControl, start: float, end: float, link: float,
             state: dict[str, object], *, retransmit_every: float = 0.0,
             most: int = SIZE) -> float:  # fmt: skip
    """Updates of ``most`` (or what the target lets in a frame, at least 4 kB)
    every frame while the flow lets them go, through a ``link``-rate FIFO;
    the viewer answers on arrival with true stamps. ``retransmit_every``:
    the host's retransmit count rises that often (0: never)."""
    now = start
    flight: list[tuple[int, float, float]] = state.setdefault("flight", [])  # type: ignore[assignment]
    free = float(state.get("free", 0.0))  # type: ignore[arg-type]
    count = int(state.get("retrans", 0))  # type: ignore[call-overload]
    next_retransmit = start
    while now < end:
        if retransmit_every and now >= next_retransmit:
            count += 1
            next_retransmit = now + retransmit_every
        cc.retransmits.observe(count, now)
        while flight and flight[0][1] + OWD <= now:
            seq, arrived, span = flight.pop(0)
            cc.receipt(seq, arrived + OWD, arrived + OFFSET, 0.0, span)
        if cc.delay(now) == 0.0:
            size = int(max(4_000, min(most, cc.target_rate() * FRAME)))
            seq = cc.sent(size, now)
            begin = max(free, now + OWD)
            free = begin + size / link
            flight.append((seq, free, (size - SEGMENT) / link))
        now += FRAME / 4
    state["free"], state["retrans"] = free, count
    return now


@pytest.mark.parametrize("most", [30_000, 100_000])
def test_spans_left_untimed_by_our_retransmits_are_no_claim(most: int) -> None:
    """Expected: no doubt (the estimate the spans had not timed is not taken
    for their claim), and the rate back over 4 Mbit/s within 3 s of the
    link's return. 100 kB updates: their receipts come 1.6 s apart at 0.5
    Mbit/s (what was delivered is timed over a few of them)."""
    cc = CongestionControl()
    state: dict[str, object] = {}
    now = _session(cc, 0.0, 6.0, FAST, state, most=most)
    assert cc.rate > 10e6 / 8, cc.rate * 8  # the fast link timed
    # The drop: the host retransmits every 0.2 s for the first 2.5 s of it.
    now = _session(cc, now, now + 2.5, SLOW, state, retransmit_every=0.2, most=most)
    now = _session(cc, now, now + 6.0, SLOW, state, most=most)
    assert not cc.spans_doubt.doubted
    assert cc.rate < 1e6 / 8, cc.rate * 8  # the slow link timed
    now = _session(cc, now, now + 3.0, FAST, state, most=most)
    assert cc.target_rate() > 4e6 / 8, cc.target_rate() * 8


def test_a_drop_our_retransmits_left_untimed_is_followed_by_what_is_delivered() -> None:
    """Expected: within 1.5 s of the drop the estimate is under 2 Mbit/s (what
    the receipts deliver, the window full), though no span timed it; main
    held the fast link's estimate, 20 Mbit/s, for as long as retransmits
    came."""
    cc = CongestionControl()
    state: dict[str, object] = {}
    now = _session(cc, 0.0, 6.0, FAST, state)
    now = _session(cc, now, now + 1.5, SLOW, state, retransmit_every=0.2)
    assert cc.untimed > 0
    assert cc.rate < 2e6 / 8, cc.rate * 8
