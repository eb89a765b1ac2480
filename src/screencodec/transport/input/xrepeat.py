"""The X server's auto-repeat, off for the XTEST keyboard the injector types on
(keyrep45).

X repeats a key held down by itself: 660 ms after the press, 25 times a
second (Xorg's and Xvfb's defaults). An agent's press that reached the host
while its release did not (a link that stalls mid-typing; a held key) was
repeated there until held43's 4 s silence let it go: 181 f's in the
customer's xterm where 98 were sent. Repeats belong to the agent's own
keyboard: the page sends each of its browser's repeated keydowns as a press
(the worker types each, see ``xkeys``), so the host's X must not add its own.

XKB keeps its controls per device, and the XTEST events come from a device
of their own, the slave keyboard "Virtual core XTEST keyboard" (XInput 2).
Its RepeatKeys control off, that device's keys do not repeat, and the
customer's keyboard, another slave of the same master, keeps its own.
Measured on Xvfb 21.1.7 (not on Xorg, whose input code is the same): a
press held 2 s, 35 KeyPress events with the control on, 1 with it off on
the XTEST device alone, and Xvfb's own keyboard device still repeating
meanwhile (34 in 2 s).

The master keyboard repeats too, with the controls it copied from the slave
whose key came last (copied when another slave's key comes): the core
protocol's ``xset r on`` (and a desktop's settings daemon applying the
customer's choices) sets the master and every slave on, and with the
agent's key the last one, the next agent's press repeated 35 times though
the XTEST device was off again. The guard hears of such a change
(XkbControlsNotify, on its own connection) and before the next press sets
the XTEST device off again and, when the master holds its copy
(``_quiet_master``), the master off and the other slaves back on.

What is changed is given back by :meth:`RepeatGuard.restore` (the injector's
``close``): the customer's X session outlives the host. Its limits:

* a host that dies without closing (killed, crashed) leaves the XTEST
  device not repeating until the next host closes, the X server restarts
  or something sets the control again (``xset r on``); the customer's own
  keyboard is not touched. Other XTEST clients (xdotool, an on-screen
  keyboard) meanwhile get no repeats either. The next host knows the off
  is not the customer's by the root window's ``_SCREENCODEC_XTEST_REPEAT``
  (set while a guard holds the control off, deleted by the restore that
  gives it back; review45: without it every later host took the killed
  one's off for the customer's and gave back off);
* after an agent's key the core keyboard (the master) reads "auto repeat:
  off" (``xset q``) until the customer's next key brings their device's
  controls back, with which their keys repeat. ``restore`` sets the master
  back when it still reads ours. A program that reads the core controls
  meanwhile and writes all of them back would set them off on every
  keyboard, the customer's too;
* ``_quiet_master`` sets the customer's devices off and on again within a
  few requests: a press of theirs in between does not start repeating.

The requests are written here (python-xlib has no XKB), on a connection of
the guard's own: a client that has started XKB no longer receives the core
MappingNotify for some keymap changes (a new keyboard, the modifier map),
and the injector's keymap cache lives on them.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from typing import Any

from screencodec.transport.input.xdisplay import _close_display, _open_display

__all__ = ["RepeatGuard"]

_log = logging.getLogger("screencodec.transport.input.xtest")

#: XKB's RepeatKeys control (XKB.h XkbRepeatKeysMask) and the bit of
#: SetControls that says the enabled controls change (XkbControlsEnabledMask).
_REPEAT_KEYS = 1 << 0
_ENABLED_CHANGE = 1 << 31
#: XkbSelectEvents' event kinds: NewKeyboardNotify, ControlsNotify, MapNotify.
_NEW_KEYBOARD, _CONTROLS_NOTIFY, _MAP_NOTIFY = 1 << 0, 1 << 3, 1 << 1
#: On the root window while a guard holds RepeatKeys off that was on: what
#: a guard that finds it off gives back (its setter may have been killed).
_MARK = "_SCREENCODEC_XTEST_REPEAT"
#: XInput 2 device uses (XI2.h).
_MASTER_KEYBOARD, _SLAVE_KEYBOARD = 2, 4


def _requests() -> Any:
    """The four XKB requests this module sends, as python-xlib structures
    (built on first use: python-xlib is imported on demand)."""
    from types import SimpleNamespace

    from Xlib.protocol import rq

    class UseExtension(rq.ReplyRequest):  # type: ignore[misc]
        _request = rq.Struct(rq.Card8("opcode"), rq.Opcode(0), rq.RequestLength(),
                             rq.Card16("major"), rq.Card16("minor"))  # fmt: skip
        _reply = rq.Struct(rq.ReplyCode(), rq.Bool("supported"), rq.Card16("sequence_number"),
                           rq.ReplyLength(), rq.Pad(24))  # fmt: skip

    class SelectEvents(rq.Request):  # type: ignore[misc]
        _request = rq.Struct(rq.Card8("opcode"), rq.Opcode(1), rq.RequestLength(),
                             rq.Card16("device"), rq.Card16("affect"), rq.Card16("clear"),
                             rq.Card16("select_all"), rq.Card16("affect_map"),
                             rq.Card16("map"))  # fmt: skip

    class GetControls(rq.ReplyRequest):  # type: ignore[misc]
        _request = rq.Struct(rq.Card8("opcode"), rq.Opcode(6), rq.RequestLength(),
                             rq.Card16("device"), rq.Pad(2))  # fmt: skip
        _reply = rq.Struct(rq.ReplyCode(), rq.Card8("device_id"), rq.Card16("sequence_number"),
                           rq.ReplyLength(), rq.Pad(48), rq.Card32("enabled"),
                           rq.Pad(32))  # fmt: skip

    class SetControls(rq.Request):  # type: ignore[misc]
        # Only the enabled controls are asked to change (changeCtrls): the
        # other fields are read by the server only for the controls named.
        _request = rq.Struct(rq.Card8("opcode"), rq.Opcode(7), rq.RequestLength(),
                             rq.Card16("device"), rq.Pad(18), rq.Card32("affect"),
                             rq.Card32("enabled"), rq.Card32("change"),
                             rq.Pad(64))  # fmt: skip

    return SimpleNamespace(use=UseExtension, select=SelectEvents, get=GetControls,
                           set=SetControls)  # fmt: skip


def _keyboards(disp: Any) -> tuple[int, int] | None:
    """The core keyboard (the master XTEST's core events go to) and its XTEST
    slave, as XInput 2 device ids; None when the server has no such pair."""
    from Xlib.ext import xinput

    devices = disp.xinput_query_device(xinput.AllDevices).devices
    masters = {d.deviceid: str(d.name) for d in devices if d.use == _MASTER_KEYBOARD}
    # The server's own master is "Virtual core keyboard"; XTEST's core events
    # go to it unless a client moved its pointer to another master.
    master = next((i for i, n in masters.items() if n == "Virtual core keyboard"), None)
    if master is None:
        return None
    name = masters[master].removesuffix(" keyboard") + " XTEST keyboard"
    slave = next((d.deviceid for d in devices if d.use == _SLAVE_KEYBOARD
                  and d.attachment == master and str(d.name) == name), None)  # fmt: skip
    return None if slave is None else (master, slave)


class RepeatGuard:
    """RepeatKeys off on the XTEST keyboard while it lives (see the module).

    Opened on the caller's thread; :meth:`keep` and :meth:`restore` then run
    on the injector's worker only. ``active`` is False when the server has
    no XKB, no XInput 2 or no XTEST keyboard: nothing was changed (and the
    server's own repeat goes on, as before)."""

    def __init__(self, display: str | None) -> None:
        self.active = False
        self._touched = False  # something was set: restore gives it back
        self._disp: Any = None
        self._was_on = False
        self._master_was_on = False
        try:
            self._disp = _open_display(display)
            self._open()
        except Exception as exc:  # a server without the extensions: as before
            _log.info("the X server's auto-repeat of the agent's keys stays on: %s", exc)
            self.restore()

    def _open(self) -> None:
        ext = self._disp.query_extension("XKEYBOARD")
        if ext is None or not self._disp.has_extension("XInputExtension"):
            raise LookupError("no XKEYBOARD or XInputExtension")
        found = _keyboards(self._disp)
        if found is None:
            raise LookupError("no XTEST keyboard device")
        self._req, self._op = _requests(), ext.major_opcode
        self._master, self._slave = found
        if not self._req.use(display=self._disp.display, opcode=self._op, major=1,
                             minor=0).supported:  # fmt: skip
            raise LookupError("XKB 1.0 refused")
        # Told of every change of the XTEST keyboard's controls (and of a new
        # keymap on it); no core MappingNotify on this connection.
        kinds = _CONTROLS_NOTIFY | _NEW_KEYBOARD
        self._req.select(display=self._disp.display, opcode=self._op, device=self._slave,
                         affect=kinds | _MAP_NOTIFY, clear=0, select_all=kinds,
                         affect_map=0xFFFF, map=0)  # fmt: skip
        self._master_was_on = self._repeats(self._master)
        self._root = self._disp.screen().root
        self._mark = self._disp.intern_atom(_MARK)
        # Off with the mark: another guard's (live, or killed before its
        # restore), not the customer's choice.
        self._was_on = self._repeats(self._slave) or self._marked()
        self.active = self._touched = True
        if self._was_on:
            self._set_mark()
        self._off()

    def _marked(self) -> bool:
        return self._root.get_full_property(self._mark, 0) is not None

    def _set_mark(self) -> None:
        from Xlib import Xatom

        self._root.change_property(self._mark, Xatom.STRING, 8, b"on")

    def _repeats(self, device: int) -> bool:
        reply = self._req.get(display=self._disp.display, opcode=self._op, device=device)
        return bool(reply.enabled & _REPEAT_KEYS)

    def _set(self, device: int, on: bool) -> None:
        self._req.set(display=self._disp.display, opcode=self._op, device=device,
                      affect=_REPEAT_KEYS, enabled=_REPEAT_KEYS if on else 0,
                      change=_ENABLED_CHANGE)  # fmt: skip

    def _off(self) -> None:
        self._set(self._slave, False)
        self._quiet_master()
        self._disp.sync()  # before the press that follows, on another connection

    def _quiet_master(self) -> None:
        """The master repeats too, with the controls of the slave whose key
        came last (copied when another slave's key comes). Measured: after
        ``xset r on`` (every keyboard on) with the agent's key the last, a
        press held 2 s arrived 35 times though the XTEST keyboard was off
        again: no key of another slave came between to copy ours. So when
        the master holds the XTEST keyboard's copy with RepeatKeys on, it is
        set off (which sets every slave) and the other slaves that were on
        are set on again at once, the customer's keyboard among them."""
        if not self._repeats(self._master) or self._source() != self._slave:
            return
        others = [s for s in self._slaves() if s != self._slave and self._repeats(s)]
        self._set(self._master, False)
        for slave in others:
            self._set(slave, True)

    def _source(self) -> int | None:
        """The slave whose keys the master's key class was copied from last."""
        from Xlib.ext import xinput

        (master,) = self._disp.xinput_query_device(self._master).devices
        return next((int(c.sourceid) for c in master.classes
                     if getattr(c, "type", None) == xinput.KeyClass), None)  # fmt: skip

    def keep(self) -> None:
        """Before an agent's press: if anything changed the XTEST keyboard's
        controls since (``xset r on``), RepeatKeys off again. No round trip
        unless the server told of a change."""
        if not self.active:
            return
        try:
            if not self._disp.pending_events():
                return
            while self._disp.pending_events():
                self._disp.next_event()
            if self._repeats(self._slave):
                # Someone wants it on (xset r on, another host's restore):
                # that is what our close gives back.
                self._was_on = True
                self._set_mark()
                self._set(self._slave, False)
            self._quiet_master()
            self._disp.sync()
        except Exception as exc:  # never a reason to drop the agent's key
            self.active = False
            _log.warning("the X server's auto-repeat of the agent's keys is no longer"
                         " kept off: %s", exc)  # fmt: skip

    def restore(self) -> None:
        """Give the XTEST keyboard its RepeatKeys back (if it had it), and the
        core keyboard's when it still reads the XTEST keyboard's; then close."""
        self.active = False
        if self._touched and self._disp is not None:
            self._touched = False
            with contextlib.suppress(Exception):  # a server gone took its state with it
                if self._was_on:
                    self._set(self._slave, True)
                    self._root.delete_property(self._mark)
                # The master took our controls with our last key. Setting it
                # sets every slave too: only when all of them read as the
                # master did before we began (so nothing else changes).
                if self._master_was_on and not self._repeats(self._master):
                    slaves = self._slaves()
                    if all(self._repeats(s) for s in slaves):
                        self._set(self._master, True)
                self._disp.sync()
        self.close()

    def _slaves(self) -> list[int]:
        from Xlib.ext import xinput

        devices = self._disp.xinput_query_device(xinput.AllDevices).devices
        return [d.deviceid for d in devices
                if d.use == _SLAVE_KEYBOARD and d.attachment == self._master]  # fmt: skip

    def cut(self) -> None:
        """Shut the connection's socket (any thread): a worker waiting on a
        server that does not answer returns (the injector's ``close``)."""
        sock = getattr(getattr(self._disp, "display", None), "socket", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        disp, self._disp = self._disp, None
        _close_display(disp)
