"""Session events, delivered as an async iterator: ``async for ev in host.events(): ...``.

**Event fields are untrusted.** A peer chose the peer names, the agent's name,
reasons and chat text they carry. The session layer passes them through
:func:`~screencodec.transport.channel.display.safe_text` (no control or escape
characters, no bidi overrides, bounded length) before they get here, but an
application must still treat them as what a stranger typed: never as markup,
a path, a shell word or a format string.

One design for host and viewer: :class:`EventHub` fans each event out to every
subscriber's own bounded queue. Subscribing is what makes events kept; with no
subscriber they are dropped at once. A subscriber that falls behind never
grows the host's memory past a bound, and never loses an outcome without
being told:

- Past ``maxsize`` queued events, the events a later one supersedes (a
  picture, the pointer, stats per peer, the password-guess count, who the
  screen is shared with) are coalesced: the new one takes the place of the
  queued one it supersedes (else of the oldest such). A peer's chatter (chat)
  goes next, oldest first. These are dropped without notice, counted in
  ``lost``.
- The other kinds, outcomes (a permission granted or taken back, a file
  received, refused, sent or cut short, the relay lost or back, a session ended or
  resumed) are never dropped while fewer than ``limit`` events are queued
  (``16 * maxsize`` by default: 4096): a flood of chat or pictures cannot
  push one out. At ``limit`` the oldest goes and the subscriber's next read
  is an :class:`EventsLost` that counts and names what went (also in
  ``lost``), before the events that remain.

All on one event loop.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from dataclasses import dataclass, field

from screencodec.transport.session.permissions import Permission
from screencodec.transport.session.stats import LinkStats

__all__ = [
    "CUT_ENDED",
    "CUT_FAILED",
    "CUT_LOST",
    "CUT_STOPPED",
    "CUT_STOPPED_THERE",
    "CUT_UNREAD",
    "ChatDelivery",
    "ChatReceived",
    "ClipboardReceived",
    "ClipboardRefused",
    "ClipboardSent",
    "ClipboardSet",
    "CursorMoved",
    "Event",
    "EventHub",
    "EventsLost",
    "FileCut",
    "FileReceived",
    "FileRefused",
    "FileSent",
    "FrameDecoded",
    "InputLetGo",
    "PasswordGuessed",
    "PermissionChanged",
    "RelayChanged",
    "SessionEnded",
    "SessionRejoined",
    "SessionResumed",
    "SharingChanged",
    "StatsUpdated",
    "Subscription",
    "held_words",
]


@dataclass(frozen=True, slots=True)
class SharingChanged:
    """The screen is shared with ``viewers`` (peer names); empty = no longer shared."""

    viewers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PermissionChanged:
    """Agent ``peer`` now holds ``level`` (granted, revoked or narrowed)."""

    peer: str
    level: Permission


@dataclass(frozen=True, slots=True)
class InputLetGo:
    """The host let go of the keys and mouse buttons agent ``peer`` held
    down, ``keys`` and ``buttons`` of them, because nothing came from it for
    ``silence`` seconds (its link went silent: session/held_silence.py).
    One per release that let go of something; only what went up is counted
    (keys44: a key another agent still holds stays down, and is not); the
    session goes on."""

    peer: str
    keys: int
    buttons: int
    silence: float

    def held(self) -> str:
        """What was let go of, in words: ``2 keys and 1 mouse button``."""
        return held_words(self.keys, self.buttons)


def held_words(keys: int, buttons: int) -> str:
    """``keys`` keys and ``buttons`` mouse buttons, in words."""
    parts = [f"{n} {what}{'' if n == 1 else 's'}"
             for n, what in ((keys, "key"), (buttons, "mouse button")) if n]  # fmt: skip
    return " and ".join(parts) or "nothing"


@dataclass(frozen=True, slots=True)
class StatsUpdated:
    """The link's latest measurements (rate, round trip, frames)."""

    stats: LinkStats


