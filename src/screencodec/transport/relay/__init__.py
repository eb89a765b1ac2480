"""The relay: pairs hosts behind NAT with viewers by session code and forwards
their sealed bytes; it holds no key.

``protocol`` is the relay's own frames, ``server`` the relay, ``sessions``
what it holds per host, ``directory`` (and ``redis_directory``) who holds
which code, ``limits`` what it caps, ``splice`` the data path, ``observe`` its
logs and metrics. docs/relay.md describes running one relay or a cluster.
"""

from __future__ import annotations

from screencodec.transport.relay.backends import open_directory
from screencodec.transport.relay.directory import (
    ClaimResult,
    Directory,
    DirectoryUnavailableError,
    Holder,
    MemoryDirectory,
)
from screencodec.transport.relay.limits import RelayLimits
from screencodec.transport.relay.observe import RelayMetrics, RelayStats
from screencodec.transport.relay.protocol import (
    RELAY_REDIRECT,
    RELAY_RELEASE,
    ROLE_HOST_CONTROL,
    ROLE_HOST_DATA,
    ROLE_VIEWER,
    TOKEN_SIZE,
    address_key,
    claim_verifier,
    encode_open,
    parse_open,
)
from screencodec.transport.relay.server import Relay, run_relay

__all__ = [
    "RELAY_REDIRECT",
    "RELAY_RELEASE",
    "ROLE_HOST_CONTROL",
    "ROLE_HOST_DATA",
    "ROLE_VIEWER",
    "TOKEN_SIZE",
    "ClaimResult",
    "Directory",
    "DirectoryUnavailableError",
    "Holder",
    "MemoryDirectory",
    "Relay",
    "RelayLimits",
    "RelayMetrics",
    "RelayStats",
    "address_key",
    "claim_verifier",
    "encode_open",
    "open_directory",
    "parse_open",
    "run_relay",
]
