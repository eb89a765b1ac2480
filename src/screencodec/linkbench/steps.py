"""A link that changes under a session: rate steps, a competing upload, and
what the person at the viewer sees after each.

``screencodec bench --link 4M,40ms --step 5s:1M --step 12s:4M`` drops the
link to 1 Mbit/s five seconds after the source starts and gives it back at
twelve (a Wi-Fi link that falls back and recovers); ``--cross 5s-12s`` runs
a bulk TCP upload through the same bottleneck over that time (someone else
starts an upload): through the proxy (:meth:`.shaper.ShapingProxy.
start_upload`: it keeps the shared queue full, as a loss-based TCP fills a
modem's buffer) or, on a ``tc:`` link, a sender in the namespace (whose own
qdisc pushes back on it locally, so it rarely fills the queue). Steps are :class:`LinkStep`; the
session (:func:`.session.run_session`) carries them out at their time after
the source's first frame, through the proxy's ``set_rate`` or, in a network
namespace, ``tc qdisc change`` (see :mod:`.netns`), and notes when each was
made.

:func:`after_steps` measures, for the first step that lowers the rate (the
*drop*) and the first after it that raises it (the *recovery*):

* ``lag_p95_5s_ms``: the lag p95 of the screen changes of the 5 s after the
  drop (a change never shown counts as lagging until the session's end);
* ``settle_s``: from the drop until the lag stays under 250 ms: the source
  time of the last change, before the recovery, that lagged 250 ms or more,
  less the drop's (0: none did);
* ``regain_s``: from the recovery until the delivered rate (over a sliding
  ``_RATE_WINDOW``) first reaches 80 % of its mean over the 2 s before the
  drop (None: never before the source ended);
* ``during_kbit_s``: what the session delivered from the drop until the
  recovery (its share of a link it shares with an upload);
* ``queue_peak_ms``: the longest a byte read after the drop waited in the
  bottleneck's queue before the link started on it (the proxy's first-byte
  queueing delay; None in a namespace, which has no proxy to time it);
  ``queue_2s_ms``: the same from 2 s after the drop until the recovery (the
  queue the old rate built should have drained by then).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["LinkStep", "after_steps", "drop_and_recovery", "parse_cross", "parse_step"]

LAG_OK = 0.250  #: the lag a demanding user tolerates after a drop
_RATE_WINDOW = 0.5  #: seconds a delivered rate is averaged over
_BEFORE = 2.0  #: the pre-drop rate is the mean over this long before the drop
_AFTER = 5.0  #: the drop's lag p95 covers the changes of this long after it
_DRAINED = 2.0  #: the old rate's queue should have drained this long after the drop


@dataclass(frozen=True, slots=True)
class LinkStep:
    """At ``at`` seconds after the source starts, the link's rate becomes
    ``rate`` bytes/s (both ways, as :meth:`.shaper.ShapingProxy.set_rate`)."""

    at: float
    rate: float


_TIME = r"(\d+(?:\.\d*)?)s"


def parse_step(text: str) -> LinkStep:
    """``5s:1M`` (at 5 s the link runs at 1 Mbit/s); rates as ``--link``'s."""
    from .shaper import _parse_rate  # the one parser of link rates

    m = re.fullmatch(_TIME + r":(.+)", text.strip())
    try:
        rate = _parse_rate(m.group(2)) if m else None
    except ValueError:
        rate = None
    if m is None or rate is None:
        raise ValueError(f"a step looks like 5s:1M (seconds after the start: a rate), not {text!r}")
    return LinkStep(float(m.group(1)), rate)


def parse_cross(text: str) -> tuple[float, float]:
    """``5s-12s``: a bulk upload from 5 s until 12 s after the source starts."""
    m = re.fullmatch(_TIME + "-" + _TIME, text.strip())
    if m is None or float(m.group(2)) <= float(m.group(1)):
        raise ValueError(f"cross traffic looks like 5s-12s (start-stop), not {text!r}")
    return float(m.group(1)), float(m.group(2))


def _rates(deliveries: Sequence[tuple[float, int]], start: float,
           end: float) -> list[tuple[float, float]]:  # fmt: skip
    """(window end, bytes/s over the ``_RATE_WINDOW`` before it) every 50 ms
    from ``start`` to ``end``; ``deliveries`` are (time, bytes so far)."""
    out, t = [], start
    while t <= end:
        out.append((t, (_total_at(deliveries, t) - _total_at(deliveries, t - _RATE_WINDOW))
                    / _RATE_WINDOW))  # fmt: skip
        t += 0.05
    return out


def _total_at(deliveries: Sequence[tuple[float, int]], t: float) -> int:
    total = 0
    for at, n in deliveries:
        if at > t:
            break
        total = n
    return total


def drop_and_recovery(made: Sequence[tuple[float, float]],
                      start_rate: float) -> tuple[float | None, float | None]:  # fmt: skip
    """When the first step that lowered the rate was made, and the first
    after it that raised it; ``made``: (time, rate) per step as carried out,
    ``start_rate``: the rate before them."""
    rate, drop, recovery = start_rate, None, None
    for at, new in made:
        if drop is None and new < rate:
            drop = at
        elif drop is not None and recovery is None and new > rate:
            recovery = at
        rate = new
    return drop, recovery


def after_steps(
    drop: float | None,
    recovery: float | None,
    changes: Sequence[tuple[float, float]],
    deliveries: Sequence[tuple[float, int]],
    queue_delays: Sequence[tuple[float, float]] | None,
    *,
    end: float,
) -> dict[str, float | None]:
    """The figures of the module notes. ``drop``, ``recovery``: when the link
    lost and regained capacity (a rate step, or a competing upload's start
    and end); ``changes``: (source time, lag; ``inf`` never shown) per screen
    change; ``deliveries``: (time, bytes delivered so far) towards the
    viewer; ``queue_delays``: (time, seconds waited) per read of the proxy;
    ``end``: when the source ended. All times on one clock."""
    out: dict[str, float | None] = {"lag_p95_5s_ms": None, "settle_s": None,
                                    "regain_s": None, "queue_peak_ms": None,
                                    "queue_2s_ms": None, "during_kbit_s": None}  # fmt: skip
    if drop is None:
        return out
    until = recovery if recovery is not None else end
    if deliveries and until > drop:
        moved = _total_at(deliveries, until) - _total_at(deliveries, drop)
        out["during_kbit_s"] = moved * 8 / 1000 / (until - drop)
    from .metrics import percentile

    lags = [lag for t, lag in changes if drop <= t < drop + _AFTER]
    # never shown: as late as the session itself
    lags = [min(lag, max(0.0, end - drop + 10.0)) for lag in lags]
    out["lag_p95_5s_ms"] = percentile([x * 1000 for x in lags], 95) if lags else None
    bad = [t for t, lag in changes if drop <= t < until and lag >= LAG_OK]
    out["settle_s"] = max(bad) - drop if bad else 0.0
    if recovery is not None and deliveries:
        before = (_total_at(deliveries, drop) - _total_at(deliveries, drop - _BEFORE)) / _BEFORE
        for t, r in _rates(deliveries, recovery, end):
            if r >= 0.8 * before:
                out["regain_s"] = t - recovery
                break
    if queue_delays is not None:
        after = [d for t, d in queue_delays if t >= drop]
        out["queue_peak_ms"] = max(after) * 1000 if after else 0.0
        late = [d for t, d in queue_delays if drop + _DRAINED <= t < until]
        out["queue_2s_ms"] = max(late) * 1000 if late else None
    return out
