"""relay43, attacked: RELAY_PONG now carries the relay's cluster, and the
host dials those addresses when its relay stops. The list is untrusted
input, read exactly as RELAY_OK's (protocol.parse_viewer_ok,
relay_cluster.told_relays). Expected: a PONG whose list breaks any rule (17
entries, a 64-letter label, ports 0 and 65536, non-ASCII, an escape, a
field after it, ...) teaches the host nothing and leaves what it learnt; one
address 16 times is one address, dialled once; a relay elsewhere naming
this machine's addresses is not believed on them; a good list replaces
the one before (never adds up past 16).

A relay played by the test (real sockets): RELAY_OK with a list, then each
RELAY_PING answered with a RELAY_PONG whose body the test sets.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import host_via_relay
from screencodec.transport.connect.via_relay import RelayRegistration

from .cluster import run, wait_for
from .test_failover42_host_moves import FAST
from .test_failover42_hostile_lists import HOSTILE, TAG, _listing, _Relay
from .test_follow42_hostile_lists import ELSEWHERE


async def _pongs(relay: _Relay, reg: RelayRegistration, body: bytes) -> None:
    """Let ``body`` be answered to two pings at least."""
    relay.pong, seen = body, relay.pongs
    await wait_for(lambda: relay.pongs >= seen + 2, 10)
    await asyncio.sleep(0.05)  # the last one read


@contextlib.asynccontextmanager
async def _host(relay: _Relay):  # type: ignore[no-untyped-def]
    reg = await host_via_relay(relay.where, relay.port, SessionCredentials(), lambda ch: None,
                               timeouts=FAST, ping_interval=0.1)  # fmt: skip
    try:
        await reg.wait_registered(10)
        yield reg
    finally:
        await reg.close()


@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_pong_listing_hostile_addresses_is_not_believed(body: bytes) -> None:
    async def main() -> None:
        async with _Relay(b"") as relay:
            own = f"127.0.0.1:{relay.port}".encode()
            relay.body = _listing(own, b"10.0.0.1:7390")
            async with _host(relay) as reg:
                given = ("127.0.0.1", relay.port)
                assert reg.addresses == (given, ("10.0.0.1", 7390))
                await _pongs(relay, reg, body)
                assert reg.addresses == (given, ("10.0.0.1", 7390))
                # The PONG is read (before relay43 it was not): a good list
                # replaces what it learnt.
                await _pongs(relay, reg, _listing(own, b"10.0.0.2:7390"))
                assert reg.addresses == (given, ("10.0.0.2", 7390))

    run(main())


def test_what_a_host_learns_from_pongs() -> None:
    async def main() -> None:
        async with _Relay(b"") as relay:
            own = f"127.0.0.1:{relay.port}".encode()
            relay.body = _listing(own)
            given = ("127.0.0.1", relay.port)
            async with _host(relay) as reg:
                assert reg.addresses == (given,)
                # A relay before relay43: an empty PONG, nothing told.
                await _pongs(relay, reg, b"")
                assert reg.addresses == (given,)
                # One address 16 times: the list's first, the relay's own
                # (the same relay by another path): nothing to move to.
                await _pongs(relay, reg, _listing(*[b"10.0.0.9:7390"] * 16))
                assert reg.addresses == (given,)
                # Its own, then one other 15 times: that one, once.
                await _pongs(relay, reg, _listing(own, *[b"10.0.0.9:7390"] * 15))
                assert reg.addresses == (given, ("10.0.0.9", 7390))
                # 16 others: the first is the relay's own, however named; 15.
                sixteen = [f"10.0.1.{i}:7390".encode() for i in range(16)]
                await _pongs(relay, reg, _listing(*sixteen))
                assert reg.addresses == (given, *((f"10.0.1.{i}", 7390) for i in range(1, 16)))
                # The tag alone (a relay that lists nothing): nothing told.
                await _pongs(relay, reg, TAG)
                assert len(reg.addresses) == 16

    run(main())


@pytest.mark.skipif(ELSEWHERE is None, reason="no address but loopback")
def test_a_pong_from_a_relay_elsewhere_cannot_point_the_host_at_this_machine() -> None:
    async def main() -> None:
        assert ELSEWHERE is not None
        async with _Relay(b"", where=ELSEWHERE) as relay:
            own = f"{ELSEWHERE}:{relay.port}".encode()
            relay.body = _listing(own)
            async with _host(relay) as reg:
                await _pongs(relay, reg, _listing(
                    own, b"127.0.0.1:6379", b"localhost:22", b"[::1]:7390", b"0.0.0.0:7390",
                    b"relay-b.example.net:7390"))  # fmt: skip
                assert reg.addresses == ((ELSEWHERE, relay.port), ("relay-b.example.net", 7390))

    run(main())
