"""Guessing the password, over real loopback sockets from many source
addresses (127.0.0.0/8 is all loopback), against the session's guess throttle.

Time in the throttle comes from a fake clock that a driver moves forward
whenever an attempt waits for its turn, so an hour of guessing takes seconds
and nothing waits on the wall clock. Expected outcomes:

* an attacker with any number of addresses gets at most
  ``ThrottlePolicy.max_checks(3600)`` checks an hour, and no check is skipped;
* the password is never invalidated: the agent with the right password gets
  in at the next check (within one spacing) while the attacker keeps guessing;
* connections parked before committing to a guess never make the agent BUSY;
* a handshake waiting when the application changes the password is checked
  against, and counted for, the new password;
* per-address limits key on the IPv6 /64.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest

from screencodec.errors import AccessRefusedError, AuthenticationError, RefuseCode
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import FrameType, encode_frame, read_frame
from screencodec.transport.channel.handshake import ROLE_VIEWER
from screencodec.transport.channel.throttle import ThrottlePolicy
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.connect.accept import HostAcceptor
from screencodec.transport.connect.direct import DirectListener, handshake_viewer
from screencodec.transport.relay import Relay, RelayLimits

from .secure_fixtures import FAST, run


def _wrong(password: str, n: int = 0) -> str:
    """A valid password that differs from ``password`` (the n-th such variant)."""
    first = "23456789"[n] if password[0] != "23456789"[n] else "23456789"[n + 1]
    return first + password[1:]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.paused = False  # the driver leaves it alone meanwhile

    def __call__(self) -> float:
        return self.now


@contextlib.asynccontextmanager
async def _warp(creds: SessionCredentials, clock: FakeClock,
                end: float = float("inf")) -> AsyncIterator[None]:
    """Move the fake clock to the next opening whenever an attempt waits (but
    never past ``end``)."""
    throttle = creds.throttle

    async def drive() -> None:
        while True:
            if throttle.waiting and throttle.next_delay > 0 and not clock.paused:
                if clock.now + throttle.next_delay > end:
                    return
                clock.now += throttle.next_delay
                throttle.poke()
            await asyncio.sleep(0.002)

    task = asyncio.ensure_future(drive())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _guess(port: int, code: str, password: str, source: str) -> None:
    """One handshake from ``source`` (a loopback address): returns on success."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    try:
        result = await handshake_viewer(reader, writer, code, password, FAST)
        result.keys.wipe()
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _listen(creds: SessionCredentials, **kw: object) -> DirectListener:
    return await listen_direct("127.0.0.1", 0, creds, lambda ch: ch.close(),  # type: ignore[arg-type,return-value]
                               timeouts=FAST, attempts_per_minute=10**6, **kw)  # type: ignore[arg-type]


def _attackers(port: int, creds: SessionCredentials, addresses: int, per_address: int,
               stop: Callable[[], bool]) -> list[asyncio.Task[None]]:
    wrong = _wrong(creds.password)

    async def keep_guessing(source: str) -> None:
        while not stop():
            with contextlib.suppress(AuthenticationError):
                await _guess(port, creds.code, wrong, source)

    return [asyncio.ensure_future(keep_guessing(f"127.0.0.{10 + a}"))
            for a in range(addresses) for _ in range(per_address)]


def test_an_attacker_with_many_addresses_gets_at_most_the_hourly_budget() -> None:
    """12 addresses, 2 guessers each, guessing non-stop for an hour of throttle
    time: the checks they get are at most ``max_checks(3600)``, and (the
    attack saturates) not fewer than that minus the one in flight."""
    policy = ThrottlePolicy(cap=120.0)  # a slower pace than the default keeps this test short
    clock = FakeClock()
    creds = SessionCredentials(policy=policy, clock=clock)
    start = clock.now

    async def main() -> None:
        listener = await _listen(creds)
        cleanup: list[asyncio.Task[None]] = []
        try:
            async with _warp(creds, clock, end=start + 3600):
                tasks = _attackers(listener.port, creds, 12, 2, lambda: False)
                cleanup.extend(tasks)
                # The hour is over when the next opening lies past it and
                # everyone is waiting for it.
                while not (creds.throttle.waiting == 24
                           and clock.now + creds.throttle.next_delay > start + 3600):
                    await asyncio.sleep(0.005)
                checks = creds.throttle.checks
        finally:
            for task in cleanup:
                task.cancel()
            await asyncio.gather(*cleanup, return_exceptions=True)
            await listener.close()
        assert checks == policy.max_checks(3600)  # the attack saturates the budget, no more
        assert creds.failed_attempts == checks  # and every check counted as a failure

    run(main(), timeout=60)
    assert ThrottlePolicy().max_checks(3600) == 725  # the default policy's figure


