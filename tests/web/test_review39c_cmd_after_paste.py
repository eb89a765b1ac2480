"""review39c: Cmd held after Cmd+V. clipfix39's Cmd+V lets go of the host's
Super (then a Ctrl+V tap) while the agent's Cmd is still down; a Mac user
then often presses Cmd+Z or Cmd+A before letting go of Cmd. Found: that Z
reached the host bare, a "z" typed into the customer's program (Super+Z
before clipfix39). Expected: the Cmd still held goes down again on the host
before that key, and up with the Cmd's own keyup. Headless Chromium, the
keys and the paste event a Mac's browser fires, dispatched as in
test_clipfix39_meta_paste."""

from __future__ import annotations

import time
from typing import Any

from selenium.webdriver.common.by import By

from .conftest import wait_page
from .test_clip39_page import CTRL, V, _events, _live
from .test_clipfix39_meta_paste import MAC_CMD_V

SUPER, Z = 0xFFEB, 0x7A

_MAC_PASTE_THEN_Z = MAC_CMD_V + """
setTimeout(() => {
  key("keydown", "z", "KeyZ", true);
  key("keyup", "z", "KeyZ", true);
  key("keyup", "Meta", "MetaLeft", false);
}, 100);
"""


def test_review39c_a_key_with_cmd_still_held_after_cmd_v_is_not_typed_bare(browser: Any) -> None:
    live, _ = _live(control=True)
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: (s["level"] or {}).get("control", False), what="control")
        browser.find_element(By.ID, "screen").click()
        browser.execute_script(_MAC_PASTE_THEN_Z, "make test")
        live.wait(lambda: any(e[0] == "key" and e[1] == Z and not e[2]
                              for e in live.injector.events), what="Z up")  # fmt: skip
        time.sleep(0.5)  # the Cmd's keyup, sent right after Z's
        keys = [(e[1], e[2]) for e in _events(live) if e[0] == "key"]
        assert keys[:6] == [(SUPER, True), (SUPER, False), (CTRL, True), (V, True), (V, False),
                            (CTRL, False)], keys  # fmt: skip
        assert keys[6:] == [(SUPER, True), (Z, True), (Z, False), (SUPER, False)], keys
    finally:
        live.close()
