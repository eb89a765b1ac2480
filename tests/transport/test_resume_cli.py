"""The host's terminal when an agent's link is lost and the agent comes back
with its session's ticket: told, not asked (transport/session/resume.py)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import Awaitable, Callable

import pytest

from loop_thread import LoopThread
from screencodec.transport import VIEW, Viewer
from screencodec.transport.connect import connect_direct

from .helpers import LinkProxy, ended_lost, run, until
from .secure_fixtures import FAST
from .test_cli import answer_when_asked, start_host, stop
from .test_view_cli_ux import read_until, viewer
from .test_view_cli_ux import stop as stop_view


def _read_until(host: subprocess.Popen[str], text: str) -> str:
    """The host's output up to and including ``text``."""
    assert host.stdout is not None
    seen = ""
    while text not in seen:
        ch = host.stdout.read(1)
        assert ch, f"host exited before printing {text!r}: {seen!r}"
        seen += ch
    return seen


_Joined = tuple[Viewer, "asyncio.Task[str]"]
_Join = Callable[[bytes], Awaitable[_Joined]]


async def _agent_in(host: subprocess.Popen[str], port: int, code: str, password: str
                    ) -> tuple[LinkProxy, _Join, _Joined]:  # fmt: skip
    """The test's agent joins the CLI host through a proxy (the host's user
    says yes) and has its ticket and a picture; also how it joins again."""
    proxy = LinkProxy(port)
    await proxy.start()

    async def join(resume: bytes | None) -> _Joined:
        ch = await connect_direct("127.0.0.1", proxy.port, code, password, timeouts=FAST)
        viewer = Viewer(ch, who="Alice", resume=resume)
        await viewer.start(VIEW)
        return viewer, asyncio.ensure_future(viewer.run())

    answering = asyncio.ensure_future(asyncio.to_thread(answer_when_asked, host))
    viewer, task = await join(None)
    await answering
    await until(lambda: viewer.resume_ticket is not None and viewer.decoded >= 1, 10, "ticket")
    return proxy, join, (viewer, task)


@pytest.mark.parametrize("drop", ["noticed", "unnoticed"])
def test_host_cli_tells_of_a_lost_link_and_of_the_agent_coming_back_unasked(drop: str) -> None:
    """'noticed': the link is reset, the host's user is told the agent may
    come back unasked. 'unnoticed': the agent's side died, the host's did
    not; the agent's ticket moves the session to its new connection (the
    old one ends), and a --once host must not take that end for the
    session's and close under the agent. Either way its user is told the
    agent is back, and is not asked."""
    host, code, password, port = start_host()
    try:
        async def main() -> None:
            proxy, join, (viewer, task) = await _agent_in(host, port, code, password)
            if drop == "noticed":
                proxy.cut()
            else:
                proxy.abandon()
            await ended_lost(viewer, task)
            told = ""
            if drop == "noticed":
                told = await asyncio.to_thread(_read_until, host, "(type /end to prevent it)")
                assert "'Alice' may reconnect within 60 s" in told
            assert viewer.resume_ticket is not None
            again, task2 = await join(viewer.resume_ticket)
            back = await asyncio.to_thread(_read_until, host, "stops sharing)")
            # Expected: no question on the host's terminal, and the user told.
            assert "[y/N]" not in told + back and "closing" not in back
            assert "'Alice' (127.0.0.1:" in back and "is back" in back
            assert "they see your screen again, as you allowed" in back
            # The session goes on: frames keep coming after it came back.
            seen = again.decoded
            await again.request_keyframe()
            await until(lambda: again.decoded > seen, 10, "a frame after the resume")
            assert not task2.done() and host.poll() is None
            await again.bye()
            await task2
            # Closed once the host read the Bye: the proxy's close resets the
            # link, and a reset drops what the host had not read yet.
            await asyncio.to_thread(_read_until, host, "ended: the agent left")
            await proxy.close()

        run(main(), 60)
        # --once: the session that came back ended, so the host closes.
        assert host.wait(20) == 0
    finally:
        stop(host)


class _ProxyThread(LoopThread):
    """A LinkProxy (or ``proxy_type``, one of its kind) on an event loop of
    its own thread (the CLI programs on both ends are separate processes)."""

    def __init__(self, target: int, proxy_type: type[LinkProxy] = LinkProxy) -> None:
        super().__init__()
        self.proxy = proxy_type(target)
        self.call(self.proxy.start())
        self.port = self.proxy.port

    def cut(self) -> None:
        self.loop.call_soon_threadsafe(self.proxy.cut)

    async def aclose(self) -> None:
        await self.proxy.close()


def test_view_cli_reconnects_after_a_lost_link_and_the_host_is_not_asked_again() -> None:
    host, code, password, port = start_host()
    proxy = _ProxyThread(port)
    try:
        view = viewer(f"127.0.0.1:{proxy.port}", "--code", code, "--password", password)
        try:
            answer_when_asked(host)
            read_until(view, "[view] 320x240 decoded")
            proxy.cut()
            seen = read_until(view, "back in the session, granted: view")
            assert "reconnecting for up to 60 s" in seen
            told = _read_until(host, "stops sharing)")
            # Expected: the host's user is told, not asked again.
            assert "[y/N]" not in told and "is back" in told
            view.send_signal(signal.SIGINT)
            out, err = view.communicate(timeout=30)
        finally:
            stop_view(view)
        assert view.returncode == 0, err
        assert "session ended: you left the session" in out.decode()
        assert host.wait(20) == 0  # --once: the resumed session was the one
    finally:
        proxy.close()
        stop(host)
