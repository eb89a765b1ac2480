"""Direct and relayed connections end to end, on asyncio and (if installed) uvloop."""

from __future__ import annotations

import asyncio

import pytest

from free_port import free_port
from screencodec.errors import SessionClosedError, TransportError
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import (
    AccessRefusedError,
    FrameType,
    RefuseCode,
    encode_frame,
    read_frame,
)
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import (
    connect_direct,
    connect_via_relay,
    host_via_relay,
    listen_direct,
)
from screencodec.transport.relay import Relay

from .secure_fixtures import FAST, both_loops, direct_pair, run

MESSAGES = [b"", b"x", bytes(range(256)) * 256, b"\x00" * (1 << 20), b"end"]


async def _echo(channel: SecureChannel) -> None:
    """A host session that echoes every message until the viewer leaves."""
    try:
        while True:
            await channel.send(await channel.recv())
    except SessionClosedError:
        pass
    finally:
        await channel.close()


async def _check_echo(viewer: SecureChannel) -> None:
    for m in MESSAGES:
        await viewer.send(m)
    for m in MESSAGES:
        assert await viewer.recv() == m


@both_loops
def test_direct_echo(loop_kind: str) -> None:
    async def main() -> None:
        creds = SessionCredentials()
        async with await listen_direct("127.0.0.1", 0, creds, _echo, timeouts=FAST) as listener:
            viewer = await connect_direct(
                "127.0.0.1", listener.port, creds.code, creds.password, timeouts=FAST
            )
            await _check_echo(viewer)
            await viewer.close()

    run(main(), loop_kind=loop_kind)


@both_loops
def test_relay_echo(loop_kind: str) -> None:
    async def main() -> None:
        creds = SessionCredentials()
        async with (
            Relay() as relay,
            await host_via_relay("127.0.0.1", relay.port, creds, _echo, timeouts=FAST) as reg,
        ):
            await reg.wait_registered(5)
            viewer = await connect_via_relay(
                "127.0.0.1", relay.port, creds.display_code, creds.password.upper(), timeouts=FAST
            )
            await _check_echo(viewer)
            await viewer.close()

    run(main(), loop_kind=loop_kind)


def test_failing_on_channel_closes_that_channel() -> None:
    async def main() -> None:
        creds = SessionCredentials()
        errors: list[BaseException] = []

        def broken(_: SecureChannel) -> None:
            raise RuntimeError("session layer bug")

        async with await listen_direct(
            "127.0.0.1", 0, creds, broken, timeouts=FAST, on_error=lambda _p, e: errors.append(e)
        ) as listener:
            viewer = await connect_direct(
                "127.0.0.1", listener.port, creds.code, creds.password, timeouts=FAST
            )
            with pytest.raises(SessionClosedError, match="failed to start"):
                await viewer.recv()
            assert [str(e) for e in errors] == ["session layer bug"]
            assert not listener.channels

    run(main())


def test_closing_the_listener_ends_its_sessions_and_ended_code_is_refused() -> None:
    async def main() -> None:
        creds = SessionCredentials()
        async with direct_pair(creds) as (viewer, host, listener):
            assert listener.channels == {host}
            await listener.close()
            with pytest.raises(SessionClosedError, match="host ended the session"):
                await viewer.recv()
            assert host.closed
        creds.end()
        with pytest.raises(AccessRefusedError) as info:
            await listen_direct("127.0.0.1", 0, creds, _echo, timeouts=FAST)
        assert info.value.code == RefuseCode.SESSION_ENDED
        with pytest.raises(AccessRefusedError, match="SESSION_ENDED"):
            await host_via_relay("127.0.0.1", 1, creds, _echo)

    run(main())


def test_unreachable_and_malformed_input() -> None:
    async def main() -> None:
        port = free_port()  # a port nobody listens on
        with pytest.raises(TransportError, match="cannot reach"):
            await connect_direct("127.0.0.1", port, "123456789", "abcdefgh", timeouts=FAST)
        with pytest.raises(ValueError, match="9 digits"):
            await connect_direct("127.0.0.1", port, "12345", "abcdefgh")
        with pytest.raises(ValueError, match="symbols"):
            await connect_via_relay("127.0.0.1", port, "123456789", "0000")

    run(main())


def test_reconnect_needs_a_new_handshake() -> None:
    """A closed channel cannot be resumed; a new connection gets fresh keys."""

    async def main() -> None:
        creds = SessionCredentials()
        async with direct_pair(creds) as (viewer, _host, listener):
            first = bytes(viewer._keys.viewer_to_host)
            await viewer.close()
            again = await connect_direct(
                "127.0.0.1", listener.port, creds.code, creds.password, timeouts=FAST
            )
            assert bytes(again._keys.viewer_to_host) != first
            await again.close()
        await asyncio.sleep(0)

    run(main())


def test_closing_the_listener_stops_handshakes_in_flight() -> None:
    async def main() -> None:
        creds = SessionCredentials()
        accepted: list[SecureChannel] = []
        listener = await listen_direct("127.0.0.1", 0, creds, accepted.append, timeouts=FAST)
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        hello = b"SCDC\0\1\1" + creds.code.encode()
        writer.write(encode_frame(FrameType.HELLO, hello))
        assert (await read_frame(reader, 1024))[0] == FrameType.HELLO  # host waits for PAKE
        await listener.close()
        assert await reader.read() == b""  # dropped, not left hanging
        writer.close()
        await writer.wait_closed()
        assert accepted == []
        assert creds.failed_attempts == 0

    run(main())


def test_public_api_surface() -> None:
    """Pin what the session layer may import; changing it is a deliberate act."""
    from screencodec.transport import connect, relay
    from screencodec.transport.channel import codes, limits, sealed
    from screencodec.transport.channel import framing as frames

    assert set(connect.__all__) == {
        "DirectListener",
        "OnChannel",
        "OnError",
        "RelayRecoveringError",  # relay42: what wait_registered gives up with
        "RelayRegistration",
        "connect_direct",
        "connect_via_relay",
        "host_via_relay",
        "listen_direct",
    }
    assert {"SessionCredentials", "format_code", "parse_code"} <= set(codes.__all__)
    assert {"AccessRefusedError", "RefuseCode"} <= set(frames.__all__)
    assert {"Relay", "RelayLimits", "run_relay"} <= set(relay.__all__)
    assert {"Timeouts", "AttemptLimiter", "MAX_FAILED_ATTEMPTS"} <= set(limits.__all__)
    assert sealed.__all__ == ["CLOSE_CAP", "STALL", "SecureChannel"]
    for module in (codes, connect, frames, limits, relay, sealed):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_ending_the_credentials_closes_a_direct_listener() -> None:
    async def main() -> None:
        creds = SessionCredentials()
        async with direct_pair(creds) as (viewer, host, listener):
            port = listener.port
            creds.end()
            with pytest.raises(SessionClosedError, match="host ended the session"):
                await asyncio.wait_for(viewer.recv(), 3)
            assert host.closed
            with pytest.raises(TransportError):
                await connect_direct("127.0.0.1", port, creds.code, "abcdefgh", timeouts=FAST)

    run(main())