@dataclass(frozen=True, slots=True)
class ChatReceived:
    """A chat line ``text`` from ``peer``: what a stranger typed (module doc)."""

    peer: str
    text: str


@dataclass(frozen=True, slots=True)
class ChatDelivery:
    """What became of this side's chat lines ``first`` to ``last`` (the ids
    ``host.send_chat`` and ``viewer.chat`` returned; ``texts``: theirs, in
    order) to ``peer``: ``state`` "delivered" (the peer's program has them),
    "sent" (a peer of an older version: they went, it confirms nothing),
    "not confirmed" (``why``: the session ended before the peer's
    acknowledgement came; they went on a link, and may have arrived), or
    "not delivered" (``why``: the session ended before they went on a link). ``peer`` is the
    one the ids were given for: a line ``host.send_chat`` kept for an agent
    away names the peer of its lost link, though it is confirmed on the
    resumed one. See :mod:`~screencodec.transport.session.chat`."""

    peer: str
    first: int
    last: int
    state: str
    texts: tuple[str, ...]
    why: str = ""


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
    """A peer's file that is not saved, ``why`` in words (``name`` already
    through ``safe_text``; ``transfer``: the peer's number for the file, as
    in the :class:`FileOfferInfo` the local user was asked about):

    - refused without asking the local user (on the host, or on a viewer
      that takes no files): this host / viewer takes no files, too large,
      too many waiting, over what it takes in one session;
    - said yes to and then not saved: "could not be saved: ...", also
      ``CUT_SHORT`` ("could not be saved: the connection ended before all
      of it came (N of M bytes)") when its session ended mid-file, told
      before the :class:`SessionEnded`;
    - withdrawn by its sender (transport/session/sidechannels.py):
      ``WITHDRAWN`` (it stopped waiting for the answer; the user may have
      said yes meanwhile), ``WITHDRAWN_UNREAD`` (it could not read the
      file after the yes), ``WITHDRAWN_STOPPED`` (its sending was stopped
      there, the session going on), "the sender withdrew it" (a reason of a later
      version, or one that presumes a yes given to a question still open),
      or ``EXPIRED`` (it stopped waiting before the question could be put);
    - stopped by the local user mid-way (``stop_receiving``: ``STOPPED_HERE``).

    The withdrawals and "could not be saved" may follow the user's yes: a
    terminal tells each of them (a refusal unasked may be counted).
    ``received``: for a file ``CUT_SHORT``, ``WITHDRAWN_STOPPED`` or ``STOPPED_HERE``, the
    bytes of it that came (-1 for every other)."""

    peer: str
    name: str
    size: int
    why: str
    transfer: int = 0
    received: int = -1


@dataclass(frozen=True, slots=True)
class FileSent:
    """What became of a file this side offered (host and viewer), once it is
    known. ``outcome``: "delivered" (the peer saved it whole), "failed" (the
    peer accepted it but could not save it; ``why`` in its words, through
    ``safe_text``), "declined" (not accepted, or no answer in time: ``why``
    says so), or "unconfirmed" (streamed whole, the peer's word not had:
    a peer of an older version, which does not say whether it saved it, or,
    with ``why``, a session that ended before the peer said). ``name`` is
    the name offered. ``gives_reasons``: the peer says why it refuses a
    file without asking its user (a reason code), as that peer was known
    when the outcome came (whoever has its name later); so "declined"
    without ``why`` was its user's no, or its question closing unanswered
    at its own timeout (False: a peer of the version before the codes,
    whose no may also be that it takes no files). ``saved_as``: of one
    "delivered", the name the peer saved it under, through ``safe_text``
    (words45), when the peer says it (empty from a peer of the version
    before: the offered name is all this side knows)."""

    peer: str
    name: str
    size: int
    transfer: int
    outcome: str
    why: str = ""
    gives_reasons: bool = False
    saved_as: str = ""

    def describe(self) -> str:
        """The outcome in words, for a person."""
        if self.outcome == "unconfirmed" and self.why:
            return f"sent, not confirmed: {self.why}"  # the session ended first
        return {
            "delivered": "delivered",
            "failed": f"failed: {self.why or 'not saved'}",
            "declined": "not accepted",
            "unconfirmed": "sent (the peer does not confirm files)",
        }.get(self.outcome, self.outcome)


