"""The gate between a viewer's input messages and the host's injector.

Input reaches the injector only if (1) this viewer holds CONTROL and (2) the
local user has not touched the mouse/keyboard within ``local_input_pause``
seconds (local input wins). Everything else is dropped and counted; the viewer
is told once per reason (per grant, per pause) so the agent understands why
the pointer does not move, without a notice per mouse event.

Input that arrived before this viewer held CONTROL is dropped, never injected
after the grant: while the first question waits the session drops input itself
(``dropped_early``); after an upgrade grants CONTROL, input arriving within one
round trip of the grant was sent before the viewer could have seen it and is
dropped too (``dropped_before_grant``). A resumed session (.resume) holds
CONTROL from its grant without a question on the new connection: input up to
the viewer's first receipt there (sent after it saw the grant and an update:
the channel keeps order) was typed blind and is dropped the same way.

What is ignored, for any of these reasons, is counted by kind (input46):
keys (a press: its release is the same key), pointer moves, clicks (a
button's press) and scrolls (a Wheel message), :data:`IGNORED_KINDS`. The
host's status line and the agent's view say the same figures in the same
words (:func:`ignored_words`): the host's line had counted every message
(300 for 150 keys) while the agent's /type counted characters. A viewer that
reads them (``Capabilities.KEY_COUNTS``) is sent the counts
(``Notice.KEYS_IGNORED``) at once when the first of a stretch is ignored,
then at most once every :data:`COUNT_EVERY` s, the last carrying the total
(a held-down burst of 200 keys had made 200 notices).

Pointer coordinates arrive relative to the monitor the viewer watches and are
clamped into it, so a viewer can never click outside what it was shown.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence

from screencodec.errors import ScreencodecError
from screencodec.transport.session import messages as m
from screencodec.transport.session.permissions import CONTROL
from screencodec.transport.session.services import SessionLink

__all__ = [
    "COUNT_EVERY",
    "IGNORED_KINDS",
    "InputGate",
    "ignored_counts",
    "ignored_words",
    "key_of",
    "local_user_words",
]

InputMessage = m.PointerMove | m.Button | m.Wheel | m.Key

#: What the host counts of an agent's input it ignored, in the order of
#: ``Notice.KEYS_IGNORED``'s figures and ``LinkStats.input_ignored``.
IGNORED_KINDS = ("key", "pointer move", "click", "scroll")
#: Seconds between two KEYS_IGNORED notices to one viewer at least.
COUNT_EVERY = 0.2


def ignored_words(counts: Sequence[int]) -> str:
    """``counts`` (by :data:`IGNORED_KINDS`) in words, those that are 0
    left out: "150 keys, 40 pointer moves" ("" for none). The host's status
    line and the agent's view both say it, so the two read the same."""
    return ", ".join(f"{n} {kind}{'' if n == 1 else 's'}"
                     for n, kind in zip(counts, IGNORED_KINDS, strict=False) if n)  # fmt: skip


def ignored_counts(text: str) -> tuple[int, ...] | None:
    """A KEYS_IGNORED notice's text (a peer's) read: its figures, one (the
    keys: a host of words45's version, or a viewer without INPUT_COUNTS) or
    one for each of :data:`IGNORED_KINDS`; None for anything else (a figure
    of more than 10 digits, a sign, another count of figures)."""
    figures = text.split(" ")
    if len(figures) not in (1, len(IGNORED_KINDS)):
        return None
    if not all(f.isdecimal() and f.isascii() and len(f) <= 10 for f in figures):
        return None
    return tuple(int(f) for f in figures)


def _kind(msg: InputMessage) -> int | None:
    """Which of :data:`IGNORED_KINDS` ``msg`` counts as, if any: a key's or
    a button's release is part of its press."""
    if isinstance(msg, m.Key):
        return 0 if msg.down else None
    if isinstance(msg, m.PointerMove):
        return 1
    if isinstance(msg, m.Button):
        return 2 if msg.down else None
    return 3


def local_user_words(pause: float) -> str:
    """The LOCAL_USER_ACTIVE notice's words, which the agent's page shows:
    whose input, which input, and for how long the agent's is not taken
    (walk38: "the local user is using the input", the host's jargon)."""
    return (f"the user is using their own mouse or keyboard: yours is ignored until"
            f" they stop for {pause:g} s")


