"""Keysyms and the host's keymap, for the XTEST injector (:mod:`.xtest`).

What a keysym types (its character, whether it is printable, on the keypad,
a letter's two cases), which keysyms may go on a spare keycode, and
:class:`_Keymap`, the core keyboard mapping read from the X server: which
(keycode, level) types a keysym, the spare keycodes, the Num Lock mask.
Pure tables and lookups: no X connection is used here but the one
``_Keymap`` is read from.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable
from typing import Any

# The injector's own helpers (imported by name from .xtest's modules): none is public.
__all__: list[str] = []

_SHIFT_L, _SHIFT_R, _LEVEL3, _NUM_LOCK = 0xFFE1, 0xFFE2, 0xFE03, 0xFF7F
#: Modifiers the injector manages for printable keys: Shift, AltGr (level 3),
#: and the group switch and level-5 shift ("other": let go of for any of them).
_MANAGED = {_SHIFT_L: "shift", _SHIFT_R: "shift", _LEVEL3: "level3",
            0xFF7E: "other", 0xFE11: "other"}  # fmt: skip
#: The core keymap columns of group 1's levels 1 to 4 under XKB.
_COLUMNS = (0, 1, 4, 5)
#: Modifier and lock keysyms: on a spare keycode they would be in no modifier
#: map and do nothing, so one that is not on the keymap is dropped.
_NOT_REMAPPED = (
    frozenset(range(0xFE01, 0xFE14)) | frozenset(range(0xFFE1, 0xFFEF)) | {0xFF7E, 0xFF7F}
)


#: Control characters that come as text (an input method's newline) -> their keys.
_CONTROL_KEYS = {0x08: 0xFF08, 0x09: 0xFF09, 0x0A: 0xFF0D, 0x0D: 0xFF0D, 0x1B: 0xFF1B, 0x7F: 0xFFFF}


def _normalise(keysym: int) -> int:
    """Unicode keysyms of Latin-1 characters are their Latin-1 keysyms (X's rule)."""
    cp = keysym - 0x01000000
    if 0x20 <= cp <= 0x7E or 0xA0 <= cp <= 0xFF:
        return cp
    return _CONTROL_KEYS.get(cp, keysym)


@functools.cache
def _legacy_to_utf32() -> Callable[[int], int] | None:
    """libxkbcommon's table of X's legacy keysyms (EuroSign, Greek_OMEGA,
    Cyrillic_a: what layouts put on their keys) to Unicode; None without it."""
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("xkbcommon") or "libxkbcommon.so.0")
    except OSError:
        return None
    fn = lib.xkb_keysym_to_utf32
    fn.restype, fn.argtypes = ctypes.c_uint32, [ctypes.c_uint32]
    return fn


def _char(keysym: int) -> str | None:
    """The character a keysym types; None for function keys (and the keypad)."""
    if 0x20 <= keysym <= 0x7E or 0xA0 <= keysym <= 0xFF:
        return chr(keysym)
    if 0x01000100 <= keysym <= 0x0110FFFF:
        return chr(keysym - 0x01000000)
    convert = _legacy_to_utf32()
    if convert is None or not 0x100 <= keysym < 0xFD00:
        return None
    cp = int(convert(keysym))
    return chr(cp) if cp >= 0x20 and not 0x7F <= cp < 0xA0 else None


def _keysym_of(ch: str) -> int:
    cp = ord(ch)
    return cp if 0x20 <= cp <= 0x7E or 0xA0 <= cp <= 0xFF else 0x01000000 + cp


def _printable(keysym: int) -> bool:
    # Legacy character keysyms sit below the 3270/ISO/function block at
    # 0xFD00..0xFFFF; Unicode ones are 0x01000100..0x0110FFFF (XF86 keys are above).
    return keysym < 0xFD00 or 0x01000100 <= keysym <= 0x0110FFFF


def _keypad(keysym: int) -> bool:
    return 0xFF80 <= keysym <= 0xFFBD