#: :attr:`FileCut.cause`: the session ended (either side: a Bye, this side's
#: end, a protocol error); no :class:`FileSent` follows.
CUT_ENDED = "ended"
#: The session's link was lost (it may be taken up again; the file is not
#: resumed: send it again); no :class:`FileSent` follows.
CUT_LOST = "lost"
#: The peer stopped taking it (it could not save it: ``why`` in its words);
#: a :class:`FileSent` "failed" follows.
CUT_FAILED = "failed"
#: This side could not read the rest of it (gone, unreadable, shorter than
#: offered); a :class:`FileSent` "failed" follows.
CUT_UNREAD = "unread"
#: Its sending was cancelled here (the task awaiting the send), the session
#: going on; no :class:`FileSent` follows; it is withdrawn at the peer
#: (its user is told ``WITHDRAWN_STOPPED``).
CUT_STOPPED = "stopped"
#: The peer's user stopped receiving it (a FileResult with the reason code
#: STOPPED_THERE: rstop36); the peer removed what it had of it; a
#: :class:`FileSent` "failed" follows, ``why`` STOPPED_THERE_WHY.
CUT_STOPPED_THERE = "stopped there"


@dataclass(frozen=True, slots=True)
class FileCut:
    """A file this side was sending (host and viewer) stopped before all of
    it went: once per such file, after the peer's yes and before its end
    (its :class:`FileSent` says what became of it, when one comes).
    ``sent``: the bytes of it handed to the link; ``arrived``: those the
    peer said it has (a peer that paces files says it; -1: not known).
    ``cause``: :data:`CUT_ENDED` or :data:`CUT_LOST` (no FileSent follows:
    the send raises :class:`~screencodec.errors.SessionClosedError`),
    :data:`CUT_FAILED` or :data:`CUT_UNREAD` (a FileSent "failed" follows),
    :data:`CUT_STOPPED` (cancelled here), :data:`CUT_STOPPED_THERE` (the
    peer's user stopped receiving it: a FileSent "failed" follows). ``why``: in words (a peer's
    through ``safe_text``). Told before the session's :class:`SessionEnded`."""

    peer: str
    name: str
    size: int
    transfer: int
    sent: int
    cause: str
    why: str = ""
    arrived: int = -1

    def describe(self) -> str:
        """For a person: how much went, and why it stopped."""
        how = f"{self.sent} of {self.size} bytes sent"
        if self.arrived >= 0:
            how += f", {self.arrived} arrived"
        return f"cut short ({how}): {self.why or self.cause}"


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
    was lost (through safe_text), "" when reachable. ``others``: when lost,
    the other relays it tries (those given, then those its relay listed of
    its cluster); ``moved_from``: when it works again at another relay of
    the cluster, the one it had been at (failover42)."""

    reachable: bool
    relay: str
    code: str
    error: str
    others: tuple[str, ...] = ()
    moved_from: str = ""


@dataclass(frozen=True, slots=True)
class SessionEnded:
    """Viewer ``peer``'s session ended (``reason``). ``resumable``: on a host,
    the seconds within which that agent may come back without the local user
    being asked again (its link was lost; see :mod:`.resume`), else 0.
    ``moved``: on a host, only this connection ended: the agent resumed the
    session on a new one (a :class:`SessionResumed` tells of it), so an
    interface shows no end. ``who``: on a host, the agent's name as the
    local user agreed to it ("" before any grant), what a later
    :class:`SessionResumed` names. ``host_failed``: on a viewer, the host
    ended it because its program failed, told by its code
    (:attr:`~.viewer.Viewer.host_failed`), whatever ``reason``'s words."""

    peer: str
    reason: str
    resumable: float = 0.0
    moved: bool = False
    who: str = ""
    host_failed: bool = False


