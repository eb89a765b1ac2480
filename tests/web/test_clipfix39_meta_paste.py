"""clipfix39: Cmd+V on a Mac. The page sent the agent's Meta as Super, so
the host got Super+V, which pastes nothing there. Now a paste driven by
Meta+V goes to the host as Ctrl+V: Super let go, the text on the host's
clipboard, then Ctrl down, V down, V up, Ctrl up (a whole tap: macOS sends
no keyup for a key pressed with Cmd held). Headless Chromium on Linux does
not paste on Meta+V, so the test dispatches the keys and the paste event a
Mac's browser would fire on the page's textarea."""

from __future__ import annotations

from typing import Any

from selenium.webdriver.common.by import By

from .conftest import wait_page
from .test_clip39_page import CTRL, V, _events, _live

SUPER = 0xFFEB

#: Cmd down, V down and the paste event with ``arguments[0]`` as its text,
#: as Chromium on a Mac gives them (``key`` is defined for what follows).
MAC_CMD_V = """
const [text] = arguments;
const ime = document.getElementById("ime");
const key = (type, key, code, meta) => ime.dispatchEvent(new KeyboardEvent(type,
    { key, code, metaKey: meta, bubbles: true, cancelable: true }));
key("keydown", "Meta", "MetaLeft", true);
key("keydown", "v", "KeyV", true);
const data = new DataTransfer();
data.setData("text/plain", text);
ime.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true,
                                                cancelable: true }));
"""
_MAC_PASTE = MAC_CMD_V + 'key("keyup", "Meta", "MetaLeft", false);\n'


def test_cmd_v_reaches_the_host_as_ctrl_v_after_the_text(browser: Any) -> None:
    live, clip = _live(control=True)
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: (s["level"] or {}).get("control", False), what="control")
        browser.find_element(By.ID, "screen").click()  # the agent clicks in: keys go there
        command = "systemctl status nginx"
        browser.execute_script(_MAC_PASTE, command)
        live.wait(lambda: sum(e[0] == "key" for e in live.injector.events) >= 6,
                  what="Super down and up, Ctrl and V down and up")  # fmt: skip
        got = _events(live)
        keys = [(e[1], e[2]) for e in got if e[0] == "key"]
        assert keys == [(SUPER, True), (SUPER, False), (CTRL, True), (V, True), (V, False),
                        (CTRL, False)], got  # fmt: skip
        assert got.index(("clipboard", command)) < got.index(("key", V, True, "")), got
        assert clip.text == command
    finally:
        live.close()
