"""What a relay holds for each host it serves: the registration, the viewers
waiting for the host to attach, and the pairs still in their handshake, with
the rules for making room when a code is crowded. The newcomer is never the
one refused; a waiting join is only ever cut by a newer one from its own
address (:meth:`Registration.make_room`), and a handshake only when it has
stalled on its viewer (:meth:`Registration.evict_handshake`)."""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from screencodec.errors import TransportError
from screencodec.transport.relay.splice import PairControl

__all__ = [
    "EndedSessions",
    "EvictedError",
    "HostBack",
    "Pairing",
    "Registration",
    "Settling",
    "ended_for",
]

#: What a waiting viewer receives once the host attached: the host's data
#: stream and an event the viewer's task sets when the pair is over.
Pairing = tuple[asyncio.StreamReader, asyncio.StreamWriter, asyncio.Event]


class EvictedError(TransportError):
    """A waiting viewer cut to make room for a newer one."""


class Settling(asyncio.Event):
    """Set once no registration of a code here awaits its claim any more
    (hosts.py, _claim_here): one for every registration of the code at
    once, counted in :attr:`claims`. Before (review47) each registration
    had its own, and a second one (a stranger with the code and a wrong
    secret, refused CODE_IN_USE at once) took the first's place and removed
    it as it ended: a viewer that came next was told "no such session code"
    while the host's claim was still in progress."""

    def __init__(self) -> None:
        super().__init__()
        self.claims = 0