@dataclass(frozen=True, slots=True)
class SessionResumed:
    """Host side: the agent ``who``, whose link was lost ``away`` seconds
    ago (0: the host had not noticed yet), came back as ``peer`` with a ticket
    of its session and holds ``level`` again, without a question: the local
    user should be told. ``was``: the peer name of the link it resumes (the
    one earlier events, and a :class:`ChatDelivery` of a line given before
    the resume, name)."""

    peer: str
    who: str
    level: Permission
    away: float
    was: str = ""


@dataclass(frozen=True, slots=True)
class SessionRejoined:
    """Viewer side: this Viewer came with a resume ticket (its link was
    lost), was let in, and the host said whether it took the session up.
    ``resumed`` True: the session goes on (its chat, its files' numbers).
    False: the host began a new session (its user had ended the one before
    while the agent was away, or it had expired, and the agent was let in
    anew): what the host's side sent meanwhile did not come. None: a host
    of the version before chat hellos, which does not say. Once per
    Viewer, before its first picture; :attr:`.viewer.Viewer.resumed` has
    the same."""

    peer: str
    resumed: bool | None

    def describe(self, level: object) -> str:
        """In words for the agent, with the ``level`` granted ("view")."""
        if self.resumed:
            return f"back in the session, granted: {level}"
        if self.resumed is False:
            return (f"the host's user had ended the session while you were away (or it had"
                    f" run out); this is a new session, you were let in again, granted: {level};"
                    " what the host's user wrote meanwhile did not come")  # fmt: skip
        return (f"reconnected, granted: {level} (this host's version does not say whether"
                " the session went on or a new one began)")  # fmt: skip


@dataclass(frozen=True, slots=True)
class EventsLost:
    """This subscriber fell ``limit`` events behind (see :class:`EventHub`):
    ``count`` events of the kinds that are otherwise never dropped were,
    the oldest first, since its previous read; ``kinds``: their class names
    ("FileSent", "SessionEnded", ...), sorted. Read before the events that
    remain; what they told is to be asked for again (``host.viewers``, a
    viewer's ``level``, ...)."""

    count: int
    kinds: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ClipboardReceived:
    """Text for this side's clipboard came from ``peer`` (.clipboard): on a
    viewer, the host's user sent theirs (``reason`` "command", or "sync":
    a change while this agent held CONTROL). ``text`` is the peer's, raw
    (valid UTF-8, at most 64 KiB): for the clipboard, never a terminal or
    a page's markup; ``repr`` leaves it out."""

    peer: str
    text: str = field(repr=False)
    reason: str = "command"

    @property
    def characters(self) -> int:
        return len(self.text)


@dataclass(frozen=True, slots=True)
class ClipboardSet:
    """An agent's text went on the host's clipboard: on the host, agent
    ``who`` (sanitised) of ``peer`` put ``characters`` characters there; on
    a viewer, the host says its text ``number`` was put there."""

    peer: str
    who: str
    characters: int
    number: int = 0


@dataclass(frozen=True, slots=True)
class ClipboardRefused:
    """An agent's text was not put on the host's clipboard: ``why`` (words
    made by this package, never the peer's). On the host, ``who`` sent it;
    on a viewer, the host's answer to its text ``number``."""

    peer: str
    who: str
    characters: int
    why: str
    number: int = 0


@dataclass(frozen=True, slots=True)
class ClipboardSent:
    """The host's clipboard text went to agent ``who`` of ``peer``
    (``reason`` "command" or "sync"): ``characters`` characters."""

    peer: str
    who: str
    characters: int
    reason: str


Event = (
    SharingChanged | PermissionChanged | StatsUpdated | ChatReceived | ChatDelivery | FileReceived
    | FileRefused | FileSent | FileCut | FrameDecoded | CursorMoved | PasswordGuessed
    | InputLetGo | RelayChanged | SessionEnded | SessionRejoined | SessionResumed | EventsLost
    | ClipboardReceived | ClipboardSet | ClipboardRefused | ClipboardSent
)  # fmt: skip

