"""The session directory: which relay holds which session code, and who may
claim it; plus the attempt counters that every relay of a cluster shares.

A *claim* is ``code -> (verifier, relay address)`` with an expiry. The relay
that holds a host's live control connection renews the claim by heartbeat;
when the host's connection is cut, the relay stops renewing and the claim
lives on until it expires. Until then only the holder of the registration
secret (whose hash is the verifier) can take the code again, on any relay of
the cluster; after it expires the code is free.

:class:`MemoryDirectory` is the embedded default (one relay process, nothing
to install); ``redis_directory.RedisDirectory`` shares the same state between
relays. Every operation is a coroutine and may raise
:class:`DirectoryUnavailableError`; a relay treats that as "cannot decide
now", never as "free".
"""

from __future__ import annotations

import abc
import hmac
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum

from screencodec.errors import TransportError
from screencodec.transport.relay.protocol import pair_tag
from screencodec.transport.relay.sessions import ended_for

__all__ = [
    "MEMBERS_MOST",
    "NO_END",
    "ClaimResult",
    "Directory",
    "DirectoryUnavailableError",
    "Holder",
    "MemoryDirectory",
]

#: At most this many members listed (:meth:`Directory.members`).
MEMBERS_MOST = 64

#: :meth:`Directory.recovering_left` of a grace with no end set (an
#: operator's key set by hand, or PERSISTed): recovering, and no end to tell.
#: Before relay49 None, which a viewer's relay read as "not recovering" and
#: said "no such session code" of a code whose host may be coming back.
NO_END = math.inf


class DirectoryUnavailableError(TransportError):
    """The shared directory (Redis) cannot be reached or did not answer in time."""


