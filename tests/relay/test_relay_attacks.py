"""Attacks on the relay's session space, each with its expected outcome:
squatting a code after a cut or a restart, and parked handshakes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from screencodec.errors import AuthenticationError, SessionClosedError, TransportError
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import (
    MAGIC,
    PROTOCOL_VERSION,
    AccessRefusedError,
    FrameType,
    RefuseCode,
    encode_frame,
    read_frame,
)
from screencodec.transport.channel.handshake import ROLE_VIEWER as HELLO_VIEWER
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import RelayRegistration, connect_via_relay, host_via_relay
from screencodec.transport.relay import ROLE_VIEWER, Relay, RelayLimits, encode_open
from screencodec.transport.relay.server import STALL_GRACE

from .cluster import CuttableProxy, RedisServer, relays, run, wait_for

FAST = Timeouts(handshake=5.0, idle=None, keepalive=None, max_duration=None)


@contextlib.asynccontextmanager
async def one_relay(backend: str, redis: RedisServer) -> AsyncIterator[Relay]:
    if backend == "redis":
        async with relays(redis, 1) as (relay,):
            yield relay
    else:
        async with Relay() as relay:
            yield relay


async def _squatter(port: int, code: str) -> RelayRegistration:
    """Someone else registering the same code (their own secret, their own
    password), as soon as they can."""
    reg = await host_via_relay("127.0.0.1", port, SessionCredentials(code), lambda ch: None,
                               timeouts=FAST, backoff_max=0.2)
    await wait_for(lambda: reg.state in ("registered", "lost"))
    return reg


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_squatting_after_a_cut_is_refused_and_the_host_reclaims_its_code(
        backend: str, redis_server: RedisServer) -> None:
    async def main() -> None:
        async with one_relay(backend, redis_server) as relay:
            proxy = CuttableProxy(relay.port)
            await proxy.start()
            creds = SessionCredentials()
            accepted: asyncio.Queue[SecureChannel] = asyncio.Queue()
            reg = await host_via_relay("127.0.0.1", proxy.port, creds, accepted.put_nowait,
                                       timeouts=FAST, ping_interval=0.3, backoff_max=0.5)
            async with reg:
                await reg.wait_registered(5)
                await proxy.stop_accepting()  # the host's link is down ...
                proxy.cut()
                await wait_for(lambda: not relay.sessions)  # ... and the relay knows it
                squatter = await _squatter(relay.port, creds.code)
                # Expected: the squatter is refused, for good, and learns nothing.
                assert squatter.state == "lost"
                assert squatter.registrations == 0
                assert isinstance(squatter.last_error, AccessRefusedError)
                assert squatter.last_error.code == RefuseCode.CODE_IN_USE
                await squatter.close()
                await proxy.start()  # the link is back: the host reclaims its code
                await wait_for(lambda: reg.registrations == 2 and reg.state == "registered")
                assert relay.stats.reclaims == 1
                viewer = await connect_via_relay("127.0.0.1", relay.port, creds.code,
                                                 creds.password, timeouts=FAST)
                host = await asyncio.wait_for(accepted.get(), 5)
                await viewer.send(b"the real host")
                assert await host.recv() == b"the real host"
                await viewer.close()
                await host.close()
            await proxy.close()

    run(main())


def test_memory_relay_restart_squatter_first_the_host_is_told_its_code_is_lost() -> None:
    """Without a shared directory a restart forgets every verifier: the first
    registration wins. Expected: the real host stops retrying, its state is
    ``lost`` and ``on_lost`` fires (the application shows new credentials);
    a viewer reaching the squatter is told the session is not answering as
    expected, not just "wrong password"."""
    async def main() -> None:
        relay = Relay()
        await relay.start()
        port = relay.port
        proxy = CuttableProxy(port)
        await proxy.start()
        creds = SessionCredentials()
        lost: list[RelayRegistration] = []
        reg = await host_via_relay("127.0.0.1", proxy.port, creds, lambda ch: None,
                                   timeouts=FAST, ping_interval=0.3, backoff_max=0.3,
                                   on_lost=lost.append)
        squatter = None
        try:
            await reg.wait_registered(5)
            await proxy.stop_accepting()
            await relay.close()
            relay = Relay(port=port)
            await relay.start()
            squatter = await _squatter(port, creds.code)
            assert squatter.state == "registered"
            await proxy.start()
            await wait_for(lambda: reg.state == "lost")
            assert lost == [reg]
            assert isinstance(reg.last_error, AccessRefusedError)
            assert reg.last_error.code == RefuseCode.CODE_IN_USE
            with pytest.raises(AuthenticationError, match="not answering as expected"):
                await connect_via_relay("127.0.0.1", port, creds.code, creds.password,
                                        timeouts=FAST)
        finally:
            if squatter is not None:
                await squatter.close()
            await reg.close()
            await proxy.close()
            await relay.close()

    run(main())


async def _park(port: int, code: str, source: str,
                ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | int:
    """A viewer that sends its HELLO and then nothing (a parked handshake);
    the refusal code if the relay refused it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    writer.write(encode_open(ROLE_VIEWER, code))
    try:
        ftype, body = await read_frame(reader, 1024)
    except SessionClosedError:
        ftype, body = FrameType.REFUSE, bytes([RefuseCode.BUSY])
    except asyncio.CancelledError:
        # The test's end cancels the attackers: one still waiting for the
        # relay's answer (RELAY_OK waits up to 0.25 s for the cluster's
        # list) was left to the garbage collector (a ResourceWarning once).
        writer.close()
        raise
    if ftype != FrameType.RELAY_OK:
        writer.close()
        return body[0]
    hello = MAGIC + PROTOCOL_VERSION.to_bytes(2, "big") + bytes([HELLO_VIEWER]) + code.encode()
    writer.write(encode_frame(FrameType.HELLO, hello))  # a viewer's HELLO (docs/protocol.md)
    return reader, writer


