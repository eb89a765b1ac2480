"""The relay: pairs hosts behind NAT with viewers by session code and forwards
their sealed bytes; it holds no key.

``protocol`` is the relay's own frames, ``server`` the relay, ``sessions``
what it holds per host, ``directory`` (and ``redis_directory``) who holds
which code, ``limits`` what it caps, ``splice`` the data path, ``observe`` its
logs and metrics. docs/relay.md describes running one relay or a cluster.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from screencodec._lazy import lazy_names

if TYPE_CHECKING:
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

#: Each name imported from its module on first use (_lazy): a host or viewer
#: that reads the relay's frames (``relay.protocol``) does not load the
#: relay's server, directory and metrics (startup37).
_LAZY = {
    "ClaimResult": ".directory",
    "Directory": ".directory",
    "DirectoryUnavailableError": ".directory",
    "Holder": ".directory",
    "MemoryDirectory": ".directory",
    "RELAY_REDIRECT": ".protocol",
    "RELAY_RELEASE": ".protocol",
    "ROLE_HOST_CONTROL": ".protocol",
    "ROLE_HOST_DATA": ".protocol",
    "ROLE_VIEWER": ".protocol",
    "Relay": ".server",
    "RelayLimits": ".limits",
    "RelayMetrics": ".observe",
    "RelayStats": ".observe",
    "TOKEN_SIZE": ".protocol",
    "address_key": ".protocol",
    "claim_verifier": ".protocol",
    "encode_open": ".protocol",
    "open_directory": ".backends",
    "parse_open": ".protocol",
    "run_relay": ".server",
}

if not TYPE_CHECKING:  # mypy reads the imports above (_lazy)
    __getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
