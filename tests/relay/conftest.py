"""A real redis-server for the relay-cluster tests (no mock stands in for it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .cluster import RedisServer


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def new_redis() -> Iterator[RedisServer]:
    """A redis-server as a new cluster's operator starts it: no epoch (the
    first relay refuses registrations for claim_ttl)."""
    server = RedisServer()
    server.start(epoch=False)
    try:
        yield server
    finally:
        server.stop()
