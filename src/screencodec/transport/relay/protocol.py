"""The relay's opening frame: who a client is (host control, viewer, host data)
and which session it names. Spoken by the relay server and by the hosts and
viewers that dial it (see the server's module docstring for the whole protocol)."""

from __future__ import annotations

import struct

from screencodec.errors import ProtocolError
from screencodec.transport.channel.codes import CODE_DIGITS, parse_code
from screencodec.transport.channel.framing import MAGIC, PROTOCOL_VERSION, FrameType, encode_frame
from screencodec.transport.channel.handshake import VersionMismatchError

__all__ = [
    "ROLE_HOST_CONTROL",
    "ROLE_HOST_DATA",
    "ROLE_VIEWER",
    "TOKEN_SIZE",
    "encode_open",
    "parse_open",
]

ROLE_HOST_CONTROL = 1
ROLE_VIEWER = 2
ROLE_HOST_DATA = 3
TOKEN_SIZE = 16
_OPEN = struct.Struct(f">4sHB{CODE_DIGITS}s{TOKEN_SIZE}s")


def encode_open(role: int, code: str, token: bytes = bytes(TOKEN_SIZE)) -> bytes:
    """The RELAY_OPEN frame a client sends first."""
    body = _OPEN.pack(MAGIC, PROTOCOL_VERSION, role, parse_code(code).encode(), token)
    return encode_frame(FrameType.RELAY_OPEN, body)


def parse_open(ftype: int, body: bytes) -> tuple[int, str, bytes]:
    """Validate a RELAY_OPEN frame; returns (role, code, token)."""
    if ftype != FrameType.RELAY_OPEN or len(body) != _OPEN.size or body[:4] != MAGIC:
        raise ProtocolError("not a screencodec relay client")
    _, version, role, code, token = _OPEN.unpack(body)
    if version != PROTOCOL_VERSION:
        raise VersionMismatchError(f"relay speaks version {PROTOCOL_VERSION}, client {version}")
    if role not in (ROLE_HOST_CONTROL, ROLE_VIEWER, ROLE_HOST_DATA):
        raise ProtocolError(f"unknown relay role {role}")
    try:
        return role, parse_code(code.decode("ascii")), token
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError("malformed session code") from None
