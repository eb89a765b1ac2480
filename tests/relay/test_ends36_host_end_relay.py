"""How an agent away (its link cut, ``screencodec view`` reconnecting
through a relay) learns that ``screencodec host`` ended the session
meanwhile, for each way its user ends it on a terminal: ``/end`` typed
(with ``--once``: the host then closes) and Ctrl-C. endwords35 tested
SIGTERM: the host releases its code at the relay as it stops (RELAY_RELEASE),
and the relay tells the agent "the host ended this session". The other two
take the same path (cli/host.py ``_share``'s end) but were untested; were
the code not released, the agent would be told the host's program stopped
(status 5), or, on a relay that had not noticed, "no such session code"
after a wait.

Expected: the agent's last line says the host's user ended the session
while it was away, exit status 0 (ENDED), as for SIGTERM.

A real relay (in this process), a real ``screencodec host`` on a pty, a
real ``screencodec view``; the agent reaches the relay through a proxy the
test cuts and keeps refusing, the host at the relay's own port.
"""

from __future__ import annotations

import asyncio
import os
import pty
import signal
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from screencodec.transport.relay import Relay
from transport.helpers import LinkProxy
from transport.test_attack_prompts import PtyHost
from transport.test_cli import CLI, ENV
from transport.test_view_cli_ux import read_until, stop, viewer

from .cluster import run

#: The view's last line when the host's user ended the session while it was away.
ENDED_AWAY = ("session ended: the connection was lost, and the host's user had ended the"
              " session while you were away")  # fmt: skip


class RelayPtyHost(PtyHost):
    """``screencodec host --relay HOST:PORT`` on a pty, as :class:`PtyHost`
    (synthetic source, ``--control none`` unless ``args`` say otherwise,
    ``--once``); ``env`` added to the test environment."""

    def __init__(self, relay: int, *args: str, env: dict[str, str] | None = None) -> None:
        master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            [*CLI, "host", "--relay", f"127.0.0.1:{relay}", "--source", "synthetic",
             "--size", "160x120", "--control", "none", "--once", *args],
            stdin=slave, stdout=slave, stderr=slave, env={**ENV, **(env or {})},
            close_fds=True,
        )  # fmt: skip
        self._collect(master, slave)

    def credentials(self) -> tuple[str, str]:
        """The session code and password it shows."""
        found = self.wait_for(r"Session code: ([\d ]+)\nPassword:\s+(\S+)\n")
        return found.group(1).strip(), found.group(2)


@asynccontextmanager
async def relay_and_proxy() -> AsyncIterator[tuple[Relay, LinkProxy]]:
    """A relay, and a proxy in front of it for the agent's link."""
    relay = Relay()
    await relay.start()
    proxy = LinkProxy(relay.port)
    await proxy.start()
    try:
        yield relay, proxy
    finally:
        await proxy.close()
        await relay.close()


async def away_then(host: RelayPtyHost, proxy: LinkProxy,
                    end: Callable[[], None]) -> tuple[subprocess.Popen[bytes], int]:  # fmt: skip
    """The agent joins ``host`` through ``proxy``; its link is cut and stays
    down until the host, told the agent may come back, is ended by
    ``end()`` and has exited; then the link comes back. The agent's view
    (still running: it reconnects) and the host's exit status."""
    code, password = await asyncio.to_thread(host.credentials)
    view = viewer("--relay", f"127.0.0.1:{proxy.port}", "--code", code, "--password", password)
    try:
        await asyncio.to_thread(host.say_yes, 1)
        await asyncio.to_thread(read_until, view, "decoded")
        mark = len(host.text)
        proxy.refusing = True  # the agent's link fails and stays down ...
        proxy.cut()
        await asyncio.to_thread(read_until, view, "reconnecting for up to")
        await asyncio.to_thread(host.wait_for, r"type /end to prevent it\)", mark)
        end()  # ... while the host's user ends the session
        status = await asyncio.to_thread(host.proc.wait, 20)
        proxy.refusing = False
    except BaseException:
        stop(view)
        raise
    return view, status


def ended(view: subprocess.Popen[bytes]) -> tuple[str, int]:
    """The view's last line and its exit status, once it has exited."""
    try:
        out, err = view.communicate(timeout=60)
    finally:
        stop(view)
    lines = out.decode(errors="replace").strip().splitlines()
    return (lines[-1] if lines else err.decode(errors="replace")), view.returncode


@pytest.mark.parametrize("how", ["/end", "Ctrl-C"])
def test_an_agent_away_is_told_the_hosts_user_ended_the_session(how: str) -> None:
    async def main() -> None:
        async with relay_and_proxy() as (relay, proxy):
            host = RelayPtyHost(relay.port)
            try:
                def end() -> None:
                    if how == "/end":
                        host.type("/end")
                    else:  # what the terminal sends the host for Ctrl-C
                        os.kill(host.proc.pid, signal.SIGINT)

                view, status = await away_then(host, proxy, end)
                line, view_status = await asyncio.to_thread(ended, view)
            finally:
                host.close()
            assert status == 0, host.text
            said = "you ended the session; closing" if how == "/end" else "Screen sharing stopped"
            assert said in host.text, host.text
            # Not "...; could not reconnect: no such session code" after
            # the minute, nor "the host no longer answers" (status 5).
            assert line == ENDED_AWAY, line
            assert view_status == 0  # ENDED

    run(main(), 90)
