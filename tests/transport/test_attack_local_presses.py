"""Attacks on the local press watcher (``LocalPressWatcher``) and the
injector's press claims (``XTestInjector.claims_press``), under a real Xvfb.

The product rule: the local user's own input always wins, so the customer's
press must never be taken for the agent's, and the agent's own press must
never pause the agent. The local user here is a plain X client sending XTEST
presses (what the watcher tells apart is who pressed, not which device): fast
and exact, so counts can be asserted. ``_drained`` makes a read complete
without waiting on a clock: once the injector's and the local user's requests
made a round trip, the watcher's own round trip brings every report they
caused into its queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from Xlib import display as xdisplay_mod
from Xlib.error import ConnectionClosedError

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.capture.xvfb import private_xvfb
from screencodec.transport import CONTROL, VIEW, Host, HostConfig, Viewer, allow
from screencodec.transport.input.xpresses import LocalPressWatcher
from screencodec.transport.input.xtest import XTestInjector

from .conftest import connected
from .helpers import run, until
from .x_device_input import DeviceInput

_SHIFT_L = 0xFFE1
_ALTGR = 0xFE03


@pytest.fixture(scope="module")
def xdisplay() -> Iterator[str]:
    with private_xvfb(640, 480) as display:
        yield display


class _LocalUser:
    """The customer at the keyboard and mouse: another X client pressing as
    the server's own keyboard and mouse devices (keyrep45: through XTEST's
    device it shared the agent's key state, and its press of a key the agent
    held was dropped as a repeat, which the customer's keyboard's is not)."""

    def __init__(self, display: str) -> None:
        self.disp: Any = xdisplay_mod.Display(display)
        self._device = DeviceInput(self.disp)

    def keycode(self, ch: str) -> int:
        return int(self.disp.keysym_to_keycode(ord(ch)))

    def key(self, ch: str, times: int = 1) -> None:
        kc = self.keycode(ch)
        for _ in range(times):
            self._device.key(kc, True)
            self._device.key(kc, False)
        self.disp.sync()

    def click(self, button: int = 1) -> None:
        self._device.button(button, True)
        self._device.button(button, False)
        self.disp.sync()

    def is_down(self, keysym: int) -> bool:
        kc = int(self.disp.keysym_to_keycode(keysym))
        return bool(self.disp.query_keymap()[kc // 8] & (1 << (kc % 8)))

    def close(self) -> None:
        self.disp.close()


def _drained(watcher: LocalPressWatcher, inj: XTestInjector) -> set[str]:
    """Everything the injector was asked so far has reached the server, and
    every report it and the local user (synced) caused has been read: the
    devices of the local presses among them."""
    assert inj.flush(30)
    watcher._disp.sync()  # the server wrote its reports before this reply
    return set(watcher.poll())


@pytest.fixture
def parts(xdisplay: str) -> Iterator[tuple[XTestInjector, LocalPressWatcher, _LocalUser]]:
    inj = XTestInjector(xdisplay, reuse_after=0.01)
    watcher = LocalPressWatcher(lambda _: None, inj, xdisplay)
    local = _LocalUser(xdisplay)
    try:
        yield inj, watcher, local
    finally:
        local.close()
        watcher.close()
        inj.close()


def _type(inj: XTestInjector, text: str) -> None:
    for ch in text:
        inj.key(0, True, ch)
        inj.key(0, False, ch)


def test_a_fast_paste_of_exotic_text_with_modifiers_is_never_local(
    parts: tuple[XTestInjector, LocalPressWatcher, _LocalUser],
) -> None:
    """Hundreds of keys: shifted, AltGr-free and remapped through the spare
    keycodes (more symbols than slots, so they are reused), the agent's own
    Shift and AltGr held around them (the injector lets go of them and
    presses them again), clicks and wheel steps, read while they arrive."""
    inj, watcher, _ = parts
    text = 'Hello, World! ~{}|"<>?' + "éüßñ€→✓Ωæøπ∑" * 3 + "abc XYZ 123 !@#"
    for _ in range(4):
        _type(inj, text)
        inj.key(_SHIFT_L, True)
        _type(inj, "aZ1!é€")  # lowercase under the agent's Shift: Shift let go, pressed again
        inj.key(_SHIFT_L, False)
        inj.key(_ALTGR, True)
        _type(inj, "q€a")
        inj.key(_ALTGR, False)
        inj.button(1, True)
        inj.button(1, False)
        inj.button(3, True)
        inj.button(3, False)
        inj.wheel(-2, 5)
    while not inj.flush(0.02):  # read while the agent is still typing, as run() does
        watcher.poll()
    assert _drained(watcher, inj) == set()
    assert inj.remaps > 10 and inj.dropped_keys == 0
    assert watcher.presses >= 4 * len(text)
    assert watcher.local_presses == 0
    # Every press the injector noted was reported once and explained one report.
    assert len(inj._made) == 0


def test_a_watcher_reading_late_within_the_window_sees_no_local_press(
    parts: tuple[XTestInjector, LocalPressWatcher, _LocalUser],
) -> None:
    inj, watcher, _ = parts
    _type(inj, "Late reader!")
    inj.wheel(0, 2)
    assert inj.flush(5)
    # An event loop busy for 1.5 s: the reports wait in the socket.
    run(asyncio.sleep(1.5))
    assert _drained(watcher, inj) == set()
    assert watcher.presses >= 14 and watcher.local_presses == 0


def test_a_watcher_blocked_three_seconds_takes_no_agent_press_for_local(
    parts: tuple[XTestInjector, LocalPressWatcher, _LocalUser],
) -> None:
    inj, watcher, _ = parts
    watcher.poll()
    _type(inj, "hello")
    assert inj.flush(5)
    run(asyncio.sleep(3.0))
    assert _drained(watcher, inj) == set()
    assert watcher.local_presses == 0


def test_a_paste_longer_than_the_claim_memory_is_never_local(
    parts: tuple[XTestInjector, LocalPressWatcher, _LocalUser],
) -> None:
    inj, watcher, _ = parts
    watcher.poll()
    _type(inj, "abcdefghij" * 450)  # no Shift: exactly 4,500 presses
    assert _drained(watcher, inj) == set()
    assert watcher.presses == 4500 and watcher.local_presses == 0


def test_release_all_and_close_make_no_local_press(xdisplay: str) -> None:
    """release_all and close let go of keys and buttons (the agent's Shift,
    suppressed under a lowercase key, is not pressed again): nothing the
    watcher reads is the local user's, before or after the injector is gone."""
    inj = XTestInjector(xdisplay, reuse_after=0.01)
    watcher = LocalPressWatcher(lambda _: None, inj, xdisplay)
    local = _LocalUser(xdisplay)
    try:
        inj.key(_SHIFT_L, True)
        inj.key(_ALTGR, True)
        inj.key(0, True, "€")
        inj.button(1, True)
        inj.key(0, True, "a")  # Shift and AltGr let go for it
        inj.release_all()
        inj.key(_SHIFT_L, True)
        inj.key(0, True, "b")
        inj.key(0, True, "é")  # a spare keycode, emptied by close
        assert _drained(watcher, inj) == set()
        inj.close()
        watcher._disp.sync()
        assert watcher.poll() == []
        assert watcher.local_presses == 0
        assert not local.is_down(_SHIFT_L) and not local.is_down(ord("b"))
        # The injector is gone, the watcher still runs: the local user is seen.
        local.key("k")
        local.click(2)
        assert _drained(watcher, inj) == {"keyboard", "pointer"}
        assert watcher.local_presses == 2
    finally:
        local.close()
        watcher.close()
        inj.close()


