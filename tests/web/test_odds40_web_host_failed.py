"""odds40: ``view --web`` when the host's program fails mid-session: an
error (status 1), known by the host's code for it (``Notice.HOST_FAILED``
before its Bye), not by the Bye's words; the page's end banner says the
words once, and the Notice itself is not shown as a notice beside it.
And a host that ends the session in those words is an end (status 0).
Real ``view --web`` processes, a real host on loopback, headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from loop_thread import LoopThread
from screencodec.capture import SyntheticDesktop
from screencodec.transport import Host, HostConfig, SessionCredentials, allow, listen_direct
from screencodec.transport.session.refusal import HOST_FAILED

from .conftest import wait_page
from .test_web39_view_web_cli import URL, _close, _View
from .test_webopen38_page_not_opened import _env


@pytest.fixture
def loop() -> Iterator[LoopThread]:
    with LoopThread() as loop:
        yield loop


class _Breaks(SyntheticDesktop):
    """A bug in an embedding program's source: a wrong frame after 20 good ones."""

    grabs = 0

    def grab(self) -> np.ndarray:  # type: ignore[override]
        self.grabs += 1
        return super().grab() if self.grabs <= 20 else np.zeros((3, 3), np.uint8)


@pytest.mark.parametrize("how", ["fails", "says the words"])
def test_view_web_exits_1_only_when_the_host_failed(
    tmp_path: Any, browser: Any, loop: LoopThread, how: str
) -> None:
    creds = SessionCredentials()

    def source(index: int) -> SyntheticDesktop:
        return _Breaks(320, 200) if how == "fails" else SyntheticDesktop(320, 200)

    async def start() -> Any:
        host = Host(source, consent=allow(), config=HostConfig(adaptive=False))
        return host, await listen_direct("127.0.0.1", 0, creds, host.serve)

    host, listener = loop.call(start())
    view = _View([f"127.0.0.1:{listener.port}", "--code", creds.code, "--password",
                  creds.password, "--no-open"], _env(tmp_path / "none"))  # fmt: skip
    try:
        url = URL.search(view.until(r"^web viewer: "))
        assert url is not None
        browser.get(url[0])
        view.until(r"granted: view")
        if how == "says the words":
            wait_page(browser, lambda s: s["applied"] >= 2, what="pictures")
            loop.call(host.disconnect(reason=HOST_FAILED))
        view.until(r"^session ended: ")
        status = view.proc.wait(timeout=30)
        st = wait_page(browser, lambda s: s["ended"] is not None, what="the end")
        text = browser.execute_script("return document.body.innerText")
        notice = browser.execute_script("return document.getElementById('notice').textContent")
    finally:
        view.close()
        loop.call(_close(listener, host))
    assert view.lines[-1] == f"session ended: {HOST_FAILED}", view.lines
    assert status == (1 if how == "fails" else 0), view.lines  # found for the words: 1
    assert st["banner"] == f"The session has ended: {HOST_FAILED}.", st
    assert "could not go on" not in notice, notice
    assert text.count("could not go on") == 1, text
