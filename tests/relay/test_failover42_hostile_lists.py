"""failover42, attacked: a relay's RELAY_OK to a registering host lists its
cluster, and the host dials those addresses when its relay stops. The list
is untrusted input. Expected: a list breaking any of the viewer's rules
(more than 16, a name cut short or too long, a port 0, non-ASCII, control
characters, a field after it) is not believed at all, and the host learns
nothing; a relay naming its own address 16 times adds nothing; a relay
before failover42 (an empty body) is served as before; a relay elsewhere
naming this machine's addresses (its bind address without --advertise, or
the host's own services) is not believed on them.

A relay on loopback played by the test (real sockets): it answers the
host's RELAY_OPEN with RELAY_OK and the body under test, then RELAY_PONGs.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import FrameType, encode_frame, read_frame
from screencodec.transport.connect import host_via_relay
from screencodec.transport.connect.via_relay import told_relays
from screencodec.transport.relay.protocol import encode_viewer_ok

from .cluster import run
from .test_failover42_host_moves import FAST

TAG = bytes(range(16))


def _listing(*entries: bytes, count: int | None = None, after: bytes = b"") -> bytes:
    """A RELAY_OK body: the tag, the cluster field with ``entries`` (each
    prefixed with its length), ``count`` as the count byte if given."""
    n = len(entries) if count is None else count
    return TAG + bytes([1, n]) + b"".join(bytes([len(e)]) + e for e in entries) + after


class _Relay:
    """A relay played by the test: RELAY_OK(``body``) to a host's
    RELAY_OPEN, then RELAY_PONG(``pong``, empty unless a test sets it) to
    each ping; ``pongs`` counts them (relay43's PONG attacks use it too)."""

    def __init__(self, body: bytes, where: str = "127.0.0.1") -> None:
        self.body, self.pong, self.pongs = body, b"", 0
        self.where = where
        self.server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> _Relay:
        self.server = await asyncio.start_server(self._serve, self.where, 0)
        self.port = int(self.server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            await read_frame(reader, 1024)
            writer.write(encode_frame(FrameType.RELAY_OK, self.body))
            while True:
                await read_frame(reader, 1024)
                writer.write(encode_frame(FrameType.RELAY_PONG, self.pong))
                self.pongs += 1
        writer.close()


HOSTILE = {
    "17 addresses": _listing(*(f"10.0.0.{i}:7390".encode() for i in range(17))),
    "a count past the entries": _listing(b"10.0.0.1:7390", count=2),
    "a name longer than the body": TAG + bytes([1, 1, 200]) + b"relay-b.example.net:7390",
    "a label of 64 letters": _listing(b"a" * 64 + b".example.net:7390"),
    # A length byte caps an entry at 255 bytes: past it, the name runs on
    # into the next entry's bytes, or past the body.
    "an empty entry": _listing(b""),
    "a port 0": _listing(b"10.0.0.1:0"),
    "a port 65536": _listing(b"10.0.0.1:65536"),
    "non-ASCII": _listing("relé.example.net:7390".encode()),
    "an escape sequence": _listing(b"evil\x1b[2J.example:7390"),
    "a space": _listing(b"relay b.example.net:7390"),
    "a field after the list": _listing(b"10.0.0.1:7390", after=b"\x02"),
    "another field kind": TAG + bytes([2, 1, 13]) + b"10.0.0.1:7390",
}


@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_relay_listing_hostile_addresses_is_not_believed(body: bytes) -> None:
    async def main() -> None:
        async with _Relay(body) as relay:
            reg = await host_via_relay("127.0.0.1", relay.port, SessionCredentials(),
                                       lambda ch: None, timeouts=FAST)
            async with reg:
                await reg.wait_registered(10)
                assert reg.addresses == (("127.0.0.1", relay.port),)

    assert told_relays(body) is None
    run(main())


def test_what_a_host_learns_from_a_relay() -> None:
    async def main() -> None:
        own = None
        async with _Relay(b"") as relay:
            own = f"127.0.0.1:{relay.port}".encode()
            cases = [
                # A relay before failover42: nothing told, served as before.
                (b"", ()),
                # Its own address 16 times: nothing new.
                (_listing(*[own] * 16), ()),
                # A cluster: its own address, a balancer's name, another relay.
                (encode_viewer_ok(TAG, [own.decode(), "Relay.Example.NET.:7390",
                                        "[::1]:7391"])[5:],
                 (("relay.example.net", 7390), ("::1", 7391))),
                # 16 in all: believed, 16 at most (the list replaces, never
                # adds). The first is the relay's own, however it names it:
                # the same relay, not one to move to.
                (_listing(*(f"10.0.0.{i}:7390".encode() for i in range(16))),
                 tuple((f"10.0.0.{i}", 7390) for i in range(1, 16))),
            ]
            for body, learnt in cases:
                relay.body = body
                reg = await host_via_relay("127.0.0.1", relay.port, SessionCredentials(),
                                           lambda ch: None, timeouts=FAST)
                async with reg:
                    await reg.wait_registered(10)
                    assert reg.addresses == (("127.0.0.1", relay.port), *learnt), body

    run(main())


def test_a_relay_elsewhere_is_not_believed_on_this_machines_addresses() -> None:
    async def main() -> None:
        body = _listing(b"relay-a.example.net:7390", b"127.0.0.1:6379", b"localhost:22",
                        b"[::1]:7390", b"0.0.0.0:7390", b"relay-b.example.net:7390")
        async with _Relay(body) as relay:
            reg = await host_via_relay("127.0.0.1", relay.port, SessionCredentials(),
                                       lambda ch: None, timeouts=FAST)
            async with reg:
                await reg.wait_registered(10)
                # Reached on loopback, it may name loopback (one machine).
                assert len(reg.addresses) == 6, reg.addresses
                # The same list from a relay reached at a name elsewhere
                # (which stays one to come back to).
                reg._learn(body, "relay-a.example.net", 7390)
                assert reg.addresses == (("127.0.0.1", relay.port),
                                         ("relay-a.example.net", 7390),
                                         ("relay-b.example.net", 7390))

    run(main())
