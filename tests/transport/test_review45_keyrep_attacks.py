"""review45: keyrep45's repeat guard attacked as the customer would meet it.

The customer's own keyboard (Xvfb's device, pressed through XTEST device
events: x_device_input) must keep its auto-repeat during and after a
session, whatever the host does; a choice the customer made (``xset r
off``) must outlive the session; and the agent's keys must not change the
customer's.

A real Xvfb per test (the tests change its XKB controls, and a killed
injector leaves them changed), the real XTestInjector (in a process of its
own where it is killed), an X client of ours counting key events.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from Xlib import XK, X

from screencodec.capture.xvfb import private_xvfb
from screencodec.transport.input.xtest import XTestInjector

from .test_keyrep45_no_host_repeat import STALL, Counter, Xkb
from .x_device_input import DeviceInput, closed_after_test

F, G = XK.string_to_keysym("f"), XK.string_to_keysym("g")
OURS, CUSTOMERS = "Virtual core XTEST keyboard", "Xvfb keyboard"


@pytest.fixture
def display() -> Iterator[str]:
    with private_xvfb(320, 240) as name:
        yield name


counter = closed_after_test(Counter)
xkb = closed_after_test(Xkb)


def _held(counter: Counter, keycode: int, seconds: float = STALL) -> int:
    """The customer holds ``keycode`` ``seconds``: the KeyPress events it made."""
    customer = DeviceInput(counter.disp)
    before = len(counter.read())
    customer.key(keycode, True)
    counter.disp.sync()
    time.sleep(seconds)
    customer.key(keycode, False)
    counter.disp.sync()
    return len(counter.read()) - before


def _events(counter: Counter, seconds: float) -> list[str]:
    """The key events the window gets in ``seconds`` ("P"ress or "R"elease)."""
    got: list[str] = []
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        while counter.disp.pending_events():
            ev = counter.disp.next_event()
            got.append("P" if ev.type == X.KeyPress else "R")
        time.sleep(0.005)
    return got


def test_the_customers_xset_r_off_stays_off_after_the_session(
    display: str, counter: Counter, xkb: Xkb
) -> None:
    xkb.disp.change_keyboard_control(auto_repeat_mode=X.AutoRepeatModeOff)  # xset r off
    xkb.disp.sync()
    inj = XTestInjector(display)
    try:
        inj.key(F, True)
        inj.key(F, False)
        assert inj.flush(10)
    finally:
        inj.close()
    # Nothing of the customer's choice was given "back" on: every keyboard
    # off, xset q's "auto repeat: off", and their held key typed once.
    assert not xkb.repeats(OURS) and not xkb.repeats(CUSTOMERS)
    assert not xkb.repeats("Virtual core keyboard") and xkb.core()[0] == 0
    assert _held(counter, counter.keycode(G)) == 1


def test_the_customers_per_key_repeat_bits_are_kept(
    display: str, counter: Counter, xkb: Xkb
) -> None:
    """``xset -r G``: the customer's g does not repeat, their other keys do;
    the session leaves both so (the guard changes RepeatKeys only)."""
    g, h = counter.keycode(G), counter.keycode(XK.string_to_keysym("h"))
    xkb.disp.change_keyboard_control(key=g, auto_repeat_mode=X.AutoRepeatModeOff)
    xkb.disp.sync()
    before = xkb.core()
    inj = XTestInjector(display)
    try:
        inj.key(F, True)
        inj.key(F, False)
        assert inj.flush(10)
        assert _held(counter, g, 1.5) == 1
    finally:
        inj.close()
    assert xkb.core() == before  # xset q: global on, g's bit off
    assert _held(counter, g, 1.5) == 1
    assert _held(counter, h, 1.5) >= 5


_KILLED = """
import sys, time
from Xlib import XK
from screencodec.transport.input.xtest import XTestInjector
inj = XTestInjector(sys.argv[1])
inj.key(XK.string_to_keysym("f"), True)
inj.key(XK.string_to_keysym("f"), False)
assert inj.flush(10)
print("typed", flush=True)
time.sleep(60)
"""


def _killed_host(display: str) -> None:
    """An injector that typed the agent's f, then killed (SIGKILL) mid-session."""
    proc = subprocess.Popen([sys.executable, "-c", _KILLED, display], stdout=subprocess.PIPE,
                            env=dict(os.environ))  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"typed\n"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_a_host_killed_mid_session_leaves_the_customers_keyboard_repeating(
    display: str, counter: Counter, xkb: Xkb
) -> None:
    _killed_host(display)
    # What stays changed: the XTEST keyboard (docs/transport.md), and the
    # core keyboard reads its copy (xset q: off) until the customer's key.
    assert not xkb.repeats(OURS) and xkb.core()[0] == 0
    assert xkb.repeats(CUSTOMERS)
    # Their held key repeats all the same (34 of 34 measured in 2 s).
    assert _held(counter, counter.keycode(G)) >= 10
    assert xkb.core()[0] == 1  # their key brought their controls back


