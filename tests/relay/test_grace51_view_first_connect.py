"""grace51: ``screencodec view``'s first connection, made as the customer's
host has just lost its connection to the relay (a Wi-Fi roam), ends in a
session once the host is back, not in "no session with that code ...:
check the 9-digit code" (main: the relay said "no such session code", and
the view gave up).

A real ``screencodec host`` process registered at a real relay (in this
process) through a proxy the test cuts and keeps refusing (its link down),
a real ``screencodec view`` process dialling the relay itself; the link
comes back once the relay holds the view's join (no sleep as a sync).
"""

from __future__ import annotations

import asyncio

import pytest

from screencodec.transport.channel.codes import parse_code
from screencodec.transport.relay import Relay, RelayLimits
from transport.helpers import LinkProxy, until
from transport.test_cli import ENV, answer_when_asked, start_host, stop
from transport.test_view_cli_ux import read_until, viewer

from .cluster import run


def test_grace51_views_first_connect_as_its_host_blips_ends_in_a_session(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(ENV, "SCREENCODEC_TEST_RELAY_BACKOFF_MAX", "0.3")

    async def main() -> str:
        # A hold longer than the default 8 s: the view process's start, on a
        # loaded machine, must not outlast it.
        relay = Relay(limits=RelayLimits(lost_hold=30.0))
        await relay.start()
        proxy = LinkProxy(relay.port)
        await proxy.start()
        host, code, password, _ = await asyncio.to_thread(
            start_host, where=("--relay", f"127.0.0.1:{proxy.port}"))  # fmt: skip
        digits = parse_code(code)
        try:
            await until(lambda: digits in relay.sessions, 20, "the host registered")
            proxy.refusing = True  # the host's link fails and stays down ...
            proxy.cut()
            await until(lambda: digits not in relay.sessions, 10, "the relay sees it go")
            view = viewer("--relay", f"127.0.0.1:{relay.port}", "--code", code,
                          "--password", password)  # fmt: skip
            try:
                await until(lambda: relay.stats.held_for_host == 1, 60, "the view's join held")
                proxy.refusing = False  # ... until the view's join waits for it
                await asyncio.to_thread(answer_when_asked, host)
                return await asyncio.to_thread(read_until, view, "decoded", 60)
            finally:
                stop(view)
        finally:
            stop(host)
            await proxy.close()
            await relay.close()

    seen = run(main(), 120)
    assert "no session with that code" not in seen, seen
