"""review40d: can someone who is not the host or the agent put a relay
cluster into attack40's "recovering" grace (every new registration refused
BUSY for ``claim_ttl``: no new customer gets a code), or lock the agent out
while doing so?

The grace starts only when a claim, renewal or announcement finds Redis's
``epoch`` gone (a loss of keys) or ``heard`` gone while relays beat (no
heartbeat for 2/3 of ``claim_ttl``). The attacker here has a relay's port
and a live code, and from one address (a NAT it shares with the agent)
spends longer than that window hammering the relay that does not hold the
code with everything a peer can send: registrations of new codes and of the
live one, joins naming no pair tag and a made-up one, host data connections
with made-up join ids, and opening frames whose code is binary or not nine
digits (nothing of which may reach Redis: parse_open refuses it).

Outcome (measured, claim_ttl 3 s, 3 s of hammering, 3 runs): the grace
never starts (``recovering`` never set), a new host registers at once at
the hammered relay, the live host keeps its one registration, and while
the hammering goes on the agent, behind the same address and so past its
join limit, comes back through the hammered relay naming its pair tag, is
redirected and pairs, and a fresh agent from another address pairs through
it end to end (both in 0.33-0.37 s).

Real relays sharing a real redis-server, a real host on loopback.
"""

from __future__ import annotations

import asyncio
import os

import redis.asyncio as aioredis

from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import FrameType, RefuseCode, read_frame
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import connect_via_relay, host_via_relay
from screencodec.transport.relay import (
    ROLE_HOST_CONTROL,
    ROLE_HOST_DATA,
    ROLE_VIEWER,
    RelayLimits,
    encode_open,
)
from screencodec.transport.relay.protocol import RELAY_REDIRECT, parse_viewer_ok

from .cluster import RedisServer, relays, run

FAST = Timeouts(handshake=5.0, idle=None, keepalive=None, max_duration=None)
NAT = "127.0.0.4"  # the attacker's and the agent's shared address


