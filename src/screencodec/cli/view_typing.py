"""``screencodec view``'s keyboard in a terminal: ``/type TEXT`` types TEXT
on the host's keyboard, ``/key NAME`` presses one key or chord (``Enter``,
``Tab``, ``Ctrl+C``, ``Alt+F4``), while the agent holds CONTROL.

walk43: ``view --control`` in a terminal had the host's user asked for
their mouse and keyboard, granted, and then said "this terminal sends no
input": the user was asked for what the agent could not use. Typing a
command into the customer's terminal is most of what an agent in a
terminal needs; the mouse stays the page's (``--web``).

Each key goes as the page's do (transport/session/viewer_requests.py
``key``: X keysyms, a character's own keysym or 0x01000000 + its code
point); the host's injector finds the key on its keymap. The host drops
input while its user uses their own mouse or keyboard, and says so (the
viewer prints that notice as any other).

input44: a stalled link (a Wi-Fi gone, no reset) took ~46-52 k characters
of /type into buffers (asyncio's, the kernel's) before a send waited; the
view said "sent N characters" of text still in them, and /stop could not
take it back. Now at most :data:`ON_THEIR_WAY` characters are on their
way (written, not yet taken by the link's next hop: the host, or a relay)
when the next one goes (:class:`Sent`), "sent" counts the
characters that left this computer, and /stop stops the rest, saying how
many had not left yet (those cannot be taken back: they may still be typed).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import unicodedata
from collections.abc import Callable
from typing import TYPE_CHECKING

from screencodec.cli.terminal import tell
from screencodec.errors import ScreencodecError
from screencodec.transport.channel.display import safe_text
from screencodec.transport.session.input_gate import COUNT_EVERY
from screencodec.transport.session.permissions import CONTROL

if TYPE_CHECKING:
    from screencodec.transport.session.viewer import Viewer

__all__ = ["KEY_NAMES", "LOCAL_WORD_WAIT", "MAX_TYPED", "ON_THEIR_WAY", "Sent", "Typing",
           "chord", "press", "type_text", "typeable"]  # fmt: skip

#: Named keys ``/key`` knows, lowercased, and their X keysyms.
KEY_NAMES = {
    "enter": 0xFF0D, "return": 0xFF0D, "tab": 0xFF09, "escape": 0xFF1B, "esc": 0xFF1B,
    "backspace": 0xFF08, "delete": 0xFFFF, "insert": 0xFF63, "home": 0xFF50, "end": 0xFF57,
    "left": 0xFF51, "up": 0xFF52, "right": 0xFF53, "down": 0xFF54, "pageup": 0xFF55,
    "pagedown": 0xFF56, "space": 0x20,
    **{f"f{n}": 0xFFBE + n - 1 for n in range(1, 13)},
}  # fmt: skip
#: Modifiers a chord may hold down (the left ones).
MODIFIERS = {"ctrl": 0xFFE3, "control": 0xFFE3, "alt": 0xFFE9, "shift": 0xFFE1, "super": 0xFFEB}

#: Said instead of typing when the agent does not hold CONTROL.
#: walk52: it said "start screencodec view with --control" to an agent who
#: had, and whose control the host's user had taken back; /control asks.
NO_CONTROL = ("(not typed: you do not hold control of the host's mouse and keyboard: type"
              " /control to ask the host's user for it)")  # fmt: skip
#: Said when the viewer withheld the keys: a resumed link's first picture
#: has not come yet, and the host would drop them as typed blind.
BLIND = "(not typed: the host's picture has not come back yet after the reconnect: type it again)"
KEY_USAGE = ("(usage: /key NAME, e.g. /key Enter, /key Tab, /key Ctrl+C, /key Alt+F4; names:"
             " Enter Tab Escape Backspace Delete Insert Home End Left Up Right Down PageUp"
             " PageDown Space F1-F12, a character, with Ctrl+ Alt+ Shift+ Super+)")  # fmt: skip


#: The most characters one ``/type`` types (type43): a line of a command
#: is far shorter; a whole file goes with /send, a text with /clip.
MAX_TYPED = 2000

#: The most characters of a /type on their way: their key records written,
#: their bytes not yet acknowledged by the link's next hop (the host, or a
#: relay). So many wait in this computer's buffers when a link stalls
#: (input44: ~50,000 did), and a /stop cannot take back more. Counted in
#: characters, not bytes: a file the agent sends meanwhile fills the same
#: buffers, and a bound in bytes would hold the /type until it is through
#: (reasoned, not measured). On a live link, 16 characters per round trip:
#: 160 a second at 100 ms.
ON_THEIR_WAY = 16
#: How often a /type held by a full link looks again (s).
_LOOK = 0.02


class Sent:
    """How far a /type has gone: the characters pressed (their key records
    written to the connection), and of them those that left this computer
    (their bytes acknowledged by the link's next hop, as far as this system
    tells: SecureChannel.unacked). A channel that cannot tell (in memory)
    counts a character as left once written."""

    def __init__(self, viewer: Viewer, total: int) -> None:
        self.total = total
        self._channel = viewer.channel
        self._ends: list[int] = []  #: the channel's bytes written after each character
        self._left_open = 0  #: :attr:`left` when last asked while the channel was open

    def _count(self, name: str) -> int | None:
        value = getattr(self._channel, name, None)
        return value if isinstance(value, int) else None

    @property
    def pressed(self) -> int:
        return len(self._ends)

    def press_done(self) -> None:
        self._ends.append(self._count("written") or 0)

    @property
    def left(self) -> int:
        """The characters pressed whose bytes have left this computer."""
        written, unacked = self._count("written"), self._count("unacked")
        if written is None or unacked is None:
            return len(self._ends)
        if getattr(self._channel, "closed", False):
            # Its buffers read as empty once closed (asyncio clears its own,
            # the socket is not asked): what waited in them went down with
            # the link (review44: counted as sent, 16 too many).
            return self._left_open
        self._left_open = bisect.bisect_right(self._ends, written - unacked)
        return self._left_open

    def full(self) -> bool:
        """Whether :data:`ON_THEIR_WAY` characters are on their way."""
        return self.pressed - self.left >= ON_THEIR_WAY

    async def wait(self, done: Callable[[], bool], stop: asyncio.Event | None) -> bool:
        """Wait until ``done()``; False if ``stop`` was set first."""
        while not done():
            if stop is not None and stop.is_set():
                return False
            await asyncio.sleep(_LOOK)
        return not (stop is not None and stop.is_set())

    def stopped_words(self) -> str:
        left = self.left
        waiting = self.pressed - left
        on_way = (f"; {waiting} more had not left this computer and may still be typed"
                  if waiting else "")  # fmt: skip
        return (f"(typing stopped: {left} of {self.total} characters sent{on_way}; the rest"
                " not typed)")  # fmt: skip


def typeable(text: str) -> tuple[str, int]:
    """``text`` without its control characters (C0, DEL, C1, and Unicode's
    format controls such as the bidi overrides), and how many were dropped.
    type43: an ESC typed as a key reaches a terminal on the host as the
    start of an escape sequence; Enter, Tab and Escape are /key's."""
    kept = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf"))
    return kept, len(text) - len(kept)


