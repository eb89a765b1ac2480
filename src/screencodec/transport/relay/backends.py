"""Which session directory a relay uses, from a URL (``--directory``).

Its own module so that the interface (``directory``) and the Redis backend
(``redis_directory``, which implements it) do not import each other.
"""

from __future__ import annotations

from screencodec.transport.relay.directory import Directory, MemoryDirectory

__all__ = ["open_directory"]


def open_directory(url: str | None) -> Directory:
    """``None`` or ``memory://`` -> a :class:`MemoryDirectory`;
    ``redis://HOST:PORT/DB`` -> a Redis directory (needs the ``relay`` extra)."""
    if url is None or url == "memory://":
        return MemoryDirectory()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from screencodec.transport.relay.redis_directory import RedisDirectory

        return RedisDirectory(url)
    raise ValueError(f"unknown directory {url!r}: use memory:// or redis://HOST:PORT/DB")
