"""The capture hub over a real Xvfb that stops answering (SIGSTOP), and its
threads when nothing goes wrong. Its grabs and pointer reads ran in the
loop's default executor: a grab waiting for a stopped server was never
given up on, and ``asyncio.run`` joined it at the end, for good. Now they
run on daemon threads of the hub's own, each waited for at most
``answer_within`` s."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from typing import Any

import pytest

from screencodec.capture import ScreenSource
from screencodec.errors import CaptureError
from screencodec.transport.session.screens import CaptureHub, HintCursor

from .test_xtest_dead_server import _doomed_xvfb


def _capture_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "capture"}


def _until(done: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


#: How long the hub waits for the server while it runs (a loaded machine:
#: flake48c, load ~20, a pointer read before the stop took over 0.5 s) ...
LIVE_WITHIN = 10.0
#: ... and once it is about to be stopped (:func:`stop_server`).
STOPPED_WITHIN = 0.5


def stop_server(hub: CaptureHub, pid: int) -> None:
    """Stop the X server ``pid`` under ``hub``, which gives up on it after
    :data:`STOPPED_WITHIN` from now on."""
    hub.answer_within = STOPPED_WITHIN
    os.kill(pid, signal.SIGSTOP)


def hub_on(display: str) -> tuple[CaptureHub, list[ScreenSource]]:
    """A hub of real screen sources on ``display``, each kept in the list
    as it is opened, that gives up on a grab after :data:`LIVE_WITHIN`
    (:data:`STOPPED_WITHIN` once :func:`stop_server` stops the server)."""
    sources: list[ScreenSource] = []

    def factory(index: int) -> ScreenSource:
        sources.append(ScreenSource(index, display=display))
        return sources[-1]

    hub = CaptureHub(factory, reuse=0)
    hub.answer_within = LIVE_WITHIN
    return hub, sources


def test_a_grab_the_server_never_answers_is_given_up_and_the_loop_ends() -> None:
    """Stopped under a hub: the grab under way fails after ``answer_within``
    with a CaptureError that says so; the grabs, pointer reads and previews
    after it fail or answer None at once; closing the hub does not wait, nor
    does the end of ``asyncio.run``. The server let go again, the thread
    given up on returns and closes the source."""
    others = _capture_threads()  # other hubs' (of earlier tests), idle for a while yet
    with _doomed_xvfb() as (display, pid):
        hub, sources = hub_on(display)
        outcome: dict[str, Any] = {}

        async def main() -> None:
            hub.acquire(1)
            cursor = HintCursor()
            await hub.grab_hinted_then(1, cursor, lambda f, o, h: None)
            assert await hub.cursor(1) is not None
            stop_server(hub, pid)
            started = time.monotonic()
            with pytest.raises(CaptureError) as first:
                await hub.grab_hinted_then(1, cursor, lambda f, o, h: None)
            outcome["waited"] = time.monotonic() - started
            outcome["said"] = str(first.value)
            started = time.monotonic()
            for call in (hub.grab_then(1, lambda f, o: None), hub.cursor(1)):
                with pytest.raises(CaptureError):
                    await call
            outcome["last_frame"] = hub.last_frame(1)
            hub.close()
            outcome["after"] = time.monotonic() - started

        # On a thread of its own: a loop that never ends fails the test
        # instead of hanging it.
        loop_thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
        try:
            loop_thread.start()
            loop_thread.join(30)
            assert not loop_thread.is_alive(), "asyncio.run did not end"
            assert outcome["said"] == "the screen did not answer within 0.5 s"
            assert 0.5 <= outcome["waited"] < 10, outcome
            assert outcome["last_frame"] is None
            assert outcome["after"] < 0.4, outcome  # nothing waited for the server
            assert not sources[0]._closed  # its grab holds it: closed after that
        finally:
            os.kill(pid, signal.SIGCONT)
        _until(lambda: sources[0]._closed, 20, "the source was not closed once the grab returned")
        _until(lambda: not _capture_threads() - others, 20, "capture threads outlived the hub")
