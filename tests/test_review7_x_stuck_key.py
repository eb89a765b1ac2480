"""Review7 of c61a224 (lingers): an injector told its X server is gone
(``XTestInjector.server_gone``: a watcher had no answer within
xtest.ANSWER_WITHIN) sends it nothing more at close: not the release of
the keys and buttons the agent holds. But a server that did not answer for
a while is not known gone: one only stopped (SIGSTOP, a machine swapping
hard, a debugger) that goes on later keeps whatever the agent held down,
since an X server does not let go of XTest presses when their client
leaves (that is how ``xdotool keydown`` works). A stuck key (Ctrl, say) or
button on the customer's screen after the host has ended.

A real Xvfb: a key and a button held by the injector, the server stopped,
``server_gone`` as the host's watcher calls it, ``close``; then the server
goes on, and another client reads its keymap and pointer buttons."""

from __future__ import annotations

import signal
import subprocess
import threading
import time

from Xlib import X
from Xlib import display as xdisplay

from screencodec.transport.input.xtest import XTestInjector
from transport.test_cliux_screen_gone import doomed_xvfb

__all__ = ["doomed_xvfb"]  # the fixture


def held(display: str, keysym: int) -> tuple[bool, bool]:
    """Whether the key of ``keysym`` and pointer button 1 are down at the
    server of ``display``, read by a client of its own."""
    d = xdisplay.Display(display)
    try:
        keycode = d.keysym_to_keycode(keysym)
        keys = d.query_keymap()
        button1 = bool(d.screen().root.query_pointer().mask & X.Button1Mask)
        return bool(keys[keycode // 8] & (1 << (keycode % 8))), button1
    finally:
        d.close()


def test_review7_a_server_that_goes_on_after_server_gone_has_no_stuck_key(
    doomed_xvfb: tuple[str, subprocess.Popen[bytes]],
) -> None:
    display, xvfb = doomed_xvfb
    inj = XTestInjector(display)
    try:
        inj.pointer_move(5, 5)
        inj.key(ord("a"), True, "a")  # the agent holds a key
        inj.button(1, True)  # and the left button (a drag)
        assert inj.flush(30)
        assert held(display, ord("a")) == (True, True)
        xvfb.send_signal(signal.SIGSTOP)
        inj.server_gone("the X server did not answer within 10 s")  # the watcher's words
        goes_on = threading.Timer(2.0, xvfb.send_signal, (signal.SIGCONT,))
        goes_on.start()  # within the close's bound, as the old injector's close waited
        inj.close(timeout=30)
        goes_on.join()
    finally:
        xvfb.send_signal(signal.SIGCONT)  # it goes on
        inj.close(timeout=10)
    # The server takes its clients' requests in turn once it goes on: a
    # client of our own may be answered before the releases are carried out.
    for _ in range(50):
        if held(display, ord("a")) == (False, False):
            break
        time.sleep(0.1)
    assert held(display, ord("a")) == (False, False)
