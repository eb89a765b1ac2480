"""The host tells when its code stops working at the relay and when it works
again: once per change, never once per retry (library listener and the
``screencodec host`` lines), and the same code lets a viewer in afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import threading
import time
from collections.abc import AsyncIterator

import pytest

from free_port import free_port
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import connect_via_relay, host_via_relay
from screencodec.transport.connect.via_relay import RelayStatus
from screencodec.transport.relay import Relay
from warm_start import warm_popen

from .secure_fixtures import FAST, both_loops, run
from .test_cli import CLI, ENV, leave_once_shown, start_host, start_relay, stop
from .test_relay import wait_for_condition

#: Retries a dead relay must see before it comes back (each one a chance to
#: repeat the notice).
RETRIES = 4


@contextlib.asynccontextmanager
async def dead_relay(port: int) -> AsyncIterator[list[int]]:
    """Something on ``port`` that closes every connection unanswered (a relay
    that is down behind its address): yields the count of connections, each
    one a registration attempt of the host."""
    seen = [0]

    async def hang_up(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen[0] += 1
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", port)
    try:
        yield seen
    finally:
        server.close()
        await server.wait_closed()


@both_loops
def test_relay_down_is_told_once_and_back_once_then_the_same_code_works(
        loop_kind: str) -> None:  # fmt: skip
    async def main() -> None:
        creds = SessionCredentials()
        relay = Relay("127.0.0.1")
        await relay.start()
        port = relay.port
        told: list[RelayStatus] = []
        accepted: asyncio.Queue[SecureChannel] = asyncio.Queue()
        reg = await host_via_relay("127.0.0.1", port, creds, accepted.put_nowait,
                                   timeouts=FAST, ping_interval=0.5, backoff_max=0.3)
        reg.add_status_listener(told.append)
        try:
            await reg.wait_registered(10)
            assert [s.reachable for s in told] == [True]  # the first registration
            await relay.close()
            async with dead_relay(port) as attempts:
                await wait_for_condition(lambda: attempts[0] >= RETRIES, 20)
            # One line's worth, whatever the number of retries.
            assert [s.reachable for s in told] == [True, False], told
            lost = told[1]
            assert lost.relay == f"127.0.0.1:{port}"
            assert lost.code == creds.display_code
            assert lost.error
            assert reg.state in {"connecting", "backoff"}

            relay = Relay("127.0.0.1", port)
            await relay.start()
            await wait_for_condition(lambda: len(told) == 3, 20)
            back = told[2]
            assert back == RelayStatus(True, f"127.0.0.1:{port}", creds.display_code, "")
            assert reg.state == "registered" and relay.sessions == {creds.code}
            # The code it read out before the loss lets the agent in again.
            viewer = await connect_via_relay("127.0.0.1", port, creds.code, creds.password,
                                             timeouts=FAST)
            host = await asyncio.wait_for(accepted.get(), 10)
            await viewer.send(b"after the relay came back")
            assert await host.recv() == b"after the relay came back"
            await asyncio.gather(viewer.close(), host.close())
            assert len(told) == 3
        finally:
            await reg.close()
            await relay.close()
        assert len(told) == 3  # closing is no loss to tell

    run(main(), timeout=60, loop_kind=loop_kind)


def test_a_relay_unreachable_at_the_start_is_told_once_and_then_reachable() -> None:
    async def main() -> None:
        port = free_port()  # for the relay to start on later
        creds = SessionCredentials()
        told: list[RelayStatus] = []
        reg = await host_via_relay("127.0.0.1", port, creds, lambda _: None,
                                   timeouts=FAST, ping_interval=0.5, backoff_max=0.3)
        reg.add_status_listener(told.append)
        relay = Relay("127.0.0.1", port)
        try:
            async with dead_relay(port) as attempts:
                await wait_for_condition(lambda: attempts[0] >= RETRIES, 20)
            assert [s.reachable for s in told] == [False], told
            await relay.start()
            await wait_for_condition(lambda: len(told) == 2, 20)  # it kept retrying
            assert told[1].reachable and told[1].code == creds.display_code
        finally:
            await reg.close()
            await relay.close()

    run(main(), timeout=60)


class _Output:
    """A process's stdout, read by a thread as it comes (a question ends
    without a newline), so the test waits for text without blocking on a
    read that may never return.

    The thread reads a character at a time (the text wrapper may hold what
    came after the lines the test read before: an ``os.read`` of the pipe
    would miss it) and wakes a waiting test at each line's end; a text that
    ends without one (a question) is looked for every 50 ms (time50b: it
    woke the test and searched the whole text again for each character)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self._chunks: list[str] = []
        self._text = ""
        self._cond = threading.Condition()
        assert proc.stdout is not None
        self._out = proc.stdout
        threading.Thread(target=self._read, daemon=True).start()

    @property
    def text(self) -> str:
        """All it printed so far."""
        with self._cond:
            if self._chunks:
                self._text += "".join(self._chunks)
                self._chunks.clear()
            return self._text

    def _read(self) -> None:
        while ch := self._out.read(1):
            with self._cond:
                self._chunks.append(ch)
                if ch == "\n":
                    self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_for(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not (found := re.search(pattern, self.text)):
                left = deadline - time.monotonic()
                assert left > 0, f"{pattern!r} never printed: {self.text}"
                self._cond.wait(min(left, 0.05))
            return found


def test_host_command_says_when_the_relay_is_lost_and_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The host's attempts are spaced 2 s at most, not 10 (via_relay.BACKOFF_MAX,
    # through its test-only variable): it is back within 2 s of the relay.
    monkeypatch.setitem(ENV, "SCREENCODEC_TEST_RELAY_BACKOFF_MAX", "2")
    relay, port = start_relay(0)
    host = None
    try:
        host, code, password, _ = start_host(where=("--relay", f"127.0.0.1:{port}"))
        out = _Output(host)  # every line after the code and password
        relay.terminate()  # SIGTERM: the relay drains and exits
        relay.communicate(timeout=30)

        async def while_dead() -> None:
            async with dead_relay(port) as attempts:
                await wait_for_condition(lambda: attempts[0] >= RETRIES, 60)

        run(while_dead(), timeout=90)
        lost = out.wait_for(r"lost the relay[^\n]*\n").group(0)
        assert lost.startswith(f"lost the relay at 127.0.0.1:{port} (")
        assert lost.endswith(f"; retrying: the code {code} will work again when the relay is"
                             " back (you will be told)\n")

        relay, _ = start_relay(port)
        back = out.wait_for(r"connected to the relay[^\n]*\n", timeout=60).group(0)
        assert back == f"connected to the relay at 127.0.0.1:{port} again; the code {code}" \
                       " works\n"
        assert out.text.count("lost the relay") == 1, out.text
        assert out.text.count("connected to the relay") == 1, out.text

        # The same code lets the agent in (the host's user is asked as usual).
        view = warm_popen(
            [*CLI, "view", "--relay", f"127.0.0.1:{port}", "--code", code,
             "--password", password],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)  # fmt: skip
        try:
            assert host.stdin is not None
            out.wait_for(r"\[y/N\] $", timeout=60)
            host.stdin.write("y\n")
            host.stdin.flush()
            assert "you left the session" in leave_once_shown(view, r"\[view\] 320x240 decoded")
        finally:
            stop(view)
        out.wait_for("YOUR SCREEN IS BEING SHARED")
    finally:
        if host is not None:
            stop(host)
        stop(relay)
