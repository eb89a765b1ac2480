"""A viewer that reads every update late and whole for longer than the base
window (found by flowb43; fixed in flowc43, ``_time_span``).

A starved viewer that starts reading each update 90 ms after its first byte
came reads the small ones whole: their first byte looks 90 ms late and their
span is nothing, and ``_time_span`` leaves them out of the rate. After
``base_window`` (10 s) the empty path's delay is the late one, so the same
updates no longer looked late, their spans were clamped to ``_MIN_BUSY`` and
the link looked 2 Gbit/s fast (before the fix: at 19 s the target ran to 173
Mbit/s and 3.2 s of our own queue built on a 4 Mbit/s link). Their round
trip, on the host's clock, stays 90 ms over the least the session saw: still
read whole, still left out.
"""

from __future__ import annotations

from screencodec.transport.session.flow import CongestionControl

from .test_flow import MBIT, simulate


def test_a_viewer_reading_late_for_longer_than_the_base_window_is_no_fast_link() -> None:
    cc = CongestionControl()
    run = simulate(
        cc, lambda t: 4 * MBIT, 24.0, tick=1 / 30, offset=lambda t: 0.09 if t > 9.0 else 0.0
    )
    assert run.queue_after(12.0) <= 0.15
    assert max(run.target_at(12.0, 24.0)) <= 4 * MBIT
    # and the link is still used: the estimate held, not talked down
    assert run.throughput(12.0, 24.0) >= 0.8 * 4 * MBIT
