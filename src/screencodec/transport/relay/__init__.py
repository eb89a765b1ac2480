"""The relay: pairs hosts behind NAT with viewers by session code and forwards
their sealed bytes; it holds no key. ``protocol`` is the opening frame that
clients speak, ``server`` the relay itself."""

from __future__ import annotations

from screencodec.transport.relay.protocol import (
    ROLE_HOST_CONTROL,
    ROLE_HOST_DATA,
    ROLE_VIEWER,
    TOKEN_SIZE,
    encode_open,
    parse_open,
)
from screencodec.transport.relay.server import Relay, RelayLimits, RelayStats, run_relay

__all__ = [
    "ROLE_HOST_CONTROL",
    "ROLE_HOST_DATA",
    "ROLE_VIEWER",
    "TOKEN_SIZE",
    "Relay",
    "RelayLimits",
    "RelayStats",
    "encode_open",
    "parse_open",
    "run_relay",
]
