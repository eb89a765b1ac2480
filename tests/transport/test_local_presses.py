"""The local user's keys and clicks pause remote input, under a real Xvfb.

``LocalPressWatcher`` reads the X server's raw presses; ``XTestInjector``
claims the ones it made. The local user is another X client here (xdotool,
which also goes through XTEST: what the watcher tells apart is who pressed,
not which device). Through a real host session too: while the local user
types, the agent's keys are dropped and the agent is told why.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Iterator

import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.capture.xvfb import private_xvfb
from screencodec.cli.host import _start_watchers
from screencodec.transport import CONTROL, VIEW, Host, HostConfig, allow
from screencodec.transport.input.xpresses import LocalPressWatcher
from screencodec.transport.input.xtest import XTestInjector
from screencodec.transport.session import messages as m

from .conftest import connected
from .helpers import run, until


@pytest.fixture(scope="module")
def xdisplay() -> Iterator[str]:
    with private_xvfb(640, 480) as display:
        yield display


def _local(display: str, *args: str) -> None:
    """The local user at the keyboard or mouse: another X client."""
    subprocess.run(["xdotool", *args], check=True, env={**os.environ, "DISPLAY": display})


def _settled(watcher: LocalPressWatcher, presses: int) -> set[str]:
    """Read what arrived until ``presses`` reports were seen (up to 5 s);
    the devices of those that were the local user's."""
    deadline, local = time.monotonic() + 5, set()
    while watcher.presses < presses:
        assert time.monotonic() < deadline, (watcher.presses, presses)
        local.update(watcher.poll())
        time.sleep(0.01)
    return local | set(watcher.poll())


def test_the_agents_own_keys_and_clicks_are_not_the_local_user(xdisplay: str) -> None:
    inj = XTestInjector(xdisplay)
    watcher = LocalPressWatcher(lambda _: None, inj, xdisplay)
    try:
        # Plain, shifted, AltGr-free symbols, a keysym on no key (typed
        # through a spare keycode), Return; a click and a wheel.
        for ch in "hello, World! @3":
            inj.key(ord(ch), True, ch)
            inj.key(ord(ch), False, ch)
        inj.key(0xE9, True, "é")
        inj.key(0xE9, False, "é")
        inj.key(0xFF0D, True)
        inj.key(0xFF0D, False)
        inj.button(1, True)
        inj.button(1, False)
        inj.wheel(0, 3)
        assert inj.flush(5)
        # 16 characters, their Shifts (W, !, @), é, Return, the click, 3 wheel steps.
        assert _settled(watcher, 16 + 3 + 1 + 1 + 1 + 3) == set()
        assert watcher.local_presses == 0
        # An agent holding a key: the server repeats it, no new press.
        inj.key(ord("x"), True, "x")
        assert inj.flush(5)
        time.sleep(1.0)
        inj.key(ord("x"), False, "x")
        assert inj.flush(5)
        assert _settled(watcher, watcher.presses + 1) == set()
        time.sleep(0.1)
        assert not watcher.poll() and watcher.local_presses == 0
    finally:
        watcher.close()
        inj.close()


@pytest.mark.parametrize(
    ("action", "device"),
    [(("key", "a"), "keyboard"), (("key", "shift+Tab"), "keyboard"), (("click", "1"), "pointer")],
)
def test_a_local_key_or_click_is_the_local_user(
    xdisplay: str, action: tuple[str, str], device: str
) -> None:
    inj = XTestInjector(xdisplay)
    watcher = LocalPressWatcher(lambda _: None, inj, xdisplay)
    try:
        before = watcher.presses
        _local(xdisplay, *action)
        assert _settled(watcher, before + 1) == {device}
        assert watcher.local_presses >= 1
    finally:
        watcher.close()
        inj.close()


def test_the_local_user_pressing_the_agents_key_is_still_seen(xdisplay: str) -> None:
    """Each press the injector made explains one report: the same key
    pressed once more by the local user is left over, and is theirs."""
    inj = XTestInjector(xdisplay)
    watcher = LocalPressWatcher(lambda _: None, inj, xdisplay)
    try:
        before = watcher.presses
        inj.key(ord("q"), True, "q")
        inj.key(ord("q"), False, "q")
        assert inj.flush(5)
        _local(xdisplay, "key", "q")
        assert _settled(watcher, before + 2) == {"keyboard"}
        assert watcher.local_presses == 1
    finally:
        watcher.close()
        inj.close()