#: Events that a later one of the same kind supersedes (stats: of the same
#: peer): past ``maxsize``, a new one takes the place of a queued one.
#: A clipboard text another one replaces (a hostile host's flood of 64 KiB
#: texts must not queue thousands of them) is one of them too.
_SUPERSEDED = (FrameDecoded, CursorMoved, StatsUpdated, PasswordGuessed, SharingChanged,
               ClipboardReceived)  # fmt: skip
#: Of those, the state a UI shows (who sees the screen): a new one with none
#: queued to replace is queued as the kept kinds are, never dropped itself.
_STATES = (SharingChanged,)
#: A peer's chatter: dropped, oldest first, after the superseded kinds.
_CHATTER = (ChatReceived,)
_DROPPABLE = _SUPERSEDED + _CHATTER


def _supersedes(new: Event, old: Event) -> bool:
    """Whether ``new`` makes ``old`` (queued before it) worth nothing."""
    if type(new) is not type(old) or not isinstance(new, _SUPERSEDED):
        return False
    if isinstance(new, StatsUpdated) and isinstance(old, StatsUpdated):
        return new.stats.peer == old.stats.peer
    return True


class _Inbox:
    """One subscriber's bounded queue (see EventHub): ``items``, the events
    queued; ``dropped``, how many of each kept kind went at ``limit`` since
    the subscriber's last read (told by an :class:`EventsLost`)."""

    __slots__ = ("dropped", "items", "limit", "maxsize", "ready")

    def __init__(self, maxsize: int, limit: int) -> None:
        self.items: deque[Event] = deque()
        self.maxsize = maxsize
        self.limit = limit
        self.dropped: Counter[str] = Counter()
        self.ready = asyncio.Event()

    def put(self, event: Event) -> bool:
        """Queue ``event``; False when an event had to go: a queued one this
        one supersedes, the oldest droppable, ``event`` itself if droppable
        (not a state) and nothing droppable is queued, or at ``limit`` the
        oldest (told)."""
        items = self.items
        kept = True
        if isinstance(event, _DROPPABLE) and len(items) >= self.maxsize:
            victim = self._victim(event)
            if victim is not None:
                del items[victim]
                kept = False
            elif not isinstance(event, _STATES):
                return False  # nothing queued may go before it
        if len(items) >= self.limit:
            victim = self._victim(event)
            if victim is None:  # all kept kinds: the oldest goes, told
                self.dropped[type(items[0]).__name__] += 1
                victim = 0
            del items[victim]
            kept = False
        items.append(event)
        self.ready.set()
        return kept

    def _victim(self, event: Event) -> int | None:
        """The queued event to drop for ``event``: one it supersedes, else
        the oldest superseded kind, else the oldest chatter (None: none)."""
        first: dict[bool, int] = {}
        for i, ev in enumerate(self.items):
            if _supersedes(event, ev):
                return i
            if isinstance(ev, _DROPPABLE):
                first.setdefault(isinstance(ev, _SUPERSEDED), i)
        return first.get(True, first.get(False))

    def lost_notice(self) -> EventsLost | None:
        """The :class:`EventsLost` due before the next event (None: none)."""
        if not self.dropped:
            return None
        notice = EventsLost(sum(self.dropped.values()), tuple(sorted(self.dropped)))
        self.dropped.clear()
        return notice


class EventHub:
    """Fans events out to subscribers (see the module's notes): ``maxsize``
    queued events before droppable ones go, ``limit`` (default ``16 *
    maxsize``) before any other goes, told; ``lost`` counts every event a
    subscriber did not get."""

    def __init__(self, maxsize: int = 256, limit: int | None = None) -> None:
        self._maxsize = maxsize
        self._limit = max(maxsize, 16 * maxsize if limit is None else limit)
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
        inbox = _Inbox(self._maxsize, self._limit)
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
        notice = inbox.lost_notice()
        if notice is not None:
            return notice
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
