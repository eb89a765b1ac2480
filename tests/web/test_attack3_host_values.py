"""A host (hostile, or just odd) sends values the wire allows but the page's
strict schema (static/app/schema.js) does not: a Stats message of more than
a million frames a second (fps_milli is a u32: up to 4.29 million), and a
monitor whose index is over 64 (the index is a u16). The page refuses a
message out of its bounds by closing its socket ("The viewer sent something
this page does not understand"), and the state is replayed to a reloaded
page, so one such message took the agent's page away for good. Real host
(its session sends the crafted messages), real view --web bridge, page in
headless Chromium. Expected outcome: the page stays connected and keeps
drawing; what it cannot show is bounded or left out."""

from __future__ import annotations

from typing import Any

import pytest

from screencodec.capture import open_source
from screencodec.capture.base import Monitor
from screencodec.transport.session import messages as m

from .conftest import wait_page
from .harness import LiveSession, StillSource


def _source() -> StillSource:
    return StillSource(open_source("synthetic", width=320, height=200, scenario="idle"))


_CRAFTED = {
    "stats": m.Stats(4_000_000_000, 1000, 5000, 0, 10),
    "monitors": m.MonitorList((Monitor(0, 0, 0, 320, 200, False),
                               Monitor(100, 0, 0, 320, 200, True)), 100),
}


@pytest.mark.parametrize("what", sorted(_CRAFTED))
def test_values_over_the_pages_bounds_do_not_close_the_page(browser: Any, what: str) -> None:
    live = LiveSession(_source())
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s.get("applied", 0) >= 1, what="the first picture")
        (link,) = live.run(lambda: list(live.host._runtime.links))
        live.call(link.send, _CRAFTED[what])
        live.call(link.send, m.Chat("after the odd values"))  # a marker behind them
        wait_page(browser, lambda s: "after the odd values" in browser.execute_script(
            "return document.getElementById('chat-log').textContent") or s.get("closed"),
            what="the marker or the page closed")  # fmt: skip
        state = wait_page(browser, lambda s: True)
        assert not state.get("closed"), state.get("banner")
        assert state.get("connected")
    finally:
        live.close()