def test_interleaved_presses_of_the_same_key_are_counted_exactly(
    parts: tuple[XTestInjector, LocalPressWatcher, _LocalUser],
) -> None:
    """Agent and local user press the same keys and button, in every order
    and across reads: a local press may take an agent's claim, but then that
    agent's press is the one left over, so each local press counts once and
    no agent press is left counted."""
    inj, watcher, local = parts
    expected, seen = 0, set()
    for i in range(30):
        if i % 3 == 0:  # local first, agent after, one read
            local.key("a")
            _type(inj, "a")
        elif i % 3 == 1:  # agent first (not yet sent), local, then read
            _type(inj, "a")
            local.key("a", 2)
            expected += 1
        else:  # a read between the two
            _type(inj, "aa")
            seen.update(watcher.poll())
            local.click(1)
            inj.button(1, True)
            inj.button(1, False)
        expected += 1
        if i % 5 == 0:
            seen.update(watcher.poll())
    assert seen | _drained(watcher, inj) == {"keyboard", "pointer"}
    assert watcher.local_presses == expected
    assert len(inj._made) == 0


def test_local_presses_while_the_agent_holds_a_key_are_seen(
    parts: tuple[XTestInjector, LocalPressWatcher, _LocalUser],
) -> None:
    """The agent holds x (its viewer repeats the keydown, as a browser does):
    not local; the local user's y, the held x itself, and a click are."""
    inj, watcher, local = parts
    inj.key(ord("x"), True, "x")
    for _ in range(20):
        inj.key(ord("x"), True, "x")
    assert _drained(watcher, inj) == set()
    assert watcher.presses == 21 and len(inj._made) == 0
    local.key("y")
    local.key("x")
    local.click(1)
    assert _drained(watcher, inj) == {"keyboard", "pointer"}
    assert watcher.local_presses == 3
    inj.key(ord("x"), False, "x")
    assert _drained(watcher, inj) == set()