def key_of(keysym: int, text: str) -> int:
    """The key a Key message presses, as the gate counts what an agent
    holds: its keysym; a key sent with only its text (keysym 0: a character
    the agent's keymap lacks) is its one character's keysym (X's: Latin-1
    as itself, any other 0x01000000 + its code point, as the page's
    ``charKeysym``), which an X injector presses. keys44: all keysym-0 keys
    were one entry, so two held at once were let go of as one, or none."""
    if keysym or len(text) != 1:
        return keysym
    cp = ord(text)
    return cp if 0x20 <= cp <= 0x7E or 0xA0 <= cp <= 0xFF else 0x01000000 + cp


class InputGate:
    def __init__(self, link: SessionLink) -> None:
        self._link = link
        self.dropped = 0  # no grant
        self.dropped_local = 0  # local user active
        #: What of this link's input was ignored, for any reason, by kind
        #: (:data:`IGNORED_KINDS`): what the host's status line and the
        #: agent's view say (Notice.KEYS_IGNORED).
        self.ignored = [0] * len(IGNORED_KINDS)
        self._told: tuple[int, ...] = (0,) * len(IGNORED_KINDS)
        self._told_at = -COUNT_EVERY  # when the last count was sent (monotonic)
        self._count_due = False  # a count is to go at the end of the period
        self.dropped_early = 0  # before the first answer (counted by the session)
        self.dropped_before_grant = 0  # in flight when CONTROL was granted
        self.injected = 0
        self._control_from = 0.0
        #: When CONTROL was last granted (monotonic; None: never): clipboard
        #: sync sends a change only to a link that held it since before.
        self.control_since: float | None = None
        self._told_no_grant = False
        self._told_local_since = -1.0
        self._blind = False  # resumed, no receipt yet on this connection
        #: What this agent holds down on the host now: ``("key", key_of(...))``
        #: and ``("button", n)`` injected down and not yet up; emptied when
        #: the host lets go of the agents' input (:meth:`let_go`), and a key
        #: or button any agent lets up is up for all (one keyboard and mouse).
        self.holding: set[tuple[str, int]] = set()
        #: How a held key came, its keysym and text (:func:`key_of`'s
        #: argument), by its key: its release is sent as it came (an
        #: injector finds a keysym-0 key by its text).
        self.pressed_as: dict[int, tuple[int, str]] = {}
        #: Times its input was let go of for its link's silence (held_silence).
        self.released_silent = 0
        #: The agent's words of the last such release and its loop time,
        #: until the agent is heard after it: a link lost before then parks
        #: them with its ticket, and a resumed session says them (input44);
        #: a resumed link's are its own at time ``inf`` until its agent
        #: answers an update (keys44: sent after them).
        self.untold: tuple[str, float] | None = None

    @property
    def keys_ignored(self) -> int:
        """The keys among :attr:`ignored` (words45's count)."""
        return self.ignored[0]

    def count(self, msg: InputMessage) -> bool:
        """Count ``msg`` as ignored; whether a figure changed."""
        kind = _kind(msg)
        if kind is not None:
            self.ignored[kind] += 1
        return kind is not None

    async def _ignored(self, msg: InputMessage) -> None:
        """Count ``msg`` as ignored and tell a viewer that reads the counts,
        so that its /type can say how many of its characters reached the
        keyboard (words45)."""
        if self.count(msg):
            await self._tell()

    async def _tell(self) -> None:
        """Send the counts now if none went within :data:`COUNT_EVERY`,
        else once it has passed (one send carries all that came meanwhile)."""
        if not self._link.capabilities.flags & m.Capabilities.KEY_COUNTS or self._count_due:
            return
        wait = self._told_at + COUNT_EVERY - time.monotonic()
        if wait <= 0:
            await self._send_counts()
        else:
            self._count_due = True
            self._link.spawn(self._tell_later(wait))

    async def _tell_later(self, wait: float) -> None:
        await asyncio.sleep(wait)
        self._count_due = False
        with contextlib.suppress(ScreencodecError, OSError):  # the link went meanwhile
            await self._send_counts()

    async def _send_counts(self) -> None:
        counts = tuple(self.ignored)
        every = self._link.capabilities.flags & m.Capabilities.INPUT_COUNTS
        # A viewer of words45's version reads one figure, the keys.
        if counts == self._told or (not every and counts[0] == self._told[0]):
            return
        self._told, self._told_at = counts, time.monotonic()
        text = " ".join(map(str, counts)) if every else str(counts[0])
        await self._link.send(m.Notice(m.Notice.KEYS_IGNORED, text))

    def resumed(self) -> None:
        """The session resumed on this connection: input is dropped until
        :meth:`receipt` (module notes)."""
        self._blind = True

    def receipt(self) -> None:
        """A receipt (or ack) came: what follows was sent after the grant."""
        self._blind = False

    def granted(self, control: bool, rtt: float | None) -> None:
        """The viewer's level changed now; ``control``: it includes CONTROL
        now. ``rtt`` (seconds, None = unknown): what the viewer sent before it
        saw the grant arrives up to this long after it."""
        if control:
            self.control_since = time.monotonic()
            self._control_from = self.control_since + (rtt or 0.0)

    def let_go(self) -> None:
        """The host let go of what this agent held (the injector's
        ``release_all``, or its own keys' and buttons' releases): it holds
        nothing now."""
        self.holding.clear()
        self.pressed_as.clear()

    def let_up(self, what: tuple[str, int]) -> None:
        """A key or button (as in :attr:`holding`) is up now."""
        self.holding.discard(what)
        if what[0] == "key":
            self.pressed_as.pop(what[1], None)

    def before_grant(self) -> bool:
        """Whether what the viewer sends now may have been sent before it
        saw its CONTROL grant (module notes): the clipboard's rule too."""
        return self._blind or time.monotonic() < self._control_from

    async def handle(self, msg: InputMessage) -> None:
        link = self._link
        host = link.host
        if CONTROL in link.level and (self._blind or time.monotonic() < self._control_from):
            self.dropped_before_grant += 1
            await self._ignored(msg)
            return
        if CONTROL not in link.level or host.injector is None:
            self.dropped += 1
            if not self._told_no_grant:
                self._told_no_grant = True
                await link.send(m.Notice(m.Notice.INPUT_DROPPED, "input ignored: no control grant"))
            await self._ignored(msg)
            return
        self._told_no_grant = False  # a later revoke should explain itself again
        now = time.monotonic()
        if now < host.local_input_until:
            self.dropped_local += 1
            # One notice per stretch of local use: each local move extends
            # the pause, and a user who keeps moving stays in one stretch
            # however rarely the agent's input comes.
            tell = host.local_input_since != self._told_local_since
            self._told_local_since = host.local_input_since
            if tell:
                await link.send(m.Notice(m.Notice.LOCAL_USER_ACTIVE, local_user_words(
                    host.config.local_input_pause)))
            await self._ignored(msg)
            return
        inj = host.injector
        if isinstance(msg, m.PointerMove):
            mon = next(
                (x for x in host.hub.monitors(link.monitor) if x.index == link.monitor), None
            )
            left, top = (mon.left, mon.top) if mon else (0, 0)
            w, h = (mon.width, mon.height) if mon else (1 << 20, 1 << 20)
            x = left + min(max(msg.x, 0), w - 1)
            y = top + min(max(msg.y, 0), h - 1)
            host.note_injected_pointer(x, y)
            inj.pointer_move(x, y)
        elif isinstance(msg, m.Button):
            inj.button(msg.button, msg.down)
            self._hold(("button", msg.button), msg.down)
        elif isinstance(msg, m.Wheel):
            inj.wheel(msg.dx, msg.dy)
        else:
            inj.key(msg.keysym, msg.down, msg.text)
            key = key_of(msg.keysym, msg.text)
            self._hold(("key", key), msg.down)
            if msg.down:
                self.pressed_as[key] = (msg.keysym, msg.text)
        self.injected += 1

    def _hold(self, what: tuple[str, int], down: bool) -> None:
        if down:
            self.holding.add(what)
        else:  # up for every agent: one keyboard, one mouse (keys44)
            self.let_up(what)
            self._link.host.let_up(what)
