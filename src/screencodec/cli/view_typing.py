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
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from screencodec.transport.channel.display import safe_text
from screencodec.transport.session.permissions import CONTROL

if TYPE_CHECKING:
    from screencodec.transport.session.viewer import Viewer

__all__ = ["KEY_NAMES", "chord", "press", "type_text"]

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
NO_CONTROL = ("(not typed: you do not hold control of the host's mouse and keyboard: start"
              " screencodec view with --control, and the host's user is asked)")  # fmt: skip
#: Said when the viewer withheld the keys: a resumed link's first picture
#: has not come yet, and the host would drop them as typed blind.
BLIND = "(not typed: the host's picture has not come back yet after the reconnect: type it again)"
KEY_USAGE = ("(usage: /key NAME, e.g. /key Enter, /key Tab, /key Ctrl+C, /key Alt+F4; names:"
             " Enter Tab Escape Backspace Delete Insert Home End Left Up Right Down PageUp"
             " PageDown Space F1-F12, a character, with Ctrl+ Alt+ Shift+ Super+)")  # fmt: skip


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
    if not key or 0 in held:
        return None
    if len(key) == 1:
        # Ctrl+C means the c key, whatever case was typed (Shift+ says capitals).
        return [*held, _char_keysym(key.lower() if mods else key)]
    named = KEY_NAMES.get(key.strip().lower())
    return None if named is None else [*held, named]


async def _press(viewer: Viewer, keysyms: list[int], text: str = "") -> bool:
    """Press ``keysyms`` in order and let go in reverse; False if withheld."""
    for k in keysyms:
        if not await viewer.key(k, True, text if k == keysyms[-1] else ""):
            return False
    for k in reversed(keysyms):
        await viewer.key(k, False)
    return True


async def type_text(viewer: Viewer, text: str) -> str:
    """``/type TEXT``: the line to print."""
    if not text:
        return "(usage: /type TEXT types TEXT on the host's keyboard; /key Enter then sends it)"
    if CONTROL not in viewer.level:
        return NO_CONTROL
    n = len(text)
    for i, ch in enumerate(text):
        if CONTROL not in viewer.level:
            # Taken back meanwhile (review43: the rest went on being sent,
            # dropped by the host, and the line said all were typed).
            return (f"(control was taken back by the host's user: {i} of {n} characters"
                    " sent before it; the rest not typed)")  # fmt: skip
        if not await _press(viewer, [_char_keysym(ch)], ch):
            return BLIND
    # "sent", not "typed": the host drops what comes while its user uses
    # their own keyboard or once control was taken back (review43: "typed
    # 400 characters" when 346 were), and tells the viewer so.
    return f"sent {n} character{'' if n == 1 else 's'} to the host's keyboard"


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
