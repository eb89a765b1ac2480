"""XTEST on hosts whose keyboard is not plain US, read back as xterm reads keys.

A German host (``setxkbmap de``) types ``@ € { [ ] } \\ | ~`` with AltGr
(ISO_Level3_Shift) and ``¿`` with AltGr+Shift: the injector presses what the
host's keymap needs instead of remapping spare keycodes. The keypad types the
agent's keypad keysym whatever the host's Num Lock. A paste of more distinct
characters than the host has spare keycodes comes out exactly and in order:
a keycode is given a new keysym only once the application had time to look
the last one up. The reading window is the libX11 client of
test_xtest_typing; legacy keysyms (EuroSign) are turned into characters with
libxkbcommon, as toolkits do.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest

from screencodec.transport.input.xtest import XTestInjector

from .test_xtest_typing import LEVEL3, SHIFT_L, Typist, display_without_autorepeat, keysym

CAPS, NUM_LOCK = 0xFFE5, 0xFF7F
KP_HOME, KP_END, KP_ENTER, KP_ADD, KP_DIVIDE, KP_DECIMAL = (
    0xFF95, 0xFF9C, 0xFF8D, 0xFFAB, 0xFFAF, 0xFFAE,
)  # fmt: skip
KP_DIGITS = [0xFFB0 + i for i in range(10)]


def _utf32() -> ctypes._CFuncPtr:  # type: ignore[name-defined]
    lib = ctypes.CDLL(ctypes.util.find_library("xkbcommon") or "libxkbcommon.so.0")
    fn = lib.xkb_keysym_to_utf32
    fn.restype, fn.argtypes = ctypes.c_uint32, [ctypes.c_uint32]
    return fn


TO_UTF32 = _utf32()


def char(ks: int) -> str:
    cp = int(TO_UTF32(ks))
    return chr(cp) if cp else f"<{ks:#x}>"


def is_modifier(ks: int) -> bool:
    return 0xFE01 <= ks <= 0xFE13 or 0xFFE1 <= ks <= 0xFFEE or ks in (0xFF7E, NUM_LOCK)


def typed(t: Typist) -> str:
    while t.x.XPending(t.d):
        t._next(time.monotonic() + 5)
    return "".join(char(ks) for ks in t.pressed if not is_modifier(ks))


def read_text(t: Typist, n: int, start: int = 0) -> str:
    """Wait (up to 10 s) until ``start + n`` characters were typed; those ``n``."""
    deadline = time.monotonic() + 10
    while len(typed(t)) < start + n:
        t._next(deadline)
    return typed(t)[start : start + n]


def keypad_keys(t: Typist, n: int) -> list[int]:
    """The next ``n`` non-modifier keysyms pressed."""
    start = len([ks for ks in t.pressed if not is_modifier(ks)])
    deadline = time.monotonic() + 5
    while len([ks for ks in t.pressed if not is_modifier(ks)]) < start + n:
        t._next(deadline)
    return [ks for ks in t.pressed if not is_modifier(ks)][start:]


def type_text(inj: XTestInjector, text: str) -> None:
    for ch in text:
        inj.key(keysym(ch), True, ch)
        inj.key(keysym(ch), False)


def tap(inj: XTestInjector, ks: int) -> None:
    inj.key(ks, True)
    inj.key(ks, False)


xdisplay = pytest.fixture(scope="module", name="xdisplay")(display_without_autorepeat)


def set_layout(display: str, layout: str) -> None:
    subprocess.run(["setxkbmap", "-display", display, layout], check=True)


@pytest.fixture
def german(xdisplay: str) -> Iterator[str]:
    set_layout(xdisplay, "de")
    yield xdisplay
    set_layout(xdisplay, "us")


def modifier_mask(t: Typist, ks: int) -> int:
    kc = t.keycode(ks)
    return next(1 << i for i, kcs in enumerate(t.xlib.get_modifier_mapping()) if kc in kcs)


def locked(t: Typist, mask: int) -> bool:
    return bool(t.xlib.screen().root.query_pointer().mask & mask)


def test_altgr_characters_on_a_german_host(german: str) -> None:
    t = Typist(german)
    inj = XTestInjector(german)
    before = t.mapping()
    try:
        level3, shift = t.keycode(LEVEL3), t.keycode(SHIFT_L)
        text = "@€{[]}\\|~ ¿Ω µ"  # ¿ and Ω are AltGr+Shift (level 4)
        type_text(inj, text)
        assert read_text(t, len(text)) == text
        assert inj.flush(5)
        assert t.keys_down() == set()
        # On the host's keys: not one keymap change, nothing for the LRU.
        assert inj.remaps == 0 and inj.dropped_keys == 0
        assert inj.flush(5)
        assert t.mapping() == before
        n = len(text)
        # A German agent holds its AltGr: kept for '@', let go of for 'q'.
        inj.key(LEVEL3, True)
        type_text(inj, "@q{")
        assert read_text(t, 3, n) == "@q{"
        assert inj.flush(5)
        assert level3 in t.keys_down()
        inj.key(LEVEL3, False)
        # A US agent's Shift+2: the host's '@' wants Shift up and AltGr down;
        # the agent's Shift is given back for the 'A' after it.
        inj.key(SHIFT_L, True)
        type_text(inj, '@A"')
        assert read_text(t, 3, n + 3) == '@A"'
        assert inj.flush(5)
        assert t.keys_down() == {shift}
        inj.key(SHIFT_L, False)
        # Caps Lock on: letters swap case, AltGr's level does not.
        tap(inj, CAPS)
        type_text(inj, "@qQ€æÆ")
        assert read_text(t, 6, n + 6) == "@qQ€æÆ"
        tap(inj, CAPS)
        assert inj.flush(5)
        assert t.keys_down() == set()
        assert inj.remaps == 0
        inj.close()
        assert t.mapping() == before
    finally:
        inj.close()
        t.close()


def test_the_keypad_with_num_lock_off_and_on(xdisplay: str) -> None:
    """The agent's KP_1 is the keypad's 1 with the host's Num Lock off or on,
    and KP_End its End; the lock itself is never touched. Num Lock on: Shift
    is let go of around a number and pressed around End (Shift+Num Lock is
    the keypad's other level). Num Lock off: End is the key as it is, and the
    number, which XKB's default (PC) keypad type gives only with Num Lock,
    goes through a spare keycode."""
    t = Typist(xdisplay)
    inj = XTestInjector(xdisplay)
    try:
        numlock = modifier_mask(t, NUM_LOCK)
        sent = [*KP_DIGITS, KP_DECIMAL, KP_ENTER, KP_ADD, KP_DIVIDE, KP_END, KP_HOME]
        for on in (False, True):
            assert inj.flush(5)
            assert locked(t, numlock) == on
            for ks in sent:
                tap(inj, ks)
            assert keypad_keys(t, len(sent)) == sent, f"Num Lock {on}"
            # The agent's Shift (Shift+Num Lock is the keypad's other level).
            inj.key(SHIFT_L, True)
            tap(inj, KP_DIGITS[7])
            tap(inj, KP_HOME)
            inj.key(SHIFT_L, False)
            assert keypad_keys(t, 2) == [KP_DIGITS[7], KP_HOME]
            assert inj.flush(5)
            assert t.keys_down() == set()
            assert locked(t, numlock) == on  # typing left the lock alone
            # Off: the numbers (and the decimal point, unless another key has
            # it) through spare keycodes, once each; on: no more of them.
            assert 10 <= inj.remaps <= 11
            tap(inj, NUM_LOCK)  # the agent's own Num Lock key does toggle it
            assert inj.flush(5)
            assert locked(t, numlock) != on  # at the server once flushed
        assert not locked(t, numlock)
    finally:
        inj.close()
        t.close()


def test_a_paste_of_many_distinct_characters_comes_out_in_order(xdisplay: str) -> None:
    """More distinct characters than the US keymap has spare keycodes (19 on
    Xvfb's): each spare keycode is reused, and none is given a new keysym
    before the application, reading the way applications do (as the events
    come, here starting some way into the paste), looked its last key up."""
    text = "Grüße aus Köln → €5, ½ ¾ ©® àáâãåçèéêëìíîïñòóôõ ok"
    distinct = {ch for ch in text if ord(ch) > 0x7E}
    t = Typist(xdisplay)
    before = t.mapping()
    assert len(distinct) > sum(1 for row in before if not any(row))  # more than spares
    inj = XTestInjector(xdisplay)
    start_reading = threading.Event()
    result: list[str] = []

    def reader() -> None:
        start_reading.wait(10)
        result.append(read_text(t, len(text)))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        # The application is busy for the first dozen remapped characters.
        seen = set()
        for ch in text:
            type_text(inj, ch)
            seen.add(ch)
            if len(seen & distinct) >= 12:
                start_reading.set()
        start_reading.set()
        thread.join(15)
        assert not thread.is_alive()
        assert result == [text]
        assert inj.dropped_keys == 0 and inj.remaps > 19
    finally:
        start_reading.set()
        thread.join(15)
        inj.close()
    try:
        assert t.mapping() == before
        assert t.keys_down() == set()
    finally:
        t.close()
