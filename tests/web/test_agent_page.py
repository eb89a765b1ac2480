"""What a support agent sees and can do in the page, beyond the picture:
the empty screen says what it waits for, the keys a browser keeps for
itself can be sent, full screen asks for the keyboard lock, the stats
overlay and the bar leave the banner and the picture alone, and a session
that is over is shown as not live."""

from __future__ import annotations

import asyncio
from typing import Any

from selenium.webdriver.common.by import By

from screencodec.capture import open_source
from screencodec.transport import VIEW, ConsentRequest, Grant, allow
from screencodec.web import WebOptions

from .conftest import wait_page
from .harness import LiveSession, StillSource


def _source() -> StillSource:
    return StillSource(open_source("synthetic", width=640, height=400, scenario="idle"))


_RECT = "document.getElementById('%s').getBoundingClientRect().toJSON()"


def _js(browser: Any, script: str) -> Any:
    return browser.execute_script(script)


def test_empty_screen_says_what_it_waits_for(browser: Any) -> None:
    answer: list[asyncio.Event] = []
    asked = []

    async def later(request: ConsentRequest) -> Grant:
        asked.append(request)
        answer.append(asyncio.Event())
        await answer[0].wait()
        return await allow()(request)

    live = LiveSession(_source(), consent=later)
    try:
        browser.get(live.url)
        live.wait(lambda: bool(asked), what="the host's user asked")
        waiting = "return document.getElementById('waiting')"
        text = "Waiting for the user to accept..."
        wait_page(browser, lambda s: _js(browser, waiting + ".textContent") == text,
                  what="the wait, in the middle")  # fmt: skip
        box = _js(browser, waiting + ".getBoundingClientRect().toJSON()")
        view = _js(browser, f"return {_RECT % 'viewport'}")
        # In the middle of the empty screen, not only in the bar's corner.
        assert abs((box["top"] + box["bottom"]) / 2 - (view["top"] + view["bottom"]) / 2) < 30
        assert _js(browser, waiting + ".checkVisibility()")

        live.run(answer[0].set)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the picture")
        assert not _js(browser, waiting + ".checkVisibility()")
    finally:
        live.close()


def test_keys_the_browser_keeps_are_sent_from_the_menu(browser: Any) -> None:
    live = LiveSession(_source(), consent=allow(VIEW))  # view only at first
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the picture")
        assert browser.find_element(By.ID, "keys").get_attribute("disabled") is not None
    finally:
        live.close()

    live = LiveSession(_source(), options=WebOptions(control=True, grace=5.0))
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: (s["level"] or {}).get("control", False), what="control")
        wait_page(browser, lambda s: browser.find_element(By.ID, "keys").is_enabled(),
                  what="the menu enabled with control")  # fmt: skip
        browser.execute_script(
            "const s = document.getElementById('keys'); s.value = 'ctrl-alt-del';"
            "s.dispatchEvent(new Event('change'));"
        )
        keys = [(0xFFE3, True), (0xFFE9, True), (0xFFFF, True),
                (0xFFFF, False), (0xFFE9, False), (0xFFE3, False)]  # fmt: skip

        def got() -> list[tuple[int, bool]]:
            return [(int(e[1]), bool(e[2])) for e in live.injector.events if e[0] == "key"]  # type: ignore[call-overload]

        live.wait(lambda: len(got()) >= 6, what="the six key events")
        assert got() == keys
        # The menu goes back to its title and the keyboard to the screen.
        assert browser.find_element(By.ID, "keys").get_attribute("value") == ""
        assert _js(browser, "return document.activeElement.id") == "ime"
        # ... which the screen shows by its outline (keys go there only then).
        outline = "return getComputedStyle(document.getElementById('screen')).outlineStyle"
        assert _js(browser, outline) == "solid"
        _js(browser, "document.activeElement.blur()")
        assert _js(browser, outline) == "none"
    finally:
        live.close()


def test_full_screen_asks_for_the_keyboard_lock(browser: Any) -> None:
    live = LiveSession(_source())
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the picture")
        _js(browser, "window.__locks = 0; navigator.keyboard.lock = () => (window.__locks++,"
                     " Promise.resolve());")  # fmt: skip
        browser.find_element(By.ID, "fullscreen").click()
        wait_page(browser, lambda s: _js(browser, "return window.__locks") == 1, what="the lock")
        _js(browser, "document.exitFullscreen()")
        wait_page(browser, lambda s: not _js(browser, "return !!document.fullscreenElement"),
                  what="full screen left")  # fmt: skip
    finally:
        live.close()


