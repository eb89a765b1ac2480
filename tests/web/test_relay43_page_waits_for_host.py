"""relay43 on the page: ``view --web --relay A`` started while A's session
directory recovers (a grace: a Redis that lost its keys, a new cluster)
and the customer's host has not registered yet. The relay says "the
session directory is recovering: this code's host may not have registered
again yet"; the web viewer's first connection waits on those words as
``view``'s does. Expected: the terminal says it waits for the customer's
host, and once the host registers (as the grace ends) the page goes on to
"Waiting for the user to accept...".

Found before relay43: the relay said "no such session code" and the page
read "Could not connect: ... no such session code". Real redis-server, a
``screencodec relay`` process, ``view --web`` on a pty, headless Chromium,
the host a registration in a thread of the test (its code known first)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import redis as redis_client
from tests.relay.cluster import RedisServer, RelayProcess
from tests.relay.test_failover42_host_moves import FAST
from tests.transport.test_view_cli_send_screens import PtyView

from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import host_via_relay

from .test_newuser2_page_states import _text


def statuses_until(browser: Any, last: str, within: float = 40) -> list[str]:
    """The page's status line, each different text it showed in turn, until
    it shows ``last`` (within ``within`` seconds)."""
    said: list[str] = []
    deadline = time.monotonic() + within
    while not said or said[-1] != last:
        assert time.monotonic() < deadline, said
        status = _text(browser, "status")
        if not said or said[-1] != status:
            said.append(status)
        time.sleep(0.05)
    return said

def test_the_page_waits_for_the_customers_host_while_the_directory_recovers(
    browser: Any,
) -> None:
    redis = RedisServer()
    redis.start()
    relay = view = None
    stop = threading.Event()
    try:
        relay = RelayProcess(redis, 15.0)
        a = f"127.0.0.1:{relay.port}"
        creds = SessionCredentials()
        view = PtyView("--relay", a, "--code", creds.code, "--password", creds.password,
                       "--web", "--no-open", "--name", "Alice")  # fmt: skip
        url = view.wait_for(r"http://127\.0\.0\.1:\d+/#k=[A-Za-z0-9_-]+")
        # The grace (as relay42's tests) from here, as the page opens: the
        # view connects only then. Set before the view started (fresh126,
        # load 23-30), its start and the page's took the grace's 15 s, and
        # the relay rightly said "no such session code" of a grace over.
        client = redis_client.Redis.from_url(redis.url)
        client.set("screencodec:recovering", "1", px=15_000)
        client.close()
        browser.get(url.group(0))
        view.wait_for(f"the relay {a} is waiting for the customer's host to register again")
        port = relay.port

        def host() -> None:
            async def main() -> None:
                reg = await host_via_relay("127.0.0.1", port, creds, lambda ch: None,
                                           timeouts=FAST)  # fmt: skip
                try:
                    await reg.wait_registered(30)
                    while not stop.is_set():
                        await asyncio.sleep(0.05)
                finally:
                    await reg.close()

            asyncio.run(main())

        hosting = threading.Thread(target=host)
        hosting.start()
        try:
            said = statuses_until(browser, "Waiting for the user to accept...")
            assert "Not connected" not in said, said
            assert "no such session code" not in view.text, view.text
        finally:
            stop.set()
            hosting.join(30)
    finally:
        if view is not None:
            view.close()
        if relay is not None and relay.proc.poll() is None:
            relay.kill()
        redis.stop()
