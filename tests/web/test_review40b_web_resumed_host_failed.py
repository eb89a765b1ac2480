"""review40b: ``view --web`` when the host's program fails as it takes a
lost session up (the page's viewer back with its ticket; the screen
opened again fails): status 1, an error of the host's, as ``view`` (and
as a failure mid-session: odds40), not 5 (lost). Real ``view --web``, a
real host on loopback behind a proxy the test resets, headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.transport.helpers import LinkProxy

from loop_thread import LoopThread
from screencodec.capture import FrameSource, SyntheticDesktop
from screencodec.transport import Host, HostConfig, SessionCredentials, allow, listen_direct
from screencodec.transport.session.refusal import HOST_FAILED

from .conftest import wait_page
from .test_web39_view_web_cli import URL, _close, _View
from .test_webopen38_page_not_opened import _env


@pytest.fixture
def loop() -> Iterator[LoopThread]:
    with LoopThread() as loop:
        yield loop


def test_view_web_exits_1_when_the_host_fails_taking_the_session_up(
    tmp_path: Any, browser: Any, loop: LoopThread
) -> None:
    creds = SessionCredentials()
    opened: list[int] = []

    def screen(index: int) -> FrameSource:
        opened.append(index)  # under the synthetic desktop's 64x64 the second time: fails
        return SyntheticDesktop(320, 200) if len(opened) == 1 else SyntheticDesktop(10, 10)

    async def start() -> Any:
        host = Host(screen, consent=allow(), config=HostConfig(adaptive=False))
        listener = await listen_direct("127.0.0.1", 0, creds, host.serve)
        proxy = LinkProxy(listener.port)
        await proxy.start()
        return host, listener, proxy

    async def cut(proxy: LinkProxy) -> None:
        proxy.cut()

    host, listener, proxy = loop.call(start())
    view = _View([f"127.0.0.1:{proxy.port}", "--code", creds.code, "--password",
                  creds.password, "--no-open"], _env(tmp_path / "none"))  # fmt: skip
    try:
        url = URL.search(view.until(r"^web viewer: "))
        assert url is not None
        browser.get(url[0])
        view.until(r"granted: view")
        wait_page(browser, lambda s: s["applied"] >= 2, what="pictures")
        loop.call(cut(proxy))
        out, err = view.proc.communicate(timeout=60)
        status = view.proc.returncode
    finally:
        view.close()
        loop.call(proxy.close())
        loop.call(_close(listener, host))
    said = "\n".join(view.lines) + "\n" + out + err
    assert len(opened) == 2, said  # taken up, and its screen failed then
    assert HOST_FAILED in said, said
    assert status == 1, said