async def _answer(port: int, frame: bytes, source: str) -> tuple[int, bytes]:
    """Send one opening frame from ``source``: (frame type or refusal code,
    the rest); -1 if the relay closed without an answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    try:
        writer.write(frame)
        try:
            ftype, body = await asyncio.wait_for(read_frame(reader, 1024), 5)
        except (asyncio.IncompleteReadError, ConnectionError):
            return -1, b""
        return (body[0], body[1:]) if ftype == FrameType.REFUSE else (ftype, body)
    finally:
        writer.close()


def _bad_open(code: bytes) -> bytes:
    """An opening frame whose code field is ``code`` (9 bytes, not digits)."""
    good = encode_open(ROLE_HOST_CONTROL, "123456789", os.urandom(16))
    at = good.index(b"123456789")
    return good[:at] + code + good[at + 9:]


async def _recovering_seen(watcher: aioredis.Redis, hammer: asyncio.Future[object]) -> int:
    """How many times ``recovering`` was seen set while ``hammer`` ran."""
    seen = 0
    while not hammer.done():
        seen += int(await watcher.exists("screencodec:recovering"))
        await asyncio.sleep(0.05)
    return seen


async def _hammer(port: int, code: str, until: float,
                  stop: asyncio.Event) -> list[list[int]]:
    """Everything a peer can send at a relay, from NAT, until ``until``
    (loop time) and ``stop`` are both past; the answers (frame types,
    refusal codes), one list for each kind of frame in the order below."""
    loop = asyncio.get_running_loop()
    answers: list[list[int]] = [[] for _ in range(8)]
    i = 0
    while loop.time() < until or not stop.is_set():
        i += 1
        for kind, frame in enumerate((
            encode_open(ROLE_HOST_CONTROL, f"{800_000_000 + i}", os.urandom(16)),
            encode_open(ROLE_HOST_CONTROL, code, os.urandom(16)),
            encode_open(ROLE_VIEWER, code, bytes(16)),
            encode_open(ROLE_VIEWER, code, os.urandom(16)),
            encode_open(ROLE_HOST_DATA, code, os.urandom(16)),
            _bad_open(b"\xff\x00*\r\nDEL "),
            _bad_open(b"12345678\x00"),
            encode_open(ROLE_VIEWER, f"{700_000_000 + i}"),  # a free code: counted
        )):
            answers[kind].append((await _answer(port, frame, NAT))[0])
        await asyncio.sleep(0.05)
    return answers


def test_a_stranger_hammering_another_relay_starts_no_grace_and_locks_out_no_agent(
        redis_server: RedisServer) -> None:
    limits = RelayLimits(claim_ttl=3.0, joins_per_minute=3, registrations_per_minute=3)

    async def main() -> None:
        watcher = aioredis.Redis.from_url(redis_server.url)
        async with relays(redis_server, 2, limits) as (a, b):
            creds = SessionCredentials()
            accepted: asyncio.Queue[SecureChannel] = asyncio.Queue()
            async with await host_via_relay("127.0.0.1", a.port, creds, accepted.put_nowait,
                                            timeouts=FAST, ping_interval=0.5) as reg:
                await reg.wait_registered(5)
                # The agent pairs once at the host's relay: it learns its pair tag.
                got, body = await _answer(a.port, encode_open(ROLE_VIEWER, creds.code), NAT)
                assert got == FrameType.RELAY_OK
                tag, _ = parse_viewer_ok(body)
                assert tag is not None
                loop = asyncio.get_running_loop()
                # Longer than the window after which a missing heartbeat starts
                # it, and on until the agents below are in.
                agents_in = asyncio.Event()
                hammer = asyncio.ensure_future(
                    _hammer(b.port, creds.code, loop.time() + limits.claim_ttl, agents_in))
                watch = asyncio.ensure_future(_recovering_seen(watcher, hammer))
                await asyncio.sleep(1.0)  # by now past its join and registration limits
                # The agent behind the attacker's NAT comes back naming its tag.
                got, body = await _answer(b.port, encode_open(ROLE_VIEWER, creds.code, tag), NAT)
                assert (got, body) == (RELAY_REDIRECT, f"127.0.0.1:{a.port}".encode())
                got, _ = await _answer(a.port, encode_open(ROLE_VIEWER, creds.code, tag), NAT)
                assert got == FrameType.RELAY_OK
                # And an agent elsewhere gets in through the hammered relay, end to end.
                viewer = await connect_via_relay("127.0.0.1", b.port, creds.code,
                                                 creds.password, timeouts=FAST)
                host = await asyncio.wait_for(accepted.get(), 5)
                await viewer.send(b"in")
                assert await host.recv() == b"in"
                await viewer.close()
                await host.close()
                agents_in.set()
                answers = await hammer
                assert await watch == 0  # recovering never set
                fresh_codes, live, untagged, made_up, data, binary, short, free = answers
                assert fresh_codes[-1] == RefuseCode.RATE_LIMITED  # past its limits
                assert set(live) <= {RefuseCode.CODE_IN_USE, RefuseCode.RATE_LIMITED}
                # Its joins of free codes took the address past its join limit,
                # and from then on the live code is refused as a free one is.
                assert free[0] == RefuseCode.UNKNOWN_SESSION
                assert free[-1] == untagged[-1] == made_up[-1] == RefuseCode.RATE_LIMITED
                assert set(data) == {RefuseCode.UNKNOWN_SESSION}  # no MAC: not redirected
                assert set(binary) == set(short) == {RefuseCode.MALFORMED}
                # Nothing from a malformed opening frame reached Redis.
                assert not [k async for k in watcher.scan_iter(match="*\\**")]
                # A new customer registers at the hammered relay at once.
                fresh = SessionCredentials()
                got, _ = await _answer(b.port, encode_open(ROLE_HOST_CONTROL, fresh.code,
                                                           os.urandom(16)), "127.0.0.5")
                assert got == FrameType.RELAY_OK
                assert reg.state == "registered" and reg.registrations == 1
        await watcher.aclose()

    run(main(), timeout=40)
