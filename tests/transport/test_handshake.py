"""The handshake over real loopback sockets: hello, SPAKE2, key confirmation."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screencodec.errors import AuthenticationError, ProtocolError, TransportError
from screencodec.transport.channel.base import MAX_MESSAGE_SIZE
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import (
    AccessRefusedError,
    FrameType,
    RefuseCode,
    encode_frame,
    read_frame,
    refusal_error,
)
from screencodec.transport.channel.handshake import (
    ROLE_HOST,
    ROLE_VIEWER,
    _hello,
    host_handshake,
    parse_hello,
    viewer_handshake,
)
from screencodec.transport.channel.limits import AEAD_TAG_SIZE, MAX_RECORD_BODY
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import DirectListener, connect_direct, listen_direct
from screencodec.transport.relay import parse_open

from .helpers import until
from .secure_fixtures import FAST, FrameProxy, direct_pair, run


def _wrong(password: str) -> str:
    return ("2" if password[0] != "2" else "3") + password[1:]


async def _listen(
    creds: SessionCredentials,
    errors: list[BaseException],
) -> tuple[DirectListener, asyncio.Queue[SecureChannel]]:
    accepted: asyncio.Queue[SecureChannel] = asyncio.Queue()
    listener = await listen_direct(
        "127.0.0.1",
        0,
        creds,
        accepted.put_nowait,
        timeouts=FAST,
        on_error=lambda _p, e: errors.append(e),
    )
    return listener, accepted


def test_right_password_connects_and_password_never_on_wire() -> None:
    async def main() -> None:
        creds = SessionCredentials()
        proxies: list[FrameProxy] = []

        async def via(port: int) -> int:
            proxies.append(FrameProxy(port))
            return await proxies[0].start()

        async with direct_pair(creds, via=via) as (viewer, host, _):
            await viewer.send(b"ping")
            assert await host.recv() == b"ping"
            await host.send(b"pong")
            assert await viewer.recv() == b"pong"
        await proxies[0].close()
        seen = bytes(proxies[0].seen)
        assert creds.password.encode() not in seen
        assert b"ping" not in seen and b"pong" not in seen
        assert creds.failed_attempts == 0

    run(main())


def test_wrong_password_fails_on_both_sides_and_is_counted() -> None:
    async def main() -> None:
        creds = SessionCredentials()
        errors: list[BaseException] = []
        listener, accepted = await _listen(creds, errors)
        try:
            with pytest.raises(AuthenticationError, match="wrong session password"):
                await connect_direct(
                    "127.0.0.1", listener.port, creds.code, _wrong(creds.password), timeouts=FAST
                )
            # The host reports the failure just after the viewer hears of it.
            await until(lambda: len(errors) >= 1, 10, "the host's report")
            assert len(errors) == 1
            assert isinstance(errors[0], AuthenticationError)
            assert creds.failed_attempts == 1
            assert accepted.empty()
        finally:
            await listener.close()

    run(main())


def test_wrong_code_is_unknown_session_and_not_counted() -> None:
    async def main() -> None:
        creds = SessionCredentials("111 111 111")
        errors: list[BaseException] = []
        listener, _ = await _listen(creds, errors)
        try:
            with pytest.raises(AccessRefusedError) as info:
                await connect_direct(
                    "127.0.0.1", listener.port, "222 222 222", creds.password, timeouts=FAST
                )
            assert info.value.code == RefuseCode.UNKNOWN_SESSION
            assert creds.failed_attempts == 0
        finally:
            await listener.close()

    run(main())


def test_garbage_instead_of_hello_is_refused_and_host_keeps_serving() -> None:
    async def main() -> None:
        creds = SessionCredentials()
        errors: list[BaseException] = []
        listener, _ = await _listen(creds, errors)
        port = listener.port
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            ftype, body = await read_frame(reader, 1024)  # refused before reading a "body"
            assert (ftype, body[0]) == (FrameType.REFUSE, RefuseCode.MALFORMED)
            assert await reader.read() == b""
            writer.close()
            await writer.wait_closed()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(encode_frame(FrameType.HELLO, b"XXXX" + bytes(12)))
            ftype, body = await read_frame(reader, 1024)
            assert ftype == FrameType.REFUSE
            assert isinstance(refusal_error(body), ProtocolError)
            writer.close()
            await writer.wait_closed()
            await until(lambda: len(errors) >= 2, 10, "both reports")
            assert all(isinstance(e, ProtocolError) for e in errors)
            assert len(errors) == 2
            channel = await connect_direct(
                "127.0.0.1", port, creds.code, creds.password, timeouts=FAST
            )
            await channel.close()
            assert creds.failed_attempts == 0
        finally:
            await listener.close()

    run(main())


#: SPAKE2 messages whose point is no group element: python-spake2 raises
#: ValueError ("not in the right group") or NotOnCurve for them, not its
#: SPAKEError (stop 54: they escaped the handshake as such).
BAD_POINTS = {
    "zero point": bytes(32),
    "all ones": b"\xff" * 32,
    "off the curve": bytes.fromhex("01" * 32),
    "too long": bytes(40),
}


@pytest.mark.parametrize("point", BAD_POINTS.values(), ids=BAD_POINTS.keys())
def test_a_pake_message_that_is_no_point_is_a_protocol_error_and_host_keeps_serving(
    point: bytes,
) -> None:
    """Attack: a viewer sends a SPAKE2 message whose point is not on the curve
    or not in the group. Expected: the host reports a ProtocolError for that
    connection and closes it (it was left open: the library's ValueError
    escaped the acceptor), counts it as one guess (every check does,
    host_handshake's doc), and the real agent connects next."""

    async def main() -> None:
        creds = SessionCredentials()
        errors: list[BaseException] = []
        listener, _ = await _listen(creds, errors)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
            writer.write(encode_frame(FrameType.HELLO, _hello(ROLE_VIEWER, creds.code)))
            assert (await read_frame(reader, 1024))[0] == FrameType.HELLO
            writer.write(encode_frame(FrameType.PAKE, b"A" + point))
            while await reader.read(4096):  # its PAKE, then the close
                pass
            writer.close()
            await writer.wait_closed()
            await until(lambda: len(errors) >= 1, 10, "the host's report")
            assert [type(e) for e in errors] == [ProtocolError], errors
            assert "SPAKE2" in str(errors[0])
            channel = await connect_direct(
                "127.0.0.1", listener.port, creds.code, creds.password, timeouts=FAST
            )
            await channel.close()
            assert creds.failed_attempts == 1
        finally:
            await listener.close()

    run(main())


def test_an_unexpected_error_in_the_handshake_closes_the_stream_and_is_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Whatever a handshake raises (here a plain RuntimeError, as a library's
    own error on a peer's bytes would), the host's acceptor closes that
    stream and reports it; it closed only on ScreencodecError and OSError
    and left the connection open (stop 54)."""
    from screencodec.transport.connect import accept

    async def broken(*_a: object, **_k: object) -> object:
        raise RuntimeError("a library's own error")

    monkeypatch.setattr(accept, "host_handshake", broken)

    async def main() -> None:
        creds = SessionCredentials()
        errors: list[BaseException] = []
        listener, _ = await _listen(creds, errors)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
            assert await asyncio.wait_for(reader.read(), 5) == b""  # closed, not left open
            writer.close()
            await writer.wait_closed()
            await until(lambda: len(errors) >= 1, 10, "the host's report")
            assert [type(e) for e in errors] == [RuntimeError], errors
        finally:
            await listener.close()

    run(main())


def test_a_host_whose_pake_message_is_no_point_is_a_protocol_error_to_the_viewer() -> None:
    """Attack: a host (or what answers at its address) sends a SPAKE2 message
    whose point is not in the group. Expected: the viewer's connect raises
    ProtocolError, not the library's ValueError."""

    async def main() -> None:
        async def fake_host(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                await read_frame(r, 1024)
                w.write(encode_frame(FrameType.HELLO, _hello(ROLE_HOST, None)))
                await read_frame(r, 1024)
                w.write(encode_frame(FrameType.PAKE, b"B" + bytes(32)))
                await w.drain()
                await r.read()
            w.close()

        server = await asyncio.start_server(fake_host, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        creds = SessionCredentials()
        try:
            with pytest.raises(ProtocolError, match="SPAKE2"):
                await connect_direct("127.0.0.1", port, creds.code, creds.password,
                                     timeouts=FAST)  # fmt: skip
        finally:
            server.close()
            await server.wait_closed()

    run(main())


def test_other_protocol_version_is_refused_clearly() -> None:
    async def main() -> None:
        creds = SessionCredentials()
        listener, _ = await _listen(creds, [])
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
            hello = b"SCDC" + (99).to_bytes(2, "big") + bytes([ROLE_VIEWER]) + creds.code.encode()
            writer.write(encode_frame(FrameType.HELLO, hello))
            ftype, body = await read_frame(reader, 1024)
            assert ftype == FrameType.REFUSE
            assert body[0] == RefuseCode.BAD_VERSION
            err = refusal_error(body)
            assert isinstance(err, ProtocolError)
            assert "version 99" in str(err)
            writer.close()
            await writer.wait_closed()
        finally:
            await listener.close()

    run(main())


def test_impostor_host_is_detected_by_the_viewer() -> None:
    """A host that does not know the password (a MITM) fails the viewer's check."""

    async def main() -> None:
        real = SessionCredentials()
        fake = SessionCredentials(real.code)
        listener, _ = await _listen(fake, [])
        try:
            with pytest.raises(AuthenticationError):
                await connect_direct(
                    "127.0.0.1", listener.port, real.code, real.password, timeouts=FAST
                )
        finally:
            await listener.close()

    run(main())


def test_silent_peer_hits_the_handshake_timeout() -> None:
    async def main() -> None:
        held: list[asyncio.StreamWriter] = []
        server = await asyncio.start_server(lambda r, w: held.append(w), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            t = FAST.__class__(handshake=0.3, idle=None, keepalive=None)
            with pytest.raises(TransportError, match="timed out"):
                await connect_direct("127.0.0.1", port, "123456789", "abcdefgh", timeouts=t)
        finally:
            for w in held:
                w.close()
                await w.wait_closed()
            server.close()
            await server.wait_closed()

    run(main())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_parsers_reject_any_junk_with_protocol_errors(junk: bytes) -> None:
    for parse in (lambda b: parse_hello(b, ROLE_VIEWER), lambda b: parse_open(0x20, b)):
        with contextlib.suppress(ProtocolError):  # anything else fails the test
            parse(junk)
    err = refusal_error(junk)
    assert isinstance(err, (ProtocolError, TransportError, AccessRefusedError))


def test_max_record_body_cannot_open_to_more_than_max_message_size() -> None:
    assert MAX_RECORD_BODY - AEAD_TAG_SIZE == MAX_MESSAGE_SIZE


def test_handshake_with_ended_credentials_is_refused() -> None:
    """The window between ``end()`` and the listener closing: refused, not served."""

    async def main() -> None:
        creds = SessionCredentials()
        done: asyncio.Queue[BaseException] = asyncio.Queue()

        async def host_side(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await host_handshake(reader, writer, creds)
            except AccessRefusedError as exc:
                done.put_nowait(exc)

        server = await asyncio.start_server(host_side, "127.0.0.1", 0)
        creds.end()
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", server.sockets[0].getsockname()[1]
        )
        with pytest.raises(AccessRefusedError, match="SESSION_ENDED"):
            await viewer_handshake(reader, writer, creds.code, "abcdefgh")
        assert (await done.get()).code == RefuseCode.SESSION_ENDED  # type: ignore[attr-defined]
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()

    run(main())


def test_a_refusal_or_close_reason_from_the_peer_is_sanitised() -> None:
    """A hostile host's REFUSE detail and RECORD_CLOSE reason end up in
    exception messages the viewer shows: no escape sequences, bounded."""
    from screencodec.errors import SessionClosedError

    async def main() -> None:
        async def hostile(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await read_frame(reader, 1024)
            writer.write(encode_frame(FrameType.REFUSE, bytes([RefuseCode.RATE_LIMITED])
                                      + b"\x1b]0;pwned\x07\x1b[2Jbusy"))
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(hostile, "127.0.0.1", 0)
        try:
            with pytest.raises(AccessRefusedError) as info:
                await connect_direct("127.0.0.1", server.sockets[0].getsockname()[1],
                                     "123456789", "abcdefgh", timeouts=FAST)
            assert "\x1b" not in str(info.value) and str(info.value).endswith("??busy")
        finally:
            server.close()
            await server.wait_closed()

        async with direct_pair() as (viewer, host, _):
            await host.close("\x1b[8mgone" + "x" * 500)
            with pytest.raises(SessionClosedError) as closed:
                await viewer.recv()
            assert "\x1b" not in str(closed.value) and "?gone" in str(closed.value)
            assert len(str(closed.value)) < 200

    run(main())
