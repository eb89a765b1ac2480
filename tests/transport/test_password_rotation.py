"""After 3 wrong passwords the host says so and shows a new password (API and CLI)."""

from __future__ import annotations

import asyncio
import subprocess

import numpy as np
import pytest

from screencodec.capture import open_source
from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.errors import AuthenticationError
from screencodec.transport import VIEW, Host, Viewer, allow
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import AccessRefusedError, RefuseCode
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session.events import PasswordInvalidated, PasswordRotated

from .helpers import Freezable, bgr_equal, run, until
from .secure_fixtures import FAST
from .test_bruteforce import _wrong
from .test_cli import start_host


async def _burn(port: int, code: str, old: str) -> None:
    for n in range(3):
        with pytest.raises(AuthenticationError, match="wrong session password"):
            await connect_direct("127.0.0.1", port, code, _wrong(old, n), timeouts=FAST)
    with pytest.raises(AccessRefusedError) as info:  # the right one, too late
        await connect_direct("127.0.0.1", port, code, old, timeouts=FAST)
    assert info.value.code == RefuseCode.PASSWORD_INVALIDATED


def test_api_host_reports_invalidation_and_rotates() -> None:
    async def main() -> None:
        screen = Freezable(SyntheticDesktop(320, 240, scenario="typing", seed=2))
        host = Host(screen, consent=allow())
        creds = SessionCredentials()
        host.watch_credentials(creds, rotate_after=1.0)
        events = host.events()

        async def serve(channel: SecureChannel) -> None:
            await host.serve(channel)

        async with await listen_direct("127.0.0.1", 0, creds, serve) as listener:
            old = creds.password
            await _burn(listener.port, creds.code, old)
            first = await asyncio.wait_for(anext(events), 5)
            assert first == PasswordInvalidated(creds.display_code, 3, 1.0)
            rotated = await asyncio.wait_for(anext(events), 5)
            assert isinstance(rotated, PasswordRotated)
            assert rotated.generation == 2 and rotated.password == creds.password != old
            assert old not in repr(rotated) and rotated.password not in repr(rotated)
            with pytest.raises(AuthenticationError, match="wrong session password"):
                await connect_direct("127.0.0.1", listener.port, creds.code, old, timeouts=FAST)
            ch = await connect_direct("127.0.0.1", listener.port, creds.code, rotated.password)
            viewer = Viewer(ch)
            await viewer.start(VIEW)
            task = asyncio.ensure_future(viewer.run())
            await until(lambda: viewer.decoded >= 3, 20, "frames")
            screen.frozen = True
            await until(lambda: bgr_equal(viewer.framebuffer, screen.grab()), 20, "bit-exact")
            await viewer.bye()
            await task
        await host.close()

    run(main(), 60)


def test_cli_host_prints_a_new_password_that_works() -> None:
    host, code, old, port = start_host("--scenario", "idle")
    try:
        assert host.stdout is not None and host.stdin is not None

        async def burn() -> None:
            await _burn(port, code, old)

        run(burn())
        seen = ""
        while "New password:" not in seen or not seen.endswith("\n"):
            line = host.stdout.readline()
            assert line, f"host exited: {seen}"
            seen += line
        assert "3 wrong passwords were tried" in seen and "no longer works" in seen
        new = seen.split("New password:")[1].split()[0]
        assert new != old and old not in seen.split("New password:")[1]

        async def watch() -> None:
            ch = await connect_direct("127.0.0.1", port, code, new)
            viewer = Viewer(ch)
            start = asyncio.ensure_future(viewer.start(VIEW))
            await asyncio.to_thread(_answer_y, host)
            await start
            task = asyncio.ensure_future(viewer.run())
            # Bit-exact: the picture becomes one the host's synthetic desktop
            # rendered (a first picture may be lossy and refined after).
            local = open_source("synthetic", width=320, height=240, scenario="idle")
            rendered = {_bgr_key(local.grab()) for _ in range(600)}
            await until(lambda: viewer.decoded >= 3, 20, "frames")
            await until(
                lambda: viewer.framebuffer is not None
                and _bgr_key(viewer.framebuffer) in rendered, 20, "an exact picture",
            )
            await viewer.bye()
            await task

        run(watch(), 60)
        out, _ = host.communicate(timeout=20)
        assert "YOUR SCREEN IS BEING SHARED" in out
    finally:
        host.kill()
        host.wait()


def _answer_y(host: subprocess.Popen[str]) -> None:
    from .test_cli import answer_when_asked

    answer_when_asked(host)


def _bgr_key(frame: np.ndarray) -> bytes:
    return np.ascontiguousarray(np.asarray(frame)[..., :3]).tobytes()