def test_the_agent_gets_in_at_the_next_check_while_the_attacker_keeps_guessing() -> None:
    """5 attacker addresses, 2 guessers each, non-stop; once the spacing is at
    its cap the agent connects, twice: each time it is checked at the
    next opening (within one spacing of joining the queue, before every
    attacker already waiting), and the attacker's guessing goes on."""
    clock = FakeClock()
    creds = SessionCredentials(clock=clock)
    throttle = creds.throttle
    cap = throttle.policy.cap

    async def main() -> None:
        listener = await _listen(creds)
        tasks: list[asyncio.Task[None]] = []
        try:
            async with _warp(creds, clock):
                tasks = _attackers(listener.port, creds, 5, 2, lambda: False)
                for _ in range(2):
                    # Every attacker address has failed before (a never-failed
                    # one that queued first would rightly go first), and the
                    # spacing is at its cap (a success resets it).
                    while not (throttle.policy.spacing(throttle.started) == cap and all(
                            throttle.failures_of(f"127.0.0.{10 + a}") for a in range(5))):
                        await asyncio.sleep(0.005)
                    clock.paused = True  # let the agent join the queue at a known time
                    agent = asyncio.ensure_future(
                        _guess(listener.port, creds.code, creds.password, "127.0.0.200"))
                    # Until all 10 attackers wait too (those in a check come back).
                    while ("127.0.0.200" not in throttle.waiting_keys
                           or throttle.waiting < 11):
                        await asyncio.sleep(0.002)
                    checks, ahead = throttle.checks, throttle.waiting
                    assert ahead == 11
                    # The next opening (at most one spacing away) is the agent's.
                    step = throttle.next_delay
                    assert step <= cap
                    clock.now += step
                    throttle.poke()
                    assert "127.0.0.200" not in throttle.waiting_keys
                    assert throttle.checks == checks + 1
                    clock.paused = False
                    await agent  # it got in
                    failed = creds.failed_attempts
                    while creds.failed_attempts == failed:  # and the attack goes on
                        await asyncio.sleep(0.005)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await listener.close()

    run(main(), timeout=60)


def test_wrong_guesses_never_invalidate_the_password() -> None:
    clock = FakeClock()
    creds = SessionCredentials(clock=clock)

    async def main() -> None:
        listener = await _listen(creds)
        try:
            async with _warp(creds, clock):
                for n in range(6):
                    with pytest.raises(AuthenticationError, match="wrong session password"):
                        await _guess(listener.port, creds.code, _wrong(creds.password, n),
                                     "127.0.0.1")
                assert not creds.invalidated and creds.generation == 1
                await _guess(listener.port, creds.code, creds.password, "127.0.0.1")
            assert creds.throttle.next_delay == 0  # a success resets the spacing
            assert creds.failed_attempts == 6
        finally:
            await listener.close()

    run(main())


def test_parked_handshakes_from_five_addresses_do_not_make_the_agent_busy() -> None:
    """5 addresses keep 3 connections each parked after HELLO (renewed when
    dropped); the pre-auth room holds only 8, so they displace each other.
    The agent, 7 times out of 7, gets in; nothing it sees is BUSY."""
    creds = SessionCredentials()
    hello = b"SCDC" + (1).to_bytes(2, "big") + bytes([ROLE_VIEWER]) + creds.code.encode()

    async def main() -> None:
        listener = await _listen(creds)
        listener._acceptor.slots.total = 8
        parked: list[asyncio.StreamWriter] = []
        stop = False

        async def park(source: str) -> None:
            while not stop:
                reader, writer = await asyncio.open_connection(
                    "127.0.0.1", listener.port, local_addr=(source, 0))
                parked.append(writer)
                writer.write(encode_frame(FrameType.HELLO, hello))
                with contextlib.suppress(Exception):
                    await read_frame(reader, 1024)  # the host's hello (or a refusal)
                    await reader.read()  # parked until the host drops it
                writer.close()

        parkers = [asyncio.ensure_future(park(f"127.0.0.{20 + a}"))
                   for a in range(5) for _ in range(3)]
        try:
            while len(listener._acceptor.slots) < 8:
                await asyncio.sleep(0.005)
            for _ in range(7):
                ch = await connect_direct("127.0.0.1", listener.port, creds.code,
                                          creds.password, timeouts=FAST)
                await ch.close()
            assert listener._acceptor.slots.evicted > 0  # the room was full: displaced
            assert creds.failed_attempts == 0
        finally:
            stop = True
            for task in parkers:
                task.cancel()
            await asyncio.gather(*parkers, return_exceptions=True)
            for w in parked:
                w.close()
            await listener.close()

    run(main(), timeout=60)


