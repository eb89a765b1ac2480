"""Per-viewer congestion control: measure the bottleneck, keep its queue short.

A remote-support host sits behind the customer's uplink, typically 1-10
Mbit/s with a deep modem buffer. Filling that buffer is what makes a session
lag by seconds, so this controller is delay-based (in the spirit of WebRTC's
GCC and TCP Vegas) and measures the bottleneck's rate directly (like BBR):

* **Stamps.** Every update is stamped when sent (host clock). A receipt from
  the viewer carries when the update's last byte arrived (viewer clock; any
  offset), how long its bytes took to arrive from the first to the last (its
  *span*), and how long the viewer held it before answering (decoding).
* **Bottleneck rate.** An update's bytes cross the bottleneck back to back, so
  its span is its size over the bottleneck's rate (a packet train), whatever
  the propagation delay and whether or not the link was full. The updates of
  the last ``rate_window`` seconds large enough to time give the link's rate:
  the bytes-weighted median of their rates when there are enough of them
  (a few spans the viewer timed badly are stragglers, see ``_median_rate``),
  else their bytes over their spans. The estimate follows a link that frees
  up within one window, with no probing needed. While no queue shows it
  holds at what the last two long trains timed (``_hold_to_long_trains``).
* **Queueing delay.** ``arrived - span - sent`` is the first byte's one-way
  delay plus a constant clock offset; its minimum over ``base_window`` seconds
  is the empty path, and what an update took beyond that is queueing.
* **Viewers that only ack** (version 0.1) give no stamps: the ack time stands
  in for the arrival, the rate is what was delivered over the window, and the
  target probes ``probe`` above it while the queue stays empty.
* **Target rate** = ``headroom`` x estimate x ``backoff``. ``backoff`` drops by
  ``decrease`` when the smoothed queueing delay passes ``max_queue_delay``
  (someone else is using the uplink, or the estimate ran ahead) and recovers
  towards 1 while the queue stays empty. The level must have been over the
  threshold for ``persist`` seconds of sends too: a CPU stall delays an
  update or two and falls back, a queue stays. And of arrivals: a TCP
  retransmit stall releases the updates behind a lost segment at once.
* **Receipts are the viewer's word.** Spans that claim far more than the
  receipts deliver under a queue are not believed again: the viewer is
  timed as one that only acks (:class:`.receipt_bound.SpanDoubt`).
* **Our own retransmits.** An update answered after the host's TCP
  retransmitted, and sent before that or within a round trip after, may
  have waited behind the lost segment or gone out in the window a loss-based
  TCP halved: its span is not the link's, nor its delay up to what a hole
  can hold (:mod:`.retransmits`; the send loop feeds the count).
* **Late readers.** A viewer whose process is starved reads its updates late,
  which adds a standing offset to every arrival stamp: over the threshold,
  but no queue. Its updates are found waiting, read in a fraction of their
  time on the link, where a queue's still cross it back to back. While most
  updates the delay holds over the threshold were read so, and the delay
  does not grow (its slope, as in WebRTC's GCC: :mod:`.delay_trend`), it is
  cut once and watched: a queue drains or grows after the cut; an offset
  does neither, and its level is learnt as ``standing``, no longer counted
  as queueing (nor as round trip, for what may be in flight).
* **Someone else's queue.** A bulk upload through the same bottleneck keeps
  the shared buffer full whatever we do: a level that stays over the
  threshold after two cuts, not growing, and is over three times what our
  own bytes in flight could make, is learnt as ``standing`` too
  (``shared``); after one, if the updates sent after it saw it so
  (:mod:`.cut_effect`), and a queue that drained after it is not: the rate
  is then what was delivered, as behind their bytes a span times our turns,
  not the link (:meth:`CongestionControl._share_rate`), from half the link
  timed before their queue came, or under a queue of ours that drained.
* **Pacing.** The controller predicts when the bottleneck will have sent what
  is queued (``link_free_at``). A tick may send only when at most
  ``queue_target`` seconds of data would wait ahead of it, fewer than
  ``window`` updates await their receipt and the bytes unanswered, less what
  the link has moved of them (:meth:`CongestionControl.unanswered`), are
  under :meth:`CongestionControl.max_in_flight`. Otherwise the tick is
  skipped: nothing is encoded or queued; the
  encoder still holds what the viewer has, so the next update covers it all.

State is owned by one viewer's send loop and receive loop on one event loop
(no locking). Receipts are cumulative; one for an update never sent is a
ProtocolError. Times are seconds; rates are bytes per second.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass

from screencodec.errors import ProtocolError

from .cut_effect import CutEffect
from .delay_trend import DelayTrend
from .receipt_bound import SpanDoubt
from .retransmits import Retransmits

__all__ = ["CongestionControl", "FlowConfig"]

_SEGMENT = 1448  #: the first TCP segment arrives with the header: not in the span
_MIN_BUSY = 50e-6  #: clamp: clock jitter can make a busy time vanish
_FAST_BYTES = 64 * 1024
_MEDIAN_SAMPLES = 5  #: trains a window needs before their median is the rate
_MEDIAN_BYTES = 2 * _SEGMENT  #: a train timed for the median: two segments or more
_MIN_SPAN = 200e-6  #: a shorter span was most likely read all at once
#: A short span whose first byte looks this much later than the empty
#: path's was read late, after the whole update came: on a link fast enough
#: to move it in under ``_MIN_SPAN`` it would not be (no queue assumed).
_LATE_WHOLE = 0.002
_NEVER = -1e9  #: a time before any other
_POLL = 0.002  #: the least wait while the link moves what is unanswered
_LONG_SPAN = 0.050  #: a train this long on the link times it within a few per cent
_LONG_KEEP = 5.0  #: ... and holds the rate up for this long while no queue shows
#: Under a queue (twice ``max_queue_delay``: a stall of the viewer or the
#: machine lifts the smoothed delay to 31-49 ms, traced in steady video
#: under load), the last trains timed under this share of the window's rate:
#: the link slowed, and the window's older trains are forgotten.
_SLOWED = 0.7
#: A flat queue after this many cuts, over ``_OTHERS`` times what our own
#: bytes in flight could make, is someone else's (``_others_floor``).
_OTHERS_CUTS = 2
_OTHERS = 3.0
_FAIR = 0.5  #: shared: the share of the link timed before to start from
#: shared: delivered this share of the headroom's rate or more, the rate
#: grows by ``_SHARE_GROWS`` a second
_FILLED = 0.8
_RECOVERED = 0.95  #: shared: the share grows only with the backoff this high
_SHARE_GROWS = 0.08
#: shared: the delay over their floor is a queue of ours to cut when its
#: slope is over this (seconds a second), or its smoothed level over
#: ``_SHARED_MOST`` (``_ours_grows``)
_SHARED_GROWS = 0.05
_SHARED_MOST = 0.15
#: shared: their queue drained when the floor fell under this share of the
#: one learnt (a viewer reading late under load held it at 0.08-0.09 s after
#: a 0.52 s upload stopped, traced: shared and 0.3 Mbit/s until the end);
#: under half, as a loss-based sender's cut (Reno halves its window) leaves
#: about half its queue
_DRAINED = 0.25
_WINDOW_GROWS = 4  #: ``updates_in_flight`` grows at most this many times ``window``
#: The most a lost segment of ours holds an update back (its round trip over
#: the least): its retransmit a round trip and a reordering wait later, or
#: the 200 ms least RTO (traced 100-175 ms at 40 ms). An update a retransmit
#: touched that took longer was held by a queue too: its delay counts.
_HOLE_MOST = 0.25


@dataclass(frozen=True, slots=True)
class FlowConfig:
    """Tuning of :class:`CongestionControl`. Times in seconds, rates in bytes/s."""

    window: int = 8  #: updates in flight at most
    initial_rate: float = 250_000.0  #: 2 Mbit/s until the link has been timed
    max_queue_delay: float = 0.030  #: smoothed queueing delay that counts as congestion
    queue_target: float = 1 / 30  #: at most this much data waits ahead of a new update
    headroom: float = 0.9  #: target this share of the measured rate
    decrease: float = 0.85  #: backoff factor per congestion event
    recover: float = 0.5  #: backoff regained per second while the queue is empty
    rate_window: float = 1.0  #: updates this recent make the rate estimate
    base_window: float = 10.0  #: the empty-path delay is the minimum over this long
    min_busy: float = 0.004  #: span time needed before a window's rate counts
    probe: float = 1.25  #: ack-only viewers: target this much above the delivered rate
    #: a delay over ``max_queue_delay`` is a queue that grows when it rises
    #: faster than this (seconds a second: we send this share more than the
    #: link leaves us); the slope's noise in real sessions was under 0.11 (p99)
    growth: float = 0.25
    #: a delay over ``max_queue_delay`` that neither grows nor drains for this
    #: long after one cut is an offset (a viewer reading late), not a queue
    learn: float = 0.5
    #: after that cut, a delay rising or falling faster than this (seconds a
    #: second) is a queue, growing or draining however slowly: not learnt
    drain: float = 0.03
    #: a cut needs the first-byte delay over ``max_queue_delay`` for the
    #: updates sent over this long (two at least): a CPU stall is shorter
    persist: float = 0.05

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError("window must be >= 1")
        if self.initial_rate <= 0 or not 0 < self.headroom <= 1 or not 0 < self.decrease < 1:
            raise ValueError("rates and factors must be positive (headroom, decrease <= 1)")


@dataclass(slots=True)
class _Sent:
    """An update on its way: when it went, its size."""

    at: float
    size: int
    ahead: int = 0  #: our bytes in flight when it was sent: the most of ours it waits behind


def _median_rate(samples: deque[tuple[float, int, float]], total: int, busy: float) -> float:
    """The link's rate from the window's samples (time, bytes, span).

    A span is timed by the viewer's reads. A viewer busy when an update's
    last byte came (decoding, or sharing its process with other work)
    stretches that span; one busy when its first byte came shrinks it, to
    nothing when the whole update was waiting. Either error is rare but
    large, and summing bytes over spans lets a few stretched spans halve the
    estimate: 1.4-1.9 Mbit/s of a 4 Mbit/s link under video, whose median
    span was within 0.2 ms of its bytes' serialisation. So when the window
    holds enough trains long and slow enough to time (``_MEDIAN_SAMPLES`` of
    at least two segments, each over ``_MIN_SPAN``), the rate is their
    bytes-weighted median, which ignores stragglers of both kinds. With
    fewer, it stays bytes over spans, without the spans read all at once: a
    train of one or two packets, timed under load, was as often 300x too
    fast as too slow (corpus:video at 1 Mbit/s beside a busy loop), and a
    median of a few such went wild. Unless most of the window's bytes came
    in spans that short: then the link is too fast to time (100 Mbit/s), the
    timed spans are its stragglers, and bytes over all spans is the rate (a
    lower bound). Under a queue the caller also caps it by ``_latest_rate``.
    """
    timed = [(n, b) for _, n, b in samples if b >= _MIN_SPAN]
    rates = sorted((n / b, n) for n, b in timed if n >= _MEDIAN_BYTES)
    # ``total`` leaves out updates read whole and late (span 0, see
    # ``_time_span``): their bytes say nothing of the link's speed.
    if 2 * sum(n for n, _ in timed) <= total:
        # Most bytes came in spans too short to time: a fast link (the spans
        # are its serialisation), and the long spans are the stragglers, not
        # the link. Those alone made a 100 Mbit/s link 10 Mbit/s.
        return total / busy  # a lower bound
    if len(rates) < _MEDIAN_SAMPLES:
        return sum(n for n, _ in timed) / sum(b for _, b in timed)
    return _weighted_median(rates)


def _weighted_median(rates: list[tuple[float, int]]) -> float:
    """The bytes-weighted median of sorted (rate, bytes) pairs."""
    half, seen = sum(n for _, n in rates) / 2, 0
    for rate, n in rates:
        seen += n
        if seen >= half:
            return rate
    return rates[-1][0]  # pragma: no cover - the loop always returns


def _latest_rate(samples: deque[tuple[float, int, float]]) -> float | None:
    """The bytes-weighted median of the last ``_MEDIAN_SAMPLES`` trains that
    ``_median_rate`` would time (None: fewer in the window)."""
    latest: list[tuple[float, int]] = []
    for _, n, b in reversed(samples):
        if n >= _MEDIAN_BYTES and b >= _MIN_SPAN:
            latest.append((n / b, n))
            if len(latest) == _MEDIAN_SAMPLES:
                return _weighted_median(sorted(latest))
    return None


class CongestionControl:
    """One viewer's controller. See the module docstring for the model.

    The send loop asks :meth:`delay` how long to wait before it may send,
    :meth:`target_rate` what rate to hold the encoder to, and reports each
    update with :meth:`sent`; the receive loop feeds :meth:`receipt`.
    """

    def __init__(self, config: FlowConfig | None = None) -> None:
        self.config = c = config or FlowConfig()
        self.window = c.window
        self.next_seq = 1
        self.acked = 0
        self.skipped = 0  #: ticks held back by the window or the queue
        self.max_seen_in_flight = 0
        self.srtt: float | None = None  #: smoothed RTT without the viewer's hold time
        self.min_rtt: float | None = None
        self.queue_delay = 0.0  #: smoothed queueing delay at the bottleneck
        self.rate = c.initial_rate  #: measured bottleneck rate
        self.timed_at = _NEVER  #: when an update last timed the link
        self.backoff = 1.0
        self.congestion_events = 0
        self.link_free_at = 0.0
        self._sent: OrderedDict[int, _Sent] = OrderedDict()
        self._owd: deque[tuple[float, float]] = deque()  # (time, one-way delay) for the base
        self._busy: deque[tuple[float, int, float]] = deque()  # (time, bytes, busy seconds)
        self._long: deque[tuple[float, float]] = deque(maxlen=2)  # (time, rate): long trains
        self._last_event = -1e9
        self._last_receipt_at: float | None = None
        self.standing = 0.0  #: a late reader's offset, learnt: not queueing
        self.trend = DelayTrend()
        #: (time, delay over the base, read late: True/False, None: too small to
        #: tell, the most of it our own bytes ahead could make: seconds)
        self._levels: deque[tuple[float, float, bool | None, float]] = deque()
        self._episode_cuts = 0  # cuts since the queue was last near empty
        self._first_cut = CutEffect()  # what the updates sent after the last cut saw
        self._episode_backoff = 1.0  # the backoff before the episode's first cut
        self._episode_peak = 0.0  # the most delay over ``standing`` since it was near empty
        self._peak_own = 0.0  # ... and what our own bytes ahead could make of it
        #: ``standing`` is someone else's queue (``_others_floor``): the rate
        #: is what the link delivered to us, probed upwards
        self.shared = False
        self._share = 0.0  #: the rate while ``shared``
        self._their_floor = 0.0  # the floor learnt as someone else's
        self._clear_rate = c.initial_rate  # the rate when the queue was last near empty
        self._delivered: deque[tuple[float, int]] = deque()  # (time, bytes): every receipt's
        self._standing_since: float | None = None  # a delay over the threshold, not growing
        self._standing_cut = False  # its one cut was made
        self._over_since: float | None = None  # sent time of the first of a run of levels over
        self._over_arrived = 0.0  # ... and its arrival (viewer clock)
        #: the viewer's spans claimed far more than its receipts delivered:
        #: timed as a viewer that only acks from then on (:mod:`.receipt_bound`)
        self.spans_doubt = SpanDoubt()
        #: when the host's own TCP retransmitted (fed by the send loop from
        #: its socket): updates a lost segment held do not time the link, nor
        #: show its queue up to what a hole can hold (:mod:`.retransmits`)
        self.retransmits = Retransmits()
        self.untimed = 0  #: receipts left out so
        self._untimed_at = _NEVER  # when an update large enough to time was last left out so
        #: the estimate as the spans last timed it, if they did so under a
        #: queue (None: they did not): their claim once the estimate is stale
        self._queued_claim: float | None = None
        #: the estimate is what ``_untimed_queue`` let it fall to (the
        #: receipts' delivered rate) and no span has timed the link since
        self._fell = False
        #: at this receipt the window's spans were too short to time the
        #: link (under ``min_busy`` in all): at least this fast, they say
        self._short_claim: float | None = None

    # -- the send side -----------------------------------------------------

    @property
    def in_flight(self) -> int:
        return len(self._sent)

    @property
    def bytes_in_flight(self) -> int:
        return sum(s.size for s in self._sent.values())

    def target_rate(self) -> float:
        """Bytes per second the next updates should hold to."""
        return self.config.headroom * self.rate * self.backoff

    def delay(self, now: float) -> float:
        """Seconds until an update may be sent (0: now). ``inf`` while the
        window is full or the bytes unanswered are over :meth:`max_in_flight`
        until a receipt comes; while they are over only until the link has
        moved them (:meth:`unanswered`), the time that takes at least (the
        caller asks again then: a send loop that slept until a receipt or
        250 ms left a 1 Mbit/s link idle 110-120 ms after a Page Down)."""
        ahead = max(0.0, self.link_free_at - now - self.config.queue_target)
        if len(self._sent) >= self.updates_in_flight():
            return float("inf")
        if self._sent:
            unanswered = self.unanswered(now)
            over = unanswered - self.max_in_flight()
            if over >= 0:
                credit = self.bytes_in_flight - unanswered  # given already
                if self._credit_cap() - credit <= over:
                    return float("inf")  # only a receipt can make room
                return max(ahead, over / self.target_rate(), _POLL)
        return ahead

    def updates_in_flight(self) -> int:
        """Updates awaiting their receipt at most: ``window``, more while a
        ``standing`` level is learnt (someone else's queue, or a late
        reader's offset), in proportion to the round trip it adds, at most
        ``_WINDOW_GROWS`` times (the bytes stay under :meth:`max_in_flight`).
        With 8 updates per 0.6 s round trip behind an upload's queue, a
        session sent 13 updates a second, 0.8 Mbit/s of its 1.8 target in
        the model."""
        if not self.standing:
            return self.window
        rtt = (self.min_rtt if self.min_rtt is not None else 0.1) + 2 * self.config.queue_target
        return int(self.window * min(_WINDOW_GROWS, 1 + self.standing / rtt))

    def max_in_flight(self) -> float:
        """Bytes unanswered at most (one more update may always go when none
        is): a round trip at the target rate plus the queue allowed, so a rate
        that runs ahead of the link cannot fill its buffer before the first
        receipts correct it."""
        # A late reader's receipts come ``standing`` later without a queue.
        rtt = (self.min_rtt if self.min_rtt is not None else 0.1) + self.standing
        return self.target_rate() * (rtt + 2 * self.config.queue_target) + 2 * _SEGMENT

    def unanswered(self, now: float) -> float:
        """Bytes in flight that the link may not have delivered yet: all that
        awaits a receipt, less what the link has moved of it at the target
        rate (in the order sent, from when each went) a round trip ago. An
        update's receipt covers it whole, so its bytes, unlike TCP's, are
        answered only with its last. Without that credit an update over
        :meth:`max_in_flight` held the next until its receipt came: at 1
        Mbit/s and 100 ms a 30 kB Page Down left the link idle 110-180 ms (a
        round trip and the viewer's decode) after its last byte.

        The credit is one update's size at most, so a rate that runs ahead
        of the link queues one update more; and it is given only at a rate
        the viewer's stamps timed, with no queue showing (an initial guess 40
        times the link, or a link that just slowed, queued 0.2-1.1 s more in
        the model with it)."""
        held = float(self.bytes_in_flight)
        most = self._credit_cap()
        if not most:
            return held
        rate = self.target_rate()
        rtt = (self.min_rtt if self.min_rtt is not None else 0.1) + self.standing
        answered_by = now - rtt  # a byte the link moved before this is answered by now
        moved, free = 0.0, _NEVER
        for rec in self._sent.values():
            start = max(free, rec.at)
            free = start + rec.size / rate
            if free > answered_by:
                moved += max(0.0, answered_by - start) * rate
                break
            moved += rec.size
        return held - min(moved, most)

    def _credit_cap(self) -> float:
        """The most :meth:`unanswered` may take off for bytes the link moved
        (0: none is given now)."""
        if not self._sent or self.timed_at <= _NEVER or self.congested():
            return 0.0
        return float(max(rec.size for rec in self._sent.values()))

    def stale(self, now: float) -> bool:
        """No update large enough to time the link arrived for a rate window."""
        return now - self.timed_at > self.config.rate_window

    def congested(self) -> bool:
        return self.queue_delay > self.config.max_queue_delay

    def skip(self) -> None:
        """A tick found the link busy: count it (nothing else changes)."""
        self.skipped += 1

    def sent(self, size: int, now: float) -> int:
        """Record one update of ``size`` bytes sent now; returns its sequence number."""
        if len(self._sent) >= self.updates_in_flight():
            raise RuntimeError("window is full")  # a bug in the caller, not the peer
        seq = self.next_seq
        self.next_seq = (seq + 1) & 0xFFFFFFFF or 1
        self._sent[seq] = _Sent(now, size, self.bytes_in_flight)
        self.max_seen_in_flight = max(self.max_seen_in_flight, len(self._sent))
        self.link_free_at = max(self.link_free_at, now) + size / self.target_rate()
        return seq

    # -- the receive side --------------------------------------------------

    def receipt(
        self,
        seq: int,
        now: float,
        arrived: float | None = None,
        held: float = 0.0,
        span: float | None = None,
    ) -> float:
        """Process a cumulative receipt for ``seq``, received at ``now``.

        ``arrived`` is when the update's last byte reached the viewer, on the
        viewer's clock, ``span`` how long its bytes took from first to last,
        and ``held`` how long the viewer kept it before answering (a viewer that
        only acks gives none of these). Returns the RTT without ``held``.
        """
        if seq not in self._sent:
            if seq == self.acked:
                return self.srtt or 0.0  # duplicate: harmless
            raise ProtocolError(f"receipt for update {seq}, which is not in flight")
        full = self._held_back(now)
        acked: list[_Sent] = []
        while self._sent:
            s, rec = self._sent.popitem(last=False)
            acked.append(rec)
            if s == seq:
                break
        self.acked = seq
        last = acked[-1]
        self._delivered.extend((now, r.size) for r in acked)
        while self._delivered and self._delivered[0][0] < now - self.config.rate_window:
            self._delivered.popleft()
        held = min(max(held, 0.0), max(0.0, now - last.at))
        rtt = max(0.0, now - last.at - held)
        self.srtt = rtt if self.srtt is None else 0.875 * self.srtt + 0.125 * rtt
        self.min_rtt = rtt if self.min_rtt is None else min(self.min_rtt, rtt)
        if self.spans_doubt.doubted:
            held = 0.0  # the viewer's word too: the round trip keeps its decode
        if arrived is not None and span is not None and not self.spans_doubt.doubted:
            self._short_claim = None  # said by this receipt's spans only
            # It may have waited behind a lost segment of ours, or gone out in
            # the round trip after its retransmit, while reno's window was
            # halved: its span is the loss's, not the link's (traced under
            # reno at 2 %: the estimate fell to a tenth of the link).
            # Replaying a recorded run, a window from the send on only (no
            # round trip before) held the median target at 1.68 Mbit/s, not
            # 2.0 (bulk TCP: 1.7-2.0).
            untimed = self.retransmits.since(last.at - self.min_rtt)
            self.untimed += untimed
            if untimed and last.size > 2 * _SEGMENT:
                self._untimed_at = now
            if not untimed or rtt - self.min_rtt > _HOLE_MOST:
                # Over what a hole can hold it, its delay is a queue's too
                # (under a queue of seconds every update sees a retransmit).
                self._time_span(last, arrived, max(0.0, span), now, rtt - self.min_rtt,
                                untimed=untimed)  # fmt: skip
            self._untimed_queue(now)
            self._check_spans(now, full, sum(r.size for r in acked))
        else:
            self._time_acks(acked, now - held, now)
        self._last_receipt_at = now
        # What is still unanswered is all that can be queued: the link frees
        # no later than that drains at the target rate. Without this, a join
        # keyframe paced at the initial guess of the rate held every later
        # update back for seconds, even on loopback.
        self.link_free_at = min(self.link_free_at, now + self.bytes_in_flight / self.target_rate())
        return rtt

    def _held_back(self, now: float) -> bool:
        """The window or the bytes in flight hold the next update back."""
        if len(self._sent) >= self.updates_in_flight():
            return True
        return bool(self._sent) and self.unanswered(now) >= self.max_in_flight()

    def _untimed_queue(self, now: float) -> None:
        """A queue shows and no span timed the link for a rate window, our
        retransmits having left the updates that could out: the estimate is
        what was timed before the queue came, and nothing corrects it. What
        the receipts deliver under a queue is the path's rate (GCC's
        acknowledged rate): the estimate falls to it. Kept, a drop from 20
        to 0.5 Mbit/s behind a spurious retransmit (loopback, load 8) held
        18 Mbit/s for 2 s: the target 28 times the link, and the stale rate
        was taken for the viewer's claim (CI, stop 45). Updates too small to
        time (typing) leave it alone: what they deliver is not the link's.
        It falls to no more than the span check's own delivered rate (or its
        floor), so a stale estimate is not taken for the viewer's claim."""
        c = self.config
        if self.shared or not self.stale(now) or now - self._untimed_at > c.rate_window:
            return
        if not self._levels or self._levels[-1][1] - self.standing <= c.max_queue_delay:
            return
        # The span check's (the last few seconds': receipts 1.6 s apart, 100
        # kB updates queued at 0.5 Mbit/s), and the last rate window's once
        # it holds half a window of receipts.
        delivered = self.spans_doubt.delivered(now)
        if self._delivered and self._delivered[0][0] <= now - c.rate_window / 2:
            recent = sum(n for _, n in self._delivered) / c.rate_window
            delivered = recent if delivered is None else min(delivered, recent)
        if delivered is not None and max(delivered, c.initial_rate / 8) < self.rate:
            self.rate = max(delivered, c.initial_rate / 8)
            self._fell = True

    def _check_spans(self, now: float, full: bool, acked: int) -> None:
        """Spans that claim far more than the receipts deliver under a queue
        (:class:`.receipt_bound.SpanDoubt`): from now on the viewer is timed
        by its acks, on the host's clock, as a viewer that sends no stamps.
        The empty path's round trip starts from the least seen and the
        rate from what was delivered; the bytes in flight, held under
        :meth:`max_in_flight` at that rate, let the queue drain first."""
        c = self.config
        doubt = self.spans_doubt
        over = (self.queue_delay + self.standing) / c.max_queue_delay
        # Stale (our retransmits left the spans untimed), the estimate may
        # have fallen to what is delivered (``_untimed_queue``): the spans'
        # claim is what they last timed, if they timed it under a queue.
        # Timed with none, it is no claim about this queue: an honest viewer
        # whose fast link dropped behind a retransmit was doubted for it.
        claimed = self.rate
        if self.stale(now) and self._queued_claim is not None:
            claimed = self._queued_claim
        elif self._fell and self._short_claim is not None:
            # The estimate is what the receipts delivered (``_untimed_queue``),
            # not the viewer's word, and its spans since were too short to
            # time the link: they say it is at least this fast. Taken for
            # the fall, the lie's run was reset, the queue drained, the lie
            # regrew the rate to 151 Mbit/s and 430 kB filled it again
            # (flake48b, traced: 2 of 24 lying runs at load 14-22).
            claimed = max(claimed, self._short_claim)
        if not doubt.check(now, acked, claimed=claimed, over=over, full=full,
                           window=c.rate_window):  # fmt: skip
            return
        self._owd.clear()
        self._busy.clear()
        self._long.clear()
        self.standing, self.shared, self.queue_delay = 0.0, False, 0.0
        if self.min_rtt is not None:
            self._owd.append((now, self.min_rtt))
        self.rate = max(doubt.delivered(now) or 0.0, c.initial_rate / 8)

    def _base(self, first_owd: float, now: float) -> float:
        """Record a first-byte one-way delay; returns the empty path's."""
        while self._owd and self._owd[0][0] < now - self.config.base_window:
            self._owd.popleft()
        while self._owd and self._owd[-1][1] >= first_owd:  # monotonic: min in front
            self._owd.pop()
        self._owd.append((now, first_owd))
        return self._owd[0][1]

    def _time_span(self, rec: _Sent, arrived: float, span: float, now: float,
                   slower: float = 0.0, *, untimed: bool = False) -> None:  # fmt: skip
        """Time the link by an update's span (``slower``: its round trip over
        the least seen, host clock; ``untimed``: a retransmit may have
        stretched it, and its delay counts, but not its span)."""
        c = self.config
        first_owd = arrived - span - rec.at
        base = self._base(first_owd, now)
        if rec.size > 2 * _SEGMENT and not untimed:
            # Waiting whole when the viewer read it, and read after its last
            # byte came: nothing was timed, and it is no sign of a fast link
            # either (span 0: left out). Its first byte looks that late, or
            # its round trip is over the least: a link that moved it in under
            # ``_MIN_SPAN`` adds nothing to either. The round trip's least is
            # the session's, on the host's clock: the empty path's delay is
            # the least of ``base_window``, and a viewer reading every update
            # 90 ms late for longer made the late delay the empty path's;
            # its updates no longer looked late and their zero spans timed
            # the link at 2 Gbit/s (a target of 173 Mbit/s on 4, the model).
            late_read = first_owd - base > _LATE_WHOLE or slower > _LATE_WHOLE
            whole = span < _MIN_SPAN and late_read
            self._busy.append((now, rec.size - _SEGMENT, 0.0 if whole else max(_MIN_BUSY, span)))
            self.timed_at = now
        while self._busy and self._busy[0][0] < now - c.rate_window:
            self._busy.popleft()
        busy = sum(b for _, _, b in self._busy)
        timed = sum(n for _, n, b in self._busy if b)
        # What the spans say even when too short to time: their bytes came in
        # under ``min_busy`` (a liar's, 20-35 kB in 0.3 ms, always do).
        self._short_claim = timed / c.min_busy if timed and busy < c.min_busy else None
        # Enough time to measure, or so many bytes in so little time that the
        # link is clearly fast (loopback, a LAN): either way the rate counts.
        if busy >= c.min_busy:
            self._fell = False
            self.rate = _median_rate(self._busy, timed, busy)
            latest = _latest_rate(self._busy) if self.congested() else None
            if latest is not None:
                # A queue: the link may have slowed, and the window's median
                # follows only once the slow trains hold half its bytes (0.8 s
                # after 4 -> 1 Mbit/s, the queue waiting). The last few trains
                # follow at once; one the viewer stretched (a stall, which also
                # looks like a queue) is outvoted, as summed spans would not be.
                if latest < _SLOWED * self.rate and self.queue_delay >= 2 * c.max_queue_delay:
                    self._forget_older_trains()
                self.rate = min(self.rate, latest)
        elif timed >= _FAST_BYTES:
            self.rate = timed / c.min_busy  # a lower bound: too fast to time
        elif timed and first_owd - base <= c.max_queue_delay:
            # Too little to time, but a lower bound all the same: the link
            # moved these bytes in under min_busy. Without it a probe (one
            # update a second) on a link that came back fast never counted,
            # and the target stayed at the slow link's for as long as the
            # screen sent only small updates. A viewer that read the record
            # late also reports a short span, but then a late first byte too
            # (a queue): not taken then, and at most doubling per window.
            self.rate = max(self.rate, min(timed / c.min_busy, 2 * self.rate))
        self._hold_to_long_trains(rec.size, 0.0 if untimed else span, first_owd - base, now)
        if self.shared:
            self._share_rate(now)
        late: bool | None = None
        if rec.size > 2 * _SEGMENT and not untimed:
            # A queue delays an update's bytes but they still cross the link
            # back to back; a viewer that reads late finds them waiting and
            # reads them in a fraction of their time on the link.
            late = span < 0.5 * (rec.size - _SEGMENT) / self.rate
        own = rec.ahead / self.rate
        if late is not None:  # it timed the link: the spans' claim, and whether under a queue
            queued = first_owd - base - self.standing > c.max_queue_delay
            self._queued_claim = self.rate if queued else None
        self._stamped_sample(first_owd - base, late, rec.at, now, own, arrived=arrived)

    def _share_rate(self, now: float) -> None:
        """Behind someone else's full queue our bytes are let in between
        theirs: a span times our turns, not the link (traced behind a bulk
        upload: 2 kB updates at 0.01-0.4 Mbit/s, 12 kB ones at 5.5 on a 4
        Mbit/s link), and the estimate swung 0.3-5.5 Mbit/s. So the rate is
        what was delivered over ``rate_window``, from half what the link
        timed before (``_FAIR``), grown ``_SHARE_GROWS`` a second while we
        send what it lets us and no queue of ours builds over the learnt
        floor; the delay over ``standing`` still cuts the backoff."""
        c = self.config
        ripe = self._delivered and self._delivered[0][0] <= now - c.rate_window / 2
        if ripe and not self._ours_grows():
            delivered = sum(n for _, n in self._delivered) / c.rate_window
            self._share = max(self._share, delivered)
            # Grown only while the backoff has recovered and the share is
            # delivered: grown under the backoff's sawtooth, it ran past the
            # link's share (0.17 s over their floor in the model).
            # The target, not the share: the bytes in flight are capped at a
            # round trip of the target (``max_in_flight``), and the round trip
            # over their floor is longer than the one it counts, so 0.8 of
            # the target was all that could be delivered (1.3-1.45 Mbit/s
            # of a 1.67 target, traced): measured against the share, the
            # share never grew.
            filled = self.backoff >= _RECOVERED and delivered >= _FILLED * self.target_rate()
            if filled and self._last_receipt_at is not None:
                # Sending what it is let: ask for more, slowly (as GCC's 8 %
                # a second: the queue shows it a round trip of 0.6 s later;
                # at the backoff's 50 % a second it ran to 1.8x the share).
                dt = min(now - self._last_receipt_at, 0.25)
                self._share *= 1 + _SHARE_GROWS * dt
        self.rate = self._share  # under a queue of ours: held, the backoff cuts

    def _forget_older_trains(self) -> None:
        """The link slowed (a step down, or someone else's upload): keep
        only the window's samples from the last ``_MEDIAN_SAMPLES`` timed
        trains on; the older ones timed another link. As in WebRTC's GCC,
        whose decrease starts from the rate acknowledged now, not from the
        old estimate. Kept, they brought the old rate back the moment the
        queue had drained and the cap above stopped: traced at 4 -> 1
        Mbit/s, 0.73 s after the step the window's median was 3.9 Mbit/s
        again and four 10 kB updates queued 300 ms more."""
        seen = 0
        for k in range(len(self._busy) - 1, -1, -1):
            _, n, b = self._busy[k]
            if n >= _MEDIAN_BYTES and b >= _MIN_SPAN:
                seen += 1
                if seen == _MEDIAN_SAMPLES:
                    for _ in range(k):
                        self._busy.popleft()
                    return

    def _hold_to_long_trains(self, size: int, span: float, level: float, now: float) -> None:
        """Keep the rate at least at what the last two long trains timed
        (``_LONG_SPAN`` or more on the link: a few ms of a late read is a few
        per cent) while no queue shows. Between a Page Down's frames at 1
        Mbit/s the window holds the refinement's 3-6 kB updates, whose spans
        a viewer sharing its CPU stretches (their rates p10 513 kbit/s, the
        long trains' 1,000): the median sank to 690-840 kbit/s and the next
        frame was paced a quarter slower than the link.

        A train whose first byte looks late (``level``, over the empty path)
        may have been read late, its span short (too fast): not taken. A
        queue forgets them all: the link may have slowed, or they ran ahead
        of it, and kept they would hold the rate up again once it drained."""
        if self.congested():
            self._long.clear()
            return
        if size > 2 * _SEGMENT and span >= _LONG_SPAN and level <= self.config.max_queue_delay:
            self._long.append((now, (size - _SEGMENT) / span))
        while self._long and self._long[0][0] < now - _LONG_KEEP:
            self._long.popleft()
        if len(self._long) == self._long.maxlen:
            self.rate = max(self.rate, min(r for _, r in self._long))

    def _time_acks(self, acked: list[_Sent], arrival: float, now: float) -> None:
        """Without stamps the serialisation of an update cannot be told from
        queueing: the round trip over its minimum, less a frame, is the signal,
        and the rate is what the window delivered, probed upwards while the
        round trip stays near its minimum."""
        c = self.config
        rtt = arrival - acked[-1].at
        base = self._base(rtt, now)
        for r in acked:
            self._busy.append((now, r.size, 0.0))
        while self._busy and self._busy[0][0] < now - c.rate_window:
            self._busy.popleft()
        self._queue_sample(rtt - base - c.queue_target, now)
        if self._busy[0][0] <= now - c.rate_window / 2:
            # What was delivered bounds the link from below only: a sender with
            # little to send (typing) must not talk the estimate down. It falls
            # to what was delivered when the queue shows congestion.
            delivered = sum(n for _, n, _ in self._busy) / c.rate_window
            if self.congested():
                self.rate = max(delivered, c.initial_rate / 8)
            else:
                self.rate = max(self.rate, delivered * c.probe)

    def _queue_sample(self, queued: float, now: float) -> None:
        """Ack-only viewers: a queueing delay over the threshold is a queue."""
        self.queue_delay = 0.7 * self.queue_delay + 0.3 * max(0.0, queued)
        if self.queue_delay > self.config.max_queue_delay:
            self._cut(now)
        elif self.queue_delay < self.config.max_queue_delay / 3:
            self._recover(now)

    def _stamped_sample(self, level: float, late: bool | None, sent_at: float, now: float,
                        own: float = 0.0, *, arrived: float | None = None) -> None:  # fmt: skip
        """A first byte's one-way delay over the empty path's (``level``);
        ``late``: the update was read in under half its time on the link
        (None: too small to tell).

        Over ``max_queue_delay`` (after ``standing``) it is a queue, cut once
        a round trip as before, unless most updates of the last ``learn``
        seconds that it delayed were read late and it does not grow (the slope of
        :class:`.delay_trend.DelayTrend`). Then it is cut once and watched
        for ``learn`` seconds: a queue drains (the backoff holds until it
        has) or grows (cut again, watched again); a delay that does neither
        is a viewer reading late, and its level is learnt as ``standing``
        (the level falls back with the viewer: the least level seen). Under
        the threshold nothing changed. Before, every delay over it was a
        queue: a viewer reading 150 ms late took the backoff to its floor
        (0.05) and a 4 Mbit/s link ran at 0.1-1.8 Mbit/s.
        """
        c = self.config
        self.standing = min(self.standing, max(0.0, level))
        if self.shared and self.standing <= max(c.max_queue_delay, _DRAINED * self._their_floor):
            # Their queue drained: the spans time the link again, and those
            # of the window timed our turns (kept, the estimate was 0.18-0.38
            # Mbit/s of a 4 Mbit/s link after the upload stopped). Back to
            # the rate timed before the queue came; a link that slowed
            # meanwhile queues again and the cap by the last trains follows.
            self.shared = False
            self._busy.clear()
            self.rate = self._clear_rate
        while self._levels and self._levels[0][0] < now - c.learn:
            self._levels.popleft()
        self._levels.append((now, level, late, own))
        self._first_cut.add(sent_at, level, own, now)
        self.queue_delay = 0.7 * self.queue_delay + 0.3 * max(0.0, level - self.standing)
        self.trend.add(sent_at, level)
        growth = self.trend.growth()
        self._drained(level - self.standing, own)
        # A queue delays the updates after it too and stays; a busy host or
        # viewer delays the updates of a stall, then the level falls back
        # (traced at 4 Mbit/s: single updates 30-95 ms late among 0-20 ms,
        # and runs of two sent 5-35 ms apart, as many read whole as timed:
        # on main 5 cuts in 11 s at load 6.9). So, as GCC's over-use detector
        # (over-use for a time and two samples), a cut needs the levels over
        # the threshold for ``persist`` seconds of sends: a growing queue is
        # cut that much later, a stall shorter than that not at all. And of
        # arrivals (``arrived``, the last byte's, viewer clock): a lost TCP
        # segment holds the updates sent behind it in the viewer's kernel
        # until its retransmit, and they are released together (loss42:
        # one update stretched 67-157 ms, the 2-3 behind it read at one
        # instant, 50-100 ms late); a queue's cross the link one after another.
        if level - self.standing <= c.max_queue_delay:
            self._over_since = None
        elif self._over_since is None:
            self._over_since, self._over_arrived = sent_at, arrived or 0.0
        persisted = self._over_since is not None and sent_at - self._over_since >= c.persist
        if persisted and arrived is not None:
            persisted = arrived - self._over_arrived >= c.persist
        if self.queue_delay > c.max_queue_delay and not persisted:
            return  # maybe a stall: wait for the next (no cut, no recovery)
        if self.queue_delay > c.max_queue_delay:
            if growth is None or growth > c.growth or not self._read_late():
                # A queue: it grows, or its updates cross the link at its
                # rate as a queue's do (or too few updates to tell): cut once
                # a round trip as before. Held at one cut while browser
                # updates (bursts of 50-200 ms on the link) queued behind
                # each other, the lag p95 was 1.3-2.6x.
                self._standing_since = None
                # After one cut the updates sent after it tell (their own
                # slope, not the window's: behind 0.52 s of their bytes at 5
                # frames a second the jump to it was the median slope, 0.62).
                if self._episode_cuts == 1 and self._others_floor(now):
                    return
                if growth is None or growth > c.growth or not self._others_floor(now):
                    self._cut(now)
                return
            if self._standing_since is None:
                self._standing_since, self._standing_cut = now, False
            if not self._standing_cut:
                self._standing_cut = self._cut(now)
            elif now - max(self._standing_since, self._last_event) < c.learn:
                pass  # watching what the cut does
            elif growth < -c.drain:
                pass  # draining: hold until it has
            elif growth <= c.drain and not self._told_late() and self._others_floor(now):
                # No update it delayed was large enough to show a late read
                # (the target cut to 2 kB updates): a flat floor after the
                # cuts, over what our bytes could make, is someone else's
                # queue, not a late reader's offset. Learnt as an offset,
                # the rate stayed what the spans timed behind their bytes
                # (our turns): 0.17-0.9 Mbit/s of 4 for the whole upload.
                self._standing_since = None
            elif growth <= c.drain:
                self.standing = max(0.0, min(lv for _, lv, _, _ in self._levels))
                self.queue_delay = 0.0
                self._standing_since = None
            else:
                self._cut(now)  # still growing, slowly: cut again, watch again
        elif self.queue_delay < c.max_queue_delay / 3:
            self._standing_since = None
            self._episode_cuts = 0
            self._episode_peak = self._peak_own = 0.0
            if not self.shared:
                self._clear_rate = self.rate
            self._recover(now)

    def _drained(self, over: float, own: float) -> None:
        """A queue that fell to under half its peak in the episode, a peak
        our own bytes ahead could make most of, was ours (someone else's does
        not drain whatever we do; a stall of the viewer lifts a level, not
        our bytes ahead): the link carried our bytes, and the rate timed
        under it is the link's now. Someone else's share starts from half of
        it at most, not from half of what was timed before the queue came: a
        link that dropped from 20 to 0.5 Mbit/s as an upload began had it
        start at 10 Mbit/s, 11 s of ours queued (the model, cross46;
        test_flow_drained_queue)."""
        if over > self._episode_peak:
            self._episode_peak, self._peak_own = over, own
        if self.shared or 2 * self._peak_own < self._episode_peak:
            return
        if self.config.max_queue_delay < over < self._episode_peak / 2:
            self._clear_rate = min(self._clear_rate, self.rate)

    def _others_floor(self, now: float) -> bool:
        """A queue whose updates crossed the link at its rate (not read late)
        and that does not grow: is it someone else's? True: no cut now (held
        while watching, or its floor learnt as ``standing``).

        A loss-based upload through the same bottleneck (a bulk TCP sender)
        keeps the shared FIFO full whatever we do: cut every round trip, the
        session fell to the backoff's floor, 271-517 kbit/s of a 4 Mbit/s
        link, and lagged 1.2-2.0 s (step42), the queue no emptier. As Copa's
        competitive mode and GCC's adaptive threshold do, a queue that stays
        flat after ``_OTHERS_CUTS`` cuts and ``learn`` seconds is taken as the
        path's, if our own bytes cannot make it: its floor (the least level
        of the last ``learn`` seconds) is over ``_OTHERS`` times what the
        bytes we had in flight when each update was sent take at the
        estimated rate. Ours after two cuts drains (the target is 0.65 of
        the link), or, held exactly full by the window with a rate that ran
        ahead of the link, stands within about twice its bytes' time (the
        model's steady cross traffic): cut as before. When the upload stops,
        its queue drains and ``standing`` falls with the level (the least
        seen), so the controller keeps its own queue empty again."""
        c = self.config
        if not self._episode_cuts:
            return False
        floor = min(lv for _, lv, _, _ in self._levels)
        own = max(o for _, _, _, o in self._levels)
        if self._episode_cuts < _OTHERS_CUTS:
            # One cut: a queue that makes the round trip over twice the empty
            # path's is waited on until an update sent after the cut is
            # answered (a second cut before that is blind), and if that still
            # waited the floor, not owing it to our bytes, it is theirs
            # (:mod:`.cut_effect`). A shorter one waits out a second cut as
            # before: a round trip costs little there, and a flat 80 ms queue
            # with one update in flight is no one's in particular.
            first = self._first_cut
            if self.min_rtt is None or floor - self.standing <= self.min_rtt:
                return False
            if not first.shown:
                return True
            seen = first.unmoved(c.max_queue_delay)
            if seen is None:
                return False
            floor, own = seen
        elif self._first_cut.drained(c.max_queue_delay):
            return False  # the last cut drained a queue: ours (:mod:`.cut_effect`)
        if floor - self.standing <= c.max_queue_delay or floor <= _OTHERS * own:
            return False  # ours, or may be: cut as before
        if now - self._last_event < c.learn:
            return True  # watching what the last cut does
        self.standing = floor
        self.queue_delay = 0.0
        self._episode_cuts = 0
        self._their_floor = floor
        if not self.shared:
            self.shared = True
            # The episode's cuts were for their queue, which no cut drains:
            # the share starts from the backoff before them (kept, 0.5-0.6
            # after three cuts, a 1.7 Mbit/s share was targeted at 0.85,
            # traced live).
            self.backoff = max(self.backoff, self._episode_backoff)
            delivered = sum(n for _, n in self._delivered) / c.rate_window
            # Half the link timed before the queue came: a fair share to
            # start from (the delivered rate, cut to the floor, was 0.27
            # Mbit/s and grew 10 % a second in the model).
            self._share = self.rate = max(delivered, _FAIR * self._clear_rate, c.initial_rate / 8)
        return True

    def _told_late(self) -> bool:
        """Was any update of the last ``learn`` seconds that was delayed over
        ``max_queue_delay`` large enough to tell whether it was read late?"""
        over = self.standing + self.config.max_queue_delay
        return any(late is not None for _, lv, late, _ in self._levels if lv > over)

    def _read_late(self) -> bool:
        """Were most updates of the last ``learn`` seconds that were delayed
        over ``max_queue_delay`` read late (all too small to tell: yes)? A
        queue delays an update's bytes, but they still cross the link back to
        back. A standing queue of our own making (the window holding the link
        exactly full) is as flat as a late reader's offset and a cut can
        leave it so; learnt, it grew by a step each time (0.04 -> 0.18 s in
        the model with cross traffic)."""
        over = self.standing + self.config.max_queue_delay
        told = [late for _, lv, late, _ in self._levels if late is not None and lv > over]
        return 2 * sum(told) >= len(told)

    def _cut(self, now: float) -> bool:
        """Back off, once a round trip (the queue needs that long to show a
        cut); True if it did."""
        c = self.config
        if now - self._last_event <= (self.srtt or 0.0) + c.max_queue_delay:
            return False
        if self.shared and not self._ours_grows():
            return False
        if not self._episode_cuts:
            self._episode_backoff = self.backoff
        self.backoff = max(0.05, self.backoff * c.decrease)
        if self.shared and self._delivered:
            # As GCC, from what was delivered (at backoff 1 the target is
            # ``decrease`` of it), not from a share grown past it: kept, it
            # ran to 1.3x the link's share, 0.16 s over their floor (model).
            # At most ``decrease`` of the share a cut: the window's delivered
            # rate held a viewer's stall and the round trip before the cut
            # (traced: 1.97 -> 1.23 -> 0.56 -> 0.30 Mbit/s in three cuts).
            delivered = sum(n for _, n in self._delivered) / c.rate_window
            least = max(c.decrease * self._share, c.initial_rate / 8)
            self._share = max(min(self._share, delivered / c.headroom), least)
        self.congestion_events += 1
        self._first_cut.cut(now, min((lv for _, lv, _, _ in self._levels), default=0.0))
        self._episode_cuts += 1
        self._last_event = now
        return True

    def _ours_grows(self) -> bool:
        """Shared: is the delay over their floor a queue of ours that grows
        (or stands too long to wait out)? Behind a full FIFO our bytes are let
        in at our turns, so a burst of ours (a 13-26 kB drag frame) waits a
        while and a viewer that reads late stamps a few updates late at once:
        the delay over the floor rose 0.07-0.27 s every 0.7-1.3 s and fell
        back within a few updates (traced, drag 4M,40ms --cross). Each was
        cut, and each cut took the share back to what was delivered: 0.5-0.7
        Mbit/s of the 2 the link would give (cross42). So, as GCC's detector
        (over-use is a trend, not a level), while shared only a delay whose
        slope rises over ``_SHARED_GROWS`` (sending more than our turns let
        in) or whose smoothed level passes ``_SHARED_MOST`` is cut."""
        growth = self.trend.growth()
        return (growth is not None and growth > _SHARED_GROWS) or self.queue_delay > _SHARED_MOST

    def _recover(self, now: float) -> None:
        if self._last_receipt_at is not None:
            dt = min(now - self._last_receipt_at, 0.25)
            self.backoff = min(1.0, self.backoff + self.config.recover * dt)
