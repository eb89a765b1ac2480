"""Review finding in the XTEST injector: a closed injector used again.

``Host.close`` closes the injector after waiting at most its timeout for the
sessions to end; a session still cleaning up after that calls
``release_input`` (and may inject input the gate let through). On a closed
injector that raised AttributeError out of the session's cleanup, skipping
the rest of it. Closed, the injector holds nothing and injects nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from screencodec.capture.xvfb import private_xvfb
from screencodec.transport.input.xtest import XTestInjector


@pytest.fixture(scope="module")
def xdisplay() -> Iterator[str]:
    with private_xvfb(320, 200) as display:
        yield display


def _keymap(display: str) -> list[tuple[int, ...]]:
    from Xlib import display as xdisplay

    d = xdisplay.Display(display)
    try:
        first = d.display.info.min_keycode
        rows = d.get_keyboard_mapping(first, d.display.info.max_keycode - first + 1)
        return [tuple(r) for r in rows]
    finally:
        d.close()


def _keys_down(display: str) -> set[int]:
    from Xlib import display as xdisplay

    d = xdisplay.Display(display)
    try:
        bits = d.query_keymap()
        return {i * 8 + b for i, byte in enumerate(bits) for b in range(8) if byte >> b & 1}
    finally:
        d.close()


def test_a_closed_injector_holds_nothing_and_injects_nothing(xdisplay: str) -> None:
    before = _keymap(xdisplay)
    inj = XTestInjector(xdisplay)
    inj.key(0x20AC, True, "\u20ac")  # on no keycode of the US map: a spare one, held
    inj.key(0xFFE1, True, "")
    assert inj.flush(5)  # queued, not yet at the server when key() returns
    assert _keys_down(xdisplay) and _keymap(xdisplay) != before
    inj.close()
    assert _keys_down(xdisplay) == set() and _keymap(xdisplay) == before
    # A session's late cleanup and input after Host.close: no error, no effect.
    inj.release_all()
    inj.key(0x61, True, "a")
    inj.key(0x61, False)
    inj.button(1, True)
    inj.pointer_move(5, 5)
    inj.wheel(0, 1)
    inj.close()
    assert _keys_down(xdisplay) == set() and _keymap(xdisplay) == before
    assert inj.dropped_keys == 1  # the key pressed after close
