"""Chat delivery: which of this side's chat lines the peer's program has.

A :class:`~.messages.Chat` carries no number. Each side keeps, for the
whole session (a resumed link carries on the same session, and the same
:class:`ChatLedger`), how many chat lines it has received from the peer, and
tells the peer so on the reserved extension channel :data:`CHAT_CHANNEL`
(docs/transport.md, "Chat delivery"):

* ``0x01`` hello, once per link, before this side's first chat line on it:
  flags (u8; bit 0: the link carries on a session whose chat went on
  before, a resume), the peer's lines this side has (u64), and the number
  (u64, from 1 in a session) of the next chat line this side sends on this
  link. The host sends it after the monitor list, before its first update;
  the viewer answers it with its own (and only then sends its chat).
* ``0x02`` acknowledgement: the peer's lines this side has (u64), sent after
  each chat line from a peer that said hello, once the line was handed to
  this side's program (its ChatReceived event).

A line stays kept (at most :data:`MAX_UNACKED`; past that :meth:`send`
a line waits up to 5 s for room, then :meth:`send` refuses with
:class:`ChatBacklogError`) until the peer acknowledged it: a
:class:`~.events.ChatDelivery` "delivered" then. Kept lines go again, after
the hello, on the link that resumes the session; the receiver numbers the
lines from the hello's number on and drops those it had (counted in
``duplicates``), so each line is shown once, in order. A session that ends
with lines kept tells those that went on a link (which ended before their
acknowledgement came) "not confirmed": the peer's program may have had
them, its acknowledgement lost as the session ended, and nothing here can
tell; and those that never went on a link (kept for a peer that never came
back, or whose sending failed) "not delivered": the peer's program never
had them. A line went once its bytes were handed to the connection, also
when its send then failed (the link ended while they waited for the socket:
:attr:`SessionClosedError.handed <screencodec.errors.SessionClosedError>`);
they may still reach the peer.

An older peer sends no hello and ignores the channel (an unknown extension
channel): a viewer learns so when an update comes with no hello before it,
a host when a receipt does. Its lines are then told "sent" (they went; no
acknowledgement will come) and not kept.

Everything on the channel is the peer's: a hello or acknowledgement that is
malformed, comes twice, goes backwards or counts past the lines written is
ignored and counted in ``ignored``; it never ends the session.

One event loop; the send side may be called from any task on it: lines
given at the same moment by different tasks go in the order of the calls
(one caller at a time, first come first served, also while they wait for
room; each caller's wait counts from its own call).
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from screencodec.errors import ScreencodecError, SessionClosedError
from screencodec.transport.aio import wait_for
from screencodec.transport.session.events import ChatDelivery
from screencodec.transport.session.messages import MAX_CHAT_BYTES, Chat, Extension, Message

__all__ = [
    "BACKLOG_WAIT",
    "CHAT_CHANNEL",
    "DELIVERED",
    "MAX_EARLY_CHAT",
    "MAX_UNACKED",
    "NOT_CONFIRMED",
    "NOT_DELIVERED",
    "SENT",
    "SESSION_ENDED",
    "ChatBacklogError",
    "ChatLedger",
    "HeldLine",
    "Settled",
    "chat_ack",
    "chat_hello_next",
]

#: The reserved extension channel of chat delivery (module notes).
CHAT_CHANNEL = "screencodec.chat"
#: Lines kept, unacknowledged, at most: past it :meth:`ChatLedger.send`
#: waits up to :data:`BACKLOG_WAIT` seconds for the peer to confirm some
#: (a burst on a live link), then refuses.
MAX_UNACKED = 64
BACKLOG_WAIT = 5.0
#: The host's user's lines to an agent whose first request is still asked
#: about, at most (say38: they go outside this ledger, unnumbered and not
#: acknowledged, to a viewer that says it reads them, Capabilities
#: EARLY_CHAT); the host sends no more, a viewer that gets more ends.
MAX_EARLY_CHAT = 64
#: :class:`~.events.ChatDelivery` states.
DELIVERED, SENT, NOT_DELIVERED = "delivered", "sent", "not delivered"
#: ... of a line that went on a link that ended before the peer's
#: acknowledgement came: it may have arrived (the ack lost), or not.
NOT_CONFIRMED = "not confirmed"
#: Why lines were not delivered (or not confirmed): the session ended first.
SESSION_ENDED = "the session ended"

_HELLO, _ACK = 1, 2
_RESUMED = 0x01
_HELLO_SIZE, _ACK_SIZE = 18, 9
_U64 = (1 << 64) - 1

_Send = Callable[[Message], Awaitable[None]]
_Emit = Callable[[Any], None]
#: ``(number, text, typed)``: one of this side's lines, its wire number in the
#: session and the ``time.monotonic()`` of the call that gave it.
HeldLine = tuple[int, str, float]


@dataclass(frozen=True, slots=True)
class Settled:
    """What the end of a session settled of this side's kept lines (told to
    :attr:`ChatLedger.on_over`, for the host's audit log): ``never``, those
    that never went on a link (told not delivered), and ``went``, those that
    went on one that ended before the peer's acknowledgement came, told
    ``went_state``: not confirmed, or sent to a peer that never said whether
    it acknowledges."""

    never: list[HeldLine]
    went: list[HeldLine]
    went_state: str = NOT_CONFIRMED


class ChatBacklogError(ScreencodecError, RuntimeError):
    """:data:`MAX_UNACKED` lines wait for the peer's acknowledgement: this
    one was not sent (the link is stalled, or the peer does not read).
    From :meth:`~.host.Host.send_chat`, a line to several viewers:
    ``refused``, the viewers it was not sent to; ``sent``, the ids of it
    for the others, to whom it went."""

    def __init__(self, message: str, *, refused: tuple[str, ...] = (),
                 sent: dict[str, int] | None = None) -> None:  # fmt: skip
        super().__init__(message)
        self.refused = refused
        self.sent: dict[str, int] = dict(sent or {})


def _hello(resumed: bool, received: int, first: int) -> Extension:
    payload = (bytes([_HELLO, _RESUMED if resumed else 0]) + min(received, _U64).to_bytes(8, "big")
               + min(first, _U64).to_bytes(8, "big"))  # fmt: skip
    return Extension(CHAT_CHANNEL, payload)


def _chat_payload(msg: Message, first: int, size: int) -> bytes | None:
    if not isinstance(msg, Extension) or msg.channel != CHAT_CHANNEL:
        return None
    if len(msg.payload) != size or msg.payload[0] != first:
        return None
    return msg.payload


def chat_ack(msg: Message) -> int | None:
    """The count a well-formed acknowledgement ``msg`` carries (how many of
    the other side's lines its sender has), else None: what an audit log
    records of it (recording/audit.py)."""
    payload = _chat_payload(msg, _ACK, _ACK_SIZE)
    return None if payload is None else int.from_bytes(payload[1:], "big")


def chat_hello_next(msg: Message) -> int | None:
    """The number of the next chat line a well-formed hello ``msg``'s sender
    sends (its lines of the session so far, plus one), else None: how an
    audit log knows how many lines the host wrote (recording/audit.py)."""
    payload = _chat_payload(msg, _HELLO, _HELLO_SIZE)
    return None if payload is None else int.from_bytes(payload[10:18], "big")


class ChatLedger:
    """One side's chat of one session (module notes). ``enabled=False``:
    a side of the version before (no hello, no acknowledgement, no line
    kept, no :class:`~.events.ChatDelivery`)."""

    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._lock: asyncio.Lock | None = None
        self._turn: asyncio.Lock | None = None  # :meth:`send`'s callers, one at a time
        self._ids = 0  # the last line id given (this object's whole life)
        self._base = 0  # the id of the session's line 0: wire number = id - base
        self._acked = 0  # the last id the peer has (or that was settled)
        self._written = 0  # the last id written on a link
        self._pending: collections.deque[tuple[int, str]] = collections.deque()
        self._typed: dict[int, float] = {}  # a kept line's id -> its call's time.monotonic()
        #: Told once, when this side's lines stop being logged where they
        #: are (the host's audit log, session/away.py): what the session's end
        #: settled of them (:meth:`give_up`), or None (a new link takes the
        #: session up: :meth:`taken_up`; the kept lines go there, and its log
        #: has them).
        self.on_over: Callable[[Settled | None], None] | None = None
        #: The peer's lines this side has (its count, this session).
        self.received = 0
        self._peer_next = 1  # the wire number of the peer's next line
        #: Whether the peer acknowledges: None until it said hello (True) or
        #: showed it is of the version before (False).
        self.peer_acks: bool | None = None
        #: What the peer's hello on the present link said of it: True, it
        #: carries on the session (a resume taken up); False, a new session
        #: (for a viewer that resumed: the host did not take it up); None
        #: until a hello came on this link.
        self.peer_resumed: bool | None = None
        #: Hellos and acknowledgements from the peer that were ignored
        #: (malformed, twice, backwards, past what was written).
        self.ignored = 0
        #: The peer's lines dropped because this side had them (sent again after a resume).
        self.duplicates = 0
        #: Lines the peer's numbers skipped (never seen here).
        self.skipped = 0
        #: ``(id, text)`` of the lines told not delivered (never went on a
        #: link), the latest few.
        self.lost_lines: collections.deque[tuple[int, str]] = collections.deque(
            maxlen=4 * MAX_UNACKED)
        #: ``(id, text)`` of the lines told not confirmed (went on a link that
        #: ended before their acknowledgement), the latest few.
        self.unconfirmed_lines: collections.deque[tuple[int, str]] = collections.deque(
            maxlen=4 * MAX_UNACKED)
        self._owner: object | None = None
        self._send: _Send | None = None
        self._emit: _Emit | None = None
        self._peer = ""
        #: ``(first id, name)``: the peer's name from that id on. A resumed
        #: link has a new one, and a line's delivery names the peer its id
        #: was given for (host.send_chat's ids, by peer).
        self._names: collections.deque[tuple[int, str]] = collections.deque()
        self._attached = False  # the hello went on the present link
        self._heard = False  # the peer's hello came on the present link
        self._expiry: asyncio.TimerHandle | None = None
        self._freed: asyncio.Event | None = None  # set when kept lines are settled
        self._over = False  # given up: the session ended, no link will come (till a bind)

    # -- the link ---------------------------------------------------------------------

    def bind(self, owner: object, send: _Send, emit: _Emit, peer: str) -> None:
        """A new link of the session (``owner``: its Host-side link or its
        Viewer): what it sends with and where its events go. Nothing is sent
        until :meth:`attach`."""
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        self._owner, self._send, self._emit, self._peer = owner, send, emit, peer
        self._over = False
        if self._names and self._names[-1][0] > self._ids:
            self._names.pop()  # no line was given for the name before
        if not self._names or self._names[-1][1] != peer:
            self._names.append((self._ids + 1, peer))
        while len(self._names) > 1 and self._names[1][0] <= self._acked + 1:
            self._names.popleft()  # every line of the first name is settled
        self._attached = self._heard = False
        self.peer_resumed = None
        self._peer_next = self.received + 1  # a peer of the version before numbers nothing
        if self.peer_acks is False:
            self.peer_acks = None  # the same agent may come back with a newer program

    async def attach(self, owner: object, *, resumed: bool,
                     first: Callable[[], None] | None = None) -> None:  # fmt: skip
        """Say hello on ``owner``'s link and send the kept lines, before any
        other chat line goes there. ``first`` is called right before, when
        no line can be given meanwhile: what :meth:`held` and
        :attr:`written` say then is what goes (the host's audit log of a
        resumed link is told so, session/link.py)."""
        async with self._locked():
            if owner is self._owner and not self._attached:
                if first is not None:
                    first()
                await self._attach(resumed)

    async def _attach(self, resumed: bool) -> None:
        self._attached = True
        if not self.enabled or self._send is None:
            return
        line_id = 0  # the hello
        try:
            await self._send(_hello(resumed, self.received, self._acked + 1 - self._base))
            for line_id, text in list(self._pending):
                await self._send(Chat(text))
                self._written = max(self._written, line_id)
        except (ScreencodecError, OSError) as exc:
            self._went(line_id, exc)
            self._attached = False  # kept: the next link sends them

    def taken_up(self) -> None:
        """A new link takes the session up (a resume): :attr:`on_over` is told
        None, and the next link's end sets it anew."""
        self._over_told(None)

    def bound_to(self, owner: object) -> bool:
        """Whether ``owner``'s link is the one this session's chat goes on
        (:meth:`bind`): a link that ended before its chat began (consent
        denied, no request in time) is not, and its :meth:`detach` settles
        nothing."""
        return owner is self._owner

    def detach(self, owner: object, *, keep: bool = False, window: float = 0.0) -> list[str]:
        """``owner``'s link ended. ``keep``: the session goes on elsewhere (a
        resume under way); ``window`` > 0: it may be resumed within that many
        seconds, after which the kept lines are told not delivered. Else the
        session is over: the kept lines are told so now. Returns the texts
        told not delivered."""
        if owner is not self._owner:
            return []
        self._attached = False
        if keep:
            return []
        if window > 0:
            loop = asyncio.get_running_loop()
            self._expiry = loop.call_later(window, self.give_up)
            return []
        return self.give_up()

    def keep(self, window: float) -> None:
        """The link that took the session up ended before its chat began
        there, and the session may be taken up again within ``window``
        seconds (session/resume.py): as :meth:`detach`'s window, counted
        from now."""
        if self._expiry is not None:
            self._expiry.cancel()  # the window of the link before
        self._expiry = asyncio.get_running_loop().call_later(window, self.give_up)

    def give_up(self) -> list[str]:
        """The session is over (it was not taken up again): of the kept
        lines, those that went on a link are told not confirmed (to a peer
        that never said whether it acknowledges: "sent"), the others not
        delivered; returns the texts told either, in order."""
        if self._expiry is not None:
            self._expiry.cancel()  # told now (a second give_up settles nothing)
        self._expiry = None
        self._over = True  # a line given from now on is refused (send)
        pending, self._pending = list(self._pending), collections.deque()
        typed, self._typed = self._typed, {}
        never = [(i, t) for i, t in pending if i > self._written]
        went = [(i, t) for i, t in pending if i <= self._written]

        def held(lines: list[tuple[int, str]]) -> list[HeldLine]:
            return [(i - self._base, t, typed.get(i, 0.0)) for i, t in lines]

        self._over_told(Settled(held(never), held(went),
                                NOT_CONFIRMED if self.peer_acks is not None else SENT))  # fmt: skip
        if not pending:
            return []
        self._acked = max(self._acked, pending[-1][0])
        if self.peer_acks is None:
            self._tell(went, SENT)
            went = []
        else:
            self._tell(went, NOT_CONFIRMED, SESSION_ENDED)
            self.unconfirmed_lines.extend(went)
        self._tell(never, NOT_DELIVERED, SESSION_ENDED)
        self.lost_lines.extend(never)
        return [t for _, t in went + never]

    # -- this side's lines ----------------------------------------------------------------

    async def send(self, text: str) -> int:
        """Send ``text`` (or keep it for the link that says hello): its id,
        which the :class:`~.events.ChatDelivery` naming it carries.
        :class:`ChatBacklogError` when :data:`MAX_UNACKED` lines still wait
        after :data:`BACKLOG_WAIT` seconds; :class:`SessionClosedError` once
        the session ended (:meth:`give_up`: not kept, never told); to a peer
        of the version before, a send error as before; ValueError for a
        line the wire cannot take (more than MAX_CHAT_BYTES, a NUL)."""
        # Refused before it is kept: a line the wire cannot take, kept for a
        # link that resumes, was sent again there and ended the session with
        # an internal error (walk46: a 10 kB line pasted after /say).
        size = len(text.encode("utf-8"))  # a lone surrogate: UnicodeEncodeError, a ValueError
        if size > MAX_CHAT_BYTES or "\x00" in text:
            raise ValueError(f"a chat line takes at most {MAX_CHAT_BYTES} bytes and no NUL"
                             f" (this one: {size} bytes)")  # fmt: skip
        called = time.monotonic()  # when the person typed it (an audit log says so)
        deadline = asyncio.get_running_loop().time() + BACKLOG_WAIT
        async with self._in_turn():  # the order of the calls is the order on the wire
            return await self._send_line(text, deadline, called)

    async def _send_line(self, text: str, deadline: float, called: float) -> int:
        await self._room(deadline)
        async with self._locked():
            if self._over:  # kept, it would never go nor be told not delivered
                raise SessionClosedError("the session ended: the chat line was not sent")
            if not self.enabled or self.peer_acks is False:
                if self._send is None:
                    raise ScreencodecError("not connected")
                await self._send(Chat(text))
                self._ids += 1
                self._acked = self._written = self._ids
                if self.enabled:
                    self._tell([(self._ids, text)], SENT)
                return self._ids
            if len(self._pending) >= MAX_UNACKED:
                raise ChatBacklogError(f"{MAX_UNACKED} chat lines wait for the peer to"
                                       " confirm them: not sent")  # fmt: skip
            self._ids += 1
            line_id = self._ids
            self._pending.append((line_id, text))
            self._typed[line_id] = called
            if self._attached and self._send is not None:
                try:
                    await self._send(Chat(text))
                    self._written = line_id
                except (ScreencodecError, OSError) as exc:
                    self._went(line_id, exc)
                    self._attached = False  # kept: the link that resumes sends it
            return line_id

    async def peer_is_old(self) -> None:
        """The peer showed it is of the version before (an update, or a
        receipt, with no hello first): the kept lines go (if not yet) and
        are told sent; none are kept from now on."""
        if self.peer_acks is not None or not self.enabled:
            return
        async with self._locked():
            if self.peer_acks is not None:
                return
            self.peer_acks = False
            pending, self._pending = list(self._pending), collections.deque()
            self._typed.clear()
            try:
                if not self._attached and self._send is not None:
                    self._attached = True
                    for _, text in pending:
                        await self._send(Chat(text))
            finally:
                if pending:
                    self._acked = self._written = max(self._written, pending[-1][0])
                    self._tell(pending, SENT)

    # -- the peer's words -----------------------------------------------------------------

    @property
    def numbering(self) -> tuple[int, int]:
        """``(next, had)``: the number this side gives the peer's next chat
        line, and the highest it has; :meth:`take` drops a line numbered
        ``had`` or less. What an audit log needs to tell such a line apart
        (recording/audit.py: a hostile viewer may number its lines again);
        ``(1, 0)`` when disabled (each line new)."""
        return (self._peer_next, self.received) if self.enabled else (1, 0)

    def take(self) -> bool:
        """A chat line from the peer came: True if it is new (to be handed
        to the program), False if this side had it (sent again after a resume)."""
        number = self._peer_next
        self._peer_next += 1
        if not self.enabled:
            return True
        if number <= self.received:
            self.duplicates += 1
            return False
        self.skipped += number - self.received - 1
        self.received = number
        return True

    async def acknowledge(self) -> None:
        """Tell a peer that acknowledges how many of its lines this side has."""
        if self.enabled and self._heard and self._send is not None:
            payload = bytes([_ACK]) + min(self.received, _U64).to_bytes(8, "big")
            # The link is going, if it fails: the hello on the next one says it.
            with contextlib.suppress(ScreencodecError, OSError):
                await self._send(Extension(CHAT_CHANNEL, payload))

    async def on_channel(self, payload: bytes, *, answer: bool) -> None:
        """A message from the peer on :data:`CHAT_CHANNEL`. ``answer``: this
        side says hello once the peer's came (the viewer)."""
        if not self.enabled:
            return  # the version before: an unknown channel
        if payload[:1] == bytes([_HELLO]):
            await self._on_hello(payload, answer)
        elif payload[:1] == bytes([_ACK]):
            if len(payload) != _ACK_SIZE or not self._heard:
                self.ignored += 1
                return
            self._on_ack(int.from_bytes(payload[1:], "big"))
        # another first byte: a later version's, ignored

    async def _on_hello(self, payload: bytes, answer: bool) -> None:
        first = int.from_bytes(payload[10:18], "big")
        if len(payload) != _HELLO_SIZE or self._heard or self.peer_acks is False or first < 1:
            self.ignored += 1
            return
        async with self._locked():
            self._heard = True
            self.peer_acks = True
            self.peer_resumed = bool(payload[1] & _RESUMED)
            self._peer_next = first
            had = int.from_bytes(payload[2:10], "big")
            if answer and not payload[1] & _RESUMED and (self.received or self._ids > self._base):
                # The host began a new session (the resume was not taken up):
                # the kept lines are its first, the counts start again.
                self._base, self.received = self._acked, 0
                self._written = min(self._written, self._base)
            elif answer and payload[1] & _RESUMED and not (self._written or self.received):
                # A session resumed by a viewer that did not carry its chat on
                # (a plain-bytes ticket): this side's lines go on from the
                # host's count, and the host's from those it sends again.
                self._base = self._acked - min(had, _U64)
                self.received = first - 1
            self._on_ack(had)
            if answer and not self._attached:
                await self._attach(bool(payload[1] & _RESUMED))

    def _on_ack(self, count: int) -> None:
        line_id = self._base + count
        if line_id < self._acked or line_id > self._written:
            self.ignored += 1  # backwards, or lines never written
            return
        had = [(i, t) for i, t in self._pending if i <= line_id]
        if not had:
            return
        for i, _ in had:
            self._pending.popleft()
            self._typed.pop(i, None)
        self._acked = max(self._acked, line_id)
        self._tell(had, DELIVERED)

    # -- helpers ---------------------------------------------------------------------

    def _over_told(self, settled: Settled | None) -> None:
        told, self.on_over = self.on_over, None
        if told is not None:
            told(settled)

    def _went(self, line_id: int, exc: BaseException) -> None:
        """Line ``line_id``'s send failed with ``exc``: if its bytes had been
        handed to the connection first (the link ended while they waited to
        drain), it went all the same: the peer may have it, and it is told
        not confirmed, never not delivered, if the session ends now."""
        if line_id and isinstance(exc, SessionClosedError) and exc.handed:
            self._written = max(self._written, line_id)

    def _tell(self, lines: list[tuple[int, str]], state: str, why: str = "") -> None:
        """One :class:`~.events.ChatDelivery` per peer name the lines' ids
        were given for (a resume between them: two)."""
        self._settled()  # room for lines waiting to be sent
        if not lines or self._emit is None:
            return
        starts = [first for first, _ in self._names]
        runs: dict[int, list[tuple[int, str]]] = {}
        for line in lines:
            runs.setdefault(max(bisect.bisect_right(starts, line[0]) - 1, 0), []).append(line)
        for at, run in runs.items():
            peer = self._names[at][1] if self._names else self._peer
            self._emit(ChatDelivery(peer, run[0][0], run[-1][0], state,
                                    tuple(t for _, t in run), why))  # fmt: skip

    async def _room(self, deadline: float) -> None:
        """Wait (until ``deadline``, the loop's time) while :data:`MAX_UNACKED`
        lines are kept; :meth:`send` refuses if they still are."""
        loop = asyncio.get_running_loop()
        while len(self._pending) >= MAX_UNACKED and self.enabled and self.peer_acks is not False:
            if self._freed is None:
                self._freed = asyncio.Event()
            self._freed.clear()
            left = deadline - loop.time()
            if left <= 0:
                return
            with contextlib.suppress(asyncio.TimeoutError):
                await wait_for(self._freed.wait(), left)

    def _settled(self) -> None:
        if self._freed is not None:
            self._freed.set()

    def _in_turn(self) -> asyncio.Lock:
        """Held by one :meth:`send` at a time, from its call to its line's
        writing: the callers are served in the order they called (asyncio's
        lock is first come, first served), also while they wait for room."""
        if self._turn is None:
            self._turn = asyncio.Lock()
        return self._turn

    def _locked(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    @property
    def written(self) -> int:
        """This side's lines of the session that went on a link so far (the
        wire number of the last one): a resumed link's audit log logs only
        those past it when they go again (recording/audit.py)."""
        return max(self._written - self._base, 0)

    def held(self) -> list[HeldLine]:
        """The kept lines that never went on a link (typed while the peer was
        away, or whose sending failed as the link ended), in order: those
        the link that takes the session up sends first (its audit log says
        when they were typed, recording/audit.py)."""
        return [(i - self._base, t, self._typed.get(i, 0.0))
                for i, t in self._pending if i > self._written]  # fmt: skip

    @property
    def waiting(self) -> int:
        """Lines kept, not acknowledged yet."""
        return len(self._pending)
