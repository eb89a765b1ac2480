"""deflake39: the last attempt of a reconnect, started as its ``within``
runs out, against a relay that takes a while to answer (a slow link, a
loaded machine).

Found (tests/relay/test_joinlimit_redirected_retries.py, failing once at a
load of about 10): the last attempt was given what was left of ``within``,
or 0.1 s, and timed out with 0.13 s left; the agent was told "no answer
within ..." by a reconnect whose every attempt the relay had answered "the
host has not been heard from". Expected: the last attempt is given time to
be answered (``ATTEMPT_AT_LEAST``), and its answer is what the agent hears.

A relay on loopback that answers each join, 0.3 s after it, as a real one
whose host is away does (REFUSE UNKNOWN_SESSION, retried); the real
``connect_via_relay`` and ``reconnect``. Timing is an upper bound only: the
answer comes well within ``ATTEMPT_AT_LEAST`` however slow the machine."""

from __future__ import annotations

import asyncio

import pytest

from screencodec.errors import AccessRefusedError
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import RefuseCode, send_refusal
from screencodec.transport.connect import connect_via_relay
from screencodec.transport.connect.reconnect import reconnect

from .helpers import run

_NOT_HEARD = "the host has not been heard from for 12 s"


def test_deflake39_the_last_attempt_hears_a_slow_relays_answer() -> None:
    async def main() -> None:
        joins = 0

        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal joins
            joins += 1
            await reader.read(1)  # the join has come
            await asyncio.sleep(0.3)  # a slow link's answer
            await send_refusal(writer, RefuseCode.UNKNOWN_SESSION, _NOT_HEARD)

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        creds = SessionCredentials()
        attempts: list[BaseException] = []

        def tried(n: int, error: BaseException | None) -> None:
            if error is not None:
                attempts.append(error)

        try:
            with pytest.raises(AccessRefusedError) as last:
                # Attempts end at about 0.3, 0.85 (0.25 s between), then the
                # wait is cut to what is left of the 1 s: the last attempt
                # starts as it runs out.
                await reconnect(lambda: connect_via_relay("127.0.0.1", port, creds.code,
                                                          creds.password),
                                within=1.0, on_attempt=tried)  # fmt: skip
        finally:
            server.close()
        # Found: the last one a TimeoutError, given 0.1 s.
        assert [type(e).__name__ for e in attempts].count("TimeoutError") == 0, attempts
        assert last.value.code == RefuseCode.UNKNOWN_SESSION
        assert _NOT_HEARD in str(last.value)
        assert joins == len(attempts) >= 2

    run(main(), 30)
