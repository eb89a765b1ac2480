"""keyrep45: an agent's press that reaches the host never repeats by itself
there; repeats come from the agent's own keyboard.

Found (fresh106, type43's Hold proxy): a link that stalled between a key's
press and its release left the key down on the host, and the host's X
server repeated it (660 ms, then 25 a second) until held43's 4 s silence
let it go: 181 f's in the customer's xterm where 98 were sent. Expected: a
press held 2 s with no release arrives as exactly 1 KeyPress; each press
the agent sends for a key it holds (its browser's repeats) arrives as one
KeyPress, a modifier's only once; the customer's own keyboard keeps its
repeat, and the injector's close gives back what it changed.

A real Xvfb (one of this module's own: the tests change its XKB controls),
the real XTestInjector, an X client of ours counting the KeyPress events its
focused window gets, and the customer's keys pressed as Xvfb's own keyboard
device (x_device_input), not XTEST's.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from Xlib import XK, X
from Xlib import display as xdisplay
from Xlib.ext import xinput

from screencodec.capture.xvfb import private_xvfb
from screencodec.transport.input.xrepeat import _REPEAT_KEYS, _requests
from screencodec.transport.input.xtest import XTestInjector

from .x_device_input import DeviceInput, closed_after_test

#: X's own repeat would have begun by then (660 ms) and made ~33 more.
STALL = 2.0


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    with private_xvfb(640, 480) as name:
        yield name


class Counter:
    """A window of ours with the input focus, counting the key events it gets."""

    def __init__(self, display: str) -> None:
        self.disp: Any = xdisplay.Display(display)
        root = self.disp.screen().root
        self.win = root.create_window(0, 0, 200, 200, 0, X.CopyFromParent,
                                      event_mask=X.KeyPressMask | X.KeyReleaseMask)  # fmt: skip
        self.win.map()
        self.disp.sync()
        self.win.set_input_focus(X.RevertToParent, X.CurrentTime)
        self.disp.sync()
        self.presses: list[int] = []

    def keycode(self, keysym: int) -> int:
        return int(self.disp.keysym_to_keycode(keysym))

    def read(self, settle: float = 0.3) -> list[int]:
        """The keycodes pressed so far (events read until ``settle`` s pass with none)."""
        quiet_until = time.monotonic() + settle
        while time.monotonic() < quiet_until:
            while self.disp.pending_events():
                ev = self.disp.next_event()
                if ev.type == X.KeyPress:
                    self.presses.append(int(ev.detail))
                quiet_until = time.monotonic() + settle
            time.sleep(0.02)
        return self.presses

    def close(self) -> None:
        self.disp.close()


class Xkb:
    """Reads a device's XKB RepeatKeys, on a connection of the test's own."""

    def __init__(self, display: str) -> None:
        self.disp: Any = xdisplay.Display(display)
        self.op = self.disp.query_extension("XKEYBOARD").major_opcode
        self.req = _requests()
        assert self.req.use(display=self.disp.display, opcode=self.op, major=1, minor=0).supported
        devices = self.disp.xinput_query_device(xinput.AllDevices).devices
        self.ids = {str(d.name): int(d.deviceid) for d in devices}

    def repeats(self, name: str) -> bool:
        reply = self.req.get(display=self.disp.display, opcode=self.op, device=self.ids[name])
        return bool(reply.enabled & _REPEAT_KEYS)

    def core(self) -> tuple[int, bytes]:
        """The core keyboard's global auto-repeat and its per-key bits (xset q)."""
        kc = self.disp.get_keyboard_control()
        return int(kc.global_auto_repeat), bytes(kc.auto_repeats)

    def close(self) -> None:
        self.disp.close()


counter = closed_after_test(Counter)
xkb = closed_after_test(Xkb)


F, CTRL = XK.string_to_keysym("f"), XK.string_to_keysym("Control_L")


def test_a_press_held_on_a_stalled_link_arrives_once(display: str, counter: Counter) -> None:
    inj = XTestInjector(display)
    try:
        inj.key(F, True)
        assert inj.flush(10)
        time.sleep(STALL)  # the release does not come: the link stalls
        inj.key(F, False)
        assert inj.flush(10)
        # Found on main: 35 (X's own repeat from 660 ms at 25 a second).
        assert counter.read() == [counter.keycode(F)]
    finally:
        inj.close()


