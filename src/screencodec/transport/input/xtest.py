"""X11 injection through the XTEST extension, and a watcher for local pointer use.

:class:`XTestInjector` turns the agent's keysyms into keys the host's keymap
types. XTEST presses keycodes, not characters, so the injector:

* presses Shift around a key whose keycode gives the keysym only at shift
  level 1 (``>``, ``|``, ``X`` typed by an input method, selenium or a
  non-US agent keyboard with no Shift held), and releases the agent's Shift
  (and AltGr) around a key that needs none (the agent's layout differs from
  the host's), with Caps Lock taken into account for letters;
* types a keysym that is on no keycode (``é`` on a US keymap, any Unicode
  keysym) by mapping it onto a spare keycode, one with no keysyms at all,
  kept in a small LRU so a text with a few such characters changes the map
  only once per character; the spare rows are emptied again on close.

A keysym it cannot type is dropped and counted (``dropped_keys``), never
raised into the session. Only printable keysyms get this treatment: a named
key (Tab, arrows, F-keys, modifiers) is pressed as it is with the agent's own
modifiers, so Shift+Tab and Shift+arrows mean what the agent meant.

:class:`LocalPointerWatcher` polls ``query_pointer`` and calls a callback when
the pointer moved to somewhere the injector did not put it: that is the local
user's hand on the mouse, and local input wins.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import Any

from screencodec.errors import CaptureError
from screencodec.transport.input.base import InputInjector

__all__ = ["LocalPointerWatcher", "XTestInjector"]

_SHIFT_L, _SHIFT_R = 0xFFE1, 0xFFE2
#: Modifiers the injector manages for printable keys: Shift, and the level-3/5
#: shifts (AltGr) that would pick another level of the host's key.
_MANAGED = {_SHIFT_L: "shift", _SHIFT_R: "shift",
            0xFE03: "level3", 0xFF7E: "level3", 0xFE11: "level3"}  # fmt: skip
#: Modifier and lock keysyms: on a spare keycode they would be in no modifier
#: map and do nothing, so one that is not on the keymap is dropped.
_NOT_REMAPPED = (
    frozenset(range(0xFE01, 0xFE14)) | frozenset(range(0xFFE1, 0xFFEF)) | {0xFF7E, 0xFF7F}
)


def _open_display(name: str | None) -> Any:
    try:
        from Xlib import display as xdisplay
        from Xlib.error import DisplayError
    except ImportError as exc:  # pragma: no cover - declared in the x11 extra
        raise CaptureError("python-xlib is not installed (pip install screencodec[x11])") from exc
    try:
        disp = xdisplay.Display(name)
    except (DisplayError, OSError) as exc:
        raise CaptureError(f"cannot open X display {name!r}: {exc}") from exc
    if not disp.has_extension("XTEST"):
        disp.close()
        raise CaptureError("the X server has no XTEST extension")
    return disp


#: Control characters that come as text (an input method's newline) -> their keys.
_CONTROL_KEYS = {0x08: 0xFF08, 0x09: 0xFF09, 0x0A: 0xFF0D, 0x0D: 0xFF0D, 0x1B: 0xFF1B, 0x7F: 0xFFFF}


def _normalise(keysym: int) -> int:
    """Unicode keysyms of Latin-1 characters are their Latin-1 keysyms (X's rule)."""
    cp = keysym - 0x01000000
    if 0x20 <= cp <= 0x7E or 0xA0 <= cp <= 0xFF:
        return cp
    return _CONTROL_KEYS.get(cp, keysym)


def _char(keysym: int) -> str | None:
    if 0x20 <= keysym <= 0x7E or 0xA0 <= keysym <= 0xFF:
        return chr(keysym)
    if 0x01000100 <= keysym <= 0x0110FFFF:
        return chr(keysym - 0x01000000)
    return None


def _keysym_of(ch: str) -> int:
    cp = ord(ch)
    return cp if 0x20 <= cp <= 0x7E or 0xA0 <= cp <= 0xFF else 0x01000000 + cp


def _printable(keysym: int) -> bool:
    # Legacy character keysyms sit below the 3270/ISO/function block at
    # 0xFD00..0xFFFF; Unicode ones are 0x01000100..0x0110FFFF (XF86 keys are above).
    return keysym < 0xFD00 or 0x01000100 <= keysym <= 0x0110FFFF


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
    (keycode, level) that types it (level 0 or 1, level 0 and then the lowest
    keycode preferred); ``spares`` are the keycodes with no keysyms."""

    def __init__(self, disp: Any) -> None:
        first = disp.display.info.min_keycode
        rows = disp.get_keyboard_mapping(first, disp.display.info.max_keycode - first + 1)
        self.rows: dict[int, tuple[int, ...]] = {first + i: tuple(r) for i, r in enumerate(rows)}
        self.where: dict[int, tuple[int, int]] = {}
        for level in (0, 1):
            for kc, row in self.rows.items():
                if len(row) > level and row[level]:
                    self.where.setdefault(row[level], (kc, level))
        self.spares = [kc for kc, row in self.rows.items() if not any(row)]

    def put(self, keycode: int, keysym: int) -> None:
        """Record our own remapping of ``keycode`` (0: emptied again)."""
        old = self.rows.get(keycode, ())
        if old and old[0] and self.where.get(old[0], (0, 0))[0] == keycode:
            del self.where[old[0]]
        self.rows[keycode] = (keysym, keysym)
        if keysym:
            self.where[keysym] = (keycode, 0)


class XTestInjector(InputInjector):
    """Inject pointer and keyboard input into an X display through XTEST.

    State: the cached keymap (re-read when a MappingNotify says another client
    changed it); ``_held``, the keysyms the agent holds and the keycode each
    was pressed on; ``_down``, the keycodes and ``_buttons`` the buttons this
    injector holds down at the server; ``_mods``, the agent's held Shift and
    AltGr keycodes, of which ``_suppressed`` are released for the moment
    because the last printable key needed them up; ``_fake_shift``, the Shift
    the injector pressed itself, and ``_owner``, the key whose release ends
    that adjustment; ``_remapped``, keysym -> spare keycode, least recently
    used first. ``release_all`` undoes every press, ours included; ``close``
    also empties the spare keycodes again.

    Counters: ``dropped_keys`` (keysyms that could not be typed), ``remaps``
    (keymap changes made for them).

    Thread safety: none. Xlib is not thread safe: use an injector from one
    thread, the event loop's.
    """

    def __init__(self, display: str | None = None, remap_slots: int = 10) -> None:
        from Xlib import X
        from Xlib.ext import xtest

        self._X = X
        self._fake = xtest.fake_input
        self._disp: Any = _open_display(display)
        self._root = self._disp.screen().root
        self._map = _Keymap(self._disp)
        self._stale = False
        self._own_changes: Counter[int] = Counter()  # MappingNotify our remaps will cause
        self._slots = remap_slots
        self._remapped: OrderedDict[int, int] = OrderedDict()
        self._buttons: set[int] = set()
        self._down: set[int] = set()
        self._held: dict[int, int] = {}
        self._mods: dict[int, str] = {}
        self._suppressed: set[int] = set()
        self._fake_shift: int | None = None
        self._owner: int | None = None
        self.dropped_keys = 0
        self.remaps = 0
        self.last_position: tuple[int, int] | None = None

    def pointer_move(self, x: int, y: int) -> None:
        if self._disp is None:
            return  # closed (see close)
        scr = self._disp.screen()
        x = max(0, min(x, scr.width_in_pixels - 1))
        y = max(0, min(y, scr.height_in_pixels - 1))
        self._fake(self._disp, self._X.MotionNotify, x=x, y=y, root=self._root)
        self._disp.sync()
        self.last_position = (x, y)

    def button(self, button: int, down: bool) -> None:
        if self._disp is None:
            return
        self._fake(self._disp, self._X.ButtonPress if down else self._X.ButtonRelease, button)
        (self._buttons.add if down else self._buttons.discard)(button)
        self._disp.sync()

    def wheel(self, dx: int, dy: int) -> None:
        # X has no wheel events: buttons 4/5 (vertical) and 6/7 (horizontal) clicks.
        if self._disp is None:
            return
        for count, neg, pos in ((dy, 4, 5), (dx, 6, 7)):
            b = pos if count > 0 else neg
            for _ in range(abs(count)):
                self._fake(self._disp, self._X.ButtonPress, b)
                self._fake(self._disp, self._X.ButtonRelease, b)
        self._disp.sync()

    def key(self, keysym: int, down: bool, text: str = "") -> None:
        if self._disp is None:
            self.dropped_keys += 1 if down else 0
            return
        if not keysym and len(text) == 1:
            keysym = _keysym_of(text)
        keysym = _normalise(keysym)
        self._read_events()
        if down:
            self._key_down(keysym)
        else:
            self._key_up(keysym)
        self._disp.sync()

    def release_all(self) -> None:
        if self._disp is None:
            return  # close released everything
        for b in sorted(self._buttons):
            self._fake(self._disp, self._X.ButtonRelease, b)
        for k in sorted(self._down):
            self._fake(self._disp, self._X.KeyRelease, k)
        self._buttons.clear()
        self._down.clear()
        self._held.clear()
        self._mods.clear()
        self._suppressed.clear()
        self._fake_shift = self._owner = None
        self._disp.sync()

    def query_pointer(self) -> tuple[int, int]:
        reply = self._root.query_pointer()
        return int(reply.root_x), int(reply.root_y)

    def close(self) -> None:
        """Release every key and button, empty the spare keycodes, and close
        the display. Idempotent; afterwards input is dropped (a session still
        cleaning up after ``Host.close`` gave up waiting calls in here)."""
        if self._disp is None:
            return
        from Xlib.error import ConnectionClosedError, XError

        # Each on its own: a release that fails must not leave the customer's
        # keymap holding our spare keycodes.
        for step in (self.release_all, self._empty_spares):
            # A server that is gone took its keymap with it.
            with contextlib.suppress(ConnectionClosedError, XError, OSError):
                step()
        self._disp.close()
        self._disp = None

    # -- keys ---------------------------------------------------------------

    def _key_down(self, keysym: int) -> None:
        found = self._locate(keysym)
        if found is None:
            self.dropped_keys += 1
            return
        keycode, shift = found
        if keysym in _MANAGED and keycode in self._mods:
            return  # a browser repeats a held Shift: it is held already (or let go on purpose)
        if keysym in _MANAGED or not _printable(keysym):
            # A named key or a modifier sees exactly the agent's modifiers.
            self._restore()
            if keysym in _MANAGED:
                self._mods[keycode] = _MANAGED[keysym]
        elif shift is not None:
            self._adjust(shift, keycode)
        # The last keysym pressed on a keycode is the one whose release lets go
        # of it (a browser's repeat of 1 becomes ! once Shift is down).
        for other in [ks for ks, kc in self._held.items() if kc == keycode]:
            del self._held[other]
        self._held[keysym] = keycode
        self._press(keycode)

    def _key_up(self, keysym: int) -> None:
        keycode = self._held.pop(keysym, None)
        if keycode is None:
            return  # never pressed (dropped), or pressed again as another keysym
        self._mods.pop(keycode, None)
        if keycode in self._suppressed:  # already up at the server
            self._suppressed.discard(keycode)
            return
        self._release(keycode)
        if keycode == self._owner:
            self._restore()

    def _locate(self, keysym: int) -> tuple[int, bool | None] | None:
        """The keycode for ``keysym`` and whether it needs Shift (None: either way)."""
        if self._stale:
            self._refresh()
        hit = self._map.where.get(keysym)
        if hit is None:
            keycode = self._remap(keysym)
            return None if keycode is None else (keycode, None)
        keycode, level = hit
        if keysym in self._remapped:
            self._remapped.move_to_end(keysym)
        row = self._map.rows[keycode]
        lower, upper = row[0], (row[1] if len(row) > 1 else 0)
        if not upper or upper == lower:
            return keycode, None
        shift = level == 1
        if _case_pair(lower, upper) and self._caps_locked():
            shift = not shift  # Shift+Caps Lock gives the lower case (XKB's ALPHABETIC)
        return keycode, shift

    def _caps_locked(self) -> bool:
        return bool(self._root.query_pointer().mask & self._X.LockMask)

    def _adjust(self, shift: bool, keycode: int) -> None:
        """Bring Shift to ``shift`` and AltGr up for the printable key ``keycode``."""
        for kc, kind in self._mods.items():
            if kind == "level3" and kc not in self._suppressed:
                self._release(kc)
                self._suppressed.add(kc)
        shifts = [kc for kc, kind in self._mods.items() if kind == "shift"]
        active = [kc for kc in shifts if kc not in self._suppressed]
        if shift and not active and self._fake_shift is None:
            back = [kc for kc in shifts if kc in self._suppressed]
            for kc in back:  # the agent holds Shift: give it back rather than add ours
                self._suppressed.discard(kc)
                self._press(kc)
            ours = self._map.where.get(_SHIFT_L) or self._map.where.get(_SHIFT_R)
            if not back and ours is not None:
                self._fake_shift = ours[0]
                self._press(ours[0])
        elif not shift:
            if self._fake_shift is not None:
                self._release(self._fake_shift)
                self._fake_shift = None
            for kc in active:
                self._release(kc)
                self._suppressed.add(kc)
        adjusted = self._suppressed or self._fake_shift is not None
        self._owner = keycode if adjusted else None

    def _restore(self) -> None:
        """Undo the last adjustment: the agent's own modifiers again."""
        if self._fake_shift is not None:
            self._release(self._fake_shift)
            self._fake_shift = None
        for kc in sorted(self._suppressed):
            self._press(kc)
        self._suppressed.clear()
        self._owner = None

    def _press(self, keycode: int) -> None:
        self._fake(self._disp, self._X.KeyPress, keycode)
        self._down.add(keycode)

    def _release(self, keycode: int) -> None:
        self._fake(self._disp, self._X.KeyRelease, keycode)
        self._down.discard(keycode)

    # -- the keymap ---------------------------------------------------------

    def _read_events(self) -> None:
        """Take the events X sends every client (we select none): a
        MappingNotify that is not one of our own remaps makes the cache stale."""
        x = self._X
        while self._disp.pending_events():
            ev = self._disp.next_event()
            if ev.type != x.MappingNotify or ev.request == x.MappingPointer:
                continue
            ours = ev.request == x.MappingKeyboard and ev.count == 1
            if ours and self._own_changes[ev.first_keycode]:
                self._own_changes[ev.first_keycode] -= 1
            else:
                self._stale = True

    def _refresh(self) -> None:
        self._map = _Keymap(self._disp)
        self._stale = False
        # A remap another client overwrote is no longer ours; ours stay spares.
        for keysym, kc in list(self._remapped.items()):
            if self._map.rows.get(kc, ())[:1] != (keysym,):
                del self._remapped[keysym]
        self._map.spares += [kc for kc in self._remapped.values() if kc not in self._map.spares]

    def _remap(self, keysym: int) -> int | None:
        """Map ``keysym`` onto a spare keycode; None if there is none to use."""
        if not _remappable(keysym):
            return None
        from Xlib.error import CatchError

        while True:
            keycode = self._spare()
            if keycode is None:
                return None
            # Never write over a keycode someone else has given keysyms since.
            row = tuple(self._disp.get_keyboard_mapping(keycode, 1)[0])
            old = next((ks for ks, kc in self._remapped.items() if kc == keycode), None)
            if any(row) and (old is None or row[0] != old):
                self._map.spares.remove(keycode)
                self._stale = True  # another client changed the map: re-read it next key
                if old is not None:
                    del self._remapped[old]
                continue
            if old is not None:
                del self._remapped[old]
            catch = CatchError()
            self._disp.change_keyboard_mapping(keycode, [(keysym, keysym)], onerror=catch)
            self._disp.sync()
            if catch.get_error() is not None:
                self._stale = True
                return None
            self._own_changes[keycode] += 1
            self._map.put(keycode, keysym)
            self._remapped[keysym] = keycode
            self.remaps += 1
            return keycode

    def _spare(self) -> int | None:
        """A free spare keycode, else the least recently used remapped one not held."""
        used = set(self._remapped.values())
        if len(used) < self._slots:
            free = next((kc for kc in self._map.spares if kc not in used), None)
            if free is not None:
                return free
        held = self._down | set(self._held.values())
        return next((kc for kc in self._remapped.values() if kc not in held), None)

    def _empty_spares(self) -> None:
        for keysym, keycode in list(self._remapped.items()):
            row = tuple(self._disp.get_keyboard_mapping(keycode, 1)[0])
            if row[:1] == (keysym,):  # still ours
                self._disp.change_keyboard_mapping(keycode, [(0, 0)])
                self._map.put(keycode, 0)
        self._remapped.clear()
        self._disp.sync()


class LocalPointerWatcher:
    """Poll the pointer every ``period`` s; call ``on_local`` when it moved by itself.

    A position equal to the injector's last injected one is ours, not the user's.
    Run with ``task = asyncio.create_task(watcher.run())``; cancel to stop.
    """

    def __init__(
        self,
        on_local: Callable[[], None],
        injector: XTestInjector | None = None,
        display: str | None = None,
        period: float = 0.05,
    ) -> None:
        self._on_local = on_local
        self._injector = injector
        self._disp = _open_display(display)
        self._period = period

    async def run(self) -> None:
        root = self._disp.screen().root
        last: tuple[int, int] | None = None
        try:
            while True:
                reply = root.query_pointer()
                pos = (int(reply.root_x), int(reply.root_y))
                ours = self._injector is not None and self._injector.last_position == pos
                if last is not None and pos != last and not ours:
                    self._on_local()
                last = pos
                await asyncio.sleep(self._period)
        finally:
            self._disp.close()
