"""Control given back: from the page's "Give back control" button, and at
once when the page goes away (the session waits 10 s for a reload, watching
only). Nothing the agent held stays pressed on the user's screen, no input
is forwarded once it is given back, the host takes CONTROL back (its user
sees it), and "Request control" asks the host's user again."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from selenium.webdriver.common.by import By

from screencodec.capture import open_source
from screencodec.transport import CONTROL, VIEW, ConsentRequest, Grant, Permission, allow
from screencodec.web import WebBridge, WebOptions

from .conftest import wait_page
from .harness import LiveSession, RecordingViewer, StillSource


def _source() -> StillSource:
    return StillSource(open_source("synthetic", width=320, height=200, scenario="idle"))


def _control(browser: Any) -> bool:
    return bool((browser.execute_script("return window.screencodecPage.level") or {}).get(
        "control"))  # fmt: skip


def test_the_bridge_releases_what_it_pressed_and_forwards_nothing_held_back() -> None:
    async def main() -> None:
        bridge = WebBridge()
        out: asyncio.Queue[str | bytes] = asyncio.Queue()
        bridge._out = out
        viewer = RecordingViewer(VIEW | CONTROL)
        bridge.viewer = viewer  # type: ignore[assignment]
        for msg in ('{"t":"key","keysym":65507,"down":true,"text":""}',  # Ctrl held
                    '{"t":"key","keysym":97,"down":true,"text":"a"}',
                    '{"t":"key","keysym":97,"down":false,"text":""}',
                    '{"t":"button","b":1,"down":true}'):  # fmt: skip
            await bridge._on_text(msg)
        viewer.sent.clear()
        await bridge._on_text('{"t":"control","want":false}')
        # What it pressed, released in reverse; then CONTROL given back to the host.
        assert viewer.sent == [("button", (1, False)), ("key", (65507, False, "")),
                               ("release", (CONTROL,))]  # fmt: skip
        assert bridge.held_back
        levels = [json.loads(x) for x in out._queue if isinstance(x, str)]  # type: ignore[attr-defined]
        assert levels[-1] == {"t": "level", "view": True, "control": False, "unavailable": ""}
        viewer.sent.clear()
        await bridge._on_text('{"t":"move","x":1,"y":2}')
        assert viewer.sent == [] and bridge.input_dropped == 1
        bridge.close()

    asyncio.run(main())


def test_give_back_and_take_up_again_in_the_page(browser: Any) -> None:
    asked: list[Permission] = []

    async def counting(request: ConsentRequest) -> Grant:
        asked.append(request.level)
        return await allow()(request)

    live = LiveSession(_source(), consent=counting, options=WebOptions(control=True, grace=5.0))
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: (s["level"] or {}).get("control", False), what="control")
        ask, give = browser.find_element(By.ID, "control"), browser.find_element(By.ID, "give-back")
        assert give.is_displayed() and not ask.is_displayed()
        questions = live.run(lambda: len(asked))
        give.click()
        wait_page(browser, lambda s: not s["level"]["control"], what="view only")
        assert browser.find_element(By.ID, "level").text == "View only"
        assert ask.is_displayed() and ask.is_enabled() and not give.is_displayed()
        # The host took it back: its user's screen shows the agent without control.
        live.wait(lambda: ("release_all",) in live.injector.events,
                  what="CONTROL taken back by the host")  # fmt: skip
        banner = browser.find_element(By.ID, "banner")
        assert banner.get_attribute("hidden") is not None  # not "the user took it back"
        ask.click()
        wait_page(browser, lambda s: s["level"]["control"], what="control again")
        assert live.run(lambda: len(asked)) == questions + 1  # the user was asked again
    finally:
        live.close()


def test_the_page_going_away_holds_control_back_at_once(browser: Any) -> None:
    assert WebOptions().grace == 10.0
    live = LiveSession(_source(), options=WebOptions(control=True, grace=5.0))
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: (s["level"] or {}).get("control", False), what="control")
        bridge = live.web.bridge
        assert bridge is not None
        # The page went away while the agent held Shift (its own key-up never came).
        live.call(bridge._on_text, '{"t":"key","keysym":65505,"down":true,"text":""}')
        live.wait(lambda: ("key", 0xFFE1, True, "") in live.injector.events, what="Shift down")
        browser.get("about:blank")
        live.wait(lambda: bridge.viewer is not None and CONTROL not in bridge.viewer.level,
                  what="control given back to the host")  # fmt: skip
        live.wait(lambda: ("key", 0xFFE1, False, "") in live.injector.events, what="Shift up")
        # The session waits for a reload, watching: the same tab comes back view only.
        browser.get(live.url.split("#")[0])
        wait_page(browser, lambda s: s["connected"] and s["level"] is not None
                  and s["applied"] >= 1, what="the page back")  # fmt: skip
        assert not _control(browser)
        browser.find_element(By.ID, "control").click()
        wait_page(browser, lambda s: s["level"]["control"], what="control asked for again")
    finally:
        live.close()
