"""The directory contract, the same for the memory and the Redis backend, and
the address keys of the shared limits."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
from collections.abc import AsyncIterator

import pytest

from screencodec.transport.relay import (
    ClaimResult,
    Directory,
    MemoryDirectory,
    address_key,
    claim_verifier,
)
from screencodec.transport.relay.directory import MEMBERS_MOST
from screencodec.transport.relay.redis_directory import RedisDirectory

from .cluster import RedisServer, run, wait_for


@contextlib.asynccontextmanager
async def directory(backend: str, redis: RedisServer) -> AsyncIterator[Directory]:
    d: Directory = RedisDirectory(redis.url) if backend == "redis" else MemoryDirectory()
    await d.begin(60.0)  # as a relay does at its start: a new cluster's (attack40)
    try:
        yield d
    finally:
        await d.close()


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_claims_are_exclusive_reclaimable_with_the_secret_and_expire(
        backend: str, redis_server: RedisServer) -> None:
    async def main() -> None:
        async with directory(backend, redis_server) as d:
            mine, theirs = claim_verifier("123456789", b"a" * 16), claim_verifier(
                "123456789", b"b" * 16)
            assert await d.claim("123456789", mine, "r1:1", 0.3) is ClaimResult.NEW
            assert await d.claim("123456789", theirs, "r2:1", 0.3) is ClaimResult.IN_USE
            assert await d.claim("123456789", mine, "r2:1", 0.3) is ClaimResult.RECLAIMED
            holder = await d.locate("123456789")
            assert holder is not None
            assert holder.relay == "r2:1"
            # the old relay's heartbeat learns the code moved; the new one keeps it
            assert await d.renew({"123456789": mine}, "r1:1", 0.3) == {"123456789"}
            assert await d.renew({"123456789": mine}, "r2:1", 0.3) == set()
            await d.release("123456789", theirs)  # not theirs to release
            assert await d.locate("123456789") is not None
            # expired, while the cluster beats on (else, since attack40, a
            # directory no heartbeat reached takes it for a stall: RECOVERING)
            await wait_for(lambda: _gone_beating(d, "123456789", 0.3), timeout=5)
            assert await d.claim("123456789", theirs, "r2:1", 5) is ClaimResult.NEW
            await d.release("123456789", theirs)
            assert await d.locate("123456789") is None

    run(main())


async def _gone(d: Directory, code: str) -> bool:
    return await d.locate(code) is None


async def _gone_beating(d: Directory, code: str, ttl: float) -> bool:
    """Whether ``code`` is gone, after a relay's heartbeat (announce)."""
    await d.announce("r3:1", ttl)
    return await _gone(d, code)


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_unclaim_gives_a_claim_back_to_what_it_replaced(
        backend: str, redis_server: RedisServer) -> None:
    """relay44: a registration gone while its claim awaited the directory."""
    async def main() -> None:
        async with directory(backend, redis_server) as d:
            code = "123456789"
            mine, theirs = claim_verifier(code, b"a" * 16), claim_verifier(code, b"b" * 16)
            assert await d.claim(code, mine, "r1:1", 30) is ClaimResult.NEW
            assert await d.claim(code, mine, "r2:1", 30) is ClaimResult.RECLAIMED
            await d.unclaim(code, mine, "r2:1", 30)  # back to the relay the host is at
            holder = await d.locate(code)
            assert holder is not None and holder.relay == "r1:1"
            assert await d.renew({code: mine}, "r1:1", 30) == set()
            await d.unclaim(code, mine, "r2:1", 30)  # r1's now: untouched
            holder = await d.locate(code)
            assert holder is not None and holder.relay == "r1:1"
            await d.release(code, mine)
            assert await d.claim(code, theirs, "r2:1", 30) is ClaimResult.NEW
            await d.unclaim(code, theirs, "r2:1", 30)  # it replaced nothing: away
            assert await d.locate(code) is None

    run(main())


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_renew_recreates_a_vanished_claim(backend: str, redis_server: RedisServer) -> None:
    async def main() -> None:
        async with directory(backend, redis_server) as d:
            v = os.urandom(32)
            assert await d.renew({"000000007": v}, "r1:1", 5) == set()
            holder = await d.locate("000000007")
            assert holder is not None
            assert holder.relay == "r1:1"

    run(main())


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_a_kept_or_recreated_claim_forgets_that_its_session_ended(
        backend: str, redis_server: RedisServer) -> None:  # fmt: skip
    """A claim lost (a Redis restart) and the code registered and released
    meanwhile under another secret: the relay that holds the live
    registration renews (re-creates) its claim, and the ended mark goes."""

    async def main() -> None:
        async with directory(backend, redis_server) as d:
            mine, theirs = os.urandom(32), os.urandom(32)
            assert await d.claim("000000011", theirs, "r2:1", 5) is ClaimResult.NEW
            await d.end("000000011", theirs, "the host ended this session", 60)
            assert await d.ended("000000011") == "the host ended this session"
            assert await d.renew({"000000011": mine}, "r1:1", 5) == set()
            assert await d.ended("000000011") is None
            await d.end("000000012", theirs, "ended", 60)  # no claim: nobody renews it
            assert await d.renew({"000000011": mine}, "r1:1", 5) == set()
            assert await d.ended("000000012") == "ended"

    run(main())


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_counters_are_fixed_windows_and_reset(backend: str, redis_server: RedisServer) -> None:
    async def main() -> None:
        async with directory(backend, redis_server) as d:
            got = [await d.hit("k", 3, 60) for _ in range(5)]
            assert got == [True, True, True, False, False]
            assert await d.hit("k", 3, 60, weight=0) is False  # looking counts nothing
            assert await d.hit("other", 3, 60, weight=0) is True
            await d.reset("k")
            assert await d.hit("k", 3, 60) is True

    run(main())


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_members_are_the_relays_announced_within_their_ttl(
        backend: str, redis_server: RedisServer) -> None:  # fmt: skip
    """What a relay tells the viewers it pairs of its cluster: every relay
    that announced itself and has not expired, by name, at most
    MEMBERS_MOST."""

    async def main() -> None:
        async with directory(backend, redis_server) as d:
            assert await d.members() == []
            await d.announce("r2:1", 0.3)
            await d.announce("r1:1", 30)
            await d.announce("r1:1", 30)  # a heartbeat: still one
            assert await d.members() == ["r1:1", "r2:1"]
            await wait_for(lambda: _members_are(d, ["r1:1"]), timeout=5)  # r2 expired
            for n in range(MEMBERS_MOST + 5):
                await d.announce(f"r{n:03d}:1", 30)
            assert len(await d.members()) == MEMBERS_MOST

    run(main())


