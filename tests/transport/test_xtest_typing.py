"""XTEST types what the agent typed, on a real Xvfb with its default US keymap.

The agent's keysyms come with no Shift when the text comes from an input
method, selenium, dead keys or a keyboard laid out unlike the host's. What an
application sees is read back the way xterm reads it: a libX11 client window
(ctypes) that takes each KeyPress, keeps its keymap current on MappingNotify
and looks the keysym up with ``XLookupString`` and the event's state (so XKB's
Shift and Caps Lock rules apply, not ours). Held keys are read back with
XQueryKeymap, the keymap with GetKeyboardMapping.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import select
import time
from collections.abc import Iterator
from ctypes import POINTER, byref, c_char_p, c_int, c_long, c_uint, c_ulong, c_void_p
from typing import Any

import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.capture.xvfb import private_xvfb
from screencodec.transport import CONTROL, VIEW, Host, allow
from screencodec.transport.input.xtest import XTestInjector

from .conftest import connected
from .helpers import run, until
from .x_device_input import closed_after_test

SHIFT_L, TAB, CAPS, LEVEL3 = 0xFFE1, 0xFF09, 0xFFE5, 0xFE03
KEY_PRESS, KEY_RELEASE, MAP_NOTIFY, MAPPING_NOTIFY = 2, 3, 19, 34


def keysym(ch: str) -> int:
    """What the page sends for a character (web/static/app/keys.js)."""
    cp = ord(ch)
    return cp if 0x20 <= cp <= 0x7E or 0xA0 <= cp <= 0xFF else 0x01000000 + cp


def char(ks: int) -> str:
    if ks < 0x100:
        return chr(ks)
    return chr(ks - 0x01000000) if 0x01000100 <= ks <= 0x0110FFFF else f"<{ks:#x}>"


class _XKeyEvent(ctypes.Structure):
    _fields_ = [
        ("type", c_int), ("serial", c_ulong), ("send_event", c_int), ("display", c_void_p),
        ("window", c_ulong), ("root", c_ulong), ("subwindow", c_ulong), ("time", c_ulong),
        ("x", c_int), ("y", c_int), ("x_root", c_int), ("y_root", c_int),
        ("state", c_uint), ("keycode", c_uint), ("same_screen", c_int),
    ]  # fmt: skip


class _XEvent(ctypes.Union):
    _fields_ = [("type", c_int), ("xkey", _XKeyEvent), ("pad", c_long * 24)]


def _libx11() -> Any:
    lib = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
    sigs: dict[str, tuple[Any, list[Any]]] = {
        "XOpenDisplay": (c_void_p, [c_char_p]),
        "XDefaultRootWindow": (c_ulong, [c_void_p]),
        "XCreateSimpleWindow": (
            c_ulong, [c_void_p, c_ulong, c_int, c_int, c_uint, c_uint, c_uint, c_ulong, c_ulong]
        ),
        "XSelectInput": (c_int, [c_void_p, c_ulong, c_long]),
        "XMapWindow": (c_int, [c_void_p, c_ulong]),
        "XSetInputFocus": (c_int, [c_void_p, c_ulong, c_int, c_ulong]),
        "XSync": (c_int, [c_void_p, c_int]),
        "XPending": (c_int, [c_void_p]),
        "XNextEvent": (c_int, [c_void_p, POINTER(_XEvent)]),
        "XConnectionNumber": (c_int, [c_void_p]),
        "XLookupString": (
            c_int, [POINTER(_XKeyEvent), c_char_p, c_int, POINTER(c_ulong), c_void_p]
        ),
        "XRefreshKeyboardMapping": (c_int, [POINTER(_XEvent)]),
        "XKeysymToKeycode": (ctypes.c_ubyte, [c_void_p, c_ulong]),
        "XDestroyWindow": (c_int, [c_void_p, c_ulong]),
        "XCloseDisplay": (c_int, [c_void_p]),
    }  # fmt: skip
    for name, (res, args) in sigs.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    return lib


class Typist:
    """A focused full-screen window that reads its keys as xterm does.

    ``pressed`` holds one keysym per KeyPress delivered, in order."""

    def __init__(self, display: str) -> None:
        from Xlib import display as xdisplay

        self.x = _libx11()
        self.d = self.x.XOpenDisplay(display.encode())
        assert self.d, display
        self.win = self.x.XCreateSimpleWindow(
            self.d, self.x.XDefaultRootWindow(self.d), 0, 0, 800, 600, 0, 0, 0
        )
        # KeyPressMask | KeyReleaseMask | StructureNotifyMask
        self.x.XSelectInput(self.d, self.win, 1 | 2 | 1 << 17)
        self.x.XMapWindow(self.d, self.win)
        self._ev = _XEvent()
        while self._next(time.monotonic() + 5) != MAP_NOTIFY:
            pass
        self.x.XSetInputFocus(self.d, self.win, 2, 0)  # RevertToParent, CurrentTime
        # Load the keymap now, as any application that has been running has:
        # libX11 loads it at its first lookup, and one made while an injector
        # already remaps keys can miss the change for the key it looks up.
        self.x.XKeysymToKeycode(self.d, 0x61)
        self.x.XSync(self.d, 0)
        self.pressed: list[int] = []
        self._read = 0  # characters ``text`` has returned
        self.xlib: Any = xdisplay.Display(display)  # XQueryKeymap, GetKeyboardMapping

    def _next(self, deadline: float) -> int:
        while not self.x.XPending(self.d):
            left = deadline - time.monotonic()
            assert left > 0, "timed out waiting for an X event"
            select.select([self.x.XConnectionNumber(self.d)], [], [], left)
        self.x.XNextEvent(self.d, byref(self._ev))
        if self._ev.type == MAPPING_NOTIFY:  # as every Xlib client must
            self.x.XRefreshKeyboardMapping(byref(self._ev))
        elif self._ev.type == KEY_PRESS:
            ks = c_ulong()
            buf = ctypes.create_string_buffer(32)
            self.x.XLookupString(byref(self._ev.xkey), buf, 32, byref(ks), None)
            self.pressed.append(ks.value)
        return int(self._ev.type)

    def keys(self, n: int) -> list[int]:
        """Wait for ``n`` more KeyPress events; their keysyms."""
        start = len(self.pressed)
        deadline = time.monotonic() + 5
        while len(self.pressed) < start + n:
            self._next(deadline)
        self._read = len(self.typed())  # ``text`` goes on after these
        return self.pressed[start:]

    def typed(self) -> str:
        """Every character typed so far (modifier presses left out); never blocks."""
        while self.x.XPending(self.d):
            self._next(time.monotonic() + 5)
        return "".join(char(ks) for ks in self.pressed if not 0xFE01 <= ks <= 0xFFEE)

    def text(self, n: int) -> str:
        """The next ``n`` characters typed (waits up to 5 s for them)."""
        start = self._read
        deadline = time.monotonic() + 5
        while len(self.typed()) < start + n:
            left = deadline - time.monotonic()
            assert left > 0, f"timed out: {self.typed()[start:]!r}"
            select.select([self.x.XConnectionNumber(self.d)], [], [], left)
        self._read = start + n
        return self.typed()[start : start + n]

    def keys_down(self) -> set[int]:
        keymap = self.xlib.query_keymap()
        return {i * 8 + bit for i, byte in enumerate(keymap) for bit in range(8) if byte >> bit & 1}

    def keycode(self, ks: int) -> int:
        return int(self.xlib.keysym_to_keycode(ks))

    def mapping(self) -> list[tuple[int, ...]]:
        first = self.xlib.display.info.min_keycode
        rows = self.xlib.get_keyboard_mapping(first, self.xlib.display.info.max_keycode - first + 1)
        return [tuple(r) for r in rows]

    def close(self) -> None:
        self.xlib.close()
        self.x.XDestroyWindow(self.d, self.win)
        self.x.XCloseDisplay(self.d)


def display_without_autorepeat() -> Iterator[str]:
    """A private Xvfb; every xtest module makes it its own module fixture
    (``xdisplay``), since some change the keymap."""
    with private_xvfb(800, 600) as display:
        from Xlib import X
        from Xlib import display as xdisplay

        # No server autorepeat: a key held across a slow step stays one press.
        d = xdisplay.Display(display)
        d.change_keyboard_control(auto_repeat_mode=X.AutoRepeatModeOff)
        d.sync()
        d.close()
        yield display


xdisplay = pytest.fixture(scope="module", name="xdisplay")(display_without_autorepeat)


typist = closed_after_test(Typist, "xdisplay")
inj = closed_after_test(XTestInjector, "xdisplay")


def type_text(inj: XTestInjector, text: str) -> None:
    for ch in text:
        inj.key(keysym(ch), True, ch)
        inj.key(keysym(ch), False)


def test_text_without_shift_types_exactly_that(typist: Typist, inj: XTestInjector) -> None:
    before = typist.mapping()
    command = "ls | grep X > out"
    type_text(inj, command)
    assert typist.text(len(command)) == command
    assert inj.flush(5)
    assert typist.keys_down() == set()
    # Not on a US keymap: typed through spare keycodes, one remap each.
    foreign = "é ü € →"
    type_text(inj, foreign)
    assert typist.text(len(foreign)) == foreign
    assert inj.remaps == 4 and inj.dropped_keys == 0
    type_text(inj, "→€üé")  # the remappings are kept: no keymap change
    assert typist.text(4) == "→€üé"
    assert inj.remaps == 4
    assert inj.flush(5)
    assert typist.keys_down() == set()
    # Only keycodes that had no keysyms were touched.
    during = typist.mapping()
    changed = [i for i, (a, b) in enumerate(zip(before, during, strict=True)) if a != b]
    assert len(changed) == 4 and all(not any(before[i]) for i in changed)
    inj.close()  # the spare rows are empty again
    assert typist.mapping() == before


def test_the_agents_shift_is_not_doubled(typist: Typist, inj: XTestInjector) -> None:
    shift, a = typist.keycode(SHIFT_L), typist.keycode(ord("a"))
    inj.key(SHIFT_L, True)
    inj.key(ord("A"), True, "A")
    inj.key(ord("A"), False)
    inj.key(ord("B"), True, "B")
    inj.key(ord("B"), False)
    assert typist.keys(3)[1:] == [ord("A"), ord("B")]
    assert inj.flush(5)
    assert shift in typist.keys_down()  # still the agent's
    # A named key keeps the agent's modifiers: Shift+Tab is ISO_Left_Tab.
    inj.key(TAB, True)
    inj.key(TAB, False)
    assert typist.keys(1) == [0xFE20]
    inj.key(SHIFT_L, False)
    type_text(inj, "a")
    assert typist.text(1) == "a"
    assert inj.flush(5)
    assert typist.keys_down() == set()
    # One Shift press in all, the agent's: the injector added none.
    assert a not in typist.keys_down() and typist.pressed.count(SHIFT_L) == 1


def test_a_layout_unlike_the_hosts(typist: Typist, inj: XTestInjector) -> None:
    """A German agent: Shift+7 is '/', Shift+8 '(', AltGr+Q '@'; the host is US."""
    shift, level3 = typist.keycode(SHIFT_L), typist.keycode(LEVEL3)
    inj.key(SHIFT_L, True)
    type_text(inj, "/")  # the host types it without Shift
    assert typist.text(1) == "/"
    assert inj.flush(5)
    assert shift in typist.keys_down()  # given back after the key
    type_text(inj, "(=")
    assert typist.text(2) == "(="
    # The browser repeats a held Shift; a key held meanwhile keeps Shift up.
    inj.key(ord("_"), True, "_")
    inj.key(ord("1"), True, "1")
    inj.key(SHIFT_L, True)
    assert inj.flush(5)
    assert shift not in typist.keys_down()
    inj.key(ord("1"), False)
    inj.key(ord("_"), False)
    assert typist.text(2) == "_1"
    assert inj.flush(5)
    assert shift in typist.keys_down()
    inj.key(SHIFT_L, False)
    # A held key repeats as another keysym once Shift goes down (the page then
    # releases only the last one): the key is let go of all the same. The
    # repeat is a press of its own (keyrep45: the agent's repeats are typed,
    # the server's own are off), so it types "!".
    inj.key(ord("1"), True, "1")
    inj.key(SHIFT_L, True)
    inj.key(ord("!"), True, "!")
    inj.key(ord("!"), False)
    inj.key(SHIFT_L, False)
    assert typist.text(2) == "1!"
    assert inj.flush(5)
    assert typist.keys_down() == set()
    assert typist.keys_down() == set()
    inj.key(LEVEL3, True)
    type_text(inj, "@q")
    assert typist.text(2) == "@q"
    assert inj.flush(5)
    assert level3 in typist.keys_down()
    inj.key(LEVEL3, False)
    assert inj.flush(5)
    assert typist.keys_down() == set()


def test_overlapping_keys_and_caps_lock(typist: Typist, inj: XTestInjector) -> None:
    # Fast typing rolls over: A is still down when b goes down.
    inj.key(ord("A"), True, "A")
    inj.key(ord("b"), True, "b")
    inj.key(ord("A"), False)
    inj.key(ord("b"), False)
    inj.key(ord(">"), True, ">")
    inj.key(ord("<"), True, "<")
    inj.key(ord(">"), False)
    inj.key(ord("<"), False)
    assert typist.text(4) == "Ab><"
    assert inj.flush(5)
    assert typist.keys_down() == set()
    # With Caps Lock on at the host, Shift is what gives the lower case.
    inj.key(CAPS, True)
    inj.key(CAPS, False)
    type_text(inj, "aB1!")
    assert typist.text(4) == "aB1!"
    inj.key(CAPS, True)
    inj.key(CAPS, False)
    type_text(inj, "aB")
    assert typist.text(2) == "aB"


def test_release_all_leaves_nothing_down(typist: Typist, inj: XTestInjector) -> None:
    inj.key(ord(">"), True, ">")  # our Shift and the key, the release never comes
    assert typist.text(1) == ">"
    assert inj.flush(5)
    assert len(typist.keys_down()) == 2
    inj.release_all()
    assert inj.flush(5)
    assert typist.keys_down() == set()
    inj.key(SHIFT_L, True)  # the agent's Shift, let go of around '/'
    inj.key(ord("/"), True, "/")
    inj.key(0x01000000 + ord("→"), True, "→")  # a remapped key, held
    assert typist.text(2) == "/→"
    inj.release_all()
    assert inj.flush(5)
    assert typist.keys_down() == set()
    type_text(inj, "x")  # and the next text is plain again
    assert typist.text(1) == "x"
    assert inj.flush(5)
    assert typist.keys_down() == set()


def test_remaps_are_a_small_lru_and_drops_are_counted(typist: Typist, xdisplay: str) -> None:
    before = typist.mapping()
    # The test reads each key before the next: no time to leave before reuse.
    inj = XTestInjector(xdisplay, remap_slots=2, reuse_after=0.0)
    try:
        inj.key(keysym("ä"), True, "ä")  # held while two others want the one other slot
        assert typist.text(1) == "ä"
        # The application reads each key before its slot is remapped: a slot
        # changed under a key it has not read yet would show it the new keysym.
        for ch in "ßñ":
            type_text(inj, ch)
            assert typist.text(1) == ch
        assert inj.flush(5)
        assert len(typist.keys_down()) == 1  # ä's keycode, never taken from it
        inj.key(keysym("ä"), False)
        assert inj.flush(5)
        assert typist.keys_down() == set()
        assert inj.remaps == 3
        for ch in "ñäß":  # ñ and ä are mapped; ß takes the least recently used slot
            type_text(inj, ch)
            assert typist.text(1) == ch
        assert inj.remaps == 4
        inj.key(0x10FFFF, True)  # not a keysym X defines: dropped, counted
        inj.key(0x10FFFF, False)
        assert inj.flush(5)
        assert inj.dropped_keys == 1
        type_text(inj, "k")  # the next event after them is k's own
        assert typist.text(1) == "k"
        assert typist.pressed[-1] == ord("k")
    finally:
        inj.close()
    assert typist.mapping() == before


def test_the_agents_text_reaches_the_x_server_through_a_session(
    typist: Typist, xdisplay: str
) -> None:
    text = "ls | grep X > out é€"

    async def main() -> None:
        inj = XTestInjector(xdisplay)
        host = Host(SyntheticDesktop(320, 240, scenario="idle"), consent=allow(), injector=inj)
        try:
            async with connected(host, level=VIEW | CONTROL) as (viewer, _, _):
                for ch in text:
                    await viewer.key(keysym(ch), True, ch)
                    await viewer.key(keysym(ch), False, "")
                await until(lambda: len(typist.typed()) >= len(text), 5, "the text")
        finally:
            inj.close()

    run(main())
    assert typist.text(len(text)) == text