def test_parked_handshakes_through_the_relay_do_not_make_the_agent_busy() -> None:
    """The same attack through a relay (the host keys on the address the relay
    reports): 5 addresses keep 3 relayed
    handshakes each parked after HELLO, the host's pre-auth room holds 8. The
    agent joins through the relay 4 times out of 4."""
    from screencodec.transport.connect import connect_via_relay, host_via_relay
    from screencodec.transport.relay import ROLE_VIEWER as RELAY_VIEWER
    from screencodec.transport.relay import encode_open

    creds = SessionCredentials()
    hello = b"SCDC" + (1).to_bytes(2, "big") + bytes([ROLE_VIEWER]) + creds.code.encode()

    async def main() -> None:
        # The relay's own eviction of parked streams is the relay's to test:
        # here it lets everything through, so the host alone must cope.
        # (Only the fields this relay version has.)
        wanted = {"max_pending_per_address": 32, "max_handshaking_per_session": 1000,
                  "joins_per_minute": 10**6, "guesses_per_session_per_minute": 10**6}
        limits = RelayLimits(**{k: v for k, v in wanted.items()  # type: ignore[arg-type]
                                if k in RelayLimits.__dataclass_fields__})
        async with Relay(limits=limits) as relay:
            reg = await host_via_relay("127.0.0.1", relay.port, creds,
                                       lambda ch: ch.close(),  # type: ignore[arg-type,return-value]
                                       timeouts=FAST, attempts_per_minute=10**6)
            reg._acceptor.slots.total = 8
            writers: list[asyncio.StreamWriter] = []

            stop = False

            async def park(source: str) -> None:
                while not stop:  # renewed whenever the relay or the host drops it
                    reader, writer = await asyncio.open_connection(
                        "127.0.0.1", relay.port, local_addr=(source, 0))
                    writers.append(writer)
                    writer.write(encode_open(RELAY_VIEWER, creds.code))
                    with contextlib.suppress(Exception):
                        await read_frame(reader, 1024)  # RELAY_OK: paired with the host
                        writer.write(encode_frame(FrameType.HELLO, hello))
                        await read_frame(reader, 1024)
                        await reader.read()
                    writer.close()

            parkers: list[asyncio.Task[None]] = []
            try:
                await reg.wait_registered(5)
                parkers = [asyncio.ensure_future(park(f"127.0.0.{40 + a}"))
                           for a in range(5) for _ in range(3)]
                while relay.stats.paired < 8:  # the host's pre-auth room is full
                    await asyncio.sleep(0.005)
                for _ in range(4):
                    ch = await connect_via_relay("127.0.0.1", relay.port, creds.code,
                                                 creds.password, timeouts=FAST)
                    await ch.close()
                assert creds.failed_attempts == 0
            finally:
                stop = True
                for task in parkers:
                    task.cancel()
                await asyncio.gather(*parkers, return_exceptions=True)
                for w in writers:
                    w.close()
                await reg.close()

    run(main(), timeout=90)


def test_a_handshake_waiting_across_a_password_change_counts_for_the_new_password() -> None:
    clock = FakeClock()
    creds = SessionCredentials(clock=clock)
    old = creds.password

    async def main() -> None:
        listener = await _listen(creds)
        try:
            for n in range(4):  # the free checks, and the first spaced one
                with pytest.raises(AuthenticationError):
                    await _guess(listener.port, creds.code, _wrong(old, n), "127.0.0.1")
            # The old (right until now) password, waiting for its turn...
            waiting = asyncio.ensure_future(_guess(listener.port, creds.code, old, "127.0.0.1"))
            while not creds.throttle.waiting:
                await asyncio.sleep(0.005)
            new = creds.rotate_password()  # ...when the application changes it
            async with _warp(creds, clock):
                with pytest.raises(AuthenticationError, match="wrong session password"):
                    await waiting
                while creds.failed_attempts < 5:  # counted, not dropped with the old generation
                    await asyncio.sleep(0.005)
                await _guess(listener.port, creds.code, new, "127.0.0.1")
        finally:
            await listener.close()

    run(main())


def test_the_host_reports_every_wrong_password_with_its_source() -> None:
    creds = SessionCredentials()
    heard: list[tuple[int, str]] = []
    creds.add_guess_listener(lambda c, key: heard.append((c.failed_attempts, key)))

    async def main() -> None:
        listener = await _listen(creds)
        try:
            for n, source in enumerate(("127.0.0.5", "127.0.0.6")):
                with pytest.raises(AuthenticationError):
                    await _guess(listener.port, creds.code, _wrong(creds.password, n), source)
            while len(heard) < 2:  # the host hears of it just after the viewer does
                await asyncio.sleep(0.005)
            assert heard == [(1, "127.0.0.5"), (2, "127.0.0.6")]
        finally:
            await listener.close()

    run(main())