async def _members_are(d: Directory, expected: list[str]) -> bool:
    return await d.members() == expected


def test_the_verifier_binds_code_and_secret() -> None:
    v = claim_verifier("123456789", b"s" * 16)
    assert v != claim_verifier("123456788", b"s" * 16)
    assert v != claim_verifier("123456789", b"t" * 16)
    assert b"s" * 16 not in v


def test_address_keys_are_the_ipv4_address_and_the_ipv6_64() -> None:
    assert address_key("192.0.2.7") == "192.0.2.7"
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:ffff::9")
    assert address_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:192.0.2.7") == "192.0.2.7"
    assert address_key("fe80::1%eth0") == "fe80::/64"
    assert address_key("not an address") == "not an address"
    # IPv4 without a zone is its own key, as the parse would give it (the
    # relay's short cut, cut54relay): written otherwise, it is no address.
    for text in ("0.0.0.0", "255.255.255.255", "127.0.1.1", "10.0.0.1"):
        assert address_key(text) == str(ipaddress.ip_address(text)) == text
    for text in ("010.0.0.1", "1.2.3", "1.2.3.4.5", "256.0.0.1", " 1.2.3.4", ""):
        assert address_key(text) == text
    assert address_key("192.0.2.7%eth0") == "192.0.2.7"


def test_the_memory_directory_is_not_shared_between_instances() -> None:
    async def main() -> None:
        a, b = MemoryDirectory(), MemoryDirectory()
        await a.claim("123456789", b"v" * 32, "r:1", 5)
        assert await b.locate("123456789") is None

    asyncio.run(main())
