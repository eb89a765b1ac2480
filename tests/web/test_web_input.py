"""Input from the page reaches the host's injector: clicks and wheel at the
right framebuffer pixel (scaled to fit, and 1:1), typed keys with the right
keysyms and text, composed text; and nothing at all without the control grant."""

from __future__ import annotations

from typing import Any

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.actions.action_builder import ActionBuilder
from selenium.webdriver.common.actions.wheel_input import ScrollOrigin
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from screencodec.capture import open_source
from screencodec.transport import VIEW, ChatReceived, HostConfig, allow
from screencodec.web import WebOptions

from .conftest import wait_page
from .harness import LiveSession, StillSource

W, H = 1600, 1000  # larger than the 1280x900 window: "fit" scales it down


def _live(control: bool, consent: Any = None) -> LiveSession:
    source = StillSource(open_source("synthetic", width=W, height=H, scenario="idle"))
    source.freeze()  # a still pointer too: the host must not take it for local input
    return LiveSession(
        source,
        consent=consent,
        config=HostConfig(adaptive=False, local_input_pause=0.0),
        options=WebOptions(control=control, grace=5.0),
    )


def _click_at(browser: Any, cx: int, cy: int) -> None:
    actions = ActionBuilder(browser)
    actions.pointer_action.move_to_location(cx, cy).click()
    actions.perform()


def _expected(browser: Any, cx: int, cy: int) -> tuple[int, int]:
    r = browser.execute_script(
        "const r = document.getElementById('screen').getBoundingClientRect();"
        "return [r.left, r.top, r.width, r.height];"
    )
    return int((cx - r[0]) * W // r[2]), int((cy - r[1]) * H // r[3])


def _inputs(live: LiveSession) -> list[tuple[object, ...]]:
    return live.run(lambda: [e for e in live.injector.events if e[0] != "release_all"])


def test_input_with_control(browser: Any) -> None:
    live = _live(control=False)
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="first picture")
        assert browser.find_element(By.ID, "level").text == "View only"
        browser.find_element(By.ID, "control").click()  # the agent asks from the page
        wait_page(browser, lambda s: (s["level"] or {}).get("control", False), what="control")
        assert browser.find_element(By.ID, "level").text == "Control"
        scale = (
            browser.execute_script(
                "return document.getElementById('screen').getBoundingClientRect().width"
            )
            / W
        )
        assert scale < 0.9  # really scaled

        cx, cy = 300, 333
        fx, fy = _expected(browser, cx, cy)
        _click_at(browser, cx, cy)
        live.wait(lambda: ("button", 1, False) in live.injector.events, what="click")
        ev = _inputs(live)
        assert ("move", fx, fy) in ev
        assert ev.index(("button", 1, True)) < ev.index(("button", 1, False))
        last_move = [e for e in ev[: ev.index(("button", 1, True))] if e[0] == "move"][-1]
        assert last_move == ("move", fx, fy)

        ActionChains(browser).scroll_from_origin(
            ScrollOrigin.from_viewport(cx, cy), 0, 300
        ).perform()
        live.wait(lambda: any(e[0] == "wheel" for e in live.injector.events), what="wheel")
        wheel = [e for e in _inputs(live) if e[0] == "wheel"]
        assert sum(int(e[2]) for e in wheel) == 3 and all(e[1] == 0 for e in wheel)  # type: ignore[call-overload]

        chain = ActionChains(browser).send_keys("aB").key_down(Keys.SHIFT).send_keys("c")
        chain.key_up(Keys.SHIFT).send_keys(Keys.RETURN).perform()
        live.wait(lambda: ("key", 0xFF0D, False, "") in live.injector.events, what="keys")
        keys = [e for e in _inputs(live) if e[0] == "key"]
        assert ("key", 0x61, True, "a") in keys and ("key", 0x61, False, "") in keys
        assert ("key", 0x42, True, "B") in keys
        shift = keys.index(("key", 0xFFE1, True, ""))  # a real Shift press, left
        assert keys.index(("key", 0x43, True, "C")) > shift
        assert keys.index(("key", 0xFFE1, False, "")) > shift
        assert ("key", 0xFF0D, True, "") in keys

        # Composed text (an input method, a dead key): its characters with their text.
        browser.execute_script(
            "document.getElementById('ime').dispatchEvent("
            "new CompositionEvent('compositionend', {data: '\u00e9\u4e2d'}));"
        )
        live.wait(lambda: ("key", 0x0100_4E2D, False, "") in live.injector.events, what="text")
        keys = [e for e in _inputs(live) if e[0] == "key"]
        assert ("key", 0xE9, True, "\u00e9") in keys
        assert ("key", 0x0100_4E2D, True, "\u4e2d") in keys

        # 1:1 with scrolling: one CSS pixel is one screen pixel.
        browser.execute_script(
            "const s = document.getElementById('scale'); s.value = '1';"
            "s.dispatchEvent(new Event('change'));"
        )
        cx, cy = 700, 420
        fx, fy = _expected(browser, cx, cy)
        r = browser.execute_script(
            "return document.getElementById('screen').getBoundingClientRect().width"
        )
        assert r == W
        _click_at(browser, cx, cy)
        live.wait(lambda: live.injector.events.count(("button", 1, False)) >= 2, what="click 2")
        ev = _inputs(live)
        down = len(ev) - 1 - ev[::-1].index(("button", 1, True))
        assert [e for e in ev[:down] if e[0] == "move"][-1] == ("move", fx, fy)
    finally:
        live.close()


def test_no_input_without_control(browser: Any) -> None:
    live = _live(control=True, consent=allow(VIEW))  # asks for control, gets view only
    events = live.run(live.host.events)
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="first picture")
        _click_at(browser, 300, 300)
        ActionChains(browser).scroll_from_origin(
            ScrollOrigin.from_viewport(300, 300), 0, 300
        ).perform()
        ActionChains(browser).send_keys("xyz").perform()
        # A later message that does arrive: the chat, sent after the input.
        browser.execute_script(
            "document.getElementById('chat-input').value = 'done';"
            "document.getElementById('chat-form').requestSubmit();"
        )

        async def chat() -> str:
            async for ev in events:
                if isinstance(ev, ChatReceived):
                    return ev.text
            return ""

        assert live.call(chat) == "done"
        assert _inputs(live) == []
        st = wait_page(browser, lambda s: True)
        assert st["level"] == {"view": True, "control": False}
    finally:
        live.close()


if __name__ == "__main__":
    pytest.main([__file__])