def test_local_typing_pauses_the_agents_keys_in_a_session(xdisplay: str) -> None:
    async def main() -> None:
        inj = XTestInjector(xdisplay)
        host = Host(
            SyntheticDesktop(320, 240, scenario="idle"),
            consent=allow(),
            injector=inj,
            config=HostConfig(local_input_pause=30.0),
        )
        watcher = LocalPressWatcher(host.local_input_activity, inj, xdisplay, period=0.02)
        task = asyncio.ensure_future(watcher.run())
        try:
            async with connected(host, level=VIEW | CONTROL) as (viewer, _, _):
                link = next(iter(host._runtime.links))
                # The agent types: not local input, so it keeps going.
                await viewer.key(ord("a"), True, "a")
                await viewer.key(ord("a"), False, "a")
                await until(lambda: link.gate.injected >= 2, 5, "the agent's keys injected")
                await until(lambda: watcher.presses >= 1, 5, "the watcher read the press")
                assert watcher.local_presses == 0 and link.gate.dropped_local == 0
                # The customer types into their own window: the agent's next
                # key is dropped, and the agent is told why.
                await asyncio.to_thread(_local, xdisplay, "type", "pw")
                await until(lambda: watcher.local_presses >= 1, 5, "the local keys seen")
                # The watcher counts in its poll thread and tells the host on
                # the loop afterwards: the key goes once the host has paused.
                runtime = host._runtime
                await until(lambda: runtime.local_input_until > time.monotonic(), 5, "the pause")
                await viewer.key(ord("b"), True, "b")
                await until(lambda: link.gate.dropped_local >= 1, 5, "the agent's key dropped")
                await until(
                    lambda: any(n.code == m.Notice.LOCAL_USER_ACTIVE for n in viewer.notices), 5,
                    "the agent told",
                )  # fmt: skip
                assert link.gate.injected == 2
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            inj.close()

    run(main())


def test_the_cli_host_watches_pointer_and_presses(
    xdisplay: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``screencodec host`` on X11 starts both watchers for an XTEST injector,
    and none without one."""
    monkeypatch.setenv("DISPLAY", xdisplay)
    desktop = SyntheticDesktop(320, 240, scenario="idle")

    async def main() -> None:
        inj = XTestInjector(xdisplay)
        host = Host(desktop, consent=allow(), injector=inj)
        plain = Host(desktop, consent=allow())
        try:
            tasks = _start_watchers(host)
            assert len(tasks) == 2
            assert _start_watchers(plain) == []
            await asyncio.sleep(0.1)  # both running: each closes its display when cancelled
            assert not any(t.done() for t in tasks)
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            await host.close()
            await plain.close()
            inj.close()

    run(main())


def test_the_device_is_one_the_audit_log_knows() -> None:
    host = Host(SyntheticDesktop(320, 240, scenario="idle"), consent=allow())
    for device in ("input", "pointer", "keyboard"):
        host.local_input_activity(device)
    with pytest.raises(ValueError, match="device must be one of"):
        host.local_input_activity("touchscreen")
    run(host.close())


def test_a_press_that_never_reached_the_server_stops_hiding_local_ones(xdisplay: str) -> None:
    """The injector's note of a press no report ever claimed (its request
    was lost) explains a report only until the watcher has read 2 s past
    it; then that key's local presses are seen again. Counted from the
    watcher's previous read, not from the clock."""
    from screencodec.transport.input import xtest

    inj = XTestInjector(xdisplay)
    try:
        inj._made_press("key", 38)  # noted, never sent
        made = time.monotonic()
        # A watcher that last read before the window ran out still claims it.
        assert inj.claims_press("key", 38, read_before=made + xtest._CLAIM_WINDOW - 0.5)
        inj._made_press("key", 38)
        inj._made_press("key", 38)
        later = time.monotonic() + xtest._CLAIM_WINDOW + 0.5
        assert not inj.claims_press("key", 38, read_before=later)  # forgotten, both
        assert not inj.claims_press("key", 38, read_before=later)
        assert not inj.claims_press("button", 1)  # never made
    finally:
        inj.close()
