"""relay42, attacked: the recovering grace a relay now tells its hosts
(test_relay42_api_waits.py) and the wait a host makes for it.

* A stranger who knows a code (assumed: a new host's code is shown only
  once it registered) hammers the relay during a new cluster's grace from
  its addresses: registrations of the code, viewer joins of it, host data
  connections with made-up ids. Expected: the grace is not extended (the
  time Redis has left on it never grows, and it ends when it would have),
  the stranger is refused throughout (BUSY, then RATE_LIMITED), the host
  registers its code as the grace ends, and the agent's session through
  the relay completes.
* A relay (hostile, or a cluster whose ``claim_ttl`` is very long) tells a
  grace of 49 days, or "0 s left" for ever, or a malformed field.
  Expected: ``wait_registered`` gives up at ``recovering_most`` with
  ``RelayRecoveringError``; the registration keeps trying at its backoff
  (no 49-day sleep), and never more often than twice a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time

import pytest
import redis.asyncio as aioredis

from screencodec.errors import RefuseCode
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import FrameType, encode_frame, read_frame
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.connect import connect_via_relay, host_via_relay
from screencodec.transport.connect.via_relay import RelayRecoveringError
from screencodec.transport.relay import (
    ROLE_HOST_CONTROL,
    ROLE_HOST_DATA,
    ROLE_VIEWER,
    RelayLimits,
    encode_open,
)
from screencodec.transport.relay.protocol import encode_recovering

from .cluster import RedisServer, relays, run

FAST = Timeouts(handshake=5.0, idle=None, keepalive=None, max_duration=None)


async def _answer(port: int, source: str, role: int, code: str, token: bytes) -> str:
    """One connection's answer: the REFUSE code's name, or the frame type."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    try:
        writer.write(encode_open(role, code, token))
        ftype, body = await asyncio.wait_for(read_frame(reader, 1024), 5)
        return RefuseCode(body[0]).name if ftype == FrameType.REFUSE else FrameType(ftype).name
    except (asyncio.TimeoutError, ConnectionError):
        return "no answer"  # a viewer join waiting for a host nobody holds
    finally:
        writer.close()


def test_a_stranger_hammering_a_code_in_the_grace_neither_extends_it_nor_keeps_the_host_out(
        new_redis: RedisServer) -> None:
    ttl = 4.0

    async def main() -> None:
        async with relays(new_redis, 1, RelayLimits(claim_ttl=ttl)) as (relay,):
            creds = SessionCredentials()
            code = creds.code
            said: list[str] = []
            left: list[int] = []
            watcher = aioredis.Redis.from_url(new_redis.url)
            # A flag as well as the cancel: Python 3.11's asyncio.wait_for
            # loses a cancel that lands as its inner read completes
            # (gh-86296; failover42's like loop ran to its run's timeout).
            stop = asyncio.Event()

            # The grace's time left when the stranger's registrations were
            # first refused RATE_LIMITED (0: the grace was over by then).
            limited_at: list[int] = []

            async def registering() -> None:
                # Its registrations in a loop of their own, none waiting on
                # the other connections: a stranger still under its
                # registrations per minute as the grace ends is one more
                # registration of a code nobody holds, and the first claim
                # takes it (CODE_IN_USE for the host: fresh126, the loop
                # below, slowed at load 23-30, had not made its 20 by then).
                i = 0
                while not stop.is_set():
                    i += 1
                    answer = await _answer(relay.port, "127.0.0.2", ROLE_HOST_CONTROL, code,
                                           bytes([i % 256]) * 16)
                    said.append(answer)
                    if answer == "RATE_LIMITED" and not limited_at:
                        limited_at.append(max(0, int(await watcher.pttl(
                            "screencodec:recovering"))))
                    await asyncio.sleep(0.05 if limited_at else 0)

            async def stranger() -> None:
                i = 0
                while not stop.is_set():
                    i += 1
                    said.append(await _answer(relay.port, "127.0.0.3", ROLE_HOST_DATA, code,
                                              bytes([i % 256]) * 16))
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(_answer(relay.port, "127.0.0.4", ROLE_VIEWER,
                                                       code, bytes(16)), 0.05)
                    left.append(int(await watcher.pttl("screencodec:recovering")))
                    await asyncio.sleep(0.05)

            hammering = asyncio.gather(registering(), stranger())
            try:
                async with await host_via_relay("127.0.0.1", relay.port, creds,
                                                lambda ch: None, timeouts=FAST) as reg:
                    await reg.wait_registered(10)
                    assert relay.sessions == {code}
                    stop.set()
                    hammering.cancel()
                    await asyncio.gather(hammering, return_exceptions=True)
                    # The grace never grew: each reading is at most the one
                    # before (the key gone reads -2).
                    # Its registrations were refused throughout: BUSY, then
                    # past its limit before the grace ended.
                    assert limited_at and limited_at[0] > 0, limited_at
                    live = [ms for ms in left if ms >= 0]
                    assert live, left
                    assert all(b <= a for a, b in itertools.pairwise(live)), live
                    assert set(said) <= {"BUSY", "RATE_LIMITED", "UNKNOWN_SESSION"}, set(said)
                    assert "RELAY_OK" not in said
                    # The agent's session through the relay completes.
                    channel = await connect_via_relay("127.0.0.1", relay.port, code,
                                                      creds.password, timeouts=FAST)
                    await channel.close()
            finally:
                stop.set()
                hammering.cancel()
                await asyncio.gather(hammering, return_exceptions=True)
                await watcher.aclose()

    run(main(), 40)


