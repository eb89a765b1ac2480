"""Online password guessing: how often a session's password may be checked,
and who gets the next check.

SPAKE2 rules out offline guessing: each check of the password (the host's
PAKE message, then the viewer's confirmation) tests exactly one guess. So the
number of checks is what an attacker gets, and this module bounds it per
session, across every source address, without ever locking the real agent out:

* **Exponential spacing, per session.** The first :attr:`ThrottlePolicy.free`
  checks after a success (or since the start) are immediate: typos happen.
  After that, each check must wait ``base * 2**k`` seconds after the previous
  one (k = 0, 1, 2, ...), capped at :attr:`ThrottlePolicy.cap`. A check is
  counted as failed from the moment it starts (a peer that never finishes
  still spent its guess); a correct password resets the spacing. The password
  stays valid throughout: nothing an attacker does invalidates it.
* **The next check goes to the best-placed waiter,** not to whoever is
  fastest: attempts that arrive while the spacing runs wait (holding their
  guess, which costs the host nothing but a socket) and, when the spacing
  ends, the one from the address with the fewest failed checks so far goes
  first (then the oldest). Addresses key on the IPv4 address or the IPv6 /64.
  The real agent's address has no failures, so an attacker that keeps guessing
  from addresses it has used before never gets ahead of it; it waits at most
  one spacing (:attr:`ThrottlePolicy.cap`).
* **Bounded waiting.** Each address may have :attr:`ThrottlePolicy.per_address`
  attempts waiting; the waiting room holds :attr:`ThrottlePolicy.max_waiting`,
  and when it is full a newcomer displaces the worst-placed waiter if it is
  better placed (else it is refused). Nobody waits longer than
  :attr:`ThrottlePolicy.max_wait`.

With the defaults an attacker with any number of addresses gets at most
:meth:`ThrottlePolicy.max_checks` ``(3600)`` = 725 checks an hour (each a
2**-40 chance against a session password), and the agent is checked at most
5 s after it arrived unless fresh, never-failed addresses queued before it.

:class:`PreauthSlots` bounds what a connection that has not yet committed to a
guess (it sent a HELLO, or nothing) can hold: a few per address and a bounded
total, in which a newcomer only ever displaces a connection stalled past an
allowance measured on its own link, or one of an address holding at least two
more than the newcomer's, or the newcomer's own address's oldest; else it
is refused. So a viewer on its way to committing (the agent on a slow
link among them) is never displaced by another address's newcomers, and
keeping newcomers out takes a crowd of fresh connections from at least
``total`` addresses, whatever the newcomer's address holds already
(docs/security.md, "The pre-auth room").

Time comes from an injectable clock; a real-time timer wakes the waiters, and
:meth:`GuessThrottle.poke` re-evaluates at once (tests that move a fake clock
call it). One event loop; no method blocks except :meth:`GuessThrottle.admit`.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from screencodec.errors import AccessRefusedError, RefuseCode
from screencodec.transport.aio import wait_for

__all__ = ["GuessThrottle", "PreauthSlots", "ThrottlePolicy", "Ticket"]


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """The numbers of the guessing policy (seconds). See the module docstring."""

    free: int = 3  #: checks without spacing after a success or at the start
    base: float = 1.0  #: the first spacing; it doubles with each further check
    cap: float = 5.0  #: the longest spacing (the agent's longest wait)
    per_address: int = 2  #: attempts one address (/64) may have waiting
    max_waiting: int = 64  #: attempts waiting in all
    max_wait: float = 8.0  #: the longest an attempt waits before it is refused

    def spacing(self, started: int) -> float:
        """Seconds between check number ``started`` and the next one."""
        if started < self.free:
            return 0.0
        return min(self.cap, self.base * 2.0 ** min(started - self.free, 60))

    def max_checks(self, seconds: float) -> int:
        """At most this many checks start within any ``seconds`` without a success."""
        n, t = 0, 0.0
        while t <= seconds:
            gap = self.spacing(n)
            n += 1
            if gap >= self.cap:  # from here on, one per cap
                return n + math.floor((seconds - t) / self.cap)
            t += gap
        return n


@dataclass(slots=True)
class Ticket:
    """One admitted check (give it back with :meth:`GuessThrottle.finish`)."""

    key: str
    started_at: float


class _Waiter:
    __slots__ = ("arrived", "future", "key", "order")

    def __init__(self, key: str, arrived: float, order: int,
                 future: asyncio.Future[Ticket]) -> None:
        self.key = key
        self.arrived = arrived
        self.order = order
        self.future = future


class GuessThrottle:
    """The per-session admission of password checks (see the module docstring).

    State: ``started`` checks since the last success (each counted as failed
    until it succeeds), when the next may start, the waiting attempts, and the
    failed checks per address key (the most recent 65,536 keys). ``failed``
    counts every failed check ever (what the local user is shown).
    """

    def __init__(self, policy: ThrottlePolicy | None = None, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy or ThrottlePolicy()
        self._clock = clock
        self._started = 0
        self._next_at = -math.inf
        self._waiting: list[_Waiter] = []
        self._fails: OrderedDict[str, int] = OrderedDict()
        self._order = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self.failed = 0
        self.checks = 0
        self.refused = 0

    # -- what callers see ----------------------------------------------------

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @property
    def started(self) -> int:
        """Checks started since the last success (what the spacing grows with)."""
        return self._started

    @property
    def waiting_keys(self) -> tuple[str, ...]:
        """The address keys of the attempts waiting, in arrival order."""
        return tuple(w.key for w in self._waiting)

    @property
    def next_delay(self) -> float:
        """Seconds until the next check may start (0: now)."""
        return max(0.0, self._next_at - self._clock())

    def failures_of(self, key: str) -> int:
        return self._fails.get(key, 0)

    async def admit(self, key: str) -> Ticket:
        """Wait for this attempt's turn to have its password checked.

        Raises AccessRefusedError(RATE_LIMITED) if it cannot wait (its address
        has enough waiting, the waiting room is full of better-placed attempts)
        or waited :attr:`ThrottlePolicy.max_wait` in vain.
        """
        now = self._clock()
        if not self._waiting and now >= self._next_at:
            return self._start(key, now)
        self._make_room(key)
        fut: asyncio.Future[Ticket] = asyncio.get_running_loop().create_future()
        waiter = _Waiter(key, now, next(self._order), fut)
        self._waiting.append(waiter)
        self._schedule()
        try:
            return await wait_for(asyncio.shield(fut), self.policy.max_wait)
        except asyncio.TimeoutError:
            if _admitted(fut):  # its turn came as the wait ran out: take it
                return fut.result()
            self.refused += 1
            raise self._refusal() from None
        except asyncio.CancelledError:
            if _admitted(fut):  # started, never finished: a spent guess
                self.finish(fut.result(), success=False)
            raise
        finally:
            if waiter in self._waiting:
                self._waiting.remove(waiter)
            if not fut.done():
                fut.cancel()

    def finish(self, ticket: Ticket, *, success: bool) -> None:
        """The check of ``ticket`` ended: a success resets the spacing (and the
        address's failures); anything else was a failed guess."""
        if success:
            self._started = 0
            self._next_at = -math.inf
            self._fails.pop(ticket.key, None)
            self.poke()
            return
        self.failed += 1
        self._fails[ticket.key] = self._fails.get(ticket.key, 0) + 1
        self._fails.move_to_end(ticket.key)
        while len(self._fails) > 65536:
            self._fails.popitem(last=False)

    def poke(self) -> None:
        """Admit whoever's turn it is now (after the clock moved)."""
        now = self._clock()
        while self._waiting and now >= self._next_at:
            best = min(self._waiting, key=self._rank)
            self._waiting.remove(best)
            if best.future.done():  # gave up meanwhile
                continue
            best.future.set_result(self._start(best.key, now))
        self._schedule()

    # -- inside --------------------------------------------------------------

    def _rank(self, w: _Waiter) -> tuple[int, int]:
        return (self._fails.get(w.key, 0), w.order)

    def _start(self, key: str, now: float) -> Ticket:
        self._next_at = now + self.policy.spacing(self._started)
        self._started += 1
        self.checks += 1
        return Ticket(key, now)

    def _make_room(self, key: str) -> None:
        pol = self.policy
        if sum(1 for w in self._waiting if w.key == key) >= pol.per_address:
            self.refused += 1
            raise self._refusal()
        if len(self._waiting) >= pol.max_waiting:
            worst = max(self._waiting, key=self._rank)
            if self._rank(worst)[0] <= self._fails.get(key, 0):
                self.refused += 1
                raise self._refusal()
            self._waiting.remove(worst)
            self.refused += 1
            if not worst.future.done():
                worst.future.set_exception(self._refusal())

    def _refusal(self) -> AccessRefusedError:
        wait = max(1, math.ceil(self.next_delay))
        return AccessRefusedError(
            RefuseCode.RATE_LIMITED,
            f"too many password attempts on this session; try again in {wait} s")

    def _schedule(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._waiting:
            delay = max(0.0, self._next_at - self._clock())
            self._timer = asyncio.get_running_loop().call_later(delay, self.poke)


def _admitted(fut: asyncio.Future[Ticket]) -> bool:
    return fut.done() and not fut.cancelled() and fut.exception() is None


class _Held:
    __slots__ = ("evict", "key", "opened", "round_trip", "stalled_since")

    def __init__(self, key: str, evict: Callable[[], None], opened: float) -> None:
        self.key = key
        self.evict = evict
        self.opened = opened
        self.round_trip = 0.0
        self.stalled_since: float | None = None


class PreauthSlots:
    """Connections that have not committed to a guess yet (no PAKE message).

    At most ``per_address`` per address key, at most ``total`` in all. When
    the room is full a newcomer takes the slot of

    1. the connection *stalled* the longest past its allowance: the host has
       answered its hello and has waited for its PAKE message longer than
       ``grace`` plus twice the round trip it showed (from its start to its
       hello, or the link's round trip if that is longer: :meth:`hello`), or
       else
    2. the oldest connection of the address holding the most, if that address
       holds at least two more than the newcomer's (so a displacement only
       ever evens the room out: a connection alone at its address is never
       the victim of a fair share), or else
    3. the oldest connection of the newcomer's own address (its earlier
       attempt: only an address's own newcomers ever take this slot);

    and when none exists the newcomer is refused (BUSY): nobody is
    displaced for it. So a viewer on its way to committing (the real agent,
    on however slow a link, as long as each of its messages arrives within
    its allowance) keeps its slot against any number of addresses. What a
    crowd can do instead is have newcomers refused, and only while it holds
    every slot with fresh connections of at most one per address (see
    docs/security.md, "The pre-auth room", for what that costs). One event
    loop; time from ``clock``.
    """

    def __init__(self, per_address: int = 3, total: int = 128, *, grace: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_address = per_address
        self.total = total
        self.grace = grace
        self._clock = clock
        self._held: OrderedDict[object, _Held] = OrderedDict()
        self._per_key: dict[str, int] = {}
        self.evicted = 0
        self.refused = 0

    def __len__(self) -> int:
        return len(self._held)

    def take(self, token: object, key: str,
             evict: Callable[[], None]) -> tuple[RefuseCode, str] | None:
        """Hold a slot for ``token`` (its start is now); None if it got one,
        else the refusal to send: its address holds enough (RATE_LIMITED), or
        the room is full and nobody may be displaced for it (BUSY)."""
        if self._per_key.get(key, 0) >= self.per_address:
            self.refused += 1
            # walk38: said how it passes (the slots free within the preauth time).
            return (RefuseCode.RATE_LIMITED, "too many connections from this address at once;"
                    " try again in a few seconds")
        if len(self._held) >= self.total:
            victim = self._victim(key)
            if victim is None:
                self.refused += 1
                return (RefuseCode.BUSY,
                        "too many viewers connecting at once; try again in a few seconds")
            held = self._held[victim]
            self.release(victim)
            self.evicted += 1
            held.evict()
        self._held[token] = _Held(key, evict, self._clock())
        self._per_key[key] = self._per_key.get(key, 0) + 1
        return None

    def hello(self, token: object, link_round_trip: float = 0.0) -> None:
        """``token``'s hello came and ours went back: from now on it owes its
        PAKE message. Its round trip is the time since its start (through a
        relay: the relay told the viewer to go on, and its hello came back)
        or ``link_round_trip`` (the transport's own measure, for a direct
        connection whose hello comes with its opening), the longer."""
        held = self._held.get(token)
        if held is not None:
            now = self._clock()
            held.round_trip = max(now - held.opened, link_round_trip)
            held.stalled_since = now

    def release(self, token: object) -> None:
        held = self._held.pop(token, None)
        if held is None:
            return
        left = self._per_key.get(held.key, 0) - 1
        if left > 0:
            self._per_key[held.key] = left
        else:
            self._per_key.pop(held.key, None)

    def _victim(self, key: str) -> object | None:
        now = self._clock()
        stalled = [(since, t) for t, h in self._held.items()
                   if (since := h.stalled_since) is not None
                   and now - since >= self.grace + 2 * h.round_trip]
        if stalled:
            return min(stalled, key=lambda s: s[0])[1]
        most = max(self._per_key.values())
        if most >= self._per_key.get(key, 0) + 2:
            return next(t for t, h in self._held.items() if self._per_key[h.key] == most)
        # Its own address's oldest (an earlier attempt of the same agent):
        # else a crowd of two per address, half the addresses of one each,
        # kept out a newcomer whose address held one already.
        return next((t for t, h in self._held.items() if h.key == key), None)

