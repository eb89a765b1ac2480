"""grace51 on the page: ``view --web --relay`` whose first connection is
made as the customer's host has just lost its relay connection (a Wi-Fi
roam). Expected: the relay holds the join for the host, and once the host
is back the page goes on to "Waiting for the user to accept...", never
"Not connected" (before: the relay said "no such session code", and the
page read "Could not connect: no session with that code ...").

A real relay and the host's registration in a thread of the test (the host
reaches the relay through a proxy the test cuts and keeps refusing), a real
``view --web`` on a pty, headless Chromium. The link comes back once the
relay holds the page's join (no sleep as a sync).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

from tests.transport.test_view_cli_send_screens import PtyView

from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import host_via_relay
from screencodec.transport.relay import Relay, RelayLimits
from transport.helpers import LinkProxy

from .test_relay43_page_waits_for_host import statuses_until

T = TypeVar("T")


class _Loop:
    """An event loop in a thread of the test: the relay, the proxy and the
    host's registration live in it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def _until(cond: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_the_pages_first_connect_as_the_host_blips_ends_in_a_session(browser: Any) -> None:
    loop = _Loop()
    creds = SessionCredentials()
    # A hold longer than the default 8 s: the view's and the page's start,
    # on a loaded machine, must not outlast it.
    relay = Relay(limits=RelayLimits(lost_hold=30.0))
    view = None

    async def up() -> tuple[LinkProxy, Any]:
        await relay.start()
        proxy = LinkProxy(relay.port)
        await proxy.start()
        reg = await host_via_relay("127.0.0.1", proxy.port, creds, lambda ch: None,
                                   ping_interval=0.3, backoff_max=0.3)  # fmt: skip
        await reg.wait_registered(20)
        return proxy, reg

    proxy, reg = loop.call(up())
    try:

        async def cut() -> None:
            proxy.refusing = True  # the host's link fails and stays down ...
            proxy.cut()

        loop.call(cut())
        _until(lambda: creds.code not in relay.sessions, 10, "the relay sees the host go")
        view = PtyView("--relay", f"127.0.0.1:{relay.port}", "--code", creds.code,
                       "--password", creds.password, "--web", "--no-open",
                       "--name", "Alice")  # fmt: skip
        url = view.wait_for(r"http://127\.0\.0\.1:\d+/#k=[A-Za-z0-9_-]+")
        browser.get(url.group(0))  # the view connects once the page is open
        _until(lambda: relay.stats.held_for_host >= 1, 60, "the page's join held")

        async def mend() -> None:
            proxy.refusing = False  # ... until the page's join waits for it

        loop.call(mend())
        said = statuses_until(browser, "Waiting for the user to accept...")
        assert "Not connected" not in said, said
        assert "no session with that code" not in view.text, view.text
    finally:
        if view is not None:
            view.close()

        async def down() -> None:
            await reg.close()
            await proxy.close()
            await relay.close()

        loop.call(down())
        loop.close()
