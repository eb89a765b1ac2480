"""What ``screencodec host`` tells its user when Ctrl-C (or SIGTERM, a
logout) stops it while the agent is away (its link lost, 60 s to come back),
and when ``/end`` ends the session of an agent away beside one still there.

Found (walk36, a real relay, the agent's link cut by a proxy): the host's
last words were the banner alone, ``Screen sharing stopped.``; nothing
said that the agent could no longer come back, nor that the code no
longer works. Stopped while the agent was there, it said
``session with 'support' (...) ended: you ended it`` and ``Stopped.
Nothing is shared; the session code no longer works.``; ``/end`` while
the agent was away said ``'support' can no longer come back without asking
you`` (cli/host_commands.py ``_Commands._end``).

Expected: as ``/end`` says it, then the banner, then that the code no
longer works (the user may be reading it out to someone else).

Found too: ``/end`` with one agent there and one away said only ``you
ended the session with 'Bob' (...); closing``: the line for the one away
was kept for when no one else was there (docs/cli.md gives it after the
user's line: "then what follows from it (`'Carol' can no longer come back
without asking you` for an agent away)").

A real relay (in this process), a real ``screencodec host`` on a pty, a
real ``screencodec view`` whose link goes through a proxy the test cuts
(relay/test_ends36_host_end_relay.py's setup).
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Coroutine
from typing import Any

import pytest

from transport.test_view_cli_ux import read_until, stop, viewer

from .cluster import run
from .test_ends36_host_end_relay import RelayPtyHost, away_then, relay_and_proxy

#: What the host says last, in this order, stopped while 'support' is away.
LAST_WORDS = (
    "'support' can no longer come back without asking you",
    "##  Screen sharing stopped.",
    "Stopped. Nothing is shared; the session code no longer works.",
)


def _said_from_the_warning(main: Coroutine[Any, Any, str]) -> list[str]:
    """Runs *main* (which returns the host's terminal text): the lines,
    stripped, from its last "... type /end to prevent it)" on."""
    text = run(main, 60)
    after = text[text.rindex("type /end to prevent it)"):]
    return [line.strip() for line in after.splitlines() if line.strip()]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "SIGTERM"])
def test_a_host_stopped_while_its_agent_is_away_says_they_cannot_come_back(sig: int) -> None:
    async def main() -> str:
        async with relay_and_proxy() as (relay, proxy):
            host = RelayPtyHost(relay.port)
            try:
                view, status = await away_then(host, proxy, lambda: os.kill(host.proc.pid, sig))
                stop(view)
            finally:
                host.close()
            assert status == 0, host.text
            return host.text

    said = _said_from_the_warning(main())
    # Found: [..., '##  Screen sharing stopped.', '####...'], nothing after.
    assert [line for line in said if line in LAST_WORDS] == list(LAST_WORDS), said


def test_end_with_one_agent_there_and_one_away_says_the_one_away_cannot_come_back() -> None:
    async def main() -> str:
        async with relay_and_proxy() as (relay, proxy):
            host = RelayPtyHost(relay.port)
            agents = []
            try:
                code, password = await asyncio.to_thread(host.credentials)
                for n, (who, port) in enumerate((("Bob", relay.port), ("Alice", proxy.port)), 1):
                    agents.append(viewer("--relay", f"127.0.0.1:{port}", "--code", code,
                                         "--password", password, "--name", who))  # fmt: skip
                    await asyncio.to_thread(host.wait_for, rf"Question {n}: .*?\[y/N\] ")
                    host.type("y")
                    await asyncio.to_thread(read_until, agents[-1], "decoded")
                mark = len(host.text)
                proxy.refusing = True  # Alice's link fails and stays down
                proxy.cut()
                await asyncio.to_thread(host.wait_for, r"type /end to prevent it\)", mark)
                host.type("/end")
                status = await asyncio.to_thread(host.proc.wait, 20)
            finally:
                for agent in agents:
                    stop(agent)
                host.close()
            assert status == 0, host.text
            return host.text

    said = _said_from_the_warning(main())
    ended = [line for line in said if line.startswith("you ended the session")]
    assert ended and ended[0].startswith("you ended the session with 'Bob' ("), said
    # Found: no such line.
    assert "'Alice' can no longer come back without asking you" in said, said
    assert said.index("'Alice' can no longer come back without asking you") < said.index(
        "##  Screen sharing stopped."), said
