"""XTEST injection for real, under a private Xvfb (required: fails if missing)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from screencodec.transport import CONTROL, VIEW, Host, HostConfig, allow
from screencodec.transport.input.xtest import LocalPointerWatcher, XTestInjector

from .conftest import connected
from .helpers import ScriptedScreen, bgr_equal, run, until


@pytest.fixture(scope="module")
def xdisplay() -> Iterator[str]:
    xvfb = shutil.which("Xvfb")
    assert xvfb is not None, "Xvfb is required for the XTEST tests"
    r, w = os.pipe()
    proc = subprocess.Popen(
        [
            xvfb,
            "-displayfd",
            str(w),
            "-screen",
            "0",
            "800x600x24",
            "-nolisten",
            "tcp",
            # Without -noreset the server resets when its last client leaves, and a
            # client connecting during that reset is dropped (ECONNRESET in CI).
            "-noreset",
        ],
        pass_fds=(w,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(w)
    try:
        with os.fdopen(r) as f:
            number = f.readline().strip()
        assert number.isdigit(), "Xvfb did not report a display"
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(10)


def test_xtest_pointer_move_is_seen_by_query_pointer(xdisplay: str) -> None:
    inj = XTestInjector(xdisplay)
    try:
        inj.pointer_move(123, 45)
        assert inj.query_pointer() == (123, 45)
        inj.pointer_move(5000, -3)  # clamped to the screen
        assert inj.query_pointer() == (799, 0)
        inj.button(1, True)
        inj.release_all()
        inj.wheel(0, 2)
        inj.key(0x61, True, "a")
        inj.key(0x61, False, "a")
    finally:
        inj.close()


def test_remote_control_moves_the_real_pointer(xdisplay: str) -> None:
    async def main() -> None:
        inj = XTestInjector(xdisplay)
        host = Host(
            ScriptedScreen(),
            consent=allow(),
            injector=inj,
            config=HostConfig(local_input_pause=0.5),
        )
        local: list[int] = []

        def on_local() -> None:
            local.append(1)
            host.local_input_activity()

        watcher = LocalPointerWatcher(on_local, inj, xdisplay, period=0.02)
        wtask = asyncio.ensure_future(watcher.run())
        try:
            async with connected(host, level=VIEW | CONTROL) as (viewer, _, _):
                await viewer.pointer_move(200, 100)  # monitor 1 starts at (0, 0)
                await until(lambda: inj.query_pointer() == (200, 100), 5)
                await asyncio.sleep(0.1)
                assert local == []  # our own injection is not "local input"
                # The local user moves the mouse (another X client): remote input pauses.
                subprocess.run(
                    ["xdotool", "mousemove", "10", "10"],
                    check=True,
                    env={**os.environ, "DISPLAY": xdisplay},
                )
                await until(lambda: local != [], 5, "watcher saw the local move")
                await viewer.pointer_move(300, 200)
                link = next(iter(host._runtime.links))
                await until(lambda: link.gate.dropped_local >= 1, 5)
                assert inj.query_pointer() == (10, 10)
        finally:
            wtask.cancel()
            await asyncio.gather(wtask, return_exceptions=True)
            inj.close()

    run(main())


def test_real_screen_capture_streams_bit_exact(xdisplay: str) -> None:
    from screencodec.capture import ScreenSource

    # Real content that changes: an xterm printing lines, then still.
    script = "for i in $(seq 1 40); do echo line $i of the build log; sleep 0.05; done; sleep 60"
    term = subprocess.Popen(
        ["xterm", "-geometry", "80x24+10+10", "-e", "sh", "-c", script],
        env={**os.environ, "DISPLAY": xdisplay},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    async def main() -> None:
        host = Host(lambda i: ScreenSource(i, display=xdisplay), consent=allow())
        async with connected(host) as (viewer, _, _):
            await until(lambda: viewer.decoded >= 3, 10)  # the xterm drew and printed
            assert [m.index for m in viewer.monitors][:2] == [0, 1]
            probe = ScreenSource(1, display=xdisplay)
            try:
                await until(lambda: bgr_equal(viewer.framebuffer, probe.grab()), 10)
            finally:
                probe.close()
            assert viewer.framebuffer is not None
            assert viewer.framebuffer.shape[:2] == (600, 800)
            assert int(viewer.framebuffer[..., :3].max()) > 0  # not a black screen

    try:
        run(main())
    finally:
        term.kill()
        term.wait(5)