def _char_keysym(ch: str) -> int:
    """X's keysym for one character (Latin-1's are its code point)."""
    cp = ord(ch)
    return cp if 0x20 <= cp <= 0x7E or 0xA0 <= cp <= 0xFF else 0x01000000 + cp


def chord(spec: str) -> list[int] | None:
    """The keysyms of ``spec`` (``Ctrl+Alt+T``, ``Enter``, ``x``), modifiers
    first; None when it names no key."""
    text = spec.strip()
    *mods, key = text.split("+") if text != "+" else ["+"]
    held = [MODIFIERS.get(m.strip().lower(), 0) for m in mods]
    if not key or 0 in held or len(set(held)) != len(held):
        # type43: "Ctrl+" 2000 times was 2000 presses of Ctrl; each
        # modifier is held once, or the chord names no key.
        return None
    if len(key) == 1:
        # Ctrl+C means the c key, whatever case was typed; Shift+ says
        # capitals, and in the keysym: the host types a keysym as it is, so
        # Shift with "a" was let go around it (walk45: Shift+a typed "a",
        # Ctrl+Shift+C, a terminal's copy, was Ctrl+C).
        shift = MODIFIERS["shift"] in held
        cased = key.upper() if shift else key.lower() if mods else key
        # A letter whose other case is two (ß's capital "SS", İ's small
        # "i" and a dot: review45, ord() of two letters) goes as typed.
        return [*held, _char_keysym(cased if len(cased) == 1 else key)]
    named = KEY_NAMES.get(key.strip().lower())
    return None if named is None else [*held, named]