class HostBack(asyncio.Event):
    """Set when a code registers here again (hosts.py), or its host released
    it: the joins held for its host whose connection was lost (viewers.py,
    _host_back), counted in :attr:`waiting`, look again. One for all the
    joins of a code held at once; removed once none waits."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = 0


@dataclass(eq=False, slots=True)
class Registration:
    """One host's live control connection at this relay.

    ``verifier`` is its claim's (never the secret); ``host_key`` the address
    key of the host's control connection; ``pending`` are viewers waiting for
    the host's data connection (join id, future, address key), oldest first;
    ``handshaking`` the pairs forwarded but not yet past the host's CONFIRM,
    oldest first; ``heard`` when the host last sent a frame. One event loop;
    touched only between awaits.
    """

    code: str
    verifier: bytes
    writer: asyncio.StreamWriter
    host_key: str = ""
    #: When the host last sent a frame on its control connection, or when
    #: that connection ended other than by silence (monotonic).
    heard: float = field(default_factory=time.monotonic)
    pending: list[tuple[bytes, asyncio.Future[Pairing], str]] = field(default_factory=list)
    handshaking: list[PairControl] = field(default_factory=list)
    #: A host data connection was matched to a join of it: the host took
    #: this registration (relay46: not one its race gave up on).
    attached: bool = False

    def make_room(self, key: str, per_address: int) -> bool:
        """Before a join from address key ``key`` waits: if that address
        already has ``per_address`` joins waiting on this code, cut its
        oldest (refused BUSY). True if one was cut.

        Joins from other addresses are never cut, however many addresses
        join: the host is told of every join and attaches each within a
        round trip, so there is no shared room on a code for a crowd to fill,
        and no victim to choose among strangers. (Choosing one, even the
        oldest of the address holding the most, let anyone who knows the
        code cut the agent's join from enough addresses of one join each.)
        What bounds the waiting joins of a code is this cap per address and
        the relay's connection caps per address and in all."""
        mine = [e for e in self.pending if e[2] == key]
        if len(mine) < per_address:
            return False
        victim = mine[0]
        self.pending.remove(victim)
        if not victim[1].done():
            victim[1].set_exception(EvictedError(
                "too many viewers joining at once from this address"))
        return True

    def evict_handshake(self, now: float, grace: float) -> bool:
        """Cut the handshake stalled the longest on its viewer (a parked one
        sent its HELLO and never answers the host's; a real viewer answers
        within a round trip and its PAKE computation). Only one whose viewer
        owes its answer for longer than ``grace`` plus twice the round trip
        it showed (:attr:`PairControl.round_trip`) may be cut: a viewer on
        its way to answering (the real agent, perhaps, on however slow a
        link) is never the victim of a newcomer, however many addresses the
        newcomers come from. A pair whose host CONFIRM has passed is never
        cut. False if none could be.

        The bound: a viewer is safe while each of its answers reaches the
        relay within ``grace`` + 2 x its first round trip (its link's round
        trip may double, with ``grace`` to spare for computing). A viewer
        that delays its HELLO widens its own allowance, up to the
        handshake deadline: it holds its own pair longer, nobody else's."""
        stalled = [c for c in self.handshaking if not c.host_confirmed
                   and c.stalled_since is not None
                   and now - c.stalled_since >= grace + 2 * c.round_trip]
        if not stalled:
            return False
        victim = min(stalled, key=lambda c: c.stalled_since or 0.0)
        self.handshaking.remove(victim)
        victim.stop.set()
        return True


def ended_for(asked: bytes | None, ended: bytes) -> bool:
    """Whether an end of the registration whose pair tag is ``ended`` is the
    end of the session a viewer naming pair tag ``asked`` was in: only an
    end of the registration it names. A viewer that names none (zeros: a
    first join, a process that forgot its tags, an older version) is told of
    no end: it cannot tell its host's end from one by someone who knows only
    the code (after a relay or directory restart, or once its host's claim
    expired, that one can register the code first and release it), so it
    hears UNKNOWN_SESSION, which it retries, and its host, back, resumes it.
    ``asked`` None: not a viewer's question (the operator's, a test's): any end."""
    if asked is None:
        return True
    if not asked.strip(b"\0"):
        return False
    return hmac.compare_digest(asked, ended)


class EndedSessions:
    """The codes whose host ended its registration here by a close: a
    RELAY_RELEASE (its session ended), or its own side closing the control
    connection (its program stopped) and not registering again within
    ``grace`` seconds. A viewer still reconnecting to such a session is told
    it ended (SESSION_ENDED) instead of "no such session", which it retries
    for as long as it may resume (a relay restarting looks like that until
    its hosts register again). Also the codes whose host's connection was
    lost otherwise (a reset, silence: :meth:`lost`), with when the host was
    last heard from, for what a viewer retrying is told
    (:meth:`silent_for`). Remembered ``memory`` seconds (a lost host,
    ``lost_memory``: its resume window, as the cluster keeps it,
    ``Directory.lost``; ``memory`` if None), at most ``most`` codes (the
    oldest forgotten first); a registration of the code forgets it at once.
    One event loop."""

    def __init__(self, grace: float, memory: float, most: int,
                 clock: Callable[[], float] = time.monotonic,
                 lost_memory: float | None = None) -> None:  # fmt: skip
        self._grace, self._memory, self._most = grace, memory, most
        self._lost_memory = memory if lost_memory is None else lost_memory
        self._clock = clock
        #: code -> (from when it counts as ended, None if it does not, until
        #: when it is kept, why, the registration's pair tag, when its host
        #: was last heard from)
        self._ended: dict[str, tuple[float | None, float, str, bytes, float]] = {}

    def ended(self, code: str, why: str, *, released: bool, tag: bytes = b"") -> None:
        """The host of ``code`` ended its registration (whose pair tag is
        ``tag``): at once when it ``released`` the code, else once ``grace``
        has passed."""
        now = self._clock()
        self._keep(code, now if released else now + self._grace, why, tag, now)

    def lost(self, code: str, tag: bytes, heard: float) -> None:
        """The control connection of ``code``'s host (pair tag ``tag``) was
        lost without an end (a reset, silence): the host may come back. It
        was last heard from at ``heard`` (this object's clock)."""
        self._keep(code, None, "", tag, heard, memory=self._lost_memory)

    def _keep(self, code: str, since: float | None, why: str, tag: bytes, heard: float, *,
              memory: float | None = None) -> None:  # fmt: skip
        now = self._clock()
        self._ended.pop(code, None)
        if len(self._ended) >= self._most:
            self._ended = {c: e for c, e in self._ended.items() if e[1] > now}
            while len(self._ended) >= self._most:  # the oldest first (insertion order)
                del self._ended[next(iter(self._ended))]
        until = max(now, since or now) + (self._memory if memory is None else memory)
        self._ended[code] = (since, until, why, tag, heard)

    def registered(self, code: str) -> None:
        """The code is registered (again): its session goes on."""
        self._ended.pop(code, None)

    def _entry(self, code: str, tag: bytes | None,
               ) -> tuple[float | None, float, str, bytes, float] | None:  # fmt: skip
        entry = self._ended.get(code)
        if entry is None:
            return None
        if self._clock() >= entry[1]:
            del self._ended[code]
            return None
        return entry if ended_for(tag, entry[3]) else None

    def why(self, code: str, tag: bytes | None = None) -> str | None:
        """Why ``code``'s session ended, if it did (None: not known to).
        With a viewer's ``tag`` (:func:`~.protocol.pair_tag`, zeros if it
        names none): only an end of the registration it names
        (:func:`ended_for`)."""
        entry = self._entry(code, tag)
        if entry is None or entry[0] is None or self._clock() < entry[0]:
            return None
        return entry[2]

    def has_ended(self, code: str, tag: bytes) -> bool:
        """Whether the registration of pair tag ``tag`` ended ``code``'s
        session by a close (:meth:`ended`), told or still within its grace,
        and nothing registered the code here since."""
        entry = self._entry(code, None)
        return entry is not None and entry[0] is not None and entry[3] == tag

    def ends_in(self, code: str, tag: bytes | None = None) -> float | None:
        """Seconds until ``code``'s session counts as ended by its host's
        own close (:meth:`ended`, not released: within ``grace``); None if
        it does not (its host's connection was lost, it ended already, or
        it is not known). With a viewer's ``tag``: only of the registration
        it names."""
        entry = self._entry(code, tag)
        if entry is None or entry[0] is None:
            return None
        left = entry[0] - self._clock()
        return left if left > 0 else None

    def lost_left(self, code: str, tag: bytes | None = None) -> float | None:
        """Seconds until the loss of ``code``'s host (:meth:`lost`, or its
        own close not yet counted as an end) is forgotten; None if it is
        not known, or its session ended. With a viewer's ``tag``: only of
        the registration it names."""
        entry = self._entry(code, tag)
        if entry is None or self.why(code, tag) is not None:
            return None
        return max(0.0, entry[1] - self._clock())

    def silent_for(self, code: str, tag: bytes | None = None) -> float | None:
        """Seconds since the host of ``code``, whose connection was lost and
        whose session has not ended (yet), was last heard from; None if not
        known. With a viewer's ``tag``: only of the registration it names."""
        entry = self._entry(code, tag)
        if entry is None or self.why(code, tag) is not None:
            return None
        return max(0.0, self._clock() - entry[4])

    def __len__(self) -> int:
        return len(self._ended)
