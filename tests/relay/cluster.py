"""Helpers for the relay-cluster tests: a real redis-server on a free loopback
port, relays sharing it, a relay as a real subprocess, condition waits."""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import TypeVar

import pytest
import redis

from free_port import free_port
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.connect import RelayRegistration, host_via_relay
from screencodec.transport.relay import Relay, RelayLimits
from screencodec.transport.relay.redis_directory import RedisDirectory
from transport.helpers import LinkProxy
from warm_start import warm_popen

T = TypeVar("T")
REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"


def _wait_for_line(proc: subprocess.Popen[bytes], needle: bytes, timeout: float) -> bytes:
    """Read the process's stdout until a line holds ``needle``."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        left = deadline - time.monotonic()
        if left <= 0 or proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} did not say {needle!r}: {seen[-2000:]!r}")
        ready, _, _ = select.select([fd], [], [], min(left, 0.2))
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                raise RuntimeError(f"{proc.args!r} ended: {seen[-2000:]!r}")
            seen += chunk
    return seen


class RedisServer:
    """A throwaway redis-server without persistence; ``restart()`` keeps the port
    (and, like a real restart without persistence, loses every key)."""

    def __init__(self) -> None:
        if not os.path.exists(REDIS):
            pytest.skip("redis-server is not installed (scripts/bootstrap.sh installs it)")
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        #: More redis-server options (persistence: test_epoch41_*).
        self.options: list[str] = []

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, *, epoch: bool = True) -> None:
        """Start it; with ``epoch``, set the cluster's epoch in it as an
        operator starting a new cluster may (docs/relay.md, *Directory
        backends*), so that the relays take registrations at once. Without,
        the first relay to start refuses them for ``claim_ttl`` (it cannot
        tell a new Redis from one that lost its keys)."""
        self.proc = subprocess.Popen(
            [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--protected-mode", "no", "--loglevel", "notice",
             *self.options],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        _wait_for_line(self.proc, b"Ready to accept connections", 10)
        if epoch:
            client = redis.Redis.from_url(self.url)
            try:
                client.set("screencodec:epoch", "new-cluster", nx=True)
            finally:
                client.close()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(5)
            assert self.proc.stdout is not None
            self.proc.stdout.close()
            self.proc = None

    def restart(self) -> None:
        """Kill it and start it again: without persistence every key is
        gone (no epoch set: the relays find the loss)."""
        self.stop()
        self.start(epoch=False)


@contextlib.asynccontextmanager
async def relays(redis: RedisServer, n: int, limits: RelayLimits | None = None,
                 ) -> AsyncIterator[list[Relay]]:
    """``n`` relays on loopback sharing ``redis`` (each with its own client)."""
    started: list[Relay] = []
    try:
        for _ in range(n):
            relay = Relay("127.0.0.1", free_port(), limits=limits,
                          directory=RedisDirectory(redis.url, timeout=1.0))
            await relay.start()
            started.append(relay)
        yield started
    finally:
        for relay in started:
            await relay.close()
            await relay.directory.close()


class RelayProcess:
    """``screencodec relay`` as a real subprocess (to be SIGKILLed). Its
    output is read by a thread as it comes (a pipe nobody reads fills at
    64 KiB and stops the relay's loop mid-log: relay43 met it) and kept:
    :meth:`output` is everything it said so far."""

    def __init__(self, redis: RedisServer, claim_ttl: float, url: str | None = None) -> None:
        self.port = free_port()
        self.proc = warm_popen(
            [sys.executable, "-m", "screencodec", "relay", "--listen",
             str(self.port), "--bind", "127.0.0.1", "--directory", url or redis.url,
             "--advertise", f"127.0.0.1:{self.port}", "--claim-ttl", str(claim_ttl)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        #: What it printed up to its listening line (and maybe a little more).
        self.line = _wait_for_line(self.proc, b"relay listening", 20).decode()
        self._said: list[bytes] = [self.line.encode()]
        #: Stopped by :meth:`freeze` and not continued since.
        self.frozen = False
        self._drain = threading.Thread(target=self._read, daemon=True)
        self._drain.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        with contextlib.suppress(OSError, ValueError):  # closed under it by kill()
            while chunk := os.read(fd, 65536):
                self._said.append(chunk)

    def output(self) -> str:
        """Everything the relay printed so far (its exit's last words once
        :meth:`kill` or :meth:`stop` returned)."""
        return b"".join(self._said).decode(errors="replace")

    def freeze(self) -> None:
        """SIGSTOP it (a VM paused, a hung process): it answers nothing."""
        os.kill(self.proc.pid, signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        """SIGCONT it if :meth:`freeze` stopped it."""
        if self.frozen:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.frozen = False

    def stop(self) -> None:
        """SIGKILL it and read the pipe to its end."""
        self.proc.kill()
        self.proc.wait(5)
        self._drain.join(5)

    def kill(self) -> None:
        self.stop()
        assert self.proc.stdout is not None
        self.proc.stdout.close()


@contextlib.contextmanager
def two_relays(redis: RedisServer, claim_ttl: float) -> Iterator[tuple[RelayProcess, RelayProcess]]:
    """Two :class:`RelayProcess` sharing ``redis``; on the way out, thawed
    if frozen and killed whatever the test did."""
    started: list[RelayProcess] = []
    try:
        started.append(RelayProcess(redis, claim_ttl))
        started.append(RelayProcess(redis, claim_ttl))
        yield started[0], started[1]
    finally:
        for relay in started:
            relay.thaw()
            if relay.proc.poll() is None:
                relay.kill()


@contextlib.asynccontextmanager
async def registered_host(
    port: int, creds: SessionCredentials, timeouts: Timeouts
) -> AsyncIterator[RelayRegistration]:
    """A host registered through the relay at ``port`` on loopback, pinging
    every 2 s (it takes a frozen relay for silent after 6 s and moves);
    closed on the way out."""
    reg = await host_via_relay(
        "127.0.0.1", port, creds, lambda ch: None, timeouts=timeouts, ping_interval=2.0
    )
    try:
        await reg.wait_registered(10)
        yield reg
    finally:
        await reg.close()


async def wait_for(check: Callable[[], bool | Awaitable[bool]], timeout: float = 10.0) -> None:
    """Wait until ``check()`` holds, re-checking between loop passes.

    A cheap check is made every 10 ms, as it always was (tests time what
    comes after it: test_review43_trickling_relay, test_relayleft_*). A
    costly one waits ten times the CPU this thread spent on it (an awaited
    check counts what the loop ran meanwhile too), 100 ms at most, as
    transport.helpers.until() does (time50b: checks measured in 38 relay
    files cost 20-160 us each on average, so all of them stay at 10 ms;
    this bounds a costly one's share of a core to a tenth)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        began = time.thread_time()
        got = check()
        if not isinstance(got, bool):
            got = await got
        if got:
            return
        if loop.time() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(min(0.1, max(0.01, 10 * (time.thread_time() - began))))


def run(coro: Awaitable[T], timeout: float = 30.0) -> T:
    async def main() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(main())


#: A TCP proxy in front of a relay whose connections can be cut (a host's
#: link failing: reset, never closed in order) and which can stop accepting
#: new ones for a while (an outage): the one of the session tests.
CuttableProxy = LinkProxy


def beats(relay: Relay) -> list[set[str]]:
    """What each heartbeat of ``relay`` from now on found lost (codes whose
    claim was gone from the directory and not made again), one set a beat
    that reached the directory. A test waits for a beat with it instead of
    sleeping a period and 0.5 s, which a late beat on a loaded machine
    outlasts: its check then passes unseen (flake41)."""
    seen: list[set[str]] = []
    real = relay.directory.renew

    async def renew(claims: Mapping[str, bytes], advertise: str, ttl: float) -> set[str]:
        lost = await real(claims, advertise, ttl)
        seen.append(set(lost))
        return lost

    relay.directory.renew = renew  # type: ignore[method-assign]
    return seen
