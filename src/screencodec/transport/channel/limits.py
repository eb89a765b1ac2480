"""Limits of the sealed transport: sizes, timeouts and per-address attempt limits.

Every number an attacker could otherwise push on lives here, so a reviewer sees
the whole budget in one place.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from screencodec.transport.channel.base import MAX_MESSAGE_SIZE

__all__ = [
    "AEAD_TAG_SIZE",
    "DEFAULT_MAX_PIXELS",
    "HANDSHAKE_FRAME_MAX",
    "IDLE",
    "MAX_FAILED_ATTEMPTS",
    "MAX_RECORD_BODY",
    "AttemptLimiter",
    "Timeouts",
]

#: Password checks a session allows without spacing (typos); after that the
#: throttle spaces them out (see :class:`~.throttle.ThrottlePolicy`, whose
#: ``free`` this is). Nothing invalidates a password any more.
MAX_FAILED_ATTEMPTS = 3

#: Poly1305 / GCM tag length appended to every sealed record.
AEAD_TAG_SIZE = 16

#: The most pixels a host's picture may have, by default (a viewer's
#: ``max_pixels``; here, not in session/viewer.py, for ``view --help``): an 8K screen
#: (7680x4320, 33.2 M), three 4K side by side (11520x2160, 24.9 M), two 6K
#: (12032x3384, 40.7 M) and three 5K (15360x2880, 44.2 M) fit; 16384x16384,
#: which the wire allows, is 268 M (1 GiB of framebuffer, twice with hashes).
#: At this limit a framebuffer is 192 MB.
DEFAULT_MAX_PIXELS = 48_000_000

#: Largest sealed-record body (ciphertext + tag, after the frame's type byte),
#: so no record can open to more than MAX_MESSAGE_SIZE bytes. The length
#: prefix is checked against this before a byte of the body is read.
MAX_RECORD_BODY = MAX_MESSAGE_SIZE + AEAD_TAG_SIZE

#: :attr:`Timeouts.idle` by default (s): three keepalive periods, so a late
#: keepalive is not taken for a peer gone. The test suite shortens it for a
#: host it starts (a test that waits for a stopped viewer's link to be
#: closed) with $SCREENCODEC_TEST_IDLE (tests only).
IDLE = float(os.environ.get("SCREENCODEC_TEST_IDLE", "45"))

#: Largest handshake or relay-control frame. Hello, SPAKE2 and confirmation
#: messages are tens of bytes; anything near this is garbage.
HANDSHAKE_FRAME_MAX = 1024


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Time limits, in seconds. ``None`` disables a limit.

    ``handshake``: hello + PAKE + key confirmation must finish within this
    (the viewer's whole handshake; the host's check once a guess is admitted).
    ``preauth``: the host gives a connection this long to send its hello and
    commit to a guess (its PAKE message); a parked connection is dropped.
    ``idle``: a secure channel that receives nothing (not even a keepalive) for
    this long is closed; the peer has vanished.
    ``keepalive``: a channel that has sent nothing for this long sends a sealed
    keepalive, so relays and the peer's idle timer see a live link.
    ``probe``: a viewer's channel that has received nothing for this long
    while it reads asks the host for an answer at once (a sealed keepalive
    with a body, channel/sealed.py), and once as it opens: a live host is
    heard from within a round trip of it, however quiet its screen. Hosts
    only answer (an earlier version ignores the probe, as any keepalive).
    ``unanswered``: a viewer's channel whose host has answered a probe
    (so a live one is heard from within a round trip of ``probe`` seconds
    of silence), whose session can resume (its viewer holds a ticket:
    ``SecureChannel.mark_resumable``) and that has heard nothing for this
    long is closed as silent, the link lost, instead of after ``idle``: a Wi-Fi gone without a
    reset is then resumed within seconds. With a host that never answered
    (an earlier version), ``idle`` still applies; with ``idle`` None,
    neither does.
    ``warm``: a viewer's channel that has sent nothing for this long while
    it reads sends a sealed keepalive saying so (:data:`~.sealed.HERE`), and
    one as its first read begins: its host hears a present viewer at least this often,
    however still the screen and whatever the host sends (a pointer moving
    on a still screen, a long keyframe: nothing the viewer answers), and can
    tell its user within seconds that the viewer's link went silent
    (``SecureChannel.keeps_warm``; cli/host_events.py). Hosts never send it.
    ``cold``: a host's channel whose viewer said it keeps the link warm,
    whose session can resume (the host issued it a ticket:
    ``SecureChannel.mark_resumable``) and that has heard nothing for this
    long is closed as silent, the link lost, instead of after ``idle``: the
    session is parked for its agent's retry within seconds of an agent gone
    for good (a lid closed, a Wi-Fi gone without a reset), not 45 s. Five
    times ``warm``: the longest wait for a warm viewer's byte measured at a
    host is 3.2 s, beside 4 CPU hogs (load 12; docs/transport.md,
    scripts/warm_gaps.py). A viewer only stalled this long (a
    program stopped, a link held) comes back to a parked session and resumes
    it unasked. With a viewer that never said so (an earlier version),
    ``idle`` still applies; with ``idle`` None, neither does.
    ``max_duration``: a channel is closed this long after it opened, whatever
    happens on it.
    ``linger``: an orderly close reads on (discarding) until the peer closes
    too, for at most this long after the peer last took any of our bytes (a
    slow peer still reading what was queued before the close is waited for,
    up to channel/sealed.CLOSE_CAP); see SecureChannel.close.
    """

    handshake: float | None = 10.0
    idle: float | None = IDLE
    keepalive: float | None = 15.0
    max_duration: float | None = None
    preauth: float | None = 5.0
    linger: float | None = 2.0
    probe: float | None = 2.0
    unanswered: float | None = 10.0
    warm: float | None = 3.0
    cold: float | None = 15.0


class AttemptLimiter:
    """A sliding-window limit of attempts per source address.

    ``try_acquire(addr)`` records one attempt and says whether it is allowed:
    at most ``limit`` attempts per ``window`` seconds per address. Refused
    attempts are not recorded, so a blocked address is let in again once its
    oldest allowed attempts age out.

    Memory is bounded: at most ``max_tracked`` addresses are remembered; past
    that the least recently seen ones are forgotten (an attacker with that many
    addresses is past what a per-address limit can stop anyway).

    Not thread-safe: used from one event loop, where each call runs to the end
    without yielding.
    """

    __slots__ = ("_clock", "_hits", "limit", "max_tracked", "window")

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        *,
        max_tracked: int = 65536,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be >= 1 and window > 0")
        self.limit = limit
        self.window = window
        self.max_tracked = max_tracked
        self._clock = clock
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def try_acquire(self, addr: str) -> bool:
        """Record an attempt from ``addr``; False if it is over the limit."""
        now = self._clock()
        hits = self._hits.get(addr)
        if hits is None:
            hits = deque()
            self._hits[addr] = hits
            while len(self._hits) > self.max_tracked:
                self._hits.popitem(last=False)
        else:
            self._hits.move_to_end(addr)
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True

    def remaining(self, addr: str) -> int:
        """How many attempts ``addr`` has left in the current window."""
        now = self._clock()
        hits = self._hits.get(addr, ())
        return self.limit - sum(1 for t in hits if t > now - self.window)