def test_ten_thousand_presses_keep_memory_bounded(
    parts: tuple[XTestInjector, LocalPressWatcher, _LocalUser],
) -> None:
    inj, watcher, local = parts
    local.key("l", 10_000)
    assert _drained(watcher, inj) == {"keyboard"}
    assert watcher.local_presses == 10_000 and len(inj._made) == 0
    # The agent's 10,000 presses with nobody reading: one entry for the key
    # (its count), not one per press.
    _type(inj, "m" * 10_000)
    assert inj.flush(30)
    assert len(inj._made) == 1


def _xvfb_children() -> set[int]:
    """The pids of the Xvfb servers this process started (private_xvfb's children)."""
    me, found = str(os.getpid()), set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                comm, rest = f.read().rsplit(") ", 1)
        except OSError:
            continue
        if comm.endswith("(Xvfb") and rest.split()[1] == me:
            found.add(int(pid))
    return found


@contextlib.contextmanager
def _doomed_xvfb() -> Iterator[tuple[str, XTestInjector, LocalPressWatcher, Callable[[], None]]]:
    """A private Xvfb with an injector and a watcher on it, and a function
    that kills the server. The dead connections' sockets are closed here
    (neither close() gets to do it on a dead server)."""
    before = _xvfb_children()
    with private_xvfb(320, 240) as display:
        (pid,) = _xvfb_children() - before
        inj = XTestInjector(display)
        watcher = LocalPressWatcher(lambda _: None, inj, display, period=0.01)
        sockets = [inj._disp.display.socket, watcher._disp.display.socket]
        try:
            yield display, inj, watcher, lambda: os.kill(pid, signal.SIGKILL)
        finally:
            inj.close(timeout=5)
            with contextlib.suppress(Exception):
                watcher.close()
            for sock in sockets:
                sock.close()


def test_the_watcher_ends_when_the_x_server_dies() -> None:
    """The server is killed under a running watcher: ``run`` ends (with the
    connection's error), it does not hang the host's loop."""
    with _doomed_xvfb() as (_, _, watcher, kill):

        async def main() -> BaseException | None:
            task = asyncio.ensure_future(watcher.run())
            await asyncio.sleep(0.1)
            kill()
            done, _ = await asyncio.wait([task], timeout=10)
            assert done, "the watcher hung on a dead X server"
            return task.exception()

        assert run(main()) is not None


def _read_until_gone(watcher: LocalPressWatcher) -> None:
    for _ in range(1000):
        watcher.poll()
        run(asyncio.sleep(0.01))


def test_closing_a_watcher_after_the_x_server_died_is_quiet() -> None:
    with _doomed_xvfb() as (_, _, watcher, kill):
        kill()
        with pytest.raises(ConnectionClosedError):
            _read_until_gone(watcher)
        watcher.close()
        watcher.close()


def test_xvfb_cannot_be_started_without_xinput() -> None:
    """The no-XInput-2.2 refusal cannot be reached with Xvfb: it keeps
    XInput whatever ``-extension XInputExtension`` says, and the watcher
    builds and sees the local user there. (A display that cannot be opened
    is not tried either: python-xlib leaks the sockets of a failed connect.)"""
    with private_xvfb(320, 240, args=["-extension", "XInputExtension"]) as display:
        inj = XTestInjector(display)
        watcher = LocalPressWatcher(lambda _: None, inj, display)
        local = _LocalUser(display)
        try:
            local.key("n")
            assert _drained(watcher, inj) == {"keyboard"}
        finally:
            local.close()
            watcher.close()
            inj.close()


