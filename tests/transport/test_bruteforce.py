"""Guessing the password: 3 strikes per password, per-address limits at host and relay."""

from __future__ import annotations

import asyncio

import pytest
from spake2 import SPAKE2_A

from screencodec.errors import AuthenticationError, TransportError
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.crypto import spake_identities
from screencodec.transport.channel.framing import (
    AccessRefusedError,
    FrameType,
    RefuseCode,
    encode_frame,
    read_frame,
)
from screencodec.transport.channel.handshake import ROLE_VIEWER
from screencodec.transport.connect import (
    connect_direct,
    connect_via_relay,
    host_via_relay,
    listen_direct,
)
from screencodec.transport.relay import Relay, RelayLimits

from .secure_fixtures import FAST, run


def _wrong(password: str, n: int = 0) -> str:
    """A valid password that differs from ``password`` (the n-th such variant)."""
    first = "23456789"[n] if password[0] != "23456789"[n] else "23456789"[n + 1]
    return first + password[1:]


def test_three_failures_invalidate_the_password_even_for_the_right_guess() -> None:
    async def main() -> None:
        invalidated: list[int] = []
        creds = SessionCredentials(
            on_password_invalidated=lambda c: invalidated.append(c.generation))
        errors: list[BaseException] = []
        listener = await listen_direct("127.0.0.1", 0, creds, lambda ch: None, timeouts=FAST,
                                       on_error=lambda _p, e: errors.append(e))
        port = listener.port
        try:
            old = creds.password
            for n in range(3):
                with pytest.raises(AuthenticationError, match="wrong session password"):
                    await connect_direct("127.0.0.1", port, creds.code, _wrong(old, n),
                                         timeouts=FAST)
            assert invalidated == [1]
            assert creds.invalidated
            with pytest.raises(AccessRefusedError) as info:
                await connect_direct("127.0.0.1", port, creds.code, old, timeouts=FAST)
            assert info.value.code == RefuseCode.PASSWORD_INVALIDATED
            new = creds.rotate_password()
            with pytest.raises(AuthenticationError, match="wrong session password"):
                await connect_direct("127.0.0.1", port, creds.code, old, timeouts=FAST)
            channel = await connect_direct("127.0.0.1", port, creds.code, new, timeouts=FAST)
            await channel.close()
            await asyncio.sleep(0.05)
            assert sum(isinstance(e, AuthenticationError) for e in errors) == 5
        finally:
            await listener.close()

    run(main())


def test_parallel_guesses_cannot_exceed_three() -> None:
    async def main() -> None:
        creds = SessionCredentials()
        listener = await listen_direct("127.0.0.1", 0, creds, lambda ch: None, timeouts=FAST,
                                       attempts_per_minute=100)
        try:
            results = await asyncio.gather(
                *(connect_direct("127.0.0.1", listener.port, creds.code,
                                 _wrong(creds.password, n % 6), timeouts=FAST)
                  for n in range(8)),
                return_exceptions=True)
            assert all(isinstance(r, (AuthenticationError, TransportError)) for r in results)
            wrong = [r for r in results if "wrong session password" in str(r)]
            assert len(wrong) <= 3
            assert creds.failed_attempts == len(wrong)
        finally:
            await listener.close()

    run(main())


def test_abandoning_after_the_hosts_pake_message_costs_an_attempt() -> None:
    async def main() -> None:
        creds = SessionCredentials()
        listener = await listen_direct("127.0.0.1", 0, creds, lambda ch: None, timeouts=FAST)
        try:
            hello = b"SCDC" + (1).to_bytes(2, "big") + bytes([ROLE_VIEWER]) + creds.code.encode()
            # Before any PAKE message: free.
            reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
            writer.write(encode_frame(FrameType.HELLO, hello))
            await read_frame(reader, 1024)
            writer.close()
            await writer.wait_closed()
            await asyncio.sleep(0.05)
            assert creds.failed_attempts == 0
            # After the host's SPAKE2 message: the guess is spent.
            reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
            writer.write(encode_frame(FrameType.HELLO, hello))
            await read_frame(reader, 1024)
            id_a, id_b = spake_identities(creds.code)
            writer.write(encode_frame(FrameType.PAKE, SPAKE2_A(b"guess", idA=id_a,
                                                               idB=id_b).start()))
            ftype, _ = await read_frame(reader, 1024)
            assert ftype == FrameType.PAKE
            writer.close()
            await writer.wait_closed()
            await asyncio.sleep(0.05)
            assert creds.failed_attempts == 1
        finally:
            await listener.close()

    run(main())


def test_direct_host_limits_attempts_per_address() -> None:
    async def main() -> None:
        creds = SessionCredentials()
        errors: list[BaseException] = []
        listener = await listen_direct("127.0.0.1", 0, creds, lambda ch: None, timeouts=FAST,
                                       attempts_per_minute=3,
                                       on_error=lambda _p, e: errors.append(e))
        try:
            for _ in range(3):
                with pytest.raises(AccessRefusedError, match="UNKNOWN_SESSION"):
                    await connect_direct("127.0.0.1", listener.port, "000000000",
                                         creds.password, timeouts=FAST)
            with pytest.raises(AccessRefusedError) as info:  # even with the right credentials
                await connect_direct("127.0.0.1", listener.port, creds.code, creds.password,
                                     timeouts=FAST)
            assert info.value.code == RefuseCode.RATE_LIMITED
            assert "wait a minute" in str(info.value)
        finally:
            await listener.close()

    run(main())


def test_relay_limits_join_attempts_per_address() -> None:
    async def main() -> None:
        creds = SessionCredentials()
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
                assert relay.stats.refused == {"UNKNOWN_SESSION": 3, "RATE_LIMITED": 1}
            finally:
                await reg.close()

    run(main())


def test_wrong_password_through_the_relay_is_counted_by_the_host() -> None:
    async def main() -> None:
        creds = SessionCredentials()
        errors: list[BaseException] = []
        async with Relay() as relay:
            reg = await host_via_relay("127.0.0.1", relay.port, creds, lambda ch: None,
                                       timeouts=FAST, on_error=lambda _p, e: errors.append(e))
            try:
                await reg.wait_registered(5)
                with pytest.raises(AuthenticationError, match="wrong session password"):
                    await connect_via_relay("127.0.0.1", relay.port, creds.code,
                                            _wrong(creds.password), timeouts=FAST)
                await asyncio.sleep(0.05)
                assert creds.failed_attempts == 1
                assert [type(e) for e in errors] == [AuthenticationError]
            finally:
                await reg.close()

    run(main())
