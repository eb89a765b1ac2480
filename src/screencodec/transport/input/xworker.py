"""The XTEST injector's worker thread (:mod:`.xtest`): the one user of its X
connection, carrying the queued actions out in order (pointer, buttons,
wheel, keys, release of everything held), holding the agent's next action
after a paste, telling a lost connection once, and closing the connection
whatever the server's state.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from screencodec.transport.input.xdisplay import _close_display
from screencodec.transport.input.xkeys import XTestKeys
from screencodec.transport.input.xkeysyms import _SHIFT_L, _SHIFT_R, _keysym_of, _normalise

__all__ = ["PASTE_SETTLE", "XTestWorker"]

# The injector's logger, as before it was split (its name is .xtest's).
_log = logging.getLogger("screencodec.transport.input.xtest")
#: How long the injector holds the agent's next action after a paste (Shift+
#: Insert, Ctrl+V, Ctrl+Shift+V, the middle button), in seconds. The pasting
#: program asks the selection's owner (another client: the host's xclip) for
#: the text and gets it later; an Enter injected right after reached an
#: xterm before the text, 5 of 20 times with no gap (walk41, XTEST at once),
#: 1 of 20 with 3 ms, none with 6 ms or more. A person's next key comes
#: 50 ms later at the soonest; a script's at once.
PASTE_SETTLE = 0.1
_INSERT, _CONTROLS = 0xFF63, (0xFFE3, 0xFFE4)


class XTestWorker(XTestKeys):
    """The worker side of :class:`~.xtest.XTestInjector`; its state is the
    injector's (set in its ``__init__``, described in its docstring)."""

    _cond: threading.Condition
    _queue: deque[tuple[Callable[..., None], tuple[Any, ...]]]
    _reached: int
    _flush_at: int
    _void_upto: int
    _drop_upto: int
    voided_events: int
    _actions: frozenset[Callable[..., None]]
    _agent_actions: frozenset[Callable[..., None]]
    lost: str | None
    on_lost: Callable[[str], None] | None
    _lost_lock: threading.Lock
    _told_gone: bool
    _socket: socket.socket
    _close_timeout: float
    _buttons: set[int]
    dropped_events: int
    errors: int

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
                void = fn in self._agent_actions and (
                    taken < self._void_upto
                    or (taken < self._drop_upto and not self._lets_go(fn, args)))
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

    def _lets_go(self, fn: Callable[..., None], args: tuple[Any, ...]) -> bool:
        """Whether the queued action is a key's or button's release."""
        return fn in (self._do_key, self._do_button) and not args[1]

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
        self._borrowed.clear()
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
            # The XTEST keyboard's repeat back, on a server that may answer
            # (a lost or silent one: its connection is only closed).
            if self.lost is None:
                self._repeat.restore()
            else:
                self._repeat.close()
