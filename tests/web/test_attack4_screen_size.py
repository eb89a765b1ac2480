"""A hostile host declares a 16384x16384 screen to the web viewer: the page
is never handed the picture, the session ends, and the page's banner says
why. Before, the page's decoder refused every such picture (over its 16 M
pixels) and the session went on showing nothing, asking for keyframes. The
real WebViewer and page in Chromium; the host is scripted over a loopback
socket."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from tests.transport.helpers import tcp_pair, until
from tests.transport.test_attack4_screen_size import _Host

from loop_thread import LoopThread
from screencodec.transport.session import messages as m
from screencodec.transport.session.viewer import DEFAULT_MAX_PIXELS
from screencodec.web.run import WebOptions, WebViewer

from .conftest import wait_page


def _run_web(browser: Any, script: Any, options: WebOptions) -> tuple[dict[str, Any], str]:
    """The page's state once it was told the session ended, and why the run ended."""
    kept: list[Any] = []

    async def connect() -> Any:
        host_ch, viewer_ch, server = await tcp_pair()
        kept.extend((host_ch, server, asyncio.ensure_future(script(_Host(host_ch)))))
        return viewer_ch

    async def close() -> None:
        host_ch, server, task = kept
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await host_ch.close()
        server.close()
        await server.wait_closed()

    web = WebViewer(connect, options)
    with LoopThread(timeout=20) as loop:
        result = loop.submit(web.run())
        try:
            loop.call(web.listening.wait())
            browser.get(web.url)
            st = wait_page(browser, lambda s: s["ended"] is not None, what="the session's end")
            return st, result.result(20)
        finally:
            result.cancel()
            with contextlib.suppress(Exception):
                loop.call(close())


@pytest.mark.parametrize(("w", "h", "max_pixels"), [
    (16384, 16384, None),
    (12000, 4001, 60_000_000),  # more than the page takes: its limit holds
], ids=["16384-square", "over-the-page"])  # fmt: skip
def test_the_page_says_the_hosts_screen_is_over_the_limit(
        browser: Any, w: int, h: int, max_pixels: int | None) -> None:  # fmt: skip
    async def script(host: _Host) -> None:
        await host.hello()
        await host.monitors((w, h))
        await host.picture(w, h)
        await host.read()

    options = WebOptions(open_browser=False, grace=5.0)
    if max_pixels is not None:
        options.max_pixels = max_pixels
    st, reason = _run_web(browser, script, options)
    words = f"the host's screen is {w}x{h}, over this viewer's limit of {DEFAULT_MAX_PIXELS} pixels"
    assert reason == words
    assert st["ended"] == words
    assert st["banner"] == f"The session has ended ({words})."
    assert st["applied"] == 0 and st["width"] == 0  # the page never got the picture


@pytest.mark.parametrize(("w", "h"), [(7680, 4320), (11520, 2160)], ids=["8K", "three-4K"])
def test_real_screens_are_shown_in_the_page(browser: Any, w: int, h: int) -> None:
    """The page took 16 M pixels and refused these every time (the session
    went on, showing nothing); the viewer's limit and the page's are one."""

    async def script(host: _Host) -> None:
        await host.hello()
        await host.picture(w, h)
        reader = asyncio.ensure_future(host.read())
        await until(lambda: host.receipts() > 0, timeout=20, what="the page's answer")
        await host.channel.send(m.encode(m.Bye("test over")))
        await reader

    st, reason = _run_web(browser, script, WebOptions(open_browser=False, grace=5.0))
    assert reason == "host said bye: test over"
    assert st["applied"] == 1 and st["refused"] == 0
    assert (st["width"], st["height"]) == (w, h)


def test_a_service_sets_the_web_viewers_limit(browser: Any) -> None:
    """``WebOptions(max_pixels=...)`` reaches the viewer: 64x48 is over a
    limit of 3000 pixels."""

    async def script(host: _Host) -> None:
        await host.hello()
        await host.picture(64, 48)
        await host.read()

    st, reason = _run_web(browser, script,
                          WebOptions(open_browser=False, grace=5.0, max_pixels=3000))  # fmt: skip
    assert reason == "the host's screen is 64x48, over this viewer's limit of 3000 pixels"
    assert st["ended"] == reason