@dataclasses.dataclass
class _Session:
    inj: XTestInjector
    watcher: LocalPressWatcher
    local: _LocalUser
    viewer: Viewer
    gate: Any


@contextlib.asynccontextmanager
async def _host_session(display: str, pause: float) -> AsyncIterator[_Session]:
    """A host on ``display`` with its press watcher running and an agent
    holding CONTROL; the local user beside them."""
    inj = XTestInjector(display)
    host = Host(
        SyntheticDesktop(320, 240, scenario="idle"),
        consent=allow(),
        injector=inj,
        config=HostConfig(local_input_pause=pause),
    )
    watcher = LocalPressWatcher(host.local_input_activity, inj, display, period=0.02)
    task = asyncio.ensure_future(watcher.run())
    local = _LocalUser(display)
    try:
        async with connected(host, level=VIEW | CONTROL) as (viewer, _, _):
            gate = next(iter(host._runtime.links)).gate
            yield _Session(inj, watcher, local, viewer, gate)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        local.close()
        inj.close()
        await host.close()


def test_local_typing_holds_off_the_agent_until_the_pause_runs_out(xdisplay: str) -> None:
    """In a host session, the customer types steadily while the agent keeps
    typing: once the first local press is seen no agent key gets through
    while the local typing goes on (a press every 30 ms), each
    local press is counted once and none of the agent's, and the agent's
    keys go through again once the local user stopped. (A 3 s pause: room
    for a loaded CI machine's stalls, which a 1 s one would let an agent
    key through.)"""

    async def main() -> None:
        async with _host_session(xdisplay, 3.0) as ses:
            gate, watcher = ses.gate, ses.watcher
            stop = asyncio.Event()

            async def agent() -> None:
                while not stop.is_set():
                    await ses.viewer.key(ord("b"), True, "b")
                    await ses.viewer.key(ord("b"), False, "b")
                    await asyncio.sleep(0.02)

            typing = asyncio.ensure_future(agent())
            await until(lambda: gate.injected >= 10, 5, "the agent typing")
            assert watcher.local_presses == 0
            for _ in range(3):  # the first local press, then the pause settles in
                await asyncio.to_thread(ses.local.key, "z")
                await asyncio.sleep(0.03)
            await until(lambda: watcher.local_presses >= 1, 5, "the local keys seen")
            await until(lambda: gate.dropped_local >= 1, 5, "an agent key dropped")
            injected = gate.injected
            for _ in range(30):
                await asyncio.to_thread(ses.local.key, "z")
                await asyncio.sleep(0.03)
            assert gate.injected == injected, "an agent key got through local typing"
            assert gate.dropped_local >= 20
            await until(lambda: gate.injected > injected + 4, 10, "the agent resumed")
            stop.set()
            await typing
            watcher.poll()
            _drained(watcher, ses.inj)
            assert watcher.local_presses == 33

    run(main())


def test_the_agents_held_shift_is_let_go_while_the_local_user_types(xdisplay: str) -> None:
    """The agent holds Shift, the customer starts typing, and the agent's
    release comes while the customer's pause holds: the release is dropped
    (counted), yet the server's Shift goes up before the customer's next key.
    (A 60 s pause: nothing here waits for it to run out, and a loaded CI
    machine's stall of a few seconds must not end it before the release.)"""

    async def main() -> None:
        async with _host_session(xdisplay, 60.0) as ses:
            gate, local = ses.gate, ses.local
            await ses.viewer.key(_SHIFT_L, True)
            await until(lambda: gate.injected >= 1, 5, "the agent's Shift")
            assert ses.inj.flush(5) and local.is_down(_SHIFT_L)
            await asyncio.to_thread(local.key, "p")
            # The watcher counts the press on its thread and tells the host
            # on the loop after: wait for the host's pause itself.
            host = gate._link.host
            await until(lambda: host.local_input_until > time.monotonic(), 5, "the pause")
            await ses.viewer.key(_SHIFT_L, False)
            await until(lambda: gate.dropped_local + gate.injected >= 2, 10, "the release handled")
            assert gate.dropped_local == 1, "the release went through the customer's pause"
            assert ses.inj.flush(5)
            await asyncio.to_thread(local.key, "w")
            held = local.is_down(_SHIFT_L)
            assert not held, "the customer types with the agent's Shift down"

    run(main())
