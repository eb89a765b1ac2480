"""The XTEST injector's keyboard, on its worker thread (:mod:`.xtest`): a keysym
pressed and released on the keycode and level that types it, with Shift and
AltGr brought to what the key needs and given back after; a keysym on no
keycode mapped onto a spare one; the cached keymap re-read when another
client changes it. See :mod:`.xtest`'s docstring for the rules.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, OrderedDict
from typing import Any

from screencodec.transport.input.xkeysyms import (
    _MANAGED,
    _SHIFT_L,
    _SHIFT_R,
    _case_pair,
    _Keymap,
    _keypad,
    _remappable,
    _typed,
)
from screencodec.transport.input.xrepeat import RepeatGuard

__all__ = ["XTestKeys"]


class XTestKeys:
    """The keyboard side of :class:`~.xtest.XTestInjector`'s worker; its state
    is the injector's (set in its ``__init__``, described in its docstring)."""

    _X: Any
    _fake: Any
    _disp: Any
    _root: Any
    _map: _Keymap
    _stale: bool
    _own_changes: Counter[int]
    _slots: int
    _reuse_after: float
    _remap_gap: float
    _last_change: float
    _last_event: dict[int, float]
    _remapped: OrderedDict[int, int]
    _down: set[int]
    _borrowed: set[int]
    _held: dict[int, int]
    _mods: dict[int, str]
    _suppressed: set[int]
    _fakes: dict[str, int]
    _owner: int | None
    _made: dict[tuple[str, int], list[float]]
    _made_lock: threading.Lock
    _repeat: RepeatGuard
    dropped_keys: int
    remaps: int

    def _made_press(self, kind: str, detail: int) -> None:
        """Note a press before it is sent (a watcher may read it right after)."""
        with self._made_lock:
            entry = self._made.setdefault((kind, detail), [0, 0.0])
            entry[0] += 1
            entry[1] = time.monotonic()

    def _key_down(self, keysym: int) -> None:
        found = self._locate(keysym)
        if found is None:
            self.dropped_keys += 1
            return
        keycode, shift, level3 = found
        if keysym in _MANAGED and keycode in self._mods:
            return  # a browser repeats a held Shift: it is held already (or let go on purpose)
        if keysym in _MANAGED or not _typed(keysym):
            # A named key or a modifier sees exactly the agent's modifiers.
            self._restore()
            if keysym in _MANAGED:
                self._mods[keycode] = _MANAGED[keysym]
        elif shift is not None or level3 is not None:
            self._adjust(shift, level3, keycode)
        # The last keysym pressed on a keycode is the one whose release lets go
        # of it (a browser's repeat of 1 becomes ! once Shift is down).
        for other in [ks for ks, kc in self._held.items() if kc == keycode]:
            del self._held[other]
        self._held[keysym] = keycode
        if keycode in self._down and keycode not in self._map.modifiers:
            # The agent's keyboard repeats a held key (the page sends each
            # repeat as a press). The X server drops a second press of a key
            # that is down when it does not repeat that key itself (xrepeat
            # turned its repeat off), so each is typed as a tap. A modifier
            # is not repeated, as X would not.
            self._release(keycode)
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

    def _locate(self, keysym: int) -> tuple[int, bool | None, bool | None] | None:
        """The keycode for ``keysym``, whether it needs Shift and whether it
        needs AltGr (None: either way)."""
        if self._stale:
            self._refresh()
        hit = self._map.where.get(keysym)
        if hit is None:
            keycode = self._remap(keysym)
            return None if keycode is None else (keycode, None, None)
        keycode, level = hit
        if keysym in self._remapped:
            self._remapped.move_to_end(keysym)
        lower, upper, altgr = self._map.levels(keycode, level)
        level3 = True if level >= 2 else (False if altgr else None)
        if not upper or upper == lower:
            return keycode, None, level3
        shift = bool(level & 1)
        if _case_pair(lower, upper):
            shift ^= self._locked(self._X.LockMask)  # Caps Lock swaps the cases
        elif _keypad(upper):
            # Num Lock gives the keypad's numbers, and Shift with Num Lock its
            # other keys, in both of XKB's keypad types. Without Num Lock only
            # the classic type gives the number with Shift (the PC type, now
            # XKB's default, has none): a spare keycode types it either way,
            # and Num Lock stays as the local user left it.
            numlock = self._locked(self._map.numlock)
            if shift and not numlock:
                spare = self._remapped.get(keysym) or self._remap(keysym)
                if spare is not None:
                    self._remapped.move_to_end(keysym)
                return None if spare is None else (spare, None, None)
            shift ^= numlock
        return keycode, shift, level3

    def _locked(self, mask: int) -> bool:
        return bool(mask) and bool(self._root.query_pointer().mask & mask)

    def _adjust(self, shift: bool | None, level3: bool | None, keycode: int) -> None:
        """Bring Shift and AltGr to what the key ``keycode`` needs (None:
        leave it), the group switch and level-5 shift up."""
        for kc, kind in self._mods.items():
            if kind == "other" and kc not in self._suppressed:
                self._release(kc)
                self._suppressed.add(kc)
        if shift is not None:
            self._bring("shift", shift)
        if level3 is not None:
            self._bring("level3", level3)
        adjusted = self._suppressed or self._fakes
        self._owner = keycode if adjusted else None

    def _bring(self, kind: str, down: bool) -> None:
        """Put the modifier ``kind`` down or up: the agent's own keys when it
        holds some, else one of ours."""
        agents = [kc for kc, k in self._mods.items() if k == kind]
        active = [kc for kc in agents if kc not in self._suppressed]
        fake = self._fakes.get(kind)
        if down:
            if active or fake is not None:
                return
            back = [kc for kc in agents if kc in self._suppressed]
            for kc in back:  # the agent holds it: give it back rather than add ours
                self._suppressed.discard(kc)
                self._press(kc)
            ours = self._modifier_key(kind)
            if not back and ours is not None:
                self._fakes[kind] = ours
                self._press(ours)
        else:
            if fake is not None:
                self._release(fake)
                del self._fakes[kind]
            for kc in active:
                self._release(kc)
                self._suppressed.add(kc)

    def _modifier_key(self, kind: str) -> int | None:
        if kind == "level3":
            return self._map.level3
        ours = self._map.where.get(_SHIFT_L) or self._map.where.get(_SHIFT_R)
        return None if ours is None else ours[0]

    def _restore(self) -> None:
        """Undo the last adjustment: the agent's own modifiers again."""
        for kc in self._fakes.values():
            self._release(kc)
        self._fakes.clear()
        for kc in sorted(self._suppressed):
            self._press(kc)
        self._suppressed.clear()
        self._owner = None

    def _press(self, keycode: int) -> None:
        if keycode not in self._down and self._down_at_server(keycode):
            # Someone else holds it (the customer's own keyboard, another
            # XTEST client): X has one master keyboard and drops a second
            # press of a held key, and our release would end theirs
            # (review45: their held g stopped repeating). Neither is sent;
            # the key is theirs, typing what they type, until they let go.
            self._borrowed.add(keycode)
            return
        self._borrowed.discard(keycode)
        self._repeat.keep()  # the server's repeat still off for our keys
        self._made_press("key", keycode)
        self._fake(self._disp, self._X.KeyPress, keycode)
        self._down.add(keycode)
        self._last_event[keycode] = time.monotonic()

    def _release(self, keycode: int) -> None:
        if keycode in self._borrowed:  # never pressed by us (_press): not ours to let go of
            self._borrowed.discard(keycode)
            return
        self._fake(self._disp, self._X.KeyRelease, keycode)
        self._down.discard(keycode)
        self._last_event[keycode] = time.monotonic()

    def _down_at_server(self, keycode: int) -> bool:
        """Whether X's core keyboard holds ``keycode`` down now (a round
        trip: QueryKeymap, the master's keys, every device's presses)."""
        keys = self._disp.query_keymap()
        return bool(keys[keycode >> 3] & (1 << (keycode & 7)))

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
            self._settle(self._last_change + self._remap_gap - time.monotonic())
            self._disp.change_keyboard_mapping(keycode, [(keysym, keysym)], onerror=catch)
            self._disp.sync()
            self._last_change = time.monotonic()
            if catch.get_error() is not None:
                self._stale = True
                return None
            self._own_changes[keycode] += 1
            self._map.put(keycode, keysym)
            self._remapped[keysym] = keycode
            self.remaps += 1
            return keycode

    def _spare(self) -> int | None:
        """A free spare keycode while fewer than ``remap_slots`` are in use,
        else the least recently used remapped one not held, once an
        application has had ``reuse_after`` s to look its last key up; a
        further free spare until then; waiting for that time when none is left."""
        used = set(self._remapped.values())
        free = next((kc for kc in self._map.spares if kc not in used), None)
        if len(used) < self._slots and free is not None:
            return free
        held = self._down | set(self._held.values())
        oldest = next((kc for kc in self._remapped.values() if kc not in held), None)
        if oldest is None:
            return free
        wait = self._last_event.get(oldest, 0.0) + self._reuse_after - time.monotonic()
        if wait > 0 and free is not None:
            return free
        self._settle(wait)
        return oldest

    def _settle(self, wait: float) -> None:
        # This is the time the focused application gets to read the events
        # we sent: they must be at the server before it starts.
        if wait > 0:
            self._disp.flush()
            time.sleep(wait)

    def _empty_spares(self) -> None:
        last = max((self._last_event.get(kc, 0.0) for kc in self._remapped.values()), default=0.0)
        self._settle(last + self._reuse_after - time.monotonic())
        for keysym, keycode in list(self._remapped.items()):
            row = tuple(self._disp.get_keyboard_mapping(keycode, 1)[0])
            if row[:1] == (keysym,):  # still ours
                self._disp.change_keyboard_mapping(keycode, [(0, 0)])
                self._map.put(keycode, 0)
        self._remapped.clear()
        self._disp.sync()
