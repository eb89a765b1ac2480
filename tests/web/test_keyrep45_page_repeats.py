"""keyrep45: the page sends each repeated keydown of a held key as a press.

The host's X server no longer repeats an agent's held key by itself (a
stalled link repeated it for seconds): repeats come from the agent's own
keyboard, and the page must pass them on. Headless Chromium's key events
through CDP (a keydown, then nine flagged ``autoRepeat`` as a held key's
are, then the keyup) go through the page, the bridge and the session to
the host's recording injector: ten downs of f, then one up. (What the real
injector does with them, on Xvfb: tests/transport/test_keyrep45_*.py.)
"""

from __future__ import annotations

from typing import Any

from .harness import controlled_page, injected_keys

F = 0x66


def _key(browser: Any, kind: str, repeat: bool = False) -> None:
    browser.execute_cdp_cmd(
        "Input.dispatchKeyEvent",
        {"type": kind, "key": "f", "code": "KeyF", "windowsVirtualKeyCode": 70,
         "text": "f" if kind == "keyDown" else "", "autoRepeat": repeat},
    )  # fmt: skip


def test_a_held_keys_repeats_reach_the_host_as_presses(browser: Any) -> None:
    with controlled_page(browser) as live:
        _key(browser, "keyDown")
        for _ in range(9):
            _key(browser, "keyDown", repeat=True)
        _key(browser, "keyUp")
        live.wait(lambda: (F, False) in injected_keys(live), what="the f's release")
        assert live.run(lambda: injected_keys(live)) == [(F, True)] * 10 + [(F, False)]
