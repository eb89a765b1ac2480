"""X11 injection through the XTEST extension, and a watcher for local pointer use.

:class:`XTestInjector` turns the agent's keysyms into keys the host's keymap
types. XTEST presses keycodes, not characters, so the injector:

* presses Shift and AltGr (ISO_Level3_Shift) around a key whose keycode
  gives the keysym only at another level (``>``, ``X`` at level 2; ``@``,
  ``{``, ``€`` at level 3 of a German host's keys; ``¿`` at level 4), and
  releases the agent's Shift and AltGr around a key that needs them up (the
  agent's layout differs from the host's), with Caps Lock taken into account
  for letters and Num Lock for the keypad, as XKB's ALPHABETIC and KEYPAD key
  types do. The agent's KP_1 is the keypad's 1 whatever the host's Num Lock,
  and its KP_End the keypad's End: with Num Lock on, Shift is let go of
  around the number and pressed around End; with Num Lock off, End is the
  key as it is and the number (which XKB's default PC keypad type gives
  only with Num Lock) goes through a spare keycode as below. Num Lock itself
  is never toggled: the local user's lock state and its LED are theirs;
* types a keysym that is on no keycode (``é`` on a US keymap, any Unicode
  keysym) by mapping it onto a spare keycode, one with no keysyms at all,
  kept in a small LRU so a text with a few such characters changes the map
  only once per character; the spare rows are emptied again on close.
  Applications look a key's keysym up when they read the event, with the
  keymap of that moment, so a keycode is given another keysym only once its
  last key event is ``reuse_after`` seconds old: until then a burst of new
  characters takes further spare keycodes, and when none is left the
  injector waits out the rest of that time.

All of that runs on a worker thread the injector owns, the one thread that
uses its X connection: the caller (the host's event loop) only queues the
agent's actions, so neither the round trips (one or more per key) nor those
waits (up to ``reuse_after`` per character of a long exotic paste) hold up
the screen updates and receipts the loop handles meanwhile.

Levels 3 and 4 are the core keymap's columns 4 and 5, which XKB fills with
group 1's third and fourth levels. With more than one group they may hold
another group's keysyms instead, so on such a keymap (and on one with no
ISO_Level3_Shift key in the modifier map) keysyms found only there are
remapped like absent ones. Mode_switch selects a group under XKB, not a
level, and is never pressed for the agent.

A keysym it cannot type is dropped and counted (``dropped_keys``), never
raised into the session. Only printable keysyms get this treatment: a named
key (Tab, arrows, F-keys, modifiers) is pressed as it is with the agent's own
modifiers, so Shift+Tab and Shift+arrows mean what the agent meant.

:class:`LocalPointerWatcher` polls ``query_pointer`` and calls a callback when
the pointer moved to somewhere the injector did not put it: that is the local
user's hand on the mouse, and local input wins. The local user's keys and
clicks are seen by ``screencodec.transport.input.xpresses``, from the presses
the injector says it made (``claims_press``).

When the X server goes away (the user logged out, the server crashed), the
injector's worker notices at its next action: :attr:`XTestInjector.lost`
says why, :attr:`XTestInjector.on_lost` is called once, and every later
action is dropped without touching the dead connection (counted in
``dropped_events``), where each had failed and been counted as an error.
A watcher's ``run`` ends with the connection's error (``PollingWatcher``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import functools
import logging
import os
import queue
import select
import socket
import threading
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from screencodec.errors import CaptureError
from screencodec.transport.input.base import InputInjector

__all__ = ["PASTE_SETTLE", "LocalPointerWatcher", "PollingWatcher", "XTestInjector"]

_log = logging.getLogger(__name__)
#: How long the X server is given to answer (s): one poll of a watcher, the
#: injector's :meth:`~XTestInjector.close`; then the server is taken for
#: gone (stopped, hung, or far away and cut off). The test suite shortens it
#: for the host it starts with $SCREENCODEC_TEST_X_ANSWER_WITHIN (tests only).
ANSWER_WITHIN = float(os.environ.get("SCREENCODEC_TEST_X_ANSWER_WITHIN", "10"))
#: How long ``query_pointer`` waits for the worker (the queue ahead of it included).
_QUERY_TIMEOUT = 30.0
#: How long ``close`` waits for the worker once it cut a silent server's
#: connection (the worker then fails each action left at once).
_CUT_TIMEOUT = 5.0
#: Presses this injector made that no report claimed are forgotten once the
#: watcher has read this long after the last of them (``claims_press``): the
#: server reports a press within milliseconds, so such a press never reached
#: it (the connection failed), and must not hide the local user's.
_CLAIM_WINDOW = 2.0

_SHIFT_L, _SHIFT_R, _LEVEL3, _NUM_LOCK = 0xFFE1, 0xFFE2, 0xFE03, 0xFF7F
#: Modifiers the injector manages for printable keys: Shift, AltGr (level 3),
#: and the group switch and level-5 shift ("other": let go of for any of them).
#: How long the injector holds the agent's next action after a paste (Shift+
#: Insert, Ctrl+V, Ctrl+Shift+V, the middle button), in seconds. The pasting
#: program asks the selection's owner (another client: the host's xclip) for
#: the text and gets it later; an Enter injected right after reached an
#: xterm before the text, 5 of 20 times with no gap (walk41, XTEST at once),
#: 1 of 20 with 3 ms, none with 6 ms or more. A person's next key comes
#: 50 ms later at the soonest; a script's at once.
PASTE_SETTLE = 0.1
_INSERT, _CONTROLS = 0xFF63, (0xFFE3, 0xFFE4)
_MANAGED = {_SHIFT_L: "shift", _SHIFT_R: "shift", _LEVEL3: "level3",
            0xFF7E: "other", 0xFE11: "other"}  # fmt: skip
#: The core keymap columns of group 1's levels 1 to 4 under XKB.
_COLUMNS = (0, 1, 4, 5)
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


def _close_display(disp: Any) -> None:
    """Close an X connection whatever the server's state (None: nothing to
    do): quiet, and its socket is released even when Xlib's close fails.

    A connection that already failed is not closed through Xlib: its close
    would raise the stored error again, the very object that the read which
    met it raised, and add this close's frames to that error's traceback."""
    if disp is None:
        return
    from Xlib.error import ConnectionClosedError, XError

    conn = getattr(disp, "display", None)  # Xlib's protocol connection
    try:
        if getattr(conn, "socket_error", None) is None:
            with contextlib.suppress(ConnectionClosedError, XError, OSError):
                disp.close()  # a server gone unnoticed: the flush before the close fails
    finally:
        sock = getattr(conn, "socket", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()  # idempotent


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


class XTestInjector(InputInjector):
    """Inject pointer and keyboard input into an X display through XTEST,
    from a worker thread of its own.

    The public methods (``pointer_move``, ``button``, ``wheel``, ``key``,
    ``release_all``) put the action on a queue and return at once; one
    worker thread, the only user of the X connection after ``__init__``,
    carries the actions out in order. Its round trips and the waits below
    never hold up the caller (the host's event loop). ``flush`` waits until
    everything queued so far has reached the X server; ``query_pointer``
    does too, and blocks for its round trip (tests, not the loop); ``close``
    drains the queue, then restores the keymap and closes the display.
    Close every injector: until then its worker keeps it and its X
    connection alive.

    Worker state: the cached keymap (re-read when a MappingNotify says
    another client changed it); ``_held``, the keysyms the agent holds and
    the keycode each was pressed on; ``_down``, the keycodes and ``_buttons``
    the buttons this injector holds down at the server; ``_mods``, the
    agent's held Shift and AltGr keycodes by kind, of which ``_suppressed``
    are released for the moment because the last printable key needed them
    up; ``_fakes``, the Shift and AltGr the injector pressed itself, and
    ``_owner``, the key whose release ends that adjustment; ``_remapped``,
    keysym -> spare keycode, least recently used first; ``_last_event``, when
    each keycode last had a key event (a remapped one is reused only
    ``reuse_after`` s later). ``release_all`` undoes every press, ours
    included; ``close`` also empties the spare keycodes again.

    Caller state (under ``_cond``): ``_queue``, the actions not yet taken;
    ``_queued``/``_reached``, how many were queued and how many are known to
    be at the server; ``_moves``, the pointer positions requested and not
    yet at the server, with the last one that is (see ``owns_position``);
    ``last_position``, the position last requested.

    Parameters: ``remap_slots``, the spare keycodes kept remapped in the
    normal run of things (more only during a burst, see the module's
    docstring); ``reuse_after``, how long an application gets to look a
    remapped key up before its keycode takes another keysym; ``remap_gap``,
    the least time between two keymap changes: a libX11 client that gets a
    change while it re-reads the keymap for the previous one was seen to look
    the next key up in the keymap from before the change (NoSymbol) when they
    came back to back. ``close`` waits out ``reuse_after`` after the last
    remapped key too. These are the only waits, each at most its setting,
    all on the worker. ``max_queue``: actions waiting beyond this many are
    dropped (``dropped_events``) and the queue then releases everything
    held, so no lost release leaves a key stuck.

    Counters: ``dropped_keys`` (keysyms that could not be typed, or came
    after ``close``), ``remaps`` (keymap changes made for them),
    ``dropped_events`` (actions dropped on a full queue, or once the X
    connection is lost), ``errors`` (actions the X connection failed:
    logged, never raised to the caller).

    The X connection lost (the server gone): ``lost`` says why (None until
    then), and ``on_lost(why)``, when set, is called once, on the worker
    thread; without it one warning is logged. Nothing is sent on the
    connection afterwards but its close.

    Thread safety: the public methods may be called from any thread (the
    actions of one thread keep their order); the worker alone uses Xlib,
    which is not thread safe.
    """

    def __init__(
        self,
        display: str | None = None,
        remap_slots: int = 10,
        reuse_after: float = 0.2,
        remap_gap: float = 0.01,
        max_queue: int = 10_000,
    ) -> None:
        from Xlib import X
        from Xlib.ext import xtest

        self._X = X
        self._fake = xtest.fake_input
        self._disp: Any = _open_display(display)
        #: kept for close: a server that does not answer has its connection cut
        self._socket = self._disp.display.socket
        self._root = self._disp.screen().root
        scr = self._disp.screen()
        self._size = (int(scr.width_in_pixels), int(scr.height_in_pixels))
        self._map = _Keymap(self._disp)
        self._stale = False
        self._own_changes: Counter[int] = Counter()  # MappingNotify our remaps will cause
        self._slots = remap_slots
        self._reuse_after = reuse_after
        self._remap_gap = remap_gap
        self._last_change = 0.0
        self._last_event: dict[int, float] = {}
        self._remapped: OrderedDict[int, int] = OrderedDict()
        self._buttons: set[int] = set()
        self._down: set[int] = set()
        self._held: dict[int, int] = {}
        self._mods: dict[int, str] = {}
        self._suppressed: set[int] = set()
        self._fakes: dict[str, int] = {}
        self._owner: int | None = None
        self.dropped_keys = 0
        self.remaps = 0
        self.dropped_events = 0
        self.errors = 0
        self.last_position: tuple[int, int] | None = None
        self._cond = threading.Condition()
        self._queue: deque[tuple[Callable[..., None], tuple[Any, ...]]] = deque()
        self._max_queue = max_queue
        self._overflowing = False
        self._queued = 0
        self._reached = 0
        self._flush_at = 0  # the worker syncs once it has taken this many
        # The agent's actions queued up to this many (release_all's mark) are
        # not carried out: the agent lost control meanwhile (review41a: with
        # PASTE_SETTLE, a burst of pastes held what followed them for
        # seconds, injected after the revoke). Counted in voided_events.
        self._void_upto = 0
        #: The agent's actions dropped because :meth:`release_all` came
        #: while they still waited in the queue.
        self.voided_events = 0
        self._moves: deque[tuple[int, tuple[int, int]]] = deque()
        #: presses made and not claimed yet, per ("key", keycode) or
        #: ("button", number): [how many, when the last was made], for
        #: ``claims_press`` (at most one entry per key and button: bounded
        #: however long a paste no watcher reads); the worker adds, a
        #: watcher's thread takes
        self._made: dict[tuple[str, int], list[float]] = {}
        self._made_lock = threading.Lock()
        self._closing = False
        #: Why the X connection was lost (None: it was not); see on_lost.
        self.lost: str | None = None
        # Set by server_gone: the server did not answer another connection,
        # this one has not failed (a stopped server may go on: what the
        # agent holds is still released, see _release_to_a_silent_server).
        self._told_gone = False
        self._close_timeout = ANSWER_WITHIN
        #: Called once, on the worker thread, with ``lost``'s words when the
        #: X connection is lost (None: a warning is logged instead).
        self.on_lost: Callable[[str], None] | None = None
        self._lost_lock = threading.Lock()
        #: The actions dropped once the connection is lost.
        self._actions = frozenset({self._sync, self._do_move, self._do_button, self._do_wheel,
                                   self._do_key, self._do_release_all})  # fmt: skip
        #: The agent's own actions, which release_all drops while queued.
        self._agent_actions = frozenset({self._do_move, self._do_button, self._do_wheel,
                                         self._do_key})  # fmt: skip
        self._worker = threading.Thread(target=self._run, name="xtest-injector", daemon=True)
        self._worker.start()

    # -- the caller's side -------------------------------------------------

    def pointer_move(self, x: int, y: int) -> None:
        w, h = self._size
        pos = (max(0, min(x, w - 1)), max(0, min(y, h - 1)))
        with self._cond:
            if self._submit(self._do_move, pos):
                self.last_position = pos
                self._moves.append((self._queued, pos))

    def button(self, button: int, down: bool) -> None:
        with self._cond:
            self._submit(self._do_button, button, down)

    def wheel(self, dx: int, dy: int) -> None:
        with self._cond:
            self._submit(self._do_wheel, dx, dy)

    def key(self, keysym: int, down: bool, text: str = "") -> None:
        with self._cond:
            if not self._submit(self._do_key, keysym, down, text) and down:
                self.dropped_keys += 1

    def release_all(self) -> None:
        """Release every key and button the agent holds, and drop its
        actions still queued (moves, buttons, wheel, keys): the caller
        takes its control away (a revoke, the local user's turn), and what
        passed the gate before must not reach the desktop after, however
        long :data:`PASTE_SETTLE` held it."""
        with self._cond:
            self._void_upto = self._queued
            self._submit(self._do_release_all)

    def owns_position(self, pos: tuple[int, int]) -> bool:
        """Whether the pointer at ``pos`` may be where this injector put it:
        the position last requested, one still on its way to the server, or
        the last one that reached it."""
        with self._cond:
            while len(self._moves) > 1 and self._moves[1][0] <= self._reached:
                self._moves.popleft()  # superseded at the server
            return pos == self.last_position or any(p == pos for _, p in self._moves)

    def claims_press(self, kind: str, detail: int, read_before: float | None = None) -> bool:
        """Whether a press the X server reported, a key (``kind`` "key",
        ``detail`` its keycode) or a button ("button", its number), is one
        this injector made and no report claimed yet. Each press explains
        one report, so the local user pressing the same key as the agent is
        still seen. ``read_before``: the ``time.monotonic()`` of the caller's
        previous read of the reports (None: now); presses of this key made
        more than ``_CLAIM_WINDOW`` s before it, still unclaimed, never
        reached the server and are forgotten. Counted from the reads, not
        the clock, a watcher that could not read for a while (a busy event
        loop) still finds every press it has not read yet."""
        key = (kind, detail)
        with self._made_lock:
            entry = self._made.get(key)
            if entry is None:
                return False
            horizon = time.monotonic() if read_before is None else read_before
            if entry[1] < horizon - _CLAIM_WINDOW:
                del self._made[key]
                return False
            entry[0] -= 1
            if entry[0] <= 0:
                del self._made[key]
            return True

    def _made_press(self, kind: str, detail: int) -> None:
        """Note a press before it is sent (a watcher may read it right after)."""
        with self._made_lock:
            entry = self._made.setdefault((kind, detail), [0, 0.0])
            entry[0] += 1
            entry[1] = time.monotonic()

    def pending(self) -> int:
        """How many actions wait in the queue (not yet taken by the worker)."""
        with self._cond:
            return len(self._queue)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every action queued so far has reached the X server
        (its events sent and a round trip made); False on ``timeout``."""
        with self._cond:
            target = self._queued
            self._flush_at = max(self._flush_at, target)
            self._cond.notify_all()
            return self._cond.wait_for(
                lambda: self._reached >= target or not self._worker.is_alive(), timeout
            )

    def query_pointer(self) -> tuple[int, int]:
        """The pointer's position at the server once the queued actions are
        there. Blocks for a round trip: not for the event loop."""
        result: Future[tuple[int, int]] = Future()

        def query() -> None:
            try:
                reply = self._root.query_pointer()
                result.set_result((int(reply.root_x), int(reply.root_y)))
            except Exception as exc:
                result.set_exception(exc)

        with self._cond:
            if not self._submit(query, force=True):
                raise CaptureError("the injector is closed")
        return result.result(_QUERY_TIMEOUT)

    def close(self, timeout: float = ANSWER_WITHIN) -> None:
        """Carry out what is queued, release every key and button, empty the
        spare keycodes, and close the display; waits up to ``timeout`` s for
        that. Idempotent; afterwards input is dropped (a session still
        cleaning up after ``Host.close`` gave up waiting calls in here).

        An X server that has not let the worker get through by then (a
        stopped or hung server, a remote one gone without a word: the worker
        waits for a reply that never comes) has the connection cut: its
        socket is shut down, which ends the worker's wait, and the worker
        closes it. So the socket is released whatever the server's state
        (what the server has not taken by then is lost with it).

        A server known gone already (``lost``: this connection failed, or
        :meth:`server_gone` was told so) is not waited for again: nothing
        more is sent to it, the connection is cut at once and closed; but
        for a server only told gone while the agent holds a key or a button,
        whose releases are written and given up to ``timeout`` s to be
        taken (a stopped server that goes on within it has nothing stuck)."""
        with self._cond:
            if not self._closing:
                self._close_timeout = timeout  # the worker's, for a silent server
                self._submit(self._do_close, force=True)
                self._closing = True
        if threading.current_thread() is self._worker:
            return
        if self.lost is None:
            self._worker.join(timeout)
            if self._worker.is_alive():
                # Said once, as a lost connection is (on_lost, else a warning).
                self._lost(f"the X server did not answer within {timeout:g} s: its"
                           " connection is cut")  # fmt: skip
        elif self._told_gone and (self._buttons or self._down):
            self._worker.join(timeout + _CUT_TIMEOUT)  # it waits timeout at most
        if self._worker.is_alive():
            with contextlib.suppress(OSError):  # closed already: EBADF
                self._socket.shutdown(socket.SHUT_RDWR)
            self._worker.join(_CUT_TIMEOUT)

    def server_gone(self, why: str) -> None:
        """The X server is known gone: another connection to it failed or
        was not answered (a watcher's). Taken as this connection's loss
        (``lost``; ``on_lost`` is not called: the caller knows), so what is
        queued or comes later is dropped and :meth:`close` does not wait on
        the server again."""
        with self._lost_lock:
            if self.lost is None:
                self.lost = why
                self._told_gone = True

    def _submit(self, fn: Callable[..., None], *args: Any, force: bool = False) -> bool:
        """Queue ``fn(*args)`` for the worker (``_cond`` held); False if
        dropped: after close, or on a full queue (unless ``force``)."""
        if self._closing:
            return False
        if not force and len(self._queue) >= self._max_queue:
            self.dropped_events += 1
            if not self._overflowing:  # a release may be among the lost
                self._overflowing = True
                self._queue.append((self._do_release_all, ()))
                self._queued += 1
                self._cond.notify_all()
            return False
        self._overflowing = False
        self._queue.append((fn, args))
        self._queued += 1
        self._cond.notify_all()
        return True

    # -- the worker ----------------------------------------------------------

    def _run(self) -> None:
        taken = 0
        while True:
            with self._cond:
                # A round trip when idle, or when a flush waits for what was
                # taken: one per burst, not one per action.
                idle = not self._queue
                if taken > self._reached and (idle or self._reached < self._flush_at <= taken):
                    self._cond.release()
                    try:  # outside the lock: callers queue meanwhile
                        self._guarded(self._sync)
                    finally:
                        self._cond.acquire()
                    self._reached = taken
                    self._cond.notify_all()
                self._cond.wait_for(lambda: bool(self._queue))
                fn, args = self._queue.popleft()
                void = taken < self._void_upto and fn in self._agent_actions
            taken += 1
            if void:
                self.voided_events += 1
                continue
            self._guarded(fn, *args)
            if fn == self._do_close:
                with self._cond:
                    self._reached = taken
                    self._cond.notify_all()
                return

    def _guarded(self, fn: Callable[..., None], *args: Any) -> None:
        from Xlib.error import ConnectionClosedError, XError

        if self.lost is not None and fn in self._actions:
            self.dropped_events += 1  # the server is gone: nothing to send it
            return
        try:
            fn(*args)
        except (ConnectionClosedError, OSError) as exc:  # the connection is gone
            self.errors += 1
            self._lost(str(exc) or type(exc).__name__)
        except XError as exc:
            self.errors += 1
            if self.errors == 1 or self.errors % 1000 == 0:
                _log.warning("X input injection failed (%d so far): %s", self.errors, exc)
        except Exception:  # a defect of ours: the worker must outlive it
            self.errors += 1
            _log.exception("X input injection failed")

    def _lost(self, why: str) -> None:
        """The X connection failed (on the worker; or did not answer
        ``close``): said once, by ``on_lost`` or else a warning; later
        actions are dropped (``_guarded``)."""
        with self._lost_lock:  # the worker, or close on the caller's thread
            if self.lost is not None:
                return
            self.lost = why
        on_lost = self.on_lost
        if on_lost is None:
            _log.warning("the X display's connection is lost, remote input stops: %s", why)
            return
        try:
            on_lost(why)
        except Exception:  # the caller's defect: the worker must outlive it
            _log.exception("XTestInjector.on_lost failed")

    def _sync(self) -> None:
        if self._disp is not None:
            self._disp.sync()

    def _do_move(self, pos: tuple[int, int]) -> None:
        if self._disp is not None:
            x, y = pos
            self._fake(self._disp, self._X.MotionNotify, x=x, y=y, root=self._root)

    def _do_button(self, button: int, down: bool) -> None:
        if self._disp is None:
            return
        if down:
            self._made_press("button", button)
        self._fake(self._disp, self._X.ButtonPress if down else self._X.ButtonRelease, button)
        (self._buttons.add if down else self._buttons.discard)(button)
        if down and button == 2:  # the middle button pastes the selection
            self._settle_paste()

    def _do_wheel(self, dx: int, dy: int) -> None:
        # X has no wheel events: buttons 4/5 (vertical) and 6/7 (horizontal) clicks.
        if self._disp is None:
            return
        for count, neg, pos in ((dy, 4, 5), (dx, 6, 7)):
            b = pos if count > 0 else neg
            for _ in range(abs(count)):
                self._made_press("button", b)
                self._fake(self._disp, self._X.ButtonPress, b)
                self._fake(self._disp, self._X.ButtonRelease, b)

    def _do_key(self, keysym: int, down: bool, text: str) -> None:
        if self._disp is None:
            self.dropped_keys += 1 if down else 0
            return
        if not keysym and len(text) == 1:
            keysym = _keysym_of(text)
        keysym = _normalise(keysym)
        self._read_events()
        if down:
            self._key_down(keysym)
            if self._pastes(keysym):
                self._settle_paste()
        else:
            self._key_up(keysym)

    def _pastes(self, keysym: int) -> bool:
        """Whether ``keysym`` pressed now, with the agent's held keys, is a
        paste: Shift+Insert, or V with Ctrl (Ctrl+Shift+V in terminals)."""
        held = self._held
        if keysym == _INSERT:
            return any(k in held for k in (_SHIFT_L, _SHIFT_R))
        return keysym in (0x76, 0x56) and any(k in held for k in _CONTROLS)

    def _settle_paste(self) -> None:
        """Hold the worker (the agent's next actions wait in its queue) for
        :data:`PASTE_SETTLE` once the server has the paste: its text comes
        from the selection's owner after it, and what was typed next must
        come after the text."""
        assert self._disp is not None
        self._disp.sync()
        time.sleep(PASTE_SETTLE)

    def _do_release_all(self) -> None:
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
        self._fakes.clear()
        self._owner = None

    def _release_to_a_silent_server(self) -> None:
        """Release what the agent holds on a server that does not answer
        (stopped, or hung): the releases are one-way requests, written, then
        this side of the connection is half-closed, and the server is given
        close's timeout to take them: it closes its side once it has read
        them. Only a half-close: a server that goes on after a full close
        or reset (the process's exit, too) drops what it had not read, and
        the agent's key would stay down on the customer's machine."""
        assert self._disp is not None
        self._do_release_all()
        self._disp.flush()
        self._socket.shutdown(socket.SHUT_WR)
        with contextlib.suppress(OSError):
            select.select([self._socket], [], [], self._close_timeout)

    def _do_close(self) -> None:
        if self._disp is None:
            return
        from Xlib.error import ConnectionClosedError, XError

        try:
            # Each on its own: a release that fails must not leave the
            # customer's keymap holding our spare keycodes. A server known
            # gone is sent nothing that waits for an answer (close cuts the
            # connection meanwhile), but a server that only stopped may go
            # on: the releases of what the agent holds are one-way requests,
            # written before the cut, so no key or button stays down.
            if self.lost is None:
                steps: tuple[Callable[[], None], ...] = (self._do_release_all,
                                                         self._empty_spares)  # fmt: skip
            elif self._told_gone and (self._buttons or self._down):
                steps = (self._release_to_a_silent_server,)
            else:
                steps = ()
            for step in steps:
                # A server that is gone took its keymap with it.
                with contextlib.suppress(ConnectionClosedError, XError, OSError):
                    step()
        finally:  # whatever failed above: the connection is closed, its socket released
            disp, self._disp = self._disp, None
            _close_display(disp)

    # -- keys (the worker) ---------------------------------------------------

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
        self._made_press("key", keycode)
        self._fake(self._disp, self._X.KeyPress, keycode)
        self._down.add(keycode)
        self._last_event[keycode] = time.monotonic()

    def _release(self, keycode: int) -> None:
        self._fake(self._disp, self._X.KeyRelease, keycode)
        self._down.discard(keycode)
        self._last_event[keycode] = time.monotonic()

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


class PollingWatcher:
    """A watcher of the local user on its own X connection: every ``period``
    s, ``_read`` (its round trips) on a daemon thread of the watcher's own,
    then ``_seen`` with what it read, on the event loop. Run with ``task =
    asyncio.create_task(watcher.run())``; cancel or :meth:`close` to stop.

    The round trips are off the loop: a server that stops answering (a
    stopped or hung X server) held the host's whole event loop in a read
    that never returned, and with it the sessions and even Ctrl-C. Now a
    poll not answered within ``answer_within`` s cuts the connection and
    ends ``run`` with a CaptureError that says so.

    State: ``_disp``, the connection (None once closed); ``_busy``, whether
    a read is on the thread (the connection is then the thread's alone:
    :meth:`close` cuts its socket and leaves the close to the thread)."""

    _disp: Any
    _period: float
    answer_within: float = ANSWER_WITHIN
    _busy = False
    _jobs: queue.SimpleQueue[Callable[[], None] | None] | None = None

    def _read(self) -> Any:
        """The X round trips of one poll, on the watcher's thread."""
        raise NotImplementedError

    def _seen(self, read: Any) -> None:
        """What one poll read (``_read``'s), on the event loop."""
        raise NotImplementedError

    async def run(self) -> None:
        """Poll until cancelled, or until :meth:`close` (then it returns); a
        dead X server ends it with the connection's error, one that does not
        answer with a CaptureError, and the connection is closed either way."""
        loop = asyncio.get_running_loop()
        jobs = self._jobs = queue.SimpleQueue()
        thread = threading.Thread(target=_do_jobs, args=(jobs,), name="x-watcher", daemon=True)
        thread.start()
        try:
            while self._disp is not None:
                read = loop.create_future()
                self._busy = True
                jobs.put(functools.partial(_answer, loop, read, self._read))
                try:
                    done, _ = await asyncio.wait({read}, timeout=self.answer_within)
                finally:
                    self._busy = not read.done()  # still reading: given up on
                    read.cancel()  # (done: nothing) what the read meets is not wanted
                if not done:
                    self._cut()
                    raise CaptureError(f"the X server did not answer within"
                                       f" {self.answer_within:g} s")  # fmt: skip
                if self._disp is None:
                    return  # closed meanwhile: what the read met does not matter
                self._seen(read.result())
                await asyncio.sleep(self._period)
        finally:
            self.close()
            jobs.put(None)  # the thread ends once it has done what it was given
            # A read given up on fails at once on its cut socket, and the
            # thread then closes it: the connection is released on return.
            thread.join(_CUT_TIMEOUT)

    def _cut(self) -> None:
        """Shut the connection's socket: a read waiting on it ends."""
        sock = getattr(getattr(self._disp, "display", None), "socket", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """Close the watcher's X connection (``run`` does when it ends);
        quiet and idempotent, also once the X server is gone. While a read
        is on the watcher's thread, its socket is shut and the thread
        closes it after the read."""
        if self._busy and self._jobs is not None and self._disp is not None:
            self._cut()
            disp, self._disp = self._disp, None
            self._jobs.put(functools.partial(_close_display, disp))
            return
        disp, self._disp = self._disp, None
        _close_display(disp)


def _do_jobs(jobs: queue.SimpleQueue[Callable[[], None] | None]) -> None:
    """A watcher's thread: its jobs, in order, until None."""
    while (job := jobs.get()) is not None:
        job()


def _answer(loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any],
            fn: Callable[[], Any]) -> None:  # fmt: skip
    """On a watcher's thread: ``fn()``, its result or error set on ``future``."""
    try:
        result = fn()
    except Exception as exc:
        outcome = functools.partial(_settle, future, None, exc)
    else:
        outcome = functools.partial(_settle, future, result, None)
    with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
        loop.call_soon_threadsafe(outcome)


def _settle(future: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
    if future.done():  # given up on (a timeout, run cancelled)
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


class LocalPointerWatcher(PollingWatcher):
    """Poll the pointer every ``period`` s; call ``on_local`` when it moved by itself.

    A position the injector requested (the last one, or one still on its
    way to the server) is ours, not the user's.
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
        self._last: tuple[int, int] | None = None

    def _read(self) -> tuple[tuple[int, int], bool]:
        """Where the pointer is, and whether the injector may have put it there
        (asked at once: the injector's moves go on meanwhile)."""
        reply = self._disp.screen().root.query_pointer()
        pos = (int(reply.root_x), int(reply.root_y))
        return pos, self._injector is not None and self._injector.owns_position(pos)

    def _seen(self, read: tuple[tuple[int, int], bool]) -> None:
        pos, ours = read
        if self._last is not None and pos != self._last and not ours:
            self._on_local()
        self._last = pos
