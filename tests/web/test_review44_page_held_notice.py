"""review44: the host's ``Notice.HELD_RELEASED`` (8, input44) in the page.

Found: the page keeps a notice whose code is not a moment's (ui.js
TRANSIENT: 1, 2) in its bar for the rest of the session, as it does a
reason why control cannot be had. "the host let go of the 1 key you held
down ...; press again what you need" is said of one moment: it stayed in
the bar after the agent had pressed again, for good. Expected: shown, and
in the page's list of notices, then gone from the bar after a while (as
the local user's notice goes).

A real Host and the page's viewer (tests/web/harness.LiveSession), the
notice sent by the host on its link, headless Chromium.
"""

from __future__ import annotations

from typing import Any

from screencodec.transport.session import messages as m

from .conftest import wait_page
from .harness import LiveSession
from .test_page_notices import _NOTICE, _RECORD, _in_order, _js, _shown, _source, _timings

WORDS = ("the host let go of the 1 key you held down: nothing came from you for 4 s"
         " (your link went silent); press again what you need")  # fmt: skip


def test_the_held_keys_notice_leaves_the_bar_after_a_while(browser: Any) -> None:
    live = LiveSession(_source())
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the picture")
        _timings(browser, ttl_ms=300, quiet_ms=300)
        _js(browser, _RECORD)
        link = live.run(lambda: next(iter(live.host._runtime.serving)))
        live.call(lambda: link.send(m.Notice(m.Notice.HELD_RELEASED, WORDS)))
        viewer = live.web.viewer
        assert viewer is not None
        live.wait(lambda: any(n.code == m.Notice.HELD_RELEASED for n in viewer.notices),
                  what="the notice at the page's viewer")  # fmt: skip
        wait_page(browser, lambda s: _in_order(_shown(browser), WORDS, None),  # type: ignore[arg-type]
                  what="the notice shown, then the bar empty")  # fmt: skip
        assert _js(browser, _NOTICE) is None
        notes = _js(browser, "return [...document.querySelectorAll('.notice')]"
                             ".map(e => e.textContent)")  # fmt: skip
        assert any(WORDS in n for n in notes), notes
    finally:
        live.close()
