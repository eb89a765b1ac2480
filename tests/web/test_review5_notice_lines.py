"""A host's notice takes at most three lines of the bar, however long it is.

The bar's status line wraps rather than cuts (1df946f), so a notice as long
as the wire lets a host send (1024 bytes; the bridge passes up to 1000
characters) took the whole of it: at 800x600 twelve lines, 216 pixels of a
600-pixel window, and at 1280x720 the bar was 240 pixels tall: the picture
shrank to two thirds, for as long as the notice stayed (until the next one).
The status line now shows three lines at most, the last ending in an
ellipsis; the notice is whole in its tooltip and in the chat log. The host
here is the real Host, sending its Notice on the session's link, as a
hostile or merely verbose host would."""

from __future__ import annotations

from typing import Any

from screencodec.capture import open_source
from screencodec.transport import HostConfig
from screencodec.transport.session import messages as m
from screencodec.web import WebOptions

from .conftest import wait_page
from .harness import LiveSession, StillSource

#: Words and markup a hostile host may put in its notice: shown as text.
_WORD = "<b>x</b> \u202eevil\u202c "

_MEASURE = """
const $ = (id) => document.getElementById(id);
const line = $('status-line'), box = line.getBoundingClientRect();
const lh = parseFloat(getComputedStyle(line).lineHeight);
const log = [...$('chat-log').querySelectorAll('li.notice')].map((li) => li.textContent);
return {height: box.height, lineHeight: lh, bottom: box.bottom,
        picture: $('viewport').getBoundingClientRect().top,
        title: $('notice').title, text: $('notice').textContent, log: log};
"""


def test_a_notice_of_a_thousand_characters_takes_three_lines(browser: Any) -> None:
    text = ""
    while len(text) < 1000:
        text += "A" * 50 + " " + _WORD
    text = text[:1000]
    while len(text.encode()) > 1024:  # the wire's most for a Notice's text
        text = text[:-1]
    shown = text.replace("\u202e", "?").replace("\u202c", "?")  # safe_text's
    shown = " ".join(shown.split())
    source = StillSource(open_source("synthetic", width=640, height=400, scenario="idle"))
    live = LiveSession(source, config=HostConfig(adaptive=False), options=WebOptions(grace=5.0))
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the picture")

        async def notice() -> None:
            for link in list(live.host._runtime.links):
                # A code whose text is shown as it came (walk46: NOT_ASKED's
                # now follows the page's own words).
                await link.send(m.Notice(m.Notice.UNKNOWN_MONITOR, text))

        live.call(notice)
        wait_page(browser, lambda s: browser.execute_script(
            "return window.screencodecPage.notice") is not None, what="the notice")  # fmt: skip
        for width, height in ((800, 600), (1024, 768), (1280, 720)):
            size = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
            browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", size)
            got = browser.execute_script(_MEASURE)
            # Expected: three lines at most, above the picture ...
            assert got["height"] <= 3 * got["lineHeight"] + 1, (width, got["height"])
            assert got["bottom"] <= got["picture"] + 0.5, (width, got)
            # ... and the whole notice, as text, in its tooltip and the chat log.
            assert got["text"] == shown and got["title"] == shown, width
            assert got["log"] == [shown], width
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        live.close()