class _LyingRelay:
    """Answers every opening frame with a REFUSE body (a relay telling a
    grace it makes up), counting the connections."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.opened: list[float] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.opened.append(time.monotonic())
        with contextlib.suppress(Exception):
            await read_frame(reader, 1024)
            writer.write(encode_frame(FrameType.REFUSE, self.body))
            await writer.drain()
        writer.close()

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


@pytest.mark.parametrize(("body", "told"), [
    (encode_recovering(4_294_967.295), 4_294_967.295),  # 49 days
    (encode_recovering(None), None),  # a relay before relay42: the words alone
    (encode_recovering(5.0)[:-1], None),  # a field cut short: nothing told
    (encode_recovering(5.0)[:200] + b"\x02\x00\x00\x13\x88", None),  # another kind
])
def test_a_relay_telling_any_grace_cannot_keep_the_host_waiting(
        body: bytes, told: float | None) -> None:
    async def main() -> None:
        liar = _LyingRelay(body)
        port = await liar.start()
        try:
            async with await host_via_relay("127.0.0.1", port, SessionCredentials(),
                                            lambda ch: None, timeouts=FAST,
                                            backoff_max=0.3) as reg:
                began = time.monotonic()
                with pytest.raises(RelayRecoveringError) as caught:
                    await reg.wait_registered(0.5, recovering_most=1.5)
                # recovering_most, not what was told (the test's own 30 s
                # timeout would end a wait for it).
                assert time.monotonic() - began >= 1.5
                assert caught.value.left == told
                tries = len(liar.opened)
                await asyncio.sleep(1.0)
                assert len(liar.opened) > tries  # still trying, at its backoff
        finally:
            await liar.close()

    run(main())


def test_a_relay_saying_no_time_left_for_ever_is_not_asked_more_than_twice_a_second() -> None:
    async def main() -> None:
        liar = _LyingRelay(encode_recovering(0.0))
        port = await liar.start()
        try:
            async with await host_via_relay("127.0.0.1", port, SessionCredentials(),
                                            lambda ch: None, timeouts=FAST,
                                            backoff_max=10.0):
                await asyncio.sleep(4.0)
            later = [t for t in liar.opened if t - liar.opened[0] > 2.0]
            # After the backoff's first tries (0.2, 0.4, 0.8 s), one try per
            # 0.55-0.75 s at most: the told end, not sooner than 0.5 s.
            assert len(later) <= 4, [round(t - liar.opened[0], 2) for t in liar.opened]
        finally:
            await liar.close()

    run(main())
