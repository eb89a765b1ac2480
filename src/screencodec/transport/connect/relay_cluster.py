"""Relay addresses and the cluster list a relay tells (failover42, follow42):
addresses as pairings and registrations compare them, the checks a told
list passes before anyone dials it (untrusted input), and how an address is
written for a user. Used by the host's registration (connect/registration.py)
and the viewer's connection (connect/via_relay.py).
"""

from __future__ import annotations

import ipaddress

from screencodec.errors import (
    ProtocolError,
)
from screencodec.transport.connect.relay_open import redirect_target
from screencodec.transport.relay.protocol import (
    parse_viewer_ok,
)

__all__ = [
    "relay_address",
    "told_relays",
]


def relay_address(host: str, port: int) -> tuple[str, int]:
    """``(host, port)`` as pairings compare them: a host name in lower case
    without its final dot, an IP literal in its canonical form (no
    brackets). Never resolved: two names of one machine are two addresses."""
    host = host.strip("[]").lower()
    try:
        return str(ipaddress.ip_address(host)), port
    except ValueError:
        return host.removesuffix("."), port


def _this_machine(host: str) -> bool:
    """Whether ``host`` names this machine: a loopback or wildcard literal,
    or ``localhost``."""
    host = relay_address(host, 0)[0]
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost" or host.endswith(".localhost")
    return ip.is_loopback or ip.is_unspecified


def _hostport(host: str, port: int) -> str:
    """``HOST:PORT`` as a user types it (an IPv6 literal in brackets)."""
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


def told_relays(body: bytes) -> list[tuple[str, int]] | None:
    """The relays of its cluster that a relay's RELAY_OK to a host lists
    (protocol.parse_viewer_ok: at most 16, ASCII, each ``HOST:PORT`` with a
    port 1-65535), each a host name or IP literal as a redirect's must be
    (:func:`redirect_target`), each once (:func:`relay_address`), in the
    relay's order; None (nothing told) for a relay before failover42 (no
    list) and for a list breaking any rule: a relay that tells garbage is
    not believed at all. Untrusted input: the host dials these."""
    _, addresses = parse_viewer_ok(body)
    if addresses is None:
        return None
    try:
        told = [relay_address(*redirect_target(a.encode("ascii"))) for a in addresses]
    except ProtocolError:
        return None
    return list(dict.fromkeys(told))


def _told_cluster(addresses: tuple[str, ...] | None) -> frozenset[tuple[str, int]]:
    """The addresses of a RELAY_OK's cluster list (protocol.parse_viewer_ok),
    each checked as a redirect's is: none at all if any is not a host name
    or IP literal and port (a relay that tells garbage is not believed)."""
    try:
        return frozenset(
            relay_address(*redirect_target(a.encode("ascii"))) for a in addresses or ()
        )
    except ProtocolError:
        return frozenset()


def _told_order(addresses: tuple[str, ...] | None) -> list[tuple[str, int]]:
    """:func:`_told_cluster`'s addresses in the relay's order, each once."""
    told = _told_cluster(addresses)
    if not told:
        return []
    return list(
        dict.fromkeys(relay_address(*redirect_target(a.encode("ascii"))) for a in addresses or ())
    )
