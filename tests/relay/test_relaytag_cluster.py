"""Which relays a viewer names a pairing's tag to (review2's finding: any
relay asked for the code). Only the address it paired through, an address
that connection was redirected to, and the cluster that the relay which
paired it listed in its RELAY_OK (relay/protocol.encode_viewer_ok). What a
relay tells is untrusted: a list that breaks a rule is not believed at all,
and a relay's list widens only its own pairing.

Real relays (a real redis-server for the cluster), real host, real
handshakes on loopback; the hostile relays are scripted fronts
(relay_front.py) that see the RELAY_OPEN a viewer sends them, as a relay
would, and pass the rest on to a real relay with its RELAY_OK rewritten."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.errors import AccessRefusedError, ProtocolError
from screencodec.transport import Host, allow
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import FrameType, encode_frame
from screencodec.transport.connect import connect_via_relay, host_via_relay
from screencodec.transport.connect.via_relay import RelayChannel
from screencodec.transport.relay import Relay
from screencodec.transport.relay.protocol import (
    CLUSTER_MOST,
    TOKEN_SIZE,
    encode_viewer_ok,
    parse_viewer_ok,
)

from .cluster import RedisServer, relays, run
from .relay_front import RelayFront

NONE = bytes(TOKEN_SIZE)
FAKE = b"\x42" * TOKEN_SIZE  # the tag a hostile relay tells in place of the real one


@contextlib.asynccontextmanager
async def _hosted(relay: Relay) -> AsyncIterator[SessionCredentials]:
    """A host registered at ``relay`` with fresh credentials."""
    host = Host(SyntheticDesktop(160, 120, scenario="typing", seed=5), consent=allow())
    creds = SessionCredentials()
    reg = await host_via_relay("127.0.0.1", relay.port, creds, host.serve)
    try:
        await reg.wait_registered(5)
        yield creds
    finally:
        await reg.close()
        await host.close()


async def _paired(port: int, creds: SessionCredentials) -> RelayChannel:
    """A viewer's connection through ``port``, its handshake done, closed:
    the process keeps its pairing (via_relay._PAIRED)."""
    channel = await connect_via_relay("127.0.0.1", port, creds.code, creds.password)
    await channel.close()
    return channel


async def _named(front: RelayFront, creds: SessionCredentials) -> bytes:
    """The token the viewer names to ``front`` (which refuses it)."""
    front.mode = "refuse"
    with pytest.raises(AccessRefusedError):
        await connect_via_relay("127.0.0.1", front.port, creds.code, creds.password)
    return front.named[-1]


def _ok_with(*cluster: bytes, tag: bytes = FAKE, extra: bytes = b"") -> bytes:
    """A RELAY_OK body: ``tag``, then a cluster field of raw entries."""
    entries = b"".join(bytes([len(e)]) + e for e in cluster)
    return tag + bytes([1, len(cluster)]) + entries + extra


def test_a_relay_claiming_another_relays_cluster_widens_only_its_own_pairing() -> None:
    """The viewer paired at A (through front ``a``, which passes everything
    on). B pairs it too (a front on the same real relay, so the handshake
    succeeds) and claims that A and C are of its cluster. Expected: B was
    named none; then A is named A's tag (B's claim does not override A's
    own pairing), B and C B's own tag (which B told), never A's."""

    async def main() -> None:
        async with Relay() as relay, _hosted(relay) as creds, RelayFront() as a, \
                RelayFront() as b, RelayFront() as c:  # fmt: skip
            a.mode, a.upstream = "forward", relay.port
            tag_a = (await _paired(a.port, creds)).resume_hold
            assert tag_a is not None and tag_a.tag != FAKE
            b.mode, b.upstream = "forward", relay.port
            b.rewrite = lambda ftype, body: encode_frame(ftype, _ok_with(
                a.address.encode(), b.address.encode(), c.address.encode()))
            assert (await _paired(b.port, creds)).resume_hold is not None
            assert b.named == [NONE]
            assert await _named(a, creds) == tag_a.tag
            assert await _named(b, creds) == FAKE
            assert await _named(c, creds) == FAKE

    run(main(), 60)


def test_a_relay_telling_ten_thousand_addresses_is_not_taken_for_a_relay() -> None:
    """A RELAY_OK of 10,000 addresses (160 kB; a handshake frame is at most
    1 KiB): ProtocolError before any handshake, nothing kept, C (listed)
    named none."""

    async def main() -> None:
        async with Relay() as relay, _hosted(relay) as creds, RelayFront() as b, \
                RelayFront() as c:  # fmt: skip
            b.mode, b.upstream = "forward", relay.port
            entry = c.address.encode()
            told = FAKE + bytes([1, 255]) + (bytes([len(entry)]) + entry) * 10_000
            b.rewrite = lambda ftype, _: encode_frame(ftype, told)
            with pytest.raises(ProtocolError, match="not a screencodec relay"):
                await connect_via_relay("127.0.0.1", b.port, creds.code, creds.password)
            assert await _named(c, creds) == NONE
            assert await _named(b, creds) == NONE

    run(main(), 60)


_MALFORMED = {
    "too-many": [b"h:1"] * (CLUSTER_MOST + 1),
    "space-in-host": [b"evil host:80"],
    "terminal-escape": [b"\x1b]0;owned\x07:80"],
    "not-ascii": [b"\xff\xfe.example:80"],
    "port-0": [b"example.org:0"],
    "port-70000": [b"example.org:70000"],
    "no-port": [b"example.org"],
    "dash-label": [b"-evil.example:80"],
    "empty": [b""],
}


@pytest.mark.parametrize("how", [*_MALFORMED, "overrun", "trailing", "unknown-field"])
def test_a_relay_telling_a_malformed_cluster_is_believed_in_nothing(how: str) -> None:
    """The list also names C, well formed. Expected: the pairing is kept
    (its tag is named to B, the address it paired through) and C is named
    none: a list that breaks a rule is not believed at all."""

    async def main() -> None:
        async with Relay() as relay, _hosted(relay) as creds, RelayFront() as b, \
                RelayFront() as c:  # fmt: skip
            good = c.address.encode()
            body = {
                "overrun": FAKE + bytes([1, 2, len(good)]) + good,
                "trailing": _ok_with(good, extra=b"\0"),
                "unknown-field": FAKE + bytes([2, 1, len(good)]) + good,
            }.get(how) or _ok_with(good, *_MALFORMED.get(how, []))
            assert parse_viewer_ok(body)[0] == FAKE
            b.mode, b.upstream = "forward", relay.port
            b.rewrite = lambda ftype, _: encode_frame(ftype, body)
            assert (await _paired(b.port, creds)).resume_hold is not None
            assert await _named(c, creds) == NONE
            assert await _named(b, creds) == FAKE

    run(main(), 60)


def test_an_old_relay_telling_no_cluster_is_named_only_its_address_and_its_redirects() -> None:
    """R redirects the viewer to F, a relay of an older version (RELAY_OK is
    the tag alone). Expected: R and F are named the tag; C none."""

    async def main() -> None:
        async with Relay() as relay, _hosted(relay) as creds, RelayFront() as r, \
                RelayFront() as f, RelayFront() as c:  # fmt: skip
            f.mode, f.upstream = "forward", relay.port
            f.rewrite = lambda ftype, body: encode_frame(ftype, body[:TOKEN_SIZE])
            r.mode, r.redirect_to = "redirect", f.address
            pairing = (await _paired(r.port, creds)).resume_hold
            assert pairing is not None and len(f.answers[0][1]) > TOKEN_SIZE
            assert await _named(r, creds) == pairing.tag
            assert await _named(f, creds) == pairing.tag
            assert await _named(c, creds) == NONE

    run(main(), 60)


def test_a_cluster_relay_tells_itself_then_its_members(redis_server: RedisServer) -> None:
    """Two relays share a real redis-server; the host is at the first. Its
    RELAY_OK lists the first, then the second; the viewer's pairing may be
    named to both. A lone relay lists itself (a viewer that came through a
    proxy may come back to it directly)."""

    async def main() -> None:
        async with relays(redis_server, 2) as (first, second), _hosted(first) as creds, \
                RelayFront() as front:  # fmt: skip
            front.mode, front.upstream = "forward", first.port
            pairing = (await _paired(front.port, creds)).resume_hold
            assert pairing is not None
            told = parse_viewer_ok(front.answers[0][1])
            assert told == (pairing.tag, (first.advertise, second.advertise))
            assert pairing.names == {("127.0.0.1", first.port), ("127.0.0.1", second.port)}
        async with Relay() as lone, _hosted(lone) as creds, RelayFront() as front:
            front.mode, front.upstream = "forward", lone.port
            await _paired(front.port, creds)
            assert parse_viewer_ok(front.answers[0][1])[1] == (lone.advertise,)

    run(main(), 60)


def test_relay_ok_holds_what_fits_and_an_empty_list_is_the_tag_alone() -> None:
    tag = b"t" * TOKEN_SIZE
    long_names = [f"{'a' * 60}.{'b' * 60}.{'c' * 60}.example{n}:7390" for n in range(40)]
    frame = encode_viewer_ok(tag, ["non-ascii-\u00e9:1", *long_names])
    assert frame[4] == FrameType.RELAY_OK and len(frame) - 5 <= 1024
    got_tag, cluster = parse_viewer_ok(frame[5:])
    assert got_tag == tag and cluster is not None
    assert 0 < len(cluster) <= CLUSTER_MOST and list(cluster) == long_names[:len(cluster)]
    assert encode_viewer_ok(tag, []) == encode_frame(FrameType.RELAY_OK, tag)
    assert parse_viewer_ok(tag) == (tag, None) and parse_viewer_ok(b"") == (None, None)
