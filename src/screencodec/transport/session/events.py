"""Session events, delivered as an async iterator: ``async for ev in host.events(): ...``.

**Event fields are untrusted.** A peer chose the peer names, the agent's name,
reasons and chat text they carry. The session layer passes them through
:func:`~screencodec.transport.channel.display.safe_text` (no control or escape
characters, no bidi overrides, bounded length) before they get here, but an
application must still treat them as what a stranger typed: never as markup,
a path, a shell word or a format string.

One design for host and viewer: :class:`EventHub` fans each event out to every
subscriber's own bounded queue. Subscribing is what makes events kept; with no
subscriber they are dropped at once. A subscriber that falls more than
``maxsize`` events behind loses events (counted in ``lost``), so a stuck UI
can never grow the host's memory: first the oldest of those a later one
supersedes or that are a peer's chatter (pictures, the pointer, stats,
password-guess counts, chat), and only when none is queued the oldest of
the rest, so a flood of chat cannot push a permission change or a file out
of a slow UI's sight. All on one event loop.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass

from screencodec.transport.session.permissions import Permission
from screencodec.transport.session.stats import LinkStats

__all__ = [
    "ChatReceived",
    "CursorMoved",
    "Event",
    "EventHub",
    "FileReceived",
    "FileRefused",
    "FileSent",
    "FrameDecoded",
    "PasswordGuessed",
    "PermissionChanged",
    "RelayChanged",
    "SessionEnded",
    "SessionResumed",
    "SharingChanged",
    "StatsUpdated",
    "Subscription",
]


@dataclass(frozen=True, slots=True)
class SharingChanged:
    """The screen is shared with ``viewers`` (peer names); empty = no longer shared."""

    viewers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PermissionChanged:
    peer: str
    level: Permission


@dataclass(frozen=True, slots=True)
class StatsUpdated:
    stats: LinkStats


@dataclass(frozen=True, slots=True)
class ChatReceived:
    peer: str
    text: str


@dataclass(frozen=True, slots=True)
class FileReceived:
    """A file the peer sent is saved at ``path``. ``transfer`` is the
    peer's number for it, as the :class:`FileOfferInfo` the local user was
    asked about carried: what ties the file to that question."""

    peer: str
    path: str
    size: int
    transfer: int = 0


@dataclass(frozen=True, slots=True)
class FileRefused:
    """A peer's file was refused without asking the local user (on the host,
    or on a viewer that takes no files), or said yes to and then could not
    be saved ("could not be saved: ..."): ``why`` in words (this host /
    viewer takes no files, too large, too many waiting); ``name`` already
    through ``safe_text``. ``transfer``: the peer's number for the file, as
    in the :class:`FileOfferInfo` the local user was asked about."""

    peer: str
    name: str
    size: int
    why: str
    transfer: int = 0


@dataclass(frozen=True, slots=True)
class FileSent:
    """What became of a file this side offered (host and viewer), once it is
    known. ``outcome``: "delivered" (the peer saved it whole), "failed" (the
    peer accepted it but could not save it; ``why`` in its words, through
    ``safe_text``), "declined" (not accepted, or no answer in time), or
    "unconfirmed" (streamed to a peer of an older version, which does not
    say whether it saved it). ``name`` is the name offered."""

    peer: str
    name: str
    size: int
    transfer: int
    outcome: str
    why: str = ""

    def describe(self) -> str:
        """The outcome in words, for a person."""
        return {
            "delivered": "delivered",
            "failed": f"failed: {self.why or 'not saved'}",
            "declined": "not accepted",
            "unconfirmed": "sent (the peer does not confirm files)",
        }.get(self.outcome, self.outcome)


@dataclass(frozen=True, slots=True)
class FrameDecoded:
    """Viewer side: update ``seq`` is in the framebuffer (``width`` x ``height``)."""

    seq: int
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class CursorMoved:
    """Viewer side: the host's pointer moved, changed shape or visibility
    (``viewer.cursor`` has the shape image); no pixels changed for it."""

    x: int
    y: int
    visible: bool
    shape_id: int


@dataclass(frozen=True, slots=True)
class PasswordGuessed:
    """Host side: a wrong password was tried for session ``code`` from
    ``source`` (an IPv4 address or IPv6 /64, as the connection or the relay
    reports it). ``failed``: wrong passwords in this session so far;
    ``next_in``: seconds until the next check may start. The password stays
    valid; if the local user did not just read it to someone, someone is
    guessing (and is being slowed down)."""

    code: str
    failed: int
    source: str
    next_in: float


@dataclass(frozen=True, slots=True)
class RelayChanged:
    """Host side (:meth:`Host.watch_relay`): the session ``code`` stopped
    working at ``relay`` (``reachable`` False) or works again; told once per
    change, never once per retry. A lost code is retried, except when the
    relay gave it to another registration and no replacement was supplied
    (the registration's state is then ``lost``, for good). ``error``: why it
    was lost (through safe_text), "" when reachable."""

    reachable: bool
    relay: str
    code: str
    error: str


@dataclass(frozen=True, slots=True)
class SessionEnded:
    """Viewer ``peer``'s session ended (``reason``). ``resumable``: on a host,
    the seconds within which that agent may come back without the local user
    being asked again (its link was lost; see :mod:`.resume`), else 0.
    ``moved``: on a host, only this connection ended: the agent resumed the
    session on a new one (a :class:`SessionResumed` tells of it), so an
    interface shows no end. ``who``: on a host, the agent's name as the
    local user agreed to it ("" before any grant), what a later
    :class:`SessionResumed` names."""

    peer: str
    reason: str
    resumable: float = 0.0
    moved: bool = False
    who: str = ""


@dataclass(frozen=True, slots=True)
class SessionResumed:
    """Host side: the agent ``who``, whose link was lost ``away`` seconds
    ago (0: the host had not noticed yet), came back as ``peer`` with a ticket
    of its session and holds ``level`` again, without a question: the local
    user should be told."""

    peer: str
    who: str
    level: Permission
    away: float


Event = (
    SharingChanged | PermissionChanged | StatsUpdated | ChatReceived | FileReceived
    | FileRefused | FileSent | FrameDecoded | CursorMoved | PasswordGuessed
    | RelayChanged | SessionEnded | SessionResumed
)  # fmt: skip

#: Events a subscriber that falls behind loses first: each is superseded by
#: a later one (pictures, the pointer, stats, the running count of password
#: guesses) or is a peer's chatter. A flood of them (a peer's chat, a host
#: sending stats as fast as it can) must not push out an event that changes
#: what a UI shows of the session: a permission granted or taken back,
#: sharing, a file, the end. Those go only when nothing droppable is left.
_SUPERSEDED = (FrameDecoded, CursorMoved, StatsUpdated, PasswordGuessed, ChatReceived)


class _Inbox:
    """One subscriber's bounded queue (see EventHub)."""

    __slots__ = ("items", "maxsize", "ready")

    def __init__(self, maxsize: int) -> None:
        self.items: deque[Event] = deque()
        self.maxsize = maxsize
        self.ready = asyncio.Event()

    def put(self, event: Event) -> bool:
        """Queue ``event``; False when an event had to go (the oldest that
        may be dropped, else ``event`` itself if it may be, else the oldest)."""
        items = self.items
        kept = True
        if len(items) >= self.maxsize:
            kept = False
            victim = next((i for i, ev in enumerate(items) if isinstance(ev, _SUPERSEDED)), None)
            if victim is not None:
                del items[victim]
            elif isinstance(event, _SUPERSEDED):
                return False
            else:
                items.popleft()
        items.append(event)
        self.ready.set()
        return kept


class EventHub:
    def __init__(self, maxsize: int = 256) -> None:
        self._maxsize = maxsize
        self._subs: list[_Inbox] = []
        self.lost = 0
        self.closed = False

    def emit(self, event: Event) -> None:
        for inbox in self._subs:
            if not inbox.put(event):
                self.lost += 1

    def close(self) -> None:
        """End every subscriber's iteration (after the events already queued)."""
        self.closed = True
        for inbox in self._subs:
            inbox.ready.set()

    def subscribe(self) -> Subscription:
        """Start keeping events for a new subscriber (from this call on, not from
        the first ``anext``, so nothing emitted in between is missed)."""
        inbox = _Inbox(self._maxsize)
        self._subs.append(inbox)
        return Subscription(self, inbox)

    def _unsubscribe(self, inbox: _Inbox) -> None:
        if inbox in self._subs:
            self._subs.remove(inbox)


class Subscription:
    """An async iterator of events; ``close()`` (or the hub closing) ends it."""

    def __init__(self, hub: EventHub, inbox: _Inbox) -> None:
        self._hub = hub
        self._inbox = inbox

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        inbox = self._inbox
        while not inbox.items:
            if self._hub.closed or inbox not in self._hub._subs:
                self._hub._unsubscribe(inbox)
                raise StopAsyncIteration
            inbox.ready.clear()
            await inbox.ready.wait()
        return inbox.items.popleft()

    def close(self) -> None:
        self._hub._unsubscribe(self._inbox)
        self._inbox.ready.set()
