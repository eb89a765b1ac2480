"""The X server dies (Xvfb killed) under the injector and the local input
watchers: closing each is quiet and idempotent and releases its connection's
socket, and a watcher's ``run`` ends (with the connection's error, not one
from closing the dead connection on top of it). Real Xvfb servers, killed
with SIGKILL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from Xlib.error import ConnectionClosedError

from screencodec.capture.xvfb import private_xvfb
from screencodec.transport.input.xpresses import LocalPressWatcher
from screencodec.transport.input.xtest import LocalPointerWatcher, XTestInjector

from .helpers import run
from .test_attack_local_presses import _xvfb_children


def _gone(pid: int) -> bool:
    """Whether the process ``pid`` has exited (a zombie until reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(") ", 1)[1].split()[0] in "ZX"
    except OSError:
        return True


def _kill(pid: int, sig: int = signal.SIGKILL) -> None:
    """Kill the Xvfb ``pid``; return once it is gone."""
    os.kill(pid, sig)
    deadline = time.monotonic() + 10
    while not _gone(pid):
        assert time.monotonic() < deadline, "Xvfb outlived SIGKILL"
        time.sleep(0.01)


@contextlib.contextmanager
def _doomed_xvfb() -> Iterator[tuple[str, int]]:
    """A private Xvfb, and its pid (to be killed or stopped)."""
    before = _xvfb_children()
    with private_xvfb(320, 240) as display:
        (pid,) = _xvfb_children() - before
        try:
            yield display, pid
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)  # stopped: its stop would wait for SIGTERM


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


Watcher = LocalPointerWatcher | LocalPressWatcher


@contextlib.contextmanager
def _watched(kind: str) -> Iterator[tuple[Watcher, Any, Callable[[], None]]]:
    """A watcher of ``kind`` ("pointer", "presses") on a doomed Xvfb, its
    connection's socket, and the function that kills the server."""
    with _doomed_xvfb() as (display, pid):
        inj = XTestInjector(display)
        watcher: Watcher
        if kind == "pointer":
            watcher = LocalPointerWatcher(lambda: None, inj, display, period=0.01)
        else:
            watcher = LocalPressWatcher(lambda _: None, inj, display, period=0.01)
        sock = watcher._disp.display.socket
        try:
            yield watcher, sock, lambda: _kill(pid)
        finally:
            inj.close(timeout=5)
            sock.close()


KINDS = pytest.mark.parametrize("kind", ["pointer", "presses"])


def _run_then(watcher: Watcher, then: Callable[[], None]) -> BaseException | None:
    """Start ``watcher.run()``, call ``then`` once it polls; what ``run``
    raised once it ended (None: it returned). Fails if it goes on 10 s
    after ``then``."""

    async def main() -> BaseException | None:
        task = asyncio.ensure_future(watcher.run())
        await asyncio.sleep(0.1)
        then()
        done, _ = await asyncio.wait([task], timeout=10)
        if not done:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        assert done, "run went on"
        return task.exception()

    return run(main())


@KINDS
def test_closing_a_watcher_after_the_server_died_is_quiet_and_releases_the_socket(
        kind: str) -> None:
    with _watched(kind) as (watcher, sock, kill):
        kill()
        watcher.close()
        watcher.close()
        assert sock.fileno() == -1


@KINDS
def test_a_watcher_ends_with_the_connections_error_when_the_server_dies(kind: str) -> None:
    """No busy loop and no hang: ``run`` ends, its error is the one the read
    of the dead connection met (not a second one raised by closing it), and
    the socket is released."""
    with _watched(kind) as (watcher, sock, kill):
        exc = _run_then(watcher, kill)
        # The pointer's read is on the loop, its own bytes on the socket
        # (ends53): the socket's error, an OSError; the presses' Xlib's.
        # The host takes either for the display gone (_start_watchers).
        assert isinstance(exc, OSError if kind == "pointer" else ConnectionClosedError), exc
        frames = [f.name for f in traceback.extract_tb(exc.__traceback__)]
        assert "close" not in frames, "".join(traceback.format_exception(exc))
        assert sock.fileno() == -1
        watcher.close()  # after run closed it: nothing


@KINDS
def test_closing_a_running_watcher_ends_its_run(kind: str) -> None:
    """``close`` while ``run`` polls (a live server): ``run`` returns."""
    with _watched(kind) as (watcher, sock, _):
        assert _run_then(watcher, watcher.close) is None
        assert sock.fileno() == -1


def _busy(inj: XTestInjector) -> None:
    """Keys held (one of them on a remapped spare keycode), and pointer moves queued."""
    inj.key(ord("a"), True, "a")
    inj.key(0xE9, True, "\u00e9")  # on no key of the US keymap: a spare keycode
    assert inj.flush(5)
    for i in range(2000):
        inj.pointer_move(i % 300, i % 200)


@pytest.mark.parametrize("busy", [False, True], ids=["idle", "busy"])
def test_closing_the_injector_after_the_server_died_releases_its_socket(busy: bool) -> None:
    """Xvfb killed, then the injector closed: its socket is closed and no
    file descriptor is left behind; closing again does nothing."""
    with _doomed_xvfb() as (display, pid):
        before = _fds()
        inj = XTestInjector(display)
        sock = inj._disp.display.socket
        try:
            if busy:
                _busy(inj)
            _kill(pid)
            inj.close(timeout=10)
            inj.close(timeout=10)
            assert sock.fileno() == -1
            assert not inj._worker.is_alive()
            assert _fds() == before
        finally:
            sock.close()


def test_closing_the_injector_on_a_server_that_does_not_answer_releases_its_socket() -> None:
    """Xvfb stopped (SIGSTOP: a hung server, or a remote one gone without a
    word): the worker waits for a reply that never comes. ``close`` gives up
    waiting after its timeout and cuts the connection: the socket is
    released, the worker ends, no descriptor is left (before, both stayed
    until the server went away)."""
    with _doomed_xvfb() as (display, pid):
        before = _fds()
        inj = XTestInjector(display)
        sock = inj._disp.display.socket
        try:
            _busy(inj)
            os.kill(pid, signal.SIGSTOP)
            inj.key(ord("a"), False, "a")
            inj.close(timeout=1)
            assert sock.fileno() == -1
            assert not inj._worker.is_alive()
            assert _fds() == before
            inj.close(timeout=1)  # again: nothing
        finally:
            sock.close()
