"""Someone who knows only a session code (it is public: the relay sees it in
clear, people read it out) makes wrong-password handshakes through the relay
from addresses of their own, as fast as the relay lets them. The relay counts
failed handshakes per session; the lock-out rule (docs/security.md: "nobody
who merely knows a session code can lock the real agent out") says that count
must not refuse the agent, who comes from another address with the right
password. Real relay, real host registration, real handshakes on loopback
(127.0.0.0/8: every source address is loopback). Expected outcome: the
attacker's address is slowed, the agent gets in."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from screencodec.errors import ScreencodecError
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import (
    AccessRefusedError,
    FrameType,
    RefuseCode,
    read_frame,
)
from screencodec.transport.channel.limits import HANDSHAKE_FRAME_MAX, Timeouts
from screencodec.transport.connect import connect_via_relay, host_via_relay
from screencodec.transport.connect.direct import handshake_viewer
from screencodec.transport.relay import ROLE_VIEWER, Relay, RelayLimits, encode_open

from .cluster import RedisServer, relays, run, wait_for

FAST = Timeouts(handshake=5.0, idle=None, keepalive=None, max_duration=None)


@contextlib.asynccontextmanager
async def _relay(backend: str, redis: RedisServer, limits: RelayLimits) -> AsyncIterator[Relay]:
    if backend == "redis":
        async with relays(redis, 1, limits) as (relay,):
            yield relay
    else:
        async with Relay(limits=limits) as relay:
            yield relay


@contextlib.asynccontextmanager
async def _hosted(relay: Relay, creds: SessionCredentials) -> AsyncIterator[None]:
    reg = await host_via_relay("127.0.0.1", relay.port, creds, lambda ch: None, timeouts=FAST)
    try:
        await reg.wait_registered(5)
        yield
    finally:
        await reg.close()


def _wrong(password: str) -> str:
    return "".join("2" if ch != "2" else "3" for ch in password)


async def _guess_from(source: str, port: int, code: str, password: str) -> str:
    """One handshake through the relay from ``source``: what it came to."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    try:
        writer.write(encode_open(ROLE_VIEWER, code))
        ftype, body = await read_frame(reader, HANDSHAKE_FRAME_MAX)
        if ftype == FrameType.REFUSE:
            return RefuseCode(body[0]).name
        if ftype != FrameType.RELAY_OK:
            return f"relay said {ftype}"
        try:
            result = await handshake_viewer(reader, writer, code, password, FAST)
        except AccessRefusedError as exc:
            return exc.code.name
        except ScreencodecError as exc:
            return type(exc).__name__
        result.keys.wipe()
        return "in"
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def _attack_then_agent(backend: str, redis: RedisServer, limits: RelayLimits,
                       guesses: int) -> tuple[list[str], str]:
    async def main() -> tuple[list[str], str]:
        creds = SessionCredentials()
        async with _relay(backend, redis, limits) as relay, _hosted(relay, creds):
            wrong = _wrong(creds.password)
            outcomes: list[str] = []
            for i in range(guesses):
                source = f"127.0.0.{20 + i // 15}"  # within each address's join limit
                outcomes.append(await _guess_from(source, relay.port, creds.code, wrong))
                await wait_for(lambda i=i: relay.stats.failed_handshakes >= i + 1)
            try:
                channel = await connect_via_relay("127.0.0.1", relay.port, creds.code,
                                                  creds.password, timeouts=FAST)
            except AccessRefusedError as exc:
                return outcomes, exc.code.name
            await channel.close()
            return outcomes, "in"

    return run(main(), timeout=60)


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_guesses_from_other_addresses_do_not_lock_the_agent_out(
        backend: str, redis_server: RedisServer) -> None:
    """The relay's per-session cap, lowered to 3: three wrong guesses from
    127.0.0.20, then the agent from 127.0.0.1 with the right password gets
    in (it was refused RATE_LIMITED, 'too many failed attempts on this
    session', for the rest of the minute)."""
    limits = RelayLimits(guesses_per_session_per_minute=3)
    outcomes, agent = _attack_then_agent(backend, redis_server, limits, 3)
    assert outcomes == ["AuthenticationError"] * 3
    assert agent == "in"


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_the_attackers_own_address_is_refused_past_the_cap(
        backend: str, redis_server: RedisServer) -> None:
    """The cap still holds for the address that guessed: its fourth join
    within the minute is refused."""

    async def main() -> str:
        creds = SessionCredentials()
        limits = RelayLimits(guesses_per_session_per_minute=3)
        async with _relay(backend, redis_server, limits) as relay, _hosted(relay, creds):
            wrong = _wrong(creds.password)
            for i in range(3):
                await _guess_from("127.0.0.20", relay.port, creds.code, wrong)
                await wait_for(lambda i=i: relay.stats.failed_handshakes >= i + 1)
            return await _guess_from("127.0.0.20", relay.port, creds.code, wrong)

    assert run(main(), timeout=60) == "RATE_LIMITED"
