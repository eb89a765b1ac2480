"""``screencodec view --web`` run inside another program (``cli.main`` called
in-process) gives that program's signal handlers back when it ends. While it
runs, it takes SIGTERM, SIGHUP and the first Ctrl-C to leave the session in
order; before, once it ended, SIGTERM and SIGHUP were left at their default
(asyncio's ``remove_signal_handler`` puts SIG_DFL back), so the program's
next SIGTERM killed it without its own handler running.

Real: the ``host`` command on a pty, the view's page in headless Chromium,
the view itself in this process's main thread; it is left by a SIGTERM to
this process once the page shows the screen, or ends because no page opened
its link within ``--duration``."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType
from typing import Any

import pytest
from tests.transport.test_attack_prompts import PtyHost, _credentials

from screencodec.cli import view as view_module
from screencodec.cli.main import main as cli_main
from screencodec.transport.channel.codes import SessionCredentials

from .conftest import wait_page

_URL = re.compile(r"http://127\.0\.0\.1:\d+/#k=[A-Za-z0-9_-]+")
_QUESTION = r"Question 1: .*?\[y/N\] "
_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


class _Embedder:
    """The embedding program's own handlers, one per signal, installed
    while inside; each records the signals it was called for."""

    def __init__(self) -> None:
        self.got: list[int] = []
        self.handlers = {sig: self._handler() for sig in _SIGNALS}

    def _handler(self) -> Any:
        def handler(signum: int, frame: FrameType | None) -> None:
            self.got.append(signum)

        return handler


@pytest.fixture
def embedder() -> Iterator[_Embedder]:
    before = {sig: signal.getsignal(sig) for sig in _SIGNALS}
    program = _Embedder()
    for sig, handler in program.handlers.items():
        signal.signal(sig, handler)
    try:
        yield program
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


@pytest.fixture
def told(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the view says on its terminal, as it says it."""
    lines: list[str] = []
    real = view_module.tell

    def tell(text: str) -> None:
        lines.append(text)
        real(text)

    monkeypatch.setattr(view_module, "tell", tell)
    return lines


def _handlers() -> dict[int, object]:
    return {sig: signal.getsignal(sig) for sig in _SIGNALS}


def test_filesleft_view_web_left_by_sigterm_gives_the_programs_handlers_back(
        browser: Any, embedder: _Embedder, told: list[str]) -> None:  # fmt: skip
    host = PtyHost()
    failed: list[BaseException] = []
    ended = threading.Event()  # the view returned: no SIGTERM for it any more

    def page_then_sigterm() -> None:
        """Open the page, have the host's user say yes, wait for a picture,
        then SIGTERM this process (also if something failed: the view
        leaves at once instead of at its --duration)."""
        try:
            deadline = time.monotonic() + 30
            url = None
            while url is None and not ended.is_set():
                assert time.monotonic() < deadline, f"no link told: {told}"
                url = next((u for line in list(told) if (u := _URL.search(line))), None)
                ended.wait(0.02)
            assert url is not None, f"the view ended before it told its link: {told}"
            browser.get(url.group(0))
            host.wait_for(_QUESTION)
            host.type("y")
            wait_page(browser, lambda s: s["applied"] >= 1, what="a picture in the page")
        except BaseException as exc:  # told to the test's thread
            failed.append(exc)
        finally:
            if not ended.is_set():
                os.kill(os.getpid(), signal.SIGTERM)

    driving = threading.Thread(target=page_then_sigterm, daemon=True)
    try:
        port, code, password = _credentials(host)
        driving.start()
        try:
            status = cli_main(["view", f"127.0.0.1:{port}", "--code", code, "--password",
                               password, "--web", "--no-open", "--duration", "60"])  # fmt: skip
        finally:
            ended.set()
            driving.join(60)  # before the program's handlers go (a late SIGTERM is theirs)
    finally:
        host.close()
    assert not failed, failed
    assert status == 0, told
    assert told[-1] == "session ended: the viewer was stopped by SIGTERM", told  # words51
    assert embedder.got == []  # the view took the SIGTERM, not the program
    assert _handlers() == embedder.handlers  # found: SIGTERM and SIGHUP at SIG_DFL


def test_filesleft_view_web_no_page_in_time_gives_the_programs_handlers_back(
        embedder: _Embedder, told: list[str]) -> None:  # fmt: skip
    """No page opens the link within --duration: the view ends (nothing
    connects to the host: port 9 is never tried)."""
    creds = SessionCredentials()
    status = cli_main(["view", "127.0.0.1:9", "--code", creds.code, "--password",
                            creds.password, "--web", "--no-open", "--duration", "0.5"])  # fmt: skip
    assert status != 0
    assert any("keep this link private" in line for line in told), told
    assert _handlers() == embedder.handlers  # found: SIGTERM and SIGHUP at SIG_DFL
