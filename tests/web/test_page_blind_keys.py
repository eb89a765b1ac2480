"""Keys the viewer withholds are not pressed on the host (web/bridge.py).

After a resume the viewer sends no input until its first picture is applied
(``Viewer.blind``: the agent has not seen the screen since the outage; the
input calls return False, docs/api.md). A key-down the page sends then is
not pressed on the host, so the bridge must not count it as held: giving
control back later releases only what was pressed. Real sockets on
loopback, a real host with a recording injector, real Chromium."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from screencodec.transport import CONTROL

from .conftest import wait_page
from .test_page_resume import controlling


def test_a_key_withheld_after_a_resume_is_not_released_later(browser: Any) -> None:
    with controlling(browser) as (live, bridge, first):
        live.run(live.proxy.cut)

        async def key_while_blind() -> Any:
            # The resumed viewer holds CONTROL and has not applied a picture yet.
            while True:
                viewer = live.web.viewer
                if viewer is not first and viewer is not None and CONTROL in viewer.level:
                    break
                await asyncio.sleep(0)
            assert viewer.blind
            withheld = viewer.input_withheld
            await bridge._on_text(json.dumps({"t": "key", "keysym": 0x61, "down": True,
                                              "text": "a"}))  # fmt: skip
            assert viewer.input_withheld == withheld + 1  # not sent: the host never had it
            while viewer.blind:
                await asyncio.sleep(0.02)
            return viewer

        viewer = live.call(key_while_blind)
        wait_page(browser, lambda s: s["banner"] == "Reconnected: the session goes on.",
                  what="the resumed banner")  # fmt: skip
        mark = live.run(lambda: len(live.injector.events))

        async def give_back() -> None:
            await bridge._on_text(json.dumps({"t": "control", "want": False}))
            while CONTROL in viewer.level:
                await asyncio.sleep(0.02)

        live.call(give_back)
        events = live.run(lambda: live.injector.events[mark:])
        # Expected: no release of a key the host never pressed.
        assert ("key", 0x61, False, "") not in events, events
