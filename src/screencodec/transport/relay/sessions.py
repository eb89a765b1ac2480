"""What a relay holds for each host it serves: the registration, the viewers
waiting for the host to attach, and the pairs still in their handshake, with
the rule for making room when a code is crowded (the newcomer is never the one
refused; see :meth:`Registration.evict_handshake`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from screencodec.errors import TransportError
from screencodec.transport.relay.splice import PairControl

__all__ = ["EvictedError", "Pairing", "Registration"]

#: What a waiting viewer receives once the host attached: the host's data
#: stream and an event the viewer's task sets when the pair is over.
Pairing = tuple[asyncio.StreamReader, asyncio.StreamWriter, asyncio.Event]


class EvictedError(TransportError):
    """A waiting viewer cut to make room for a newer one."""


@dataclass(eq=False, slots=True)
class Registration:
    """One host's live control connection at this relay.

    ``verifier`` is its claim's (never the secret); ``pending`` are viewers
    waiting for the host's data connection (join id, future, address key),
    oldest first; ``handshaking`` the pairs forwarded but not yet past the
    host's CONFIRM, oldest first. One event loop; touched only between awaits.
    """

    code: str
    verifier: bytes
    writer: asyncio.StreamWriter
    pending: list[tuple[bytes, asyncio.Future[Pairing], str]] = field(default_factory=list)
    handshaking: list[PairControl] = field(default_factory=list)

    def evict_waiter(self) -> None:
        """Cut a viewer waiting for the host (it is refused BUSY): the oldest
        of the address (``pending``'s third item, an address key) that holds
        the most, so joins from one address cannot cut another's."""
        held: dict[str, int] = {}
        for _, _, key in self.pending:
            held[key] = held.get(key, 0) + 1
        most = max(held.values())
        victim = next(e for e in self.pending if held[e[2]] == most)
        self.pending.remove(victim)
        if not victim[1].done():
            victim[1].set_exception(EvictedError("too many viewers joining at once"))

    def evict_handshake(self, now: float, grace: float) -> bool:
        """Cut the handshake stalled the longest on its viewer (a parked one
        sent its HELLO and never answers the host's; a real viewer answers
        within its PAKE computation). Only one stalled for at least ``grace``
        seconds may be cut: a viewer computing its answer right now (the real
        agent, perhaps) is never the victim of a newcomer. A pair whose host
        CONFIRM has passed is never cut. False if none could be."""
        stalled = [c for c in self.handshaking if not c.host_confirmed
                   and c.stalled_since is not None and now - c.stalled_since >= grace]
        if not stalled:
            return False
        victim = min(stalled, key=lambda c: c.stalled_since or 0.0)
        self.handshaking.remove(victim)
        victim.stop.set()
        return True