def _typed(keysym: int) -> bool:
    """Keys the injector picks the level of: characters, and the keypad's
    keys (KP_1 and KP_End are two levels of one key)."""
    return _printable(keysym) or _keypad(keysym)


def _remappable(keysym: int) -> bool:
    """Characters, named keys and XF86 keys; not modifiers, nor values X does not define."""
    named = 0xFD00 <= keysym <= 0xFFFF or 0x1008_0000 <= keysym <= 0x1008_FFFF
    return keysym > 0 and (_printable(keysym) or named) and keysym not in _NOT_REMAPPED


def _case_pair(lower: int, upper: int) -> bool:
    """Whether a key's two levels are a letter's cases (Caps Lock swaps them)."""
    lo, up = _char(lower), _char(upper)
    return lo is not None and up is not None and lo != up and lo.upper() == up and up.lower() == lo


class _Keymap:
    """The core keyboard mapping, cached: ``where`` maps a keysym to the
    (keycode, level) that types it (levels 0 to 3, the lowest level and then
    the lowest keycode preferred; levels 2 and 3 only when ``level3``, the
    keycode of an ISO_Level3_Shift in the modifier map, can reach them);
    ``spares`` are the keycodes with no keysyms; ``numlock`` is the modifier
    mask Num Lock locks (0: none)."""

    def __init__(self, disp: Any) -> None:
        first = disp.display.info.min_keycode
        rows = disp.get_keyboard_mapping(first, disp.display.info.max_keycode - first + 1)
        self.rows: dict[int, tuple[int, ...]] = {first + i: tuple(r) for i, r in enumerate(rows)}
        modmap = [set(kcs) - {0} for kcs in disp.get_modifier_mapping()]
        in_mods = set().union(*modmap)
        #: The keycodes in the modifier map (X never repeats them).
        self.modifiers: set[int] = in_mods
        self.level3 = next(
            (kc for kc, r in self.rows.items() if r[:1] == (_LEVEL3,) and kc in in_mods), None
        )
        self.numlock = next(
            (1 << i for i, kcs in enumerate(modmap)
             if any(self.rows.get(kc, ())[:1] == (_NUM_LOCK,) for kc in kcs)),
            0,
        )  # fmt: skip
        # One group: columns 2 and 3 repeat 0 and 1 (or are empty) on every key.
        one_group = all(not any(r[2:4]) or r[2:4] == r[0:2] for r in self.rows.values())
        levels = 4 if self.level3 is not None and one_group else 2
        self.where: dict[int, tuple[int, int]] = {}
        for level in range(levels):
            col = _COLUMNS[level]
            for kc, row in self.rows.items():
                if len(row) > col and row[col]:
                    self.where.setdefault(row[col], (kc, level))
        # The agent sends U+20AC as its Unicode keysym; the layout has EuroSign.
        for keysym, place in list(self.where.items()):
            ch = _char(keysym) if 0x100 <= keysym < 0xFD00 else None
            if ch is not None:
                self.where.setdefault(_keysym_of(ch), place)
        self.spares = [kc for kc, row in self.rows.items() if not any(row)]

    def put(self, keycode: int, keysym: int) -> None:
        """Record our own remapping of ``keycode`` (0: emptied again)."""
        old = self.rows.get(keycode, ())
        if old and old[0] and self.where.get(old[0], (0, 0))[0] == keycode:
            del self.where[old[0]]
        self.rows[keycode] = (keysym, keysym)
        if keysym:  # a keypad number also stays on its key, for Num Lock on
            self.where.setdefault(keysym, (keycode, 0))

    def levels(self, keycode: int, level: int) -> tuple[int, int, bool]:
        """The keysyms of ``level``'s pair (levels 0-1 or 2-3) on ``keycode``,
        and whether AltGr changes what the key types."""
        row = self.rows[keycode]
        lo, hi = _COLUMNS[level & 2], _COLUMNS[level & 2] + 1
        lower, upper = (row[lo] if len(row) > lo else 0), (row[hi] if len(row) > hi else 0)
        altgr = self.level3 is not None and any(row[4:6]) and row[4:6] != row[0:2]
        return lower, upper, altgr
