"""The connection handshake: hello, SPAKE2, key confirmation.

::

    viewer                                  host
      HELLO(magic, version, viewer, code) ->
                                         <- HELLO(magic, version, host)  | REFUSE(code)
      PAKE(SPAKE2_A message)              ->
                                         <- PAKE(SPAKE2_B message)
      CONFIRM(HMAC(k_cv, transcript))     ->
                                         <- CONFIRM(HMAC(k_ch, transcript)) | REFUSE(AUTH_FAILED)

The transcript hash covers both hellos and both SPAKE2 messages; the keys
come from HKDF over the SPAKE2 key salted with it (see crypto.py). The viewer
confirms first, so the host learns a wrong password before it reveals
anything that would let a guess be checked, and counts the failure. The
viewer checks the host's confirmation, so an impostor host is caught too.
Either way no application record is sent before both sides confirmed.

The host checks a guess only when the session's throttle admits it (see
throttle.py), and counts it as failed from the moment it sends its own SPAKE2
message: a peer that drops the connection after that still used up a guess.
"""

from __future__ import annotations

import asyncio
import hashlib
import struct
from collections.abc import Callable
from dataclasses import dataclass

from screencodec.errors import AuthenticationError, ProtocolError, VersionMismatchError
from screencodec.transport.aio import wait_for
from screencodec.transport.channel.codes import (
    CODE_DIGITS,
    SessionCredentials,
    normalize_password,
    parse_code,
)
from screencodec.transport.channel.crypto import (
    SessionKeys,
    confirmation_mac,
    derive_session_keys,
    spake_identities,
    verify_confirmation,
)
from screencodec.transport.channel.framing import (
    MAGIC,
    PROTOCOL_VERSION,
    AccessRefusedError,
    FrameType,
    RefuseCode,
    encode_frame,
    read_frame,
    refusal_error,
    send_refusal,
)
from screencodec.transport.channel.limits import HANDSHAKE_FRAME_MAX

__all__ = [
    "ROLE_HOST",
    "ROLE_VIEWER",
    "HandshakeResult",
    "VersionMismatchError",
    "host_handshake",
    "parse_hello",
    "viewer_handshake",
]

ROLE_VIEWER = 1
ROLE_HOST = 2
_HELLO = struct.Struct(f">4sHB{CODE_DIGITS}s")
_NO_CODE = b"0" * CODE_DIGITS


@dataclass(slots=True)
class HandshakeResult:
    """Keys of a confirmed connection. Whoever holds it must wipe ``keys``."""

    keys: SessionKeys
    transcript_hash: bytes


def _hello(role: int, code: str | None) -> bytes:
    return _HELLO.pack(MAGIC, PROTOCOL_VERSION, role, code.encode() if code else _NO_CODE)


