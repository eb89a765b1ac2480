"""Everything a relay caps, in one place, and the shared attempt counters.

Attempt limits (joins and registrations per address, an agent's joins back
to its session per address and pair tag, failed guesses per session and
address) are counted in the session directory, so a cluster of relays
sharing a Redis counts them once: spreading guesses over relays gains an
attacker nothing.
Addresses are keyed by :func:`~screencodec.transport.relay.protocol.address_key`
(IPv4 address, IPv6 /64).
"""

from __future__ import annotations

from dataclasses import dataclass

from screencodec.transport.channel.limits import HANDSHAKE_FRAME_MAX
from screencodec.transport.relay.directory import Directory
from screencodec.transport.relay.protocol import address_key

__all__ = ["CLAIM_TTL_MOST", "RelayLimits", "SharedLimits", "rejoin_key"]

#: The longest ``RelayLimits.claim_ttl`` (s), and so the longest a code stays
#: taken once the relay that held it died without giving it back (killed,
#: its machine gone) and its host never came back: the claim is renewed by
#: that relay's heartbeat alone and expires ``claim_ttl`` after its last
#: one (relay46 measured 199.7 s with 200). Longer would also outlast what a
#: host waits for the grace after a Redis restart, which lasts ``claim_ttl``
#: (connect/registration.RECOVERING_MOST, 300 s): its first user was sent away.
CLAIM_TTL_MOST = 300.0


@dataclass(frozen=True, slots=True)
class RelayLimits:
    """Everything a relay caps. Times in seconds.

    ``claim_ttl``: how long a claim outlives its host's control connection
    (the window in which only that host can take the code back); renewed
    every ``claim_ttl / 3`` while the host is connected. At most
    :data:`CLAIM_TTL_MOST` (a relay refuses more: ConfigError).
    ``handshake_timeout``: a paired stream must complete the end-to-end
    handshake (the host's CONFIRM has passed) within this, or it is cut.
    ``joins_per_minute``: viewer joins per address (IPv4 address, IPv6
    /64), across the cluster, counted where a join is decided (paired, or
    refused as unknown or ended), never at a relay that only redirects it
    (the relay it is sent to counts it: once, as without a redirect).
    ``rejoins_per_minute``: joins naming the pair tag of a registration the
    deciding relay knows (live, or lost or ended and remembered: an agent
    coming back to its session) count per address *and tag* against this
    instead, so that an agent's retries (at most 23 in its 60 s: 0.25 s
    doubling to 4 s, 20 % jitter; two agents of one session behind one
    address fit) are never refused for other joins from its address, nor
    its other joins for them. The tag is told to whoever pairs with the
    host, so someone who knows the code may join that code this many times
    more a minute per address; what they may guess is bounded as before
    (the guesses below, the host's throttle).
    ``guesses_per_session_per_minute``: handshakes per code *and address*
    (IPv4 address, IPv6 /64) that got as far as the viewer's PAKE message and
    did not complete (password guesses, as far as a relay can tell), across
    the cluster; past it that address's joins to the code are refused until
    the window ends, and a completed handshake (the right password) from it
    resets its count. Per address, so that someone who knows only the code
    cannot lock the agent out by guessing from addresses of their own; the
    host's throttle bounds the guesses of many addresses. Parked handshakes
    never reach it.
    ``max_pending_per_address``: viewers waiting for the host to attach, per
    code *and address*; past it that address's oldest waiting join on the
    code is cut (BUSY). A join is never cut by joins from other addresses:
    there is no cap per code to crowd (the host attaches every join it is
    told of, within a round trip). The connection caps bound the waiting
    joins of a code as they bound everything else.
    ``max_handshaking_per_session``: handshakes in flight per code; a new
    viewer past it cuts the *oldest* one, so parked handshakes cannot lock
    out a viewer who completes in a few round trips. Kept below the host's
    concurrent attempt reservations (3), so handshakes parked through the
    relay can never hold all of them.
    ``max_connections_per_address``: open connections of one address (IPv4
    address, IPv6 /64), refused BUSY past it before their opening frame is
    read. A host's address may hold one more for each join announced to a
    host registered from it and not yet attached, and a host's data
    connection stops counting once matched to its join (the pair counts
    against the viewer's address): a crowd of joins from other addresses
    cannot use up the host's own connections at the relay. (Each such extra
    connection stands for one that another address holds, so this at most
    doubles what a crowd holds.)
    ``host_gone_after``: a host whose own side closed its control connection
    without RELAY_RELEASE (its program stopped or crashed: its machine
    closed the socket) and that has not registered again within this long
    is taken for gone: a viewer naming its code is refused SESSION_ENDED,
    not UNKNOWN_SESSION, and stops reconnecting. (A host that closes its
    control connection to start a new one registers again within a few
    tenths of a second; a reset or a silent line is not a close, and waits
    for the host as before.) A RELAY_RELEASE counts at once.
    ``ended_memory``: how long the relay remembers such an ended session
    (longer than a viewer keeps reconnecting, 60 s); at most
    ``max_ended`` of them, the oldest forgotten first.
    ``lost_memory``: how long a relay, and through the directory every
    relay of its cluster, tells a viewer naming the registration of a host
    whose control connection was lost without an end (a reset, silence)
    that "the host has not been heard from for N s (its connection to the
    relay was lost)", counted from when the relay learnt of the loss: the
    host's resume window (``HostConfig.resume_window``, 60 s), in which it
    may come back and resume, and 10 s more, since an agent's own 60 s of
    retries begin when it learns that its link was lost, which can be a
    moment after the relay learnt of the host's (its last attempt is told
    too). After it, "no such session code".
    ``lost_hold``: how long after a host's control connection was lost (a
    reset, silence, its own close within ``host_gone_after``) a viewer's
    join of its code is held for the host to register again, rather than
    refused (grace51: a support agent who typed the code as the
    customer's Wi-Fi roamed was told "the host went away", and gave up on
    a host back 0.3 s later): a host that lost a registration retries
    after 0.2 s, doubling (connect/registration.py), so attempts at about
    0.2, 0.6, 1.4, 3.0 and 6.2 s after the loss fall within it. A first
    join so; an agent coming back (naming the registration it was in,
    resume52) for as long as the loss is remembered (``lost_memory``,
    resume52b: a host back after 10-60 s, a laptop's lid, a slow Wi-Fi),
    each of its joins answered within 4 s (viewers.RESUME_ANSWER) and the
    next held again; a first join keeps this bound, so someone who knows
    only the code camps on it no longer. A held
    join counts as one join, against the per-address caps of held and
    pending joins (``max_pending_per_address``), and within its own
    ``pair_timeout``; it is paired only with a registration of the same
    host (the same verifier) if one was announced its join before, or it
    named one. A host whose own side closed its connection is waited for
    only until ``host_gone_after`` from its close (then it is gone); a
    held join whose viewer hangs up is dropped at once. 0 holds nothing;
    past ``lost_memory`` a hold is no longer (the loss is forgotten then).
    ``screencodec relay --lost-hold`` takes 0 to 70 s (the default
    ``lost_memory``); a relay refuses a negative, nan or infinite one
    (ConfigError).
    ``max_frame_body``: the largest frame body the relay takes while a pair's
    end-to-end handshake runs (it reads each frame whole then): the
    handshake's own limit, 1 KiB, which both ends apply too. The sealed
    records after it are forwarded as bytes, never held whole.
    """

    open_timeout: float = 10.0
    pair_timeout: float = 15.0
    idle_timeout: float = 120.0
    control_idle_timeout: float = 60.0
    handshake_timeout: float = 5.0
    claim_ttl: float = 15.0
    joins_per_minute: int = 20
    rejoins_per_minute: int = 60
    guesses_per_session_per_minute: int = 30
    registrations_per_minute: int = 20
    max_connections: int = 10_000
    max_connections_per_address: int = 64
    max_pending_per_address: int = 4
    max_handshaking_per_session: int = 2
    max_frame_body: int = HANDSHAKE_FRAME_MAX
    host_gone_after: float = 3.0
    ended_memory: float = 120.0
    lost_memory: float = 70.0
    lost_hold: float = 8.0
    max_ended: int = 100_000


