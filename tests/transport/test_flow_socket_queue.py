"""The host's own socket is not the bottleneck's queue (flowc43).

Under a loss-based TCP (reno; cubic alike at these rates) each loss halves
the window, and the bytes the host wrote at the old rate wait in its own
socket: an update's first byte is late at the viewer by that long, which
the stamps alone took for a queue at the bottleneck (flowa43: the cuts left
over reno at 2 % loss, the session at 39-44 % of what reno carries). The
host reads what waits in its socket (``TCP_INFO``: ``SocketBound.ahead``)
and says so with each update; that part of its delay is not queueing, and
the socket's bound (no update written while what waits would take over
``queue_target`` to leave), not the backoff, answers it. A pure model on
``test_flow``'s send loop: a 4 Mbit/s link behind a socket that lets out 3
Mbit/s, halved for 0.2-0.3 s after each loss.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from screencodec.transport.session.flow import CongestionControl

from .test_flow import MBIT, simulate


def _halved(every: float, low: float) -> Callable[[float], float]:
    return lambda t: 1.5 * MBIT if t % every < low else 3 * MBIT


@pytest.mark.parametrize(("every", "low"), [(0.5, 0.2), (1.0, 0.3)])
def test_a_wait_in_our_own_socket_is_no_cut(every: float, low: float) -> None:
    # Untold (main's controller, measured here): 3 and 10 cuts in 12 s.
    cc = CongestionControl()
    run = simulate(cc, lambda t: 4 * MBIT, 12.0, tick=1 / 30, socket=_halved(every, low))
    assert cc.congestion_events == 0
    assert run.throughput(2.0, 12.0) >= 2.2 * MBIT
    assert run.queue_after(2.0) <= 1 / 30 + 0.01  # what waits is the socket's, bounded


def test_a_queue_beyond_the_socket_is_still_cut() -> None:
    """Told what waits in its socket, the controller still sees the
    bottleneck's own queue: the link beyond it steps 4 -> 1 Mbit/s."""
    cc = CongestionControl()
    link = lambda t: 4 * MBIT if t < 4 else 1 * MBIT  # noqa: E731
    run = simulate(cc, link, 12.0, tick=1 / 30, socket=_halved(1.0, 0.3))
    assert cc.congestion_events >= 1
    assert max(run.target_at(8.0, 12.0)) <= 1.0 * MBIT
    assert run.queue_after(8.0) <= 0.15
