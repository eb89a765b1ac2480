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

A key someone else holds down at the server (the local user's own
keyboard, another XTEST client) is neither pressed nor released for the
agent (``_borrowed``): X has one master keyboard, drops a second press of a
held key, and would take the agent's release for the holder's (input46).

A keysym it cannot type is dropped and counted (``dropped_keys``), never
raised into the session. Only printable keysyms get this treatment: a named
key (Tab, arrows, F-keys, modifiers) is pressed as it is with the agent's own
modifiers, so Shift+Tab and Shift+arrows mean what the agent meant.

:class:`LocalPointerWatcher` polls the pointer (on the event loop,
:mod:`.xpointer`) and calls a callback when
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

The injector is built in layers, each a module beside this one that imports
only those below it: :mod:`.xkeysyms` (keysym tables and the keymap),
:mod:`.xdisplay` (the X connection), :mod:`.xkeys` (the worker's keyboard),
:mod:`.xworker` (the worker thread: pointer, buttons, wheel, keys, close),
:mod:`.xwatch` (a watcher's polling on a thread: the presses'),
:mod:`.xpointer` (the pointer watcher's connection, read on the loop); this
module adds the caller's side and the pointer watcher.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from screencodec.errors import CaptureError
from screencodec.transport.input.base import InputInjector
from screencodec.transport.input.xdisplay import _CUT_TIMEOUT, ANSWER_WITHIN, _open_display
from screencodec.transport.input.xkeysyms import _Keymap
from screencodec.transport.input.xrepeat import RepeatGuard
from screencodec.transport.input.xwatch import PollingWatcher
from screencodec.transport.input.xworker import PASTE_SETTLE, XTestWorker

__all__ = ["PASTE_SETTLE", "LocalPointerWatcher", "PollingWatcher", "XTestInjector"]

#: How long ``query_pointer`` waits for the worker (the queue ahead of it included).
_QUERY_TIMEOUT = 30.0
#: Presses this injector made that no report claimed are forgotten once the
#: watcher has read this long after the last of them (``claims_press``): the
#: server reports a press within milliseconds, so such a press never reached
#: it (the connection failed), and must not hide the local user's.
_CLAIM_WINDOW = 2.0


class XTestInjector(InputInjector, XTestWorker):
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
    the buttons this injector holds down at the server; ``_borrowed``, the
    keycodes the agent pressed while someone else held them (not sent, and
    their release not sent either); ``_mods``, the
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
        #: The server's auto-repeat off for the XTEST keyboard (keyrep45).
        self._repeat = RepeatGuard(display)
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
        self._borrowed: set[int] = set()
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
        # drop_queued's mark: up to it, only the releases are carried out.
        self._drop_upto = 0
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

    def drop_queued(self) -> None:
        """Drop the actions still queued but for the releases of keys and
        buttons, and let go of nothing (review44: one of two agents with
        control had its control taken back; :meth:`release_all` would let
        go of the other's held keys, and without it the first agent's
        input queued behind pastes reached the desktop ~2 s after)."""
        with self._cond:
            self._drop_upto = self._queued

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
            self._repeat.cut()  # its restore may wait on the same server
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


class LocalPointerWatcher:
    """Poll the pointer every ``period`` s; call ``on_local`` when it moved by itself.

    A position the injector requested (the last one, or one still on its
    way to the server) is ours, not the user's.
    Run with ``task = asyncio.create_task(watcher.run())``; cancel or
    :meth:`close` to stop.

    The poll is read on the event loop (ends53), as the host's shown
    pointer is (:class:`~screencodec.transport.session.pointer_read.LoopPointer`
    on an :class:`~.xpointer.XPointerQuery`): a 12-byte question, its
    answer waited for in place up to a millisecond, then by the loop's
    ``add_reader``; no thread. Through a :class:`PollingWatcher`'s thread,
    20 polls a second cost an idle 1080p host with control granted about
    what 60 hops a second had cost its shown pointer. As before, a dead X
    server ends ``run`` with the connection's error (an OSError), one that
    does not answer within ``answer_within`` s with a CaptureError, the
    loop free meanwhile; the connection is closed either way. ``_disp``:
    the python-xlib connection (its socket is the one read).
    """

    answer_within: float = ANSWER_WITHIN

    def __init__(
        self,
        on_local: Callable[[], None],
        injector: XTestInjector | None = None,
        display: str | None = None,
        period: float = 0.05,
    ) -> None:
        from screencodec.transport.input.xpointer import XPointerQuery
        from screencodec.transport.session.pointer_read import LoopPointer

        self._on_local = on_local
        self._injector = injector
        self._query = XPointerQuery(display)
        self._disp = self._query.display
        #: The reads (``reads``: the polls answered); its ``within`` is
        #: ``answer_within`` when ``run`` starts.
        self.pointer = LoopPointer(self._query, within=self.answer_within, reuse=0.0)
        self._period = period
        self._last: tuple[int, int] | None = None

    async def run(self) -> None:
        """Poll until cancelled, or until :meth:`close` (then it returns)."""
        from screencodec.transport.session.pointer_read import NotAnsweredError

        pointer = self.pointer
        pointer.within = self.answer_within
        try:
            while True:
                try:
                    state = await pointer.read()
                except NotAnsweredError:
                    raise CaptureError(f"the X server did not answer within"
                                       f" {self.answer_within:g} s") from None  # fmt: skip
                if state is None:
                    if pointer.failure is not None:
                        raise pointer.failure  # the error the read met
                    return  # closed
                pos = (state.x, state.y)
                self._seen((pos, self._injector is not None
                            and self._injector.owns_position(pos)))  # fmt: skip
                await asyncio.sleep(self._period)
        finally:
            self.close()

    def close(self) -> None:
        """Close the watcher's X connection (``run`` does when it ends; a
        read under way then answers None and ``run`` returns); quiet and
        idempotent, also once the X server is gone."""
        self.pointer.close()
        self._query.close()  # again, for a pointer closed before (idempotent)

    def _seen(self, read: tuple[tuple[int, int], bool]) -> None:
        pos, ours = read
        if self._last is not None and pos != self._last and not ours:
            self._on_local()
        self._last = pos