class ClaimResult(Enum):
    """What :meth:`Directory.claim` did."""

    NEW = "new"  #: the code was free; it is now ours
    RECLAIMED = "reclaimed"  #: the same secret held it: ours again, on this relay
    IN_USE = "in_use"  #: someone else holds it
    #: nobody holds it, but the directory lost its keys a moment ago and the
    #: relays may not have re-created their live hosts' claims yet: ask again
    RECOVERING = "recovering"


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds a code: the relay's advertised ``HOST:PORT``, and the pair
    tag of the registration whose claim it is (protocol.pair_tag; empty if
    not known), so that a relay redirecting a viewer can tell an agent
    coming back to it from anyone else."""

    relay: str
    tag: bytes = b""


class Directory(abc.ABC):
    """The interface a relay needs. Implementations must make :meth:`claim`
    and :meth:`renew` atomic with respect to every relay sharing them."""

    @abc.abstractmethod
    async def claim(self, code: str, verifier: bytes, relay: str, ttl: float, *,
                    mark: bytes = b"") -> ClaimResult:
        """Claim ``code`` for ``relay`` for ``ttl`` seconds, or reclaim it with
        the same verifier (moving it to ``relay``). ``mark`` names this claim
        for :meth:`unclaim` (a relay draws a new one per registration)."""

    @abc.abstractmethod
    async def renew(self, claims: Mapping[str, bytes], relay: str, ttl: float) -> set[str]:
        """Extend the claims ``relay`` holds (``code -> verifier``); a claim that
        vanished (a directory restart) is made again. A claim kept forgets
        that its code's session ended (:meth:`end`), as a claim does: its
        registration is live. Returns the codes that someone else holds now:
        the relay must drop those registrations."""

    async def unclaim(self, code: str, verifier: bytes, relay: str, ttl: float, *,  # noqa: B027
                      mark: bytes = b"") -> None:
        """Give back a claim :meth:`claim` just made for ``relay`` whose
        registration ended before the relay served it (its connection reset
        while the claim awaited the directory: relay44): if the claim still
        names ``relay`` under ``verifier`` and the code's last claim was the
        one made with ``mark``, it goes back to what it replaced (the same
        verifier at another relay: the host moved there) for ``ttl``, or
        away if it replaced nothing. The mark keeps a late unclaim from
        undoing the same host's newer claim at the same relay (it moved
        r2 -> r1 -> r2 meanwhile: review44b). A directory without it leaves
        the claim to the holder's next :meth:`renew`."""

    @abc.abstractmethod
    async def release(self, code: str, verifier: bytes) -> None:
        """Drop a claim, if it is still this verifier's."""

    @abc.abstractmethod
    async def locate(self, code: str) -> Holder | None:
        """Which relay holds ``code``, or None."""

    @abc.abstractmethod
    async def end(self, code: str, verifier: bytes, why: str, ttl: float, *,
                  relay: str | None = None) -> None:
        """The host of ``code`` ended its session (RELAY_RELEASE, or its
        program stopped): drop the claim, if it is still this verifier's
        (and, given ``relay``, still names that relay: an end learnt after a
        grace, when the host may have registered again elsewhere), and
        remember for ``ttl`` seconds that the session ended, and ``why``, for
        every relay (a viewer still reconnecting is told so). Nothing if the
        claim is another's. A claim of the code forgets it."""

    @abc.abstractmethod
    async def ended(self, code: str, tag: bytes | None = None) -> str | None:
        """Why ``code``'s session ended (:meth:`end`), or None. With a viewer's
        ``tag`` (protocol.pair_tag; zeros if it names none), only an end by
        the registration it names (sessions.ended_for); None: any end."""

    async def begin(self, ttl: float) -> float:
        """A relay starts, with claims of ``ttl`` seconds. A directory that
        holds no keys is a new cluster's or one that lost them while other
        relays held live hosts (which nobody can tell apart): it refuses
        new claims for ``ttl`` (:attr:`ClaimResult.RECOVERING`) while those
        relays re-create theirs; so does one that lost its keys later, or
        that no heartbeat reached for longer than a claim goes unrenewed.
        Returns the seconds that grace has left (0.0: claims are made at
        once). This default keeps nothing to lose: 0.0."""
        return 0.0

    async def recovering_left(self) -> float | None:
        """Seconds the grace of :meth:`begin` (or of a later loss) has left,
        after a claim answered :attr:`ClaimResult.RECOVERING`: what the relay
        tells the host it refuses, which retries as it ends. :data:`NO_END`:
        recovering with no end set (the host is told none). None: not
        known (this default: a directory that never recovers), and the host
        is told nothing."""
        return None

    async def lost(self, code: str, verifier: bytes, ago: float, ttl: float, *,  # noqa: B027
                   relay: str) -> None:
        """The control connection of ``code``'s host (its claim's
        ``verifier``) was lost at ``relay`` without an end (a reset,
        silence: the host may come back), and the host was last heard from
        ``ago`` seconds ago: remember it for ``ttl`` seconds (the host's
        resume window), for every relay, under the registration's pair tag
        (:meth:`silent_for`). Nothing unless the claim is still this
        verifier's at ``relay`` or gone: a host that took its code back,
        there or elsewhere, is not lost, and nobody else's registration
        writes under its tag. A claim (or renewal) of the code by this
        verifier forgets it. This default shares nothing."""

    async def silent_for(self, code: str, tag: bytes) -> float | None:
        """Seconds since the host of ``code`` whose registration has pair tag
        ``tag`` (a viewer's: zeros if it names none, then None) was last
        heard from, if a relay lost its connection (:meth:`lost`) and it
        has not taken its code back; None if not known. This default: None."""
        return None

    @abc.abstractmethod
    async def hit(self, key: str, limit: int, window: float, *, weight: int = 1) -> bool:
        """Count ``weight`` attempts under ``key``; False if the window already
        held ``limit`` attempts (fixed windows of ``window`` seconds, shared by
        every relay). Refused attempts count too; ``weight=0`` only looks."""

    @abc.abstractmethod
    async def reset(self, key: str) -> None:
        """Forget the count under ``key``."""

    async def announce(self, relay: str, ttl: float) -> None:  # noqa: B027 - optional
        """``relay`` (its advertised ``HOST:PORT``) serves this directory's
        sessions for ``ttl`` seconds: one of the cluster (:meth:`members`).
        Called at start and at every heartbeat. This default shares nothing."""

    async def members(self) -> list[str]:
        """The advertised ``HOST:PORT`` of the relays announced and not
        expired (:meth:`announce`), at most :data:`MEMBERS_MOST`, in a stable
        order: what a relay tells the viewers it pairs of its cluster (the
        relays they may name their pair tag to). This default: none."""
        return []

    async def log_key(self, mine: bytes) -> bytes:
        """The key of the relays' log tags (``session_tag``), one for every
        relay sharing this directory, so that an operator can follow one
        session across a cluster's logs: ``mine`` if none is set yet (and it
        becomes the one). Asked at start and at every heartbeat, so that a
        directory that lost it has it again. This default shares nothing."""
        return mine

    async def close(self) -> None:  # noqa: B027 - optional for implementations
        """Release connections."""

    def loss_noticed(self) -> bool:
        """Whether a call since this was last asked (an attempt count,
        :meth:`hit`) found that the directory lost its keys, this relay's
        claims with them (a Redis flushed or restarted without persistence):
        the relay then renews its claims at once rather than at its next
        heartbeat. Asking clears it. This default: False."""
        return False

    def caveat(self) -> str:
        """What :meth:`begin` found this directory cannot do that an
        operator should fix, in words for the relay's start line and log
        ('' nothing: this default)."""
        return ""

    def describe(self) -> str:
        """For logs: what this directory is (never a password)."""
        return type(self).__name__