def _why(exc: Exception) -> str:
    """What python-spake2 said of a peer's message: its SPAKEError for a
    message of the wrong side or length, but a ValueError ("element is not in
    the right group") or its NotOnCurve for a point that is no group element,
    which escaped the handshake as such, and the host's acceptor left that
    connection open (stop 54: tests/transport/test_handshake.py's bad points)."""
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def parse_hello(body: bytes, expected_role: int) -> str:
    """Check a hello body; returns the session code it names.

    Raises ProtocolError for a wrong magic, version, role or layout.
    """
    if len(body) != _HELLO.size or body[:4] != MAGIC:
        raise ProtocolError("not a screencodec transport peer (bad hello)")
    _, version, role, code = _HELLO.unpack(body)
    if version != PROTOCOL_VERSION:
        raise VersionMismatchError(f"peer speaks transport version {version}, "
                            f"this side speaks {PROTOCOL_VERSION}")
    if role != expected_role:
        raise ProtocolError(f"hello from role {role}, expected {expected_role}")
    try:
        return parse_code(code.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError("hello carries a malformed session code") from None


async def _expect(reader: asyncio.StreamReader, ftype: FrameType) -> bytes:
    got, body = await read_frame(reader, HANDSHAKE_FRAME_MAX)
    if got == FrameType.REFUSE:
        raise refusal_error(body)
    if got != ftype:
        raise ProtocolError(f"expected a {ftype.name} frame, got type {got}")
    return body


def _transcript(*parts: bytes) -> bytes:
    h = hashlib.sha256()
    for part in parts:
        h.update(struct.pack(">I", len(part)))
        h.update(part)
    return h.digest()


async def viewer_handshake(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    code: str,
    password: str,
) -> HandshakeResult:
    """Run the viewer's side. Raises AuthenticationError (wrong password, refused,
    impostor host), ProtocolError or SessionClosedError. Does not close the stream."""
    code = parse_code(code)
    pw = normalize_password(password).encode()
    hello_v = _hello(ROLE_VIEWER, code)
    writer.write(encode_frame(FrameType.HELLO, hello_v))
    hello_h = await _expect(reader, FrameType.HELLO)
    parse_hello(hello_h, ROLE_HOST)

    from spake2 import SPAKE2_A  # 0.1 s of CPU: not before a connection

    id_a, id_b = spake_identities(code)
    spake = SPAKE2_A(pw, idA=id_a, idB=id_b)
    msg_a: bytes = spake.start()
    writer.write(encode_frame(FrameType.PAKE, msg_a))
    msg_b = await _expect(reader, FrameType.PAKE)
    try:
        pake_key: bytes = spake.finish(msg_b)
    except Exception as exc:  # SPAKEError, or ValueError/NotOnCurve for a bad point
        raise ProtocolError(f"bad SPAKE2 message from host: {_why(exc)}") from None
    th = _transcript(hello_v, hello_h, msg_a, msg_b)
    keys = derive_session_keys(pake_key, th)
    try:
        writer.write(encode_frame(FrameType.CONFIRM,
                                  confirmation_mac(keys.confirm_viewer, b"viewer", th)))
        await writer.drain()
        try:
            mac = await _expect(reader, FrameType.CONFIRM)
        except AccessRefusedError as exc:
            if exc.code == RefuseCode.AUTH_FAILED:
                raise AuthenticationError("wrong session password") from None
            raise
        if not verify_confirmation(keys.confirm_host, b"host", th, mac):
            raise AuthenticationError("the host failed to prove it knows the password")
    except BaseException:
        keys.wipe()
        raise
    return HandshakeResult(keys, th)


async def host_handshake(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    credentials: SessionCredentials,
    key: str = "",
    *,
    preauth_timeout: float | None = None,
    auth_timeout: float | None = None,
    on_commit: Callable[[], None] | None = None,
    on_hello: Callable[[], None] | None = None,
) -> HandshakeResult:
    """Run the host's side. On failure sends a REFUSE frame where one helps the
    peer and raises (AuthenticationError for a wrong code or password or a
    refused attempt, ProtocolError for garbage, TimeoutError for a phase that
    ran out of time); the caller closes the stream.

    Phases: *pre-auth* (the hellos and the viewer's PAKE message, within
    ``preauth_timeout``; ``on_hello`` is called once our hello answered the
    viewer's, ``on_commit`` once the viewer committed to a guess),
    *admission* (the session's :class:`~.throttle.GuessThrottle` decides when
    this guess may be checked; ``key`` is the source address's key), and the
    *check* (our PAKE message and the confirmations, within
    ``auth_timeout``). A check counts as a failed guess from the moment it
    starts, unless it succeeds; it uses the password current at that moment.
    """
    async def preauth() -> tuple[bytes, bytes, bytes]:
        try:
            ftype, hello_v = await read_frame(reader, HANDSHAKE_FRAME_MAX)
            if ftype != FrameType.HELLO:
                raise ProtocolError(f"expected a hello, got frame type {ftype}")
            code = parse_hello(hello_v, ROLE_VIEWER)
        except ProtocolError as exc:
            why = (RefuseCode.BAD_VERSION if isinstance(exc, VersionMismatchError)
                   else RefuseCode.MALFORMED)
            await send_refusal(writer, why, str(exc))
            raise
        if credentials.ended:
            await send_refusal(writer, RefuseCode.SESSION_ENDED, "this session has ended")
            raise AccessRefusedError(RefuseCode.SESSION_ENDED, "session ended")
        if not credentials.matches_code(code):
            await send_refusal(writer, RefuseCode.UNKNOWN_SESSION, "no such session here")
            raise AccessRefusedError(RefuseCode.UNKNOWN_SESSION, "viewer named another code")
        hello_h = _hello(ROLE_HOST, None)
        writer.write(encode_frame(FrameType.HELLO, hello_h))
        if on_hello is not None:
            on_hello()
        return hello_v, hello_h, await _expect(reader, FrameType.PAKE)

    async def check() -> HandshakeResult:
        if credentials.ended:
            await send_refusal(writer, RefuseCode.SESSION_ENDED, "this session has ended")
            raise AccessRefusedError(RefuseCode.SESSION_ENDED, "session ended")
        from spake2 import SPAKE2_B  # 0.1 s of CPU: not before a connection

        id_a, id_b = spake_identities(credentials.code)
        spake = SPAKE2_B(credentials.password.encode(), idA=id_a, idB=id_b)
        msg_b: bytes = spake.start()
        writer.write(encode_frame(FrameType.PAKE, msg_b))
        try:
            pake_key: bytes = spake.finish(msg_a)
        except Exception as exc:  # SPAKEError, or ValueError/NotOnCurve for a bad point
            raise ProtocolError(f"bad SPAKE2 message from viewer: {_why(exc)}") from None
        th = _transcript(hello_v, hello_h, msg_a, msg_b)
        keys = derive_session_keys(pake_key, th)
        try:
            mac = await _expect(reader, FrameType.CONFIRM)
            if not verify_confirmation(keys.confirm_viewer, b"viewer", th, mac):
                await send_refusal(writer, RefuseCode.AUTH_FAILED, "wrong password")
                raise AuthenticationError("a viewer failed the password check")
            writer.write(encode_frame(FrameType.CONFIRM,
                                      confirmation_mac(keys.confirm_host, b"host", th)))
            await writer.drain()
        except BaseException:
            keys.wipe()
            raise
        return HandshakeResult(keys, th)

    hello_v, hello_h, msg_a = await wait_for(preauth(), preauth_timeout)
    if on_commit is not None:
        on_commit()
    try:
        ticket = await credentials.throttle.admit(key)
    except AccessRefusedError as exc:
        await send_refusal(writer, exc.code, str(exc).partition(": ")[2])
        raise
    success = False
    try:
        result = await wait_for(check(), auth_timeout, dropped=lambda r: r.keys.wipe())
        success = True
        return result
    finally:
        credentials.throttle.finish(ticket, success=success)
        if not success:
            credentials.check_failed(key)