def test_bar_stats_and_banner_leave_each_other_alone(browser: Any) -> None:
    live = LiveSession(_source())
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the picture")
        leave = f"return {_RECT % 'leave'}"
        controls = _js(browser, leave)
        # A long notice (the host's words) neither moves the controls nor
        # runs under the stats overlay ...
        long = "the local user is using the input " * 12
        live.run(lambda: live.web.bridge.send({"t": "notice", "text": long[:300]}))  # type: ignore[union-attr]
        notice = "return window.screencodecPage.notice"
        wait_page(browser, lambda s: _js(browser, notice) is not None, what="the notice")
        assert _js(browser, leave) == controls
        # ... and it is read whole, in the status line under them: in a
        # 1280-pixel window it had some 100 pixels ("The user ...") beside
        # the labels and the status, then the rest of the row, cut (the
        # status line's sizes: test_pagebits_status_fits.py).
        lines = _js(browser, "const r = document.createRange();"
                             "r.selectNodeContents(document.getElementById('notice'));"
                             "return [...r.getClientRects()].map((b) => b.right);")  # fmt: skip
        assert lines and max(lines) <= _js(browser, "return innerWidth")
        # The banner's close button is reachable (the stats overlay covered it).
        live.run(lambda: live.web.bridge.banner("error", "Something"))  # type: ignore[union-attr]
        wait_page(browser, lambda s: s["banner"] == "Something", what="the banner")
        hit = _js(browser, f"const r = {_RECT % 'banner-close'};"
                           "return document.elementFromPoint((r.left + r.right) / 2,"
                           " (r.top + r.bottom) / 2).id")  # fmt: skip
        assert hit == "banner-close"
    finally:
        live.close()


def test_a_session_that_is_over_is_not_shown_as_live(browser: Any) -> None:
    live = LiveSession(_source())
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the picture")
        opacity = "return Number(getComputedStyle(document.getElementById('stage')).opacity)"
        assert _js(browser, opacity) == 1
        live.call(live.host.disconnect)
        wait_page(browser, lambda s: s["closed"], what="the end")
        assert _js(browser, opacity) < 1
    finally:
        live.close()


_ALTGR = """
const ime = document.getElementById('ime');
const k = (type, key, code, mods) => ime.dispatchEvent(new KeyboardEvent(type, {
  key, code, bubbles: true, cancelable: true, ...mods}));
const chord = {ctrlKey: true, altKey: true, modifierAltGraph: true};
k('keydown', 'Control', 'ControlLeft', {ctrlKey: true});
k('keydown', 'AltGraph', 'AltRight', chord);
k('keydown', '@', 'KeyQ', chord);
k('keyup', '@', 'KeyQ', chord);
k('keyup', 'AltGraph', 'AltRight', {ctrlKey: true});
k('keyup', 'Control', 'ControlLeft', {});
k('keydown', 'a', 'KeyA', {ctrlKey: false});
k('keyup', 'a', 'KeyA', {});
"""


def test_a_character_typed_with_altgr_reaches_the_host_without_ctrl(browser: Any) -> None:
    """Windows reports AltGr as Ctrl + Alt: a German agent's '@' (AltGr+Q)
    came to the host as Ctrl and AltGr held with '@', which a terminal reads
    as Ctrl-@. The chord's modifiers are let go before the character, and
    their own keyup later sends nothing."""
    live = LiveSession(_source(), options=WebOptions(control=True, grace=5.0))
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: (s["level"] or {}).get("control", False), what="control")

        def got() -> list[tuple[int, bool]]:
            return [(int(e[1]), bool(e[2])) for e in live.injector.events if e[0] == "key"]  # type: ignore[call-overload]

        _js(browser, _ALTGR)
        live.wait(lambda: len(got()) >= 8, what="the key events")
        assert got() == [
            (0xFFE3, True), (0xFE03, True),  # Ctrl, AltGr pressed by the agent
            (0xFFE3, False), (0xFE03, False),  # let go before the character
            (0x40, True), (0x40, False),  # '@' alone
            (0x61, True), (0x61, False),  # and nothing held after it
        ]  # fmt: skip
    finally:
        live.close()
