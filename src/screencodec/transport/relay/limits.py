"""Everything a relay caps, in one place, and the shared attempt counters.

Attempt limits (joins and registrations per address, joins per session) are
counted in the session directory, so a cluster of relays sharing a Redis
counts them once: spreading guesses over relays gains an attacker nothing.
Addresses are keyed by :func:`~screencodec.transport.relay.protocol.address_key`
(IPv4 address, IPv6 /64).
"""

from __future__ import annotations

from dataclasses import dataclass

from screencodec.transport.channel.limits import MAX_RECORD_BODY
from screencodec.transport.relay.directory import Directory
from screencodec.transport.relay.protocol import address_key

__all__ = ["RelayLimits", "SharedLimits"]


@dataclass(frozen=True, slots=True)
class RelayLimits:
    """Everything a relay caps. Times in seconds.

    ``claim_ttl``: how long a claim outlives its host's control connection
    (the window in which only that host can take the code back); renewed
    every ``claim_ttl / 3`` while the host is connected.
    ``handshake_timeout``: a paired stream must complete the end-to-end
    handshake (the host's CONFIRM has passed) within this, or it is cut.
    ``max_handshaking_per_session``: handshakes in flight per code; a new
    viewer past it cuts the *oldest* one, so parked handshakes cannot lock
    out a viewer who completes in a few round trips.
    """

    open_timeout: float = 10.0
    pair_timeout: float = 15.0
    idle_timeout: float = 120.0
    control_idle_timeout: float = 60.0
    handshake_timeout: float = 5.0
    claim_ttl: float = 15.0
    joins_per_minute: int = 20
    joins_per_session_per_minute: int = 60
    registrations_per_minute: int = 20
    max_connections: int = 10_000
    max_connections_per_address: int = 64
    max_pending_per_session: int = 4
    max_handshaking_per_session: int = 4
    max_frame_body: int = MAX_RECORD_BODY


class SharedLimits:
    """The attempt limits of :class:`RelayLimits`, counted in a directory.

    Stateless apart from the directory; safe to share between relays that
    share the directory.
    """

    def __init__(self, directory: Directory, limits: RelayLimits) -> None:
        self._dir = directory
        self._limits = limits

    async def join(self, ip: str) -> bool:
        return await self._dir.hit(f"join:{address_key(ip)}", self._limits.joins_per_minute, 60.0)

    async def join_session(self, code: str) -> bool:
        return await self._dir.hit(f"session:{code}",
                                   self._limits.joins_per_session_per_minute, 60.0)

    async def register(self, ip: str) -> bool:
        return await self._dir.hit(f"register:{address_key(ip)}",
                                   self._limits.registrations_per_minute, 60.0)
