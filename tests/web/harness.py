"""A live web viewer session for browser tests: host and WebViewer run on an
asyncio loop in a background thread, the test thread drives Chromium.

The host shares a frame source that can be frozen (``StillSource``), over an
in-memory channel pair, with a RecordingInjector to see the input it gets.

``view_web_page``: the same page from real processes, ``screencodec host``
on a pty and ``view --web``, as a user runs them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt

from loop_thread import LoopThread
from screencodec.capture.base import FrameSource, SourceWrapper
from screencodec.transport import (
    ConsentRequest,
    Grant,
    Host,
    HostConfig,
    RecordingInjector,
    allow,
    channel_pair,
)
from screencodec.transport.session.consent import ConsentCallback
from screencodec.transport.session.permissions import Permission
from screencodec.transport.session.viewer import Viewer
from screencodec.web import WebOptions, WebViewer

from .conftest import wait_page

if TYPE_CHECKING:
    from tests.transport.test_attack_prompts import PtyHost

    from .test_web39_view_web_cli import _View

T = TypeVar("T")


class RecordingViewer:
    """Stands in for a Viewer where a test drives a WebBridge by hand: every
    coroutine the bridge calls on it is recorded in ``sent``, as (name, args),
    and returns True (an input call's "it went": a viewer on a connection
    that is not blind after a resume, docs/api.md)."""

    def __init__(self, level: Permission) -> None:
        self.level = level
        self.sent: list[tuple[str, tuple[Any, ...]]] = []

    def __getattr__(self, name: str) -> Any:
        async def record(*args: Any) -> bool:
            self.sent.append((name, args))
            return True

        return record


class HeldControlQuestion:
    """The host's local user as a consent callback: lets the agent watch at
    once, and leaves each later question (control) open until the test sets
    :attr:`answer` (a future on the session's loop). :attr:`prompts`: every
    question asked."""

    def __init__(self) -> None:
        self.prompts: list[ConsentRequest] = []
        self.answer: asyncio.Future[Grant] | None = None

    async def __call__(self, request: ConsentRequest) -> Grant:
        self.prompts.append(request)
        if not request.upgrade:
            return Grant(request.level)
        self.answer = asyncio.get_running_loop().create_future()
        return await self.answer


class StillSource(SourceWrapper):
    """Passes frames through until ``freeze()``; then repeats a copy of the last one."""

    def __init__(self, inner: FrameSource) -> None:
        super().__init__(inner)
        self.frozen: npt.NDArray[np.uint8] | None = None
        self._last: npt.NDArray[np.uint8] | None = None
        self._lock = threading.Lock()

    def grab(self) -> npt.NDArray[np.uint8]:
        with self._lock:
            if self.frozen is not None:
                return self.frozen
            self._last = super().grab()
            return self._last

    def freeze(self) -> npt.NDArray[np.uint8]:
        """Stop changing; returns the frame shown from now on (BGRX)."""
        with self._lock:
            if self._last is None:
                self._last = super().grab()
            self.frozen = self._last.copy()
            return self.frozen


class LiveSession:
    """Host + WebViewer on a background loop. ``url`` once listening."""

    def __init__(
        self,
        source: FrameSource,
        *,
        consent: ConsentCallback | None = None,
        config: HostConfig | None = None,
        options: WebOptions | None = None,
        **host_kw: Any,
    ) -> None:
        self.loop_thread = LoopThread(timeout=20)
        self.injector = RecordingInjector()
        self.source = source
        self.options = options or WebOptions(open_browser=False, grace=5.0)
        self.options.open_browser = False
        self.host: Host = self.call(self._make_host, consent, config, host_kw)
        self.web = WebViewer(self._connect, self.options)
        self.result: concurrent.futures.Future[str] = self.loop_thread.submit(self.web.run())
        self.call(self.web.listening.wait)
        self.url = self.web.url

    async def _make_host(
        self, consent: ConsentCallback | None, config: HostConfig | None, kw: dict[str, Any]
    ) -> Host:
        return Host(
            self.source, consent=consent or allow(), injector=self.injector,
            config=config or HostConfig(adaptive=False), **kw,
        )  # fmt: skip

    async def _connect(self) -> Any:
        hc, vc = channel_pair()
        self.serving = asyncio.ensure_future(self.host.serve(hc))
        return vc

    def call(self, fn: Callable[..., Coroutine[Any, Any, T]], *args: Any, timeout: float = 20) -> T:
        return self.loop_thread.call(fn(*args), timeout)

    def run(self, fn: Callable[[], T]) -> T:
        """Run a plain function on the loop's thread (to read its state safely)."""

        async def wrapper() -> T:
            return fn()

        return self.call(wrapper)

    def wait(self, cond: Callable[[], bool], timeout: float = 20, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while not self.run(cond):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what or cond}")
            time.sleep(0.05)  # a round trip to the loop's thread each time

    def close(self, timeout: float = 20) -> str | None:
        """End the session; returns why the run ended (None if it raised).
        A run that does not end within ``timeout`` fails the test here, once
        everything is cleaned up."""

        async def end() -> None:
            # A page that reported state from its worker (the video probe)
            # may not have joined the session yet: with nobody to say bye
            # to, the run would wait for the page for good. Let it join.
            for _ in range(100):
                if self.web.viewer is not None or self.result.done():
                    break
                await asyncio.sleep(0.1)
            if self.web.viewer is not None:
                await self.web.viewer.bye("test over")

        overran = False
        try:
            self.call(end)
            return self.result.result(timeout)
        except concurrent.futures.TimeoutError:  # TimeoutError from 3.11 on
            overran = True
            return None
        except Exception:
            return None
        finally:
            # Whatever is still running (a run that failed or overran) is
            # cancelled and awaited here, so its finally blocks (the download
            # folder, the server) run now, not in a later test's garbage
            # collection.
            with contextlib.suppress(Exception):
                self.loop_thread.close(timeout)
            if overran:
                # Said here, by the test whose session it was, rather than
                # swallowed (a hang is a bug, not a way to end).
                raise AssertionError(f"the web viewer session did not end within {timeout:g} s")


@contextlib.contextmanager
def view_web_page(browser: Any, *args: str) -> Iterator[tuple[PtyHost, _View]]:
    """A real ``screencodec host`` on a pty and a real ``view --web`` process
    (``args`` added to its ``--no-open``) joined to it, the page open in
    ``browser``, the host's user's yes given and the first picture shown.
    At the end the view is killed if it still runs, then the host closed."""
    # Imported here: test_web39's own imports come back to this module.
    from tests.transport.test_attack_prompts import PtyHost, _credentials

    from .test_web39_view_web_cli import URL, _View

    host = PtyHost()
    view = None
    try:
        port, code, password = _credentials(host)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        view = _View([f"127.0.0.1:{port}", "--code", code, "--password", password,
                      "--no-open", *args], env)  # fmt: skip
        url = URL.search(view.until(r"^web viewer: "))
        assert url is not None
        browser.get(url[0])
        host.say_yes(1)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the first picture")
        yield host, view
    finally:
        if view is not None and view.proc.poll() is None:
            view.close()
        host.close()


@contextlib.contextmanager
def controlled_page(browser: Any) -> Iterator[LiveSession]:
    """A still synthetic screen shared with CONTROL granted (no pause for the
    host's own input), the page open in ``browser`` with control shown and
    the screen clicked in: the agent's keys go to the host's recording
    injector (:func:`injected_keys`). Closed at the end."""
    from selenium.webdriver.common.by import By

    from screencodec.capture import open_source

    source = StillSource(open_source("synthetic", width=640, height=400, scenario="idle"))
    source.freeze()
    live = LiveSession(
        source,
        config=HostConfig(adaptive=False, local_input_pause=0.0),
        options=WebOptions(control=True, grace=5.0),
    )
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: (s["level"] or {}).get("control", False), what="control")
        browser.find_element(By.ID, "screen").click()  # the agent clicks in: keys go there
        yield live
    finally:
        live.close()


