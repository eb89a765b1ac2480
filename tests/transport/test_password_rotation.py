"""A wrong password: the host tells its user someone may be guessing, and the
password stays valid (API and CLI). An application may still change it."""

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
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session.events import PasswordGuessed

from .helpers import Freezable, bgr_equal, run, until
from .secure_fixtures import FAST
from .test_bruteforce import _wrong
from .test_cli import start_host, stop


async def _wrong_once(port: int, code: str, password: str) -> None:
    with pytest.raises(AuthenticationError, match="wrong session password"):
        await connect_direct("127.0.0.1", port, code, _wrong(password), timeouts=FAST)


def test_api_host_reports_wrong_passwords_and_the_password_stays_valid() -> None:
    async def main() -> None:
        screen = Freezable(SyntheticDesktop(320, 240, scenario="typing", seed=2))
        host = Host(screen, consent=allow())
        creds = SessionCredentials()
        host.watch_credentials(creds)
        events = host.events()

        async def serve(channel: SecureChannel) -> None:
            await host.serve(channel)

        async with await listen_direct("127.0.0.1", 0, creds, serve) as listener:
            for _ in range(2):
                await _wrong_once(listener.port, creds.code, creds.password)
            first = await asyncio.wait_for(anext(events), 5)
            second = await asyncio.wait_for(anext(events), 5)
            assert first == PasswordGuessed(creds.display_code, 1, "127.0.0.1", 0.0)
            assert (second.failed, second.source) == (2, "127.0.0.1")  # type: ignore[union-attr]
            assert creds.password not in repr(first)
            # Not invalidated: the password the user read out still works.
            ch = await connect_direct("127.0.0.1", listener.port, creds.code, creds.password)
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


def test_an_application_may_still_change_the_password() -> None:
    async def main() -> None:
        creds = SessionCredentials()
        async with await listen_direct("127.0.0.1", 0, creds, lambda ch: ch.close()) as listener:  # type: ignore[arg-type,return-value]
            old = creds.password
            new = creds.rotate_password()
            assert creds.generation == 2 and new != old
            with pytest.raises(AuthenticationError, match="wrong session password"):
                await connect_direct("127.0.0.1", listener.port, creds.code, old, timeouts=FAST)
            ch = await connect_direct("127.0.0.1", listener.port, creds.code, new, timeouts=FAST)
            await ch.close()

    run(main())


def test_cli_host_warns_of_a_wrong_password_and_the_same_password_works() -> None:
    host, code, password, port = start_host("--scenario", "idle")
    try:
        assert host.stdout is not None and host.stdin is not None
        run(_wrong_once(port, code, password))
        seen = ""
        while "guesses are slowed down" not in seen:
            line = host.stdout.readline()
            assert line, f"host exited: {seen}"
            seen += line
        assert "A wrong password was tried" in seen and "from 127.0.0.1" in seen
        assert "stays valid" in seen and password not in seen

        async def watch() -> None:
            ch = await connect_direct("127.0.0.1", port, code, password)
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
        stop(host)  # closes its pipes too


def _answer_y(host: subprocess.Popen[str]) -> None:
    from .test_cli import answer_when_asked

    answer_when_asked(host)


def _bgr_key(frame: np.ndarray) -> bytes:
    return np.ascontiguousarray(np.asarray(frame)[..., :3]).tobytes()