async def _agent_gets_in(port: int, creds: SessionCredentials,
                         accepted: asyncio.Queue[SecureChannel], within: float) -> int:
    """The agent tries until it is in; returns how many tries it took."""
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    tries = 0
    while True:
        tries += 1
        try:
            viewer = await connect_via_relay("127.0.0.1", port, creds.code, creds.password,
                                             timeouts=FAST)
        except TransportError:  # BUSY, or cut while the attack churns
            if loop.time() > end:
                raise
            continue
        await viewer.send(b"agent")
        while True:  # channels of tries cut after the host's side completed end at once
            host = await asyncio.wait_for(accepted.get(), 5)
            try:
                got = await asyncio.wait_for(host.recv(), 5)
            except SessionClosedError:
                continue
            finally:
                await host.close()
            assert got == b"agent"
            break
        await viewer.close()
        return tries


@pytest.mark.parametrize("joins_per_minute", [4, RelayLimits().joins_per_minute])
def test_parked_handshakes_through_the_relay_do_not_lock_out_the_agent(
    joins_per_minute: int,
) -> None:
    """Expected: handshakes parked from 5 addresses, 3 at a time each and
    renewed the moment one is cut, with a small or the default join budget,
    still leave the agent with the right password getting in at the first
    try, again and again, with no attempt counted against the password: a
    newcomer only cuts a handshake stalled past STALL_GRACE, never one whose
    viewer is computing its answer right now."""

    async def main() -> None:
        creds = SessionCredentials()
        accepted: asyncio.Queue[SecureChannel] = asyncio.Queue()
        limits = RelayLimits(joins_per_minute=joins_per_minute)
        async with Relay(limits=limits) as relay, await host_via_relay(
                "127.0.0.1", relay.port, creds, accepted.put_nowait, timeouts=FAST) as reg:
            await reg.wait_registered(5)
            parked: list[asyncio.StreamWriter] = []

            async def attacker(source: str) -> None:
                while True:
                    got = await _park(relay.port, creds.code, source)
                    if got == RefuseCode.RATE_LIMITED:
                        return  # this address's budget is spent for the minute
                    if isinstance(got, tuple):
                        parked.append(got[1])
                        await got[0].read()  # the host's HELLO, then nothing until cut
                        got[1].close()

            attackers = [asyncio.ensure_future(attacker(f"127.0.0.{i}"))
                         for i in range(2, 7) for _ in range(3)]
            try:
                # the cap is held by parked handshakes, some stalled past the grace
                await wait_for(lambda: relay.pairs >= 2)
                await asyncio.sleep(STALL_GRACE)  # let them grow old enough to be cut
                tries = [await _agent_gets_in(relay.port, creds, accepted, within=5.0)
                         for _ in range(3)]
                assert tries == [1, 1, 1]
                assert relay.stats.evicted >= 1
                assert creds.failed_attempts == 0
                assert not creds.invalidated
            finally:
                for task in attackers:
                    task.cancel()
                await asyncio.gather(*attackers, return_exceptions=True)
                for writer in parked:
                    writer.close()

    run(main())


def test_a_host_whose_code_was_taken_registers_the_new_code_on_lost_returns() -> None:
    """Expected: the "new code" fallback: ``on_lost`` returns new credentials,
    the registration goes on with them, and a viewer reaches the host by the
    new code while the old one stays with whoever holds it."""
    async def main() -> None:
        async with Relay() as relay:
            creds = SessionCredentials()
            squatter = await _squatter(relay.port, creds.code)  # first, by whatever means
            fresh: list[SessionCredentials] = []

            def new_code(_: RelayRegistration) -> SessionCredentials:
                fresh.append(SessionCredentials())
                return fresh[-1]

            accepted: asyncio.Queue[SecureChannel] = asyncio.Queue()
            reg = await host_via_relay("127.0.0.1", relay.port, creds, accepted.put_nowait,
                                       timeouts=FAST, on_lost=new_code)
            try:
                await reg.wait_registered(5)
                assert len(fresh) == 1
                assert relay.sessions == {creds.code, fresh[0].code}
                creds.end()  # the old credentials are retired: no effect on the new
                viewer = await connect_via_relay("127.0.0.1", relay.port, fresh[0].code,
                                                 fresh[0].password, timeouts=FAST)
                host = await asyncio.wait_for(accepted.get(), 5)
                await viewer.send(b"new code")
                assert await host.recv() == b"new code"
                await viewer.close()
                await host.close()
            finally:
                await reg.close()
                await squatter.close()

    run(main())