def test_abandoning_after_the_hosts_pake_message_costs_a_guess_and_before_it_nothing() -> None:
    from spake2 import SPAKE2_A

    from screencodec.transport.channel.crypto import spake_identities

    creds = SessionCredentials()

    async def main() -> None:
        listener = await _listen(creds)
        hello = b"SCDC" + (1).to_bytes(2, "big") + bytes([ROLE_VIEWER]) + creds.code.encode()
        try:
            # Hello only, then gone: the handshake ends without a check.
            reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
            writer.write(encode_frame(FrameType.HELLO, hello))
            await read_frame(reader, 1024)
            writer.close()
            while listener._acceptor.handshakes:
                await asyncio.sleep(0.005)
            assert creds.throttle.checks == 0 and creds.failed_attempts == 0
            # After the host's SPAKE2 message: the guess is spent.
            reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
            writer.write(encode_frame(FrameType.HELLO, hello))
            await read_frame(reader, 1024)
            id_a, id_b = spake_identities(creds.code)
            writer.write(encode_frame(FrameType.PAKE,
                                      SPAKE2_A(b"guess", idA=id_a, idB=id_b).start()))
            assert (await read_frame(reader, 1024))[0] == FrameType.PAKE
            writer.close()
            while listener._acceptor.handshakes:
                await asyncio.sleep(0.005)
            assert creds.failed_attempts == 1
        finally:
            await listener.close()

    run(main())


def test_per_address_limits_key_on_the_ipv6_64() -> None:
    """The address a relay reports: 3 attempts a minute per /64, so a fourth
    address in the same /64 is refused, one in another /64 is not."""
    creds = SessionCredentials()
    reported = iter(["2001:db8:0:1::1", "2001:db8:0:1::2", "2001:db8:0:1::3",
                     "2001:db8:0:1:ffff::4", "2001:db8:0:2::1"])

    async def main() -> None:
        acceptor = HostAcceptor(creds, lambda ch: ch.close(), None, FAST, 3)  # type: ignore[arg-type,return-value]

        async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            await acceptor.accept(r, w, "relay viewer", next(reported))

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            for _ in range(3):
                ch = await connect_direct("127.0.0.1", port, creds.code, creds.password,
                                          timeouts=FAST)
                await ch.close()
            with pytest.raises(AccessRefusedError) as info:
                await connect_direct("127.0.0.1", port, creds.code, creds.password,
                                     timeouts=FAST)
            assert info.value.code == RefuseCode.RATE_LIMITED
            ch = await connect_direct("127.0.0.1", port, creds.code, creds.password,
                                      timeouts=FAST)
            await ch.close()
        finally:
            await acceptor.close_channels()
            server.close()
            await server.wait_closed()

    run(main())


def test_relay_limits_join_attempts_per_address() -> None:
    creds = SessionCredentials()

    async def main() -> None:
        from screencodec.transport.connect import connect_via_relay, host_via_relay

        async with Relay(limits=RelayLimits(joins_per_minute=3)) as relay:
            reg = await host_via_relay("127.0.0.1", relay.port, creds, lambda ch: None,
                                       timeouts=FAST)
            try:
                await reg.wait_registered(5)
                for _ in range(3):
                    with pytest.raises(AccessRefusedError) as info:
                        await connect_via_relay("127.0.0.1", relay.port, "999999999",
                                                creds.password, timeouts=FAST)
                    assert info.value.code == RefuseCode.UNKNOWN_SESSION
                with pytest.raises(AccessRefusedError) as info:
                    await connect_via_relay("127.0.0.1", relay.port, creds.code,
                                            creds.password, timeouts=FAST)
                assert info.value.code == RefuseCode.RATE_LIMITED
            finally:
                await reg.close()

    run(main())


def test_wrong_password_through_the_relay_is_counted_by_the_host() -> None:
    creds = SessionCredentials()
    errors: list[BaseException] = []

    async def main() -> None:
        from screencodec.transport.connect import connect_via_relay, host_via_relay

        async with Relay() as relay:
            reg = await host_via_relay("127.0.0.1", relay.port, creds, lambda ch: None,
                                       timeouts=FAST, on_error=lambda _p, e: errors.append(e))
            try:
                await reg.wait_registered(5)
                with pytest.raises(AuthenticationError, match="wrong session password"):
                    await connect_via_relay("127.0.0.1", relay.port, creds.code,
                                            _wrong(creds.password), timeouts=FAST)
                while not errors:
                    await asyncio.sleep(0.005)
                assert creds.failed_attempts == 1
                assert [type(e) for e in errors] == [AuthenticationError]
            finally:
                await reg.close()

    run(main())
