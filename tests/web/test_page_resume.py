"""The agent's page when the link to the host is lost and taken up again:
the page says so, reconnects on its own, the host's user is not asked a
second time, and the canvas is the host's screen again, bit-exact
(transport/session/resume.py, web/run.py). Real sockets on loopback: the
host listens directly, the web viewer reaches it through a proxy the test
cuts (both sides reset, as when a relay restarts)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from screencodec.capture import open_source
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session.consent import ConsentRequest
from screencodec.transport.session.permissions import Grant
from screencodec.transport.session.viewer import Viewer
from screencodec.web.bridge import WebBridge
from transport.helpers import LinkProxy

from .conftest import canvas_bgr, wait_page
from .harness import LiveSession, StillSource


class _LinkedSession(LiveSession):
    """LiveSession over a real sealed channel, through a cuttable proxy."""

    asked: list[ConsentRequest]

    async def _make_host(self, consent: Any, config: Any, kw: dict[str, Any]) -> Any:
        self.asked = []

        async def counted(request: ConsentRequest) -> Grant:
            self.asked.append(request)
            return Grant(request.level)

        host = await super()._make_host(counted, config, kw)
        self.creds = SessionCredentials()
        self.listener = await listen_direct("127.0.0.1", 0, self.creds, host.serve)
        self.proxy = LinkProxy(self.listener.port)
        await self.proxy.start()
        return host

    def close(self, timeout: float = 20) -> str | None:
        """The agent leaves (the run ends), then the proxy and the listener
        close, on the session's loop, before the harness stops it."""

        async def leave() -> None:
            # The proxy and the listener close however the run ended: a run
            # that ended with an error (the session's test of that) raised
            # here, and their sockets were left to the collector, failing a
            # later test on the same worker (ResourceWarning).
            try:
                if self.web.viewer is not None:
                    await self.web.viewer.bye("test over")
                await asyncio.wait_for(asyncio.wrap_future(self.result), timeout)
            finally:
                await self.proxy.close()
                await self.listener.close()

        with contextlib.suppress(Exception):
            self.call(leave, timeout=timeout + 5)
        return super().close(timeout)

    async def _connect(self) -> Any:
        return await connect_direct("127.0.0.1", self.proxy.port, self.creds.code,
                                    self.creds.password)  # fmt: skip


@contextlib.contextmanager
def controlling(browser: Any) -> Iterator[tuple[_LinkedSession, WebBridge, Viewer | None]]:
    """A linked session (an idle screen) whose page holds CONTROL:
    ``(live, bridge, first viewer)``; closed after."""
    from screencodec.web import WebOptions

    source = StillSource(open_source("synthetic", width=320, height=200, scenario="idle"))
    live = _LinkedSession(source, options=WebOptions(control=True, grace=5.0))
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: (s["level"] or {}).get("control", False), what="control")
        bridge = live.web.bridge
        assert bridge is not None
        yield live, bridge, live.run(lambda: live.web.viewer)
    finally:
        live.close()


def test_page_reconnects_after_a_lost_link_and_shows_the_screen_exact(browser: Any) -> None:
    source = StillSource(open_source("synthetic", width=480, height=320, scenario="typing"))
    live = _LinkedSession(source)
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 5, what="5 updates applied")
        first = live.run(lambda: live.web.viewer)
        live.run(live.proxy.cut)
        st = wait_page(browser, lambda s: s["banner"] == "Reconnected: the session goes on.",
                       what="the resumed banner")  # fmt: skip
        # Expected: the same page, a new connection, and no second question.
        assert live.run(lambda: live.web.viewer) is not first
        assert len(live.asked) == 1 and st["ended"] is None
        assert st["level"] == {"view": True, "control": False}
        frame = source.freeze()[..., :3]
        for _ in range(200):
            got = canvas_bgr(browser)
            if got.shape == frame.shape and np.array_equal(got, frame):
                break
            wait_page(browser, lambda s: True)
        else:
            raise AssertionError("the canvas never equalled the host's screen after the resume")
        assert live.run(lambda: live.web.bridge.protocol_errors) == 0  # type: ignore[union-attr]
    finally:
        live.close()


def test_keys_typed_while_the_page_reconnects_never_reach_the_host(browser: Any) -> None:
    """The agent holds CONTROL and types while the link is down: the page
    shows it is reconnecting, the keys are lost with the link (not replayed
    into the user's desktop after the resume), and typing after the resume
    works again, with the control the agent held."""
    with controlling(browser) as (live, bridge, first):
        asked = len(live.asked)  # VIEW, then CONTROL: the page asks for both

        async def cut_then_type() -> int:
            mark = len(live.injector.events)
            live.proxy.refusing = True  # the link stays down until the test says
            live.proxy.cut()
            for down in (True, False):  # "a", typed into the dead link
                await bridge._on_text(json.dumps({"t": "key", "keysym": 0x61, "down": down,
                                                  "text": "a" if down else ""}))  # fmt: skip
            return mark

        mark = live.call(cut_then_type)
        # While it reconnects, the page shows no control (it had it before).
        down = wait_page(browser, lambda s: (s["banner"] or "").startswith("The connection to"),
                         what="the lost banner")  # fmt: skip
        wait_page(browser, lambda s: s["level"] == {"view": True, "control": False},
                  what="no control while reconnecting")  # fmt: skip
        assert down["ended"] is None
        live.run(lambda: setattr(live.proxy, "refusing", False))
        st = wait_page(browser, lambda s: s["banner"] == "Reconnected: the session goes on.",
                       what="the resumed banner")  # fmt: skip
        assert live.run(lambda: live.web.viewer) is not first and len(live.asked) == asked
        assert st["level"]["control"]
        # "b", typed after the resume until it lands: what comes before the
        # new connection's first receipt was typed blind and is dropped too.
        for _ in range(200):
            for down in (True, False):
                live.call(bridge._on_text, json.dumps({"t": "key", "keysym": 0x62, "down": down,
                                                       "text": "b" if down else ""}))  # fmt: skip
            if live.run(lambda: ("key", 0x62, False, "") in live.injector.events):
                break
            time.sleep(0.05)
        else:
            raise AssertionError("typing after the resume never reached the host")
        keys = [e[1] for e in live.run(lambda: live.injector.events[mark:]) if e[0] == "key"]
        assert 0x61 not in keys, "a key typed into the dead link reached the host"



def test_a_session_the_viewer_ends_with_an_error_is_told_to_the_page(browser: Any) -> None:
    """What the host sends is lost for a moment, then arrives again (a broken
    middlebox): the stream's next record fails authentication and the viewer
    ends the session with that error. The page is told the session ended and
    why (it said only that the viewer program stopped or lost it)."""
    source = StillSource(open_source("synthetic", width=320, height=200, scenario="typing"))
    live = _LinkedSession(source)
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 2, what="2 updates applied")
        live.run(lambda: live.proxy.mute("host"))
        time.sleep(0.5)  # what the host sends meanwhile is lost
        live.run(lambda: setattr(live.proxy, "muted", None))
        st = wait_page(browser, lambda s: s["closed"], what="the end")
        assert st["ended"], st
        assert st["banner"].startswith("The session has ended: the connection to the user's")
    finally:
        live.close()
