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

Pointer coordinates arrive relative to the monitor the viewer watches and are
clamped into it, so a viewer can never click outside what it was shown.
"""

from __future__ import annotations

import time

from screencodec.transport.session import messages as m
from screencodec.transport.session.permissions import CONTROL
from screencodec.transport.session.services import SessionLink

__all__ = ["InputGate", "key_of", "local_user_words"]

InputMessage = m.PointerMove | m.Button | m.Wheel | m.Key


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
            return
        if CONTROL not in link.level or host.injector is None:
            self.dropped += 1
            if not self._told_no_grant:
                self._told_no_grant = True
                await link.send(m.Notice(m.Notice.INPUT_DROPPED, "input ignored: no control grant"))
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