def test_a_clean_host_after_a_killed_one_gives_the_xtest_keyboard_its_repeat(
    display: str, xkb: Xkb
) -> None:
    # Found: the later host took the killed one's off for the customer's
    # and gave back off: another XTEST client's held key (xdotool, an
    # on-screen keyboard) never repeated again until xset r on.
    _killed_host(display)
    inj = XTestInjector(display)
    try:
        assert not xkb.repeats(OURS)
    finally:
        inj.close()
    assert xkb.repeats(OURS)
    # And a session after that one finds it on, gives it back on.
    XTestInjector(display).close()
    assert xkb.repeats(OURS)


def test_the_agents_release_of_a_key_the_customer_holds_leaves_it_held(
    display: str, counter: Counter
) -> None:
    """Found (main too, before keyrep45): the agent's release of a key the
    customer held ended it (X has one master keyboard: the agent's press was
    dropped as a second press, its release was the key's): the window got
    the release and the repeat stopped. input46: the injector asks X which
    keys are down before a press; a key someone else holds is neither
    pressed nor released for the agent."""
    customer, g = DeviceInput(counter.disp), counter.keycode(G)
    inj = XTestInjector(display)
    try:
        customer.key(g, True)
        counter.disp.sync()
        assert _events(counter, 1.0).count("P") >= 5  # repeating
        inj.key(G, True)  # the agent presses the same key, and lets it go
        inj.key(G, False)
        assert inj.flush(10)
        _events(counter, 0.1)
        # The customer still holds g: X goes on repeating it.
        assert _events(counter, 1.0).count("P") >= 5
        customer.key(g, False)
        counter.disp.sync()
        _events(counter, 0.5)
        # Let go, the key is the agent's again: its tap is one press, one release.
        inj.key(G, True)
        inj.key(G, False)
        assert inj.flush(10)
        # (X adds releases when the master keyboard's last device changes.)
        tap = _events(counter, 1.0)
        assert tap.count("P") == 1 and tap[-1] == "R"
    finally:
        customer.key(g, False)
        counter.disp.sync()
        inj.close()


def test_a_key_the_agent_pressed_while_the_customer_held_it_is_not_released_after(
    display: str, counter: Counter
) -> None:
    """The agent presses g while the customer holds it, the customer lets go
    and presses again, then the agent's release comes: the customer's second
    press stays held (repeating), the agent's release is not theirs to end."""
    customer, g = DeviceInput(counter.disp), counter.keycode(G)
    inj = XTestInjector(display)
    try:
        customer.key(g, True)
        counter.disp.sync()
        inj.key(G, True)
        assert inj.flush(10)
        customer.key(g, False)
        customer.key(g, True)
        counter.disp.sync()
        _events(counter, 0.1)
        inj.key(G, False)
        assert inj.flush(10)
        _events(counter, 0.1)
        assert _events(counter, 1.0).count("P") >= 5
    finally:
        customer.key(g, False)
        counter.disp.sync()
        inj.close()


@pytest.mark.parametrize("closing", ["first", "second"])
def test_a_host_closing_does_not_make_another_hosts_held_key_repeat(
    display: str, counter: Counter, xkb: Xkb, closing: str
) -> None:
    """Two hosts on one display; the agent of one holds f (its link stalls
    before the release) while the other host closes. Found (the first
    closing, keyrep45 as merged): its close gave the XTEST keyboard its
    repeat back while the other's f was down: X repeated it."""
    first = XTestInjector(display)
    second = XTestInjector(display)
    closes, holds = (first, second) if closing == "first" else (second, first)
    try:
        holds.key(F, True)
        assert holds.flush(10)
        closes.close()
        time.sleep(STALL)
        holds.key(F, False)
        assert holds.flush(10)
        assert counter.read() == [counter.keycode(F)]
    finally:
        first.close()
        second.close()
    assert xkb.repeats(OURS)  # given back once both closed


def test_the_agents_press_of_a_key_the_customer_holds_leaves_it_repeating(
    display: str, counter: Counter
) -> None:
    """The injector types a press of a key *it* holds as release + press
    (keyrep45); a key only the customer holds is not released by the
    agent's press of it: their repeat goes on (measured: 25 a second)."""
    customer, g = DeviceInput(counter.disp), counter.keycode(G)
    inj = XTestInjector(display)
    try:
        customer.key(g, True)
        counter.disp.sync()
        assert _events(counter, 1.0).count("P") >= 5
        inj.key(G, True)
        assert inj.flush(10)
        after = _events(counter, 1.0)
        assert after.count("P") >= 5, after
    finally:
        inj.key(G, False)
        inj.flush(10)
        customer.key(g, False)
        counter.disp.sync()
        inj.close()