def injected_keys(live: LiveSession) -> list[tuple[int, bool]]:
    """The keysyms the host injected, down or up (call on the loop: ``live.run``)."""
    return [(int(e[1]), bool(e[2])) for e in live.injector.events if e[0] == "key"]  # type: ignore[call-overload]


@contextlib.contextmanager
def paused_control_page(browser: Any) -> Iterator[LiveSession]:
    """A still synthetic screen shared with CONTROL granted, the host pausing
    the agent's input 0.3 s after its local user's, the page open in
    ``browser`` with control shown. Closed at the end."""
    from screencodec.capture import open_source

    live = LiveSession(
        StillSource(open_source("synthetic", width=320, height=200, scenario="idle")),
        config=HostConfig(adaptive=False, local_input_pause=0.3),
        options=WebOptions(control=True, grace=5.0),
    )
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: (s["level"] or {}).get("control", False), what="control")
        yield live
    finally:
        live.close()


def local_user_before_keys(live: LiveSession) -> Viewer:
    """The page's viewer, its keys made to reach the host just after its local
    user's input (the host's ``local_input_activity`` hook, what its watchers
    call): the host ignores each (its count of keys ignored grows)."""
    viewer = live.web.viewer
    assert viewer is not None
    forward = viewer.key

    async def local_user_first(keysym: int, down: bool, text: str = "") -> bool:
        live.host.local_input_activity()
        return await forward(keysym, down, text)

    live.run(lambda: setattr(viewer, "key", local_user_first))
    return viewer