async def _press(viewer: Viewer, keysyms: list[int], text: str = "") -> bool:
    """Press ``keysyms`` in order and let go in reverse; False if withheld.
    What was pressed is let go of however this ends (type43: a chord whose
    last key was withheld after a reconnect, or a /type stopped between a
    press and its release, left Ctrl or the key down on the host)."""
    down: list[int] = []
    try:
        for k in keysyms:
            if not await viewer.key(k, True, text if k == keysyms[-1] else ""):
                return False
            down.append(k)
    finally:
        # Shielded: a /type stopped meanwhile still sends the releases (and
        # stays stopped: the CancelledError goes on up).
        await asyncio.shield(_let_go(viewer, down))
    return True


async def _let_go(viewer: Viewer, down: list[int]) -> None:
    # A link that broke meanwhile is the host's to clean up: it lets go of
    # what the agent held when the link ends (transport/session/link.py).
    with contextlib.suppress(ScreencodecError, OSError):
        for k in reversed(down):
            await viewer.key(k, False)


async def type_text(viewer: Viewer, text: str, sent: Sent | None = None,
                    stop: asyncio.Event | None = None) -> str:  # fmt: skip
    """``/type TEXT``: the line to print. ``sent``: how far it has gone
    (kept up to date); ``stop``: once set, no more characters go (what is
    on its way is waited for no longer) and the stopped line is said."""
    if not text:
        return "(usage: /type TEXT types TEXT on the host's keyboard; /key Enter then sends it)"
    if CONTROL not in viewer.level:
        return NO_CONTROL
    n = len(text)
    sent = sent or Sent(viewer, n)
    # The host's word of its user's own input before this /type: its
    # notices, and its count of the keys it ignored (a host that counts).
    told, counted = viewer.local_use_notices, viewer.keys_ignored or 0
    for i, ch in enumerate(text):
        # Room first (input44): a character waits while ON_THEIR_WAY have
        # not left, so a stalled link holds few.
        if not await sent.wait(lambda: not sent.full() or CONTROL not in viewer.level, stop):
            return sent.stopped_words()
        if CONTROL not in viewer.level:
            # Taken back meanwhile (review43: the rest went on being sent,
            # dropped by the host, and the line said all were typed).
            return (f"(control was taken back by the host's user: {i} of {n} characters"
                    " sent before it; the rest not typed)")  # fmt: skip
        if not await _press(viewer, [_char_keysym(ch)], ch):
            return BLIND
        sent.press_done()
    # "sent" once they left this computer (input44), not once written. A
    # /stop that comes when all have left stops nothing (review44: it said
    # "typing stopped: 5 of 5 characters sent").
    if not await sent.wait(lambda: sent.left == n, stop) and sent.left < n:
        return sent.stopped_words()
    # "sent", not "typed": the host drops what comes while its user uses
    # their own keyboard or once control was taken back (review43: "typed
    # 400 characters" when 346 were), and tells the viewer so: a round trip
    # for its word of the last ones (it is sent as the host drops a key).
    await _word_of_local_use(viewer)
    ignored = min((viewer.keys_ignored or 0) - counted, n)
    if ignored > 0:
        # walk45: "(the host's user is using their own mouse or keyboard:
        # ... ignored ...)", then "sent 49 characters to the host's
        # keyboard" though none were typed. The host counts what it ignored.
        return (f"{n - ignored} of {n} characters reached the host's keyboard; {ignored}"
                f" {'was' if ignored == 1 else 'were'} ignored while the host's user used"
                " their own mouse or keyboard")  # fmt: skip
    if viewer.local_use_notices > told and viewer.keys_ignored is None:
        # A host of the version before the count says a stretch began, not
        # how many it ignored (docs/cli.md): the words say no more.
        return (f"sent {n} character{'' if n == 1 else 's'}, but the host's user used their own"
                " mouse or keyboard meanwhile: those that came while they did were ignored,"
                " not typed (the host does not say how many)")  # fmt: skip
    return f"sent {n} character{'' if n == 1 else 's'} to the host's keyboard"


#: Seconds a /type's last line waits at most for the host's word that it
#: ignored keys for its user's own input (a round trip, bounded).
LOCAL_WORD_WAIT = 0.5


async def _word_of_local_use(viewer: Viewer) -> None:
    """Wait a round trip (two of the host's, and 0.1 s; at most
    :data:`LOCAL_WORD_WAIT`) once this side's bytes left, and the host's
    COUNT_EVERY, for the host's word of the last keys: it sends its notice
    as it drops a key, its count at most every COUNT_EVERY (input46), so
    what it says of the last ones comes by then."""
    stats = viewer.host_stats
    wait = LOCAL_WORD_WAIT if stats is None else min(LOCAL_WORD_WAIT, 2 * stats.rtt_us / 1e6 + 0.1)
    await asyncio.sleep(wait + COUNT_EVERY)


