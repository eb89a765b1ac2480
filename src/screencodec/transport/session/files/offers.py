"""What the receiver's user is asked about a file offered (docs/transport.md,
"An offer given up"): the offer as shown (:class:`FileOfferInfo`, its name
made harmless by :func:`safe_filename`), and until when the question may be
open (:class:`OfferDeadline`): never past the time its sender stops waiting."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from screencodec.transport.channel.display import amount
from screencodec.transport.session.files.wire import OFFER_TIMEOUT

__all__ = ["FileConsent", "FileOfferInfo", "OfferDeadline", "safe_filename"]

#: Of that wait: a question is closed this part of it before its sender
#: stops waiting (3 s of 60: the no reaches the sender in time), and put
#: only with this part of it still left to answer (6 s of 60).
_EARLY, _LEAST = 0.05, 0.1


def safe_filename(name: str) -> str:
    """A peer-chosen name reduced to one harmless path component."""
    base = re.split(r"[\\/]", name)[-1]
    base = "".join(c for c in base if c.isprintable() and c not in ':*?"<>|')
    base = base.strip().lstrip(".")[:200]
    return base or "received-file"


class OfferDeadline:
    """When the sender of one offer stops waiting for its answer, as the
    receiver reckons it: :data:`OFFER_TIMEOUT` after the offer came (the
    wait of every sender so far), or sooner once the sender withdrew an offer
    that came with this one for want of an answer (it showed how long it
    waits: :meth:`FileReceiver.withdraw`). A question about the offer is put
    only while a part of that wait is left to answer it, and is closed a
    little before it ends (:data:`_EARLY`, :data:`_LEAST`): nobody is shown
    a question already void, and the no reaches the sender before it gives
    up. One event loop."""

    __slots__ = ("arrived", "skipped", "wait")

    def __init__(self, wait: float = OFFER_TIMEOUT) -> None:
        self.arrived = asyncio.get_running_loop().time()
        self.wait = wait
        self.skipped = False  #: not put: too little of the wait was left

    def window(self, timeout: float) -> float | None:
        """How long the question may be open if it is put now (at most
        ``timeout``), or None: it is not put (:attr:`skipped`)."""
        left = self.arrived + self.wait * (1 - _EARLY) - asyncio.get_running_loop().time()
        if left < self.wait * _LEAST:
            self.skipped = True
            return None
        return min(timeout, left)


@dataclass(frozen=True, slots=True)
class FileOfferInfo:
    """What the local user is asked about: ``name`` is already sanitised (a
    harmless path component, shown through :func:`~..channel.display.safe_text`),
    ``peer`` likewise. ``question`` numbers the question among all those the
    host asks (see :class:`~.consent.QuestionQueue`). Saying yes to it saves
    one file and grants nothing else. ``transfer`` is the sender's number
    for the file, which the :class:`~.events.FileReceived` event for it
    carries too. ``deadline``: until when the question may be open (None:
    only its own timeout bounds it)."""

    peer: str
    name: str
    size: int
    question: int = 0
    transfer: int = 0
    deadline: OfferDeadline | None = field(default=None, compare=False, repr=False)

    def window(self, timeout: float) -> float | None:
        """How long the question may be open if it is put now, at most
        ``timeout``; None: do not put it, its sender no longer waits."""
        return timeout if self.deadline is None else self.deadline.window(timeout)

    def describe(self) -> str:
        return f"{self.peer} sends the file {self.name!r} ({amount(self.size)})"


FileConsent = Callable[[FileOfferInfo], Awaitable[bool]]