def test_the_agents_own_repeats_are_typed_each_and_a_modifier_once(
    display: str, counter: Counter
) -> None:
    inj = XTestInjector(display)
    try:
        for keysym, times in ((F, 7), (CTRL, 5)):
            for _ in range(times):  # a browser's repeats of a held key: presses
                inj.key(keysym, True)
                assert inj.flush(10)
                time.sleep(0.03)
            inj.key(keysym, False)
            assert inj.flush(10)
        # Found on main: 1 f (the server took the presses of a key that was
        # down for its own repeat's, and ignored them).
        presses = counter.read()
        assert presses == [counter.keycode(F)] * 7 + [counter.keycode(CTRL)], presses
    finally:
        inj.close()


def test_xset_r_on_during_the_session_does_not_bring_the_repeat_back(
    display: str, counter: Counter, xkb: Xkb
) -> None:
    inj = XTestInjector(display)
    try:
        inj.key(F, True)
        inj.key(F, False)
        assert inj.flush(10)
        # The customer (or their desktop's settings) turns auto-repeat on:
        # the core request sets it on every keyboard, the XTEST one too.
        xkb.disp.change_keyboard_control(auto_repeat_mode=X.AutoRepeatModeOn)
        xkb.disp.sync()
        assert xkb.repeats("Virtual core XTEST keyboard")
        inj.key(F, True)
        assert inj.flush(10)
        time.sleep(STALL)
        inj.key(F, False)
        assert inj.flush(10)
        assert counter.read() == [counter.keycode(F)] * 2
    finally:
        inj.close()


def test_the_customers_keyboard_keeps_its_repeat_and_close_gives_back_ours(
    display: str, counter: Counter, xkb: Xkb
) -> None:
    customer, ours = "Xvfb keyboard", "Virtual core XTEST keyboard"
    before = xkb.core()
    assert before[0] == 1 and xkb.repeats(customer) and xkb.repeats(ours)
    inj = XTestInjector(display)
    try:
        assert not xkb.repeats(ours)
        inj.key(F, True)
        inj.key(F, False)
        assert inj.flush(10)
        # The customer's keyboard device keeps its control whatever ours is.
        assert xkb.repeats(customer)
    finally:
        inj.close()
    assert xkb.repeats(ours) and xkb.repeats(customer)
    # The core keyboard read ours after the agent's key (xset q: off); the
    # close sets it back: global repeat and every key's bit as before.
    assert xkb.core() == before
    assert counter.read() == [counter.keycode(F)]


def test_the_customers_own_held_key_still_repeats_during_the_session(
    display: str, counter: Counter
) -> None:
    customer = DeviceInput(counter.disp)
    g = counter.keycode(XK.string_to_keysym("g"))
    inj = XTestInjector(display)
    try:
        inj.key(F, True)  # the agent's key last: the master reads its controls
        inj.key(F, False)
        assert inj.flush(10)
        customer.key(g, True)
        counter.disp.sync()
        time.sleep(STALL)
        customer.key(g, False)
        counter.disp.sync()
        inj.key(F, True)  # and the agent's, held as long, after the customer's
        assert inj.flush(10)
        time.sleep(STALL)
        inj.key(F, False)
        assert inj.flush(10)
        presses = counter.read()
        # X's repeat of the customer's g: from 660 ms at 25 a second (34 of
        # 34 measured on a quiet machine); the agent's f twice, no more.
        assert presses.count(counter.keycode(F)) == 2, presses
        assert presses.count(g) >= 10, presses
    finally:
        inj.close()


def test_two_injectors_on_one_display_give_the_repeat_back_once_both_close(
    display: str, counter: Counter, xkb: Xkb
) -> None:
    ours = "Virtual core XTEST keyboard"
    first = XTestInjector(display)
    second = XTestInjector(display)  # found it off: the first's doing
    try:
        first.close()  # gives it back while the second still types
        second.key(F, True)
        assert second.flush(10)
        time.sleep(STALL)
        second.key(F, False)
        assert second.flush(10)
        assert counter.read() == [counter.keycode(F)]
        assert not xkb.repeats(ours)
    finally:
        second.close()
    # Without the second one taking the first's give-back as what to restore,
    # it stayed off after both.
    assert xkb.repeats(ours)
