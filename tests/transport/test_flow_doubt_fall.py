"""A lying viewer is not let off the doubt by the estimate our own retransmits let fall.

review42's liar (every update's span 0.3 ms: a link of hundreds of Mbit/s)
failed test_review42_forged_receipts 2 of 24 runs at load 14-22 (flake48b,
traced): the lie filled the 1 Mbit/s uplink's queue, and the host's TCP
retransmitted (loopback under load), so the receipts under the queue were
left untimed (:mod:`.retransmits`). The estimate went stale and
``_untimed_queue`` let it fall to what the receipts delivered (0.59 Mbit/s),
which :class:`.receipt_bound.SpanDoubt` then took for the viewer's claim: not
8 times what was delivered, the doubt's run reset. The receipts after the
retransmits were timed, but their spans (20-35 kB in 0.3 ms, under
``min_busy``) timed nothing: the fallen estimate stood as the claim until the
queue drained, then the lie doubled it each receipt (1.2, 2.4, 4.7 Mbit/s)
and made it 151; 430 kB filled the queue again, 3.8 s to drain.

Driven by a scripted FIFO (no sockets): 50 kB updates five times a second,
as a CPU-bound host encodes them, through a 0.6 Mbit/s link with a 256 kB
buffer (what does not fit waits in the host's socket, which holds the next
update: :class:`.receipt_bound.SocketBound`); the host retransmits every 0.2 s
for 1.7 s while the lie's queue stands.
"""

from __future__ import annotations

import pytest

from screencodec.transport.session.flow import CongestionControl

from .test_flow_doubt_retransmits import FAST, SLOW
from .test_flow_doubt_retransmits import _session as _slow_session

OWD = 0.040
OFFSET = 700.0  # the viewer's clock, anywhere
SEGMENT = 1448
LINK = 0.6e6 / 8
BUFFER = 256_000  # the modem's
SIZE = 50_000  # the most an update is (the encoder's frame at a lie's budget)
EVERY = 0.2  # the host encodes five frames a second
LIE = 0.0003  # review42's LyingViewer: every update's last byte 0.3 ms after its first


def _session(cc: CongestionControl, seconds: float, retransmits: list[float],
             *, lying: bool) -> list[tuple[float, float]]:  # fmt: skip
    """Run the FIFO for ``seconds``; the host's retransmit count rises at the
    times ``retransmits`` gives. Returns (sent, how long its first byte
    waited in the queue) for each update."""
    queued: list[tuple[float, float]] = []
    flight: list[tuple[int, float, float]] = []  # (seq, first byte's arrival, last's)
    rises = sorted(retransmits)
    free = now = next_frame = 0.0
    count = 0
    while now < seconds:
        while rises and rises[0] <= now:
            rises.pop(0)
            count += 1
        cc.retransmits.observe(count, now)
        while flight and flight[0][2] + OWD <= now:
            seq, first, last = flight.pop(0)
            span = LIE if lying else last - first
            # The first byte's time is true (it shows the queue), the last's is the span's.
            cc.receipt(seq, last + OWD, first + span + OFFSET, 0.0, span)
        backlog = max(0.0, free - now - OWD) * LINK
        if now >= next_frame and backlog <= BUFFER and cc.delay(now) == 0.0:
            size = int(max(4_000, min(SIZE, cc.target_rate() * EVERY)))
            seq = cc.sent(size, now)
            begin = max(free, now + OWD)
            queued.append((now, begin - now - OWD))
            free = begin + size / LINK
            flight.append((seq, begin + SEGMENT / LINK, free))
            next_frame = now + EVERY
        now += 0.005
    return queued


def _after_drained(queued: list[tuple[float, float]]) -> tuple[float, float]:
    """The most the queue held before it first drained (under 0.1 s after
    holding over 1 s), and the most it held after."""
    peak, drained = 0.0, None
    for t, q in queued:
        peak = max(peak, q)
        if peak > 1.0 and q < 0.1:
            drained = t
            break
    assert drained is not None, f"the lie's queue did not fill and drain (peak {peak:.2f} s)"
    return peak, max(q for t, q in queued if t > drained)


@pytest.mark.parametrize("start", [0.8, 1.6])
def test_a_lie_under_a_fall_our_retransmits_caused_is_doubted(start: float) -> None:
    """Expected: doubted, and once the lie's first queue drained it does not
    fill again (under 0.5 s; measured 0.08-0.19 s, doubted 1.0-1.1 s after
    the drain). Before, the fallen estimate taken for the viewer's claim:
    doubted 1.6-1.8 s after the drain, the queue full again (0.92-1.05 s)."""
    cc = CongestionControl()
    rises = [start + EVERY * k for k in range(9)]
    peak, again = _after_drained(_session(cc, 12.0, rises, lying=True))
    assert peak > 1.0  # the lie filled the queue once
    assert cc.spans_doubt.doubted
    assert again < 0.5, f"the queue filled again: {again:.2f} s"


@pytest.mark.parametrize("start", [0.8, 1.6])
def test_an_honest_viewer_under_the_same_retransmits_is_believed(start: float) -> None:
    """The same session with true spans: never doubted, no queue to speak of."""
    cc = CongestionControl()
    rises = [start + EVERY * k for k in range(9)]
    queued = _session(cc, 12.0, rises, lying=False)
    assert not cc.spans_doubt.doubted
    assert max(q for _, q in queued) < 0.5


@pytest.mark.parametrize("most", [4_000, 8_000, 30_000])
def test_an_honest_link_back_fast_right_after_the_fall_is_believed(most: int) -> None:
    """The fallen estimate's claim is what the spans say since, their bytes
    over ``min_busy`` at least: an honest viewer's are at most its link's.
    A 20 Mbit/s link that dropped to 0.5 behind our retransmits (the fall)
    and came back at once: its first updates' spans, too short to time it,
    claim 5-15 Mbit/s while the old queue's delay still shows and 0.5 was
    delivered (as the 20 its spans time a few receipts later would), but
    the window is not full (the receipts do not clock the sends): not
    doubted, nor in 324 such sessions (4-100 kB updates, 0.3-1 Mbit/s drops
    of 1-2.5 s, retransmits every 0.1-0.5 s, the link back at once or
    0.5-1 s later)."""
    cc = CongestionControl()
    state: dict[str, object] = {}
    now = _slow_session(cc, 0.0, 6.0, FAST, state, most=most)
    now = _slow_session(cc, now, now + 1.5, SLOW, state, retransmit_every=0.2, most=most)
    assert cc.rate < 2e6 / 8, cc.rate * 8  # fallen to what was delivered
    now = _slow_session(cc, now, now + 4.0, FAST, state, most=most)
    assert not cc.spans_doubt.doubted
    assert cc.target_rate() > 4e6 / 8, cc.target_rate() * 8