class SharedLimits:
    """The attempt limits of :class:`RelayLimits`, counted in a directory.

    Stateless apart from the directory; safe to share between relays that
    share the directory.
    """

    def __init__(self, directory: Directory, limits: RelayLimits) -> None:
        self._dir = directory
        self._limits = limits

    async def join(self, ip: str, tag: bytes | None = None) -> bool:
        """One join by ``ip``; with ``tag``, the pair tag of a registration
        the relay knows (an agent coming back), counted under that tag."""
        if tag is None:
            return await self._dir.hit(f"join:{address_key(ip)}",
                                       self._limits.joins_per_minute, 60.0)
        return await self._dir.hit(rejoin_key(ip, tag), self._limits.rejoins_per_minute, 60.0)

    async def join_left(self, ip: str, tag: bytes | None = None) -> bool:
        """Whether ``ip`` may join once more (as :meth:`join`; looks, counts
        nothing): asked where a join is only redirected."""
        if tag is None:
            return await self._dir.hit(f"join:{address_key(ip)}",
                                       self._limits.joins_per_minute, 60.0, weight=0)
        return await self._dir.hit(rejoin_key(ip, tag), self._limits.rejoins_per_minute, 60.0,
                                   weight=0)

    async def guesses_left(self, code: str, ip: str) -> bool:
        """Whether ``ip`` may join ``code`` once more (looks, counts nothing)."""
        return await self._dir.hit(_guesses(code, ip),
                                   self._limits.guesses_per_session_per_minute, 60.0, weight=0)

    async def guessed(self, code: str, ip: str, *, right: bool) -> None:
        """A handshake from ``ip`` on ``code`` that reached the PAKE ended: a
        wrong guess counts, the right password clears that address's count."""
        if right:
            await self._dir.reset(_guesses(code, ip))
        else:
            await self._dir.hit(_guesses(code, ip),
                                self._limits.guesses_per_session_per_minute, 60.0)

    async def register(self, ip: str) -> bool:
        return await self._dir.hit(f"register:{address_key(ip)}",
                                   self._limits.registrations_per_minute, 60.0)


def rejoin_key(ip: str, tag: bytes) -> str:
    """The key an agent's joins back to the registration of pair tag ``tag``
    from ``ip`` count under (the directory's and a relay's own fallback)."""
    return f"rejoin:{address_key(ip)}:{tag.hex()}"


def _guesses(code: str, ip: str) -> str:
    """The directory key of the failed guesses of one address on one code."""
    return f"guesses:{code}:{address_key(ip)}"