async def press(viewer: Viewer, spec: str) -> str:
    """``/key NAME``: the line to print."""
    keys = chord(spec)
    if keys is None:
        return f"(unknown key {safe_text(spec, 40)!r}) {KEY_USAGE}" if spec.strip() else KEY_USAGE
    if CONTROL not in viewer.level:
        return NO_CONTROL
    if not await _press(viewer, keys):
        return BLIND
    return f"pressed {safe_text(spec.strip(), 40)} on the host's keyboard"


class Typing:
    """The ``/type`` under way, in a task of its own beside the command loop
    (type43: on a slow link a long /type held /say, /stop and Ctrl-C
    behind it). One at a time: a second /type while one runs is refused,
    not queued (what it was typed for may have changed on the screen by the
    time the first ends, and a queued line could not be taken back). A
    /key while one runs goes after it, in order (``/type ls`` then ``/key
    Enter`` at once must not press Enter amid the letters); a /key waiting
    for a /type that is stopped is not pressed."""

    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[None]] = []  #: the /type, then /keys after it
        self._sent: Sent | None = None  #: how far the last /type went
        self._stop = asyncio.Event()  #: set by /stop: the /type ends between characters
        self._whole = False  #: whether the last /type went whole (a /key after it goes)

    @property
    def running(self) -> bool:
        return any(not task.done() for task in self._tasks)

    def start(self, viewer: Viewer, text: str) -> None:
        if self.running:
            sent = self._sent
            assert sent is not None
            tell(f"(not typed: a /type is still going ({sent.left} of {sent.total}"
                 " characters sent): wait for it, or /stop stops it)")  # fmt: skip
            return
        kept, dropped = typeable(text)
        if dropped:
            tell(f"({dropped} control character{'' if dropped == 1 else 's'} not typed:"
                 " /key Enter, /key Tab, /key Escape press those keys)")  # fmt: skip
        if len(kept) > MAX_TYPED:
            tell(f"(cut: only the first {MAX_TYPED} of {len(kept)} characters are typed;"
                 " a longer text goes with /clip, a file with /send)")  # fmt: skip
            kept = kept[:MAX_TYPED]
        if text and not kept:
            return
        self._sent = Sent(viewer, len(kept))
        self._stop = asyncio.Event()
        self._tasks = [asyncio.ensure_future(self._type(viewer, kept, self._sent, self._stop))]

    async def _type(self, viewer: Viewer, text: str, sent: Sent, stop: asyncio.Event) -> None:
        self._whole = False
        try:
            said = await type_text(viewer, text, sent, stop)
            self._whole = said.startswith("sent ")  # not stopped, withheld or taken back
            tell(said)
        except ScreencodecError:  # the session is ending (Ctrl-C), or its link broke
            tell(sent.stopped_words())

    async def key(self, viewer: Viewer, spec: str) -> None:
        """``/key NAME``: pressed now, or after the /type under way."""
        if not self.running:
            tell(await press(viewer, spec))
            return
        self._tasks.append(asyncio.ensure_future(self._key_after(self._tasks[-1], viewer, spec)))

    async def _key_after(self, before: asyncio.Task[None], viewer: Viewer, spec: str) -> None:
        go = False
        try:
            await asyncio.wait([before])
        finally:
            # Not pressed when the /type was stopped (/stop, Ctrl-C, the link),
            # withheld or taken back; nor when it went whole as a /stop came,
            # all of it gone already (review44): that /stop meant this key.
            go = self._whole and not self._stop.is_set()
            if not go:
                why = "a /stop came before it" if self._whole else "the /type before it was stopped"
                tell(f"(not pressed: {safe_text(spec.strip(), 40)}: {why})")
        if not go:
            return
        with contextlib.suppress(ScreencodecError):
            tell(await press(viewer, spec))

    def stop(self, *, ending: bool = False) -> bool:
        """Stop the /type under way and the /keys after it (``/stop``;
        ``ending``: Ctrl-C or the session's end), saying how much of it
        went; False if none was. A /stop lets the /type end between two
        characters and say it (input44: what had left, and what was on its
        way: exact); an ending cancels it and says it at once."""
        if not self.running:
            return False
        typing = not self._tasks[0].done()
        if typing and not ending:
            # The /keys after it see it was not whole, and say so after it.
            self._stop.set()
            return True
        for task in self._tasks:
            task.cancel()
        if typing and self._sent is not None:
            tell(self._sent.stopped_words())
        return True