class MemoryDirectory(Directory):
    """Claims and counters in this process's memory.

    Shared only by relays that are handed the same object (tests, one process
    serving several ports). A restart forgets every verifier: the first
    registration of a code after a restart wins (see docs/relay.md for what
    the host does then).

    Not thread-safe; one event loop. Memory is bounded by live claims (expired
    ones are swept as they are met and on every :meth:`renew`) and by
    ``max_counters``.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic,
                 max_counters: int = 100_000) -> None:
        self._clock = clock
        self._claims: dict[str, tuple[bytes, str, float]] = {}
        #: What each code's last claim replaced, and that claim's mark
        #: (unclaim gives it back).
        self._replaced: dict[str, tuple[tuple[bytes, str, float] | None, bytes]] = {}
        self._ended: dict[str, tuple[str, float, bytes]] = {}  # code -> (why, until, tag)
        #: (code, pair tag) -> (when its host was last heard from, until when kept)
        self._lost: dict[tuple[str, bytes], tuple[float, float]] = {}
        self._counters: dict[str, tuple[int, float]] = {}
        self._max_counters = max_counters
        self._log_key: bytes | None = None
        self._members: dict[str, float] = {}  # relay -> until

    def _live(self, code: str) -> tuple[bytes, str, float] | None:
        entry = self._claims.get(code)
        if entry is not None and entry[2] <= self._clock():
            del self._claims[code]
            return None
        return entry

    async def claim(self, code: str, verifier: bytes, relay: str, ttl: float, *,
                    mark: bytes = b"") -> ClaimResult:
        entry = self._live(code)
        if entry is not None and not hmac.compare_digest(entry[0], verifier):
            return ClaimResult.IN_USE
        self._claims[code] = (verifier, relay, self._clock() + ttl)
        self._replaced[code] = (entry, mark)  # for unclaim
        self._ended.pop(code, None)
        self._lost.pop((code, pair_tag(verifier)), None)
        return ClaimResult.NEW if entry is None else ClaimResult.RECLAIMED

    async def unclaim(self, code: str, verifier: bytes, relay: str, ttl: float, *,
                      mark: bytes = b"") -> None:
        entry = self._live(code)
        last = self._replaced.get(code)
        if (entry is None or not hmac.compare_digest(entry[0], verifier) or entry[1] != relay
                or last is None or last[1] != mark):
            return  # another's claim, held elsewhere, or a newer claim than the mark's
        del self._replaced[code]
        was = last[0]
        if was is None:
            del self._claims[code]
        else:
            self._claims[code] = (was[0], was[1], self._clock() + ttl)

    async def renew(self, claims: Mapping[str, bytes], relay: str, ttl: float) -> set[str]:
        now = self._clock()
        for code in [c for c, e in self._claims.items() if e[2] <= now]:
            del self._claims[code]
        for code in [c for c in self._replaced if c not in self._claims]:
            del self._replaced[code]
        lost = set()
        for code, verifier in claims.items():
            entry = self._claims.get(code)
            if entry is None or (entry[0] == verifier and entry[1] == relay):
                self._claims[code] = (verifier, relay, now + ttl)
                self._ended.pop(code, None)  # a live registration holds it
                self._lost.pop((code, pair_tag(verifier)), None)
            else:
                lost.add(code)
        return lost

    async def release(self, code: str, verifier: bytes) -> None:
        entry = self._live(code)
        if entry is not None and hmac.compare_digest(entry[0], verifier):
            del self._claims[code]

    async def locate(self, code: str) -> Holder | None:
        entry = self._live(code)
        return None if entry is None else Holder(entry[1], pair_tag(entry[0]))

    async def end(self, code: str, verifier: bytes, why: str, ttl: float, *,
                  relay: str | None = None) -> None:
        entry = self._live(code)
        if entry is not None and (not hmac.compare_digest(entry[0], verifier)
                                  or relay not in (None, entry[1])):
            return  # someone else's claim now, or held elsewhere: not ended
        self._claims.pop(code, None)
        self._lost.pop((code, pair_tag(verifier)), None)
        now = self._clock()
        if len(self._ended) >= self._max_counters:
            self._ended = {c: e for c, e in self._ended.items() if e[1] > now}
        self._ended[code] = (why, now + ttl, pair_tag(verifier))

    async def ended(self, code: str, tag: bytes | None = None) -> str | None:
        entry = self._ended.get(code)
        if entry is not None and entry[1] <= self._clock():
            del self._ended[code]
            return None
        return None if entry is None or not ended_for(tag, entry[2]) else entry[0]

    async def lost(self, code: str, verifier: bytes, ago: float, ttl: float, *,
                   relay: str) -> None:
        entry = self._live(code)
        if entry is not None and (not hmac.compare_digest(entry[0], verifier)
                                  or entry[1] != relay):
            return  # someone else's claim now, or the host is back elsewhere
        now = self._clock()
        if len(self._lost) >= self._max_counters:
            self._lost = {k: e for k, e in self._lost.items() if e[1] > now}
            while len(self._lost) >= self._max_counters:  # the oldest first
                del self._lost[next(iter(self._lost))]
        self._lost[(code, pair_tag(verifier))] = (now - ago, now + ttl)

    async def silent_for(self, code: str, tag: bytes) -> float | None:
        if not tag.strip(b"\0"):
            return None  # a viewer naming no registration is told of none
        entry = self._lost.get((code, tag))
        now = self._clock()
        if entry is not None and entry[1] <= now:
            del self._lost[(code, tag)]
            return None
        return None if entry is None else max(0.0, now - entry[0])

    async def hit(self, key: str, limit: int, window: float, *, weight: int = 1) -> bool:
        now = self._clock()
        count, end = self._counters.get(key, (0, 0.0))
        if end <= now:
            count, end = 0, now + window
            if len(self._counters) >= self._max_counters:
                self._counters = {k: v for k, v in self._counters.items() if v[1] > now}
        if weight:
            self._counters[key] = (count + weight, end)
        return count < limit

    async def reset(self, key: str) -> None:
        self._counters.pop(key, None)

    async def announce(self, relay: str, ttl: float) -> None:
        now = self._clock()
        self._members = {r: until for r, until in self._members.items() if until > now}
        self._members[relay] = now + ttl

    async def members(self) -> list[str]:
        now = self._clock()
        return sorted(r for r, until in self._members.items() if until > now)[:MEMBERS_MOST]

    async def log_key(self, mine: bytes) -> bytes:
        if self._log_key is None:
            self._log_key = mine
        return self._log_key
