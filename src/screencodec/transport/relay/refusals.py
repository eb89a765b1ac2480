"""The relay's words for refusals and ends that more than one side of it
says (:mod:`.server`): a join past its limit, how a host's registration
ended, how long a host has not been heard from.
"""

from __future__ import annotations

from screencodec.transport.relay.protocol import ENDED_RELEASED, ENDED_STOPPED

__all__: list[str] = []

_TOO_MANY_JOINS = "too many join attempts from this address; wait a minute"
#: What a draining relay tells a connection it no longer serves.
_SHUTTING_DOWN = "relay shutting down"
#: How a host's registration ended, when that ends its session: what a viewer
#: naming the code is told (EndedSessions).
_ENDED = {"released": ENDED_RELEASED, "closed by the host": ENDED_STOPPED}


def _not_heard(seconds: float) -> str:
    return f"the host has not been heard from for {seconds:.0f} s"
