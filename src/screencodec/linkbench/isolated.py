"""A :class:`~.shaper.ShapingProxy` in a process of its own.

The session benchmark runs host and viewer on one event loop in one process.
A proxy on that loop would deliver late whenever the session blocks the loop
(a decode, a seal) or holds the GIL, and those delays would show up as link
delay that the model never asked for. In a child process the proxy keeps its
own loop and GIL; only the OS scheduler stands between it and its timers.

The child is ``python -m screencodec.linkbench._proxy_main`` (a plain
subprocess, so the caller's ``__main__`` is never re-imported). It prints its port as one
line, then answers each command line on stdin (``stats``, ``rate BYTES_PER_S``, ``upload``,
``no upload``, ``close``) with a
length-prefixed pickle of ``(down, up, connections, upload)``. Its counters' times are
``time.perf_counter()`` of the child, which on Linux is CLOCK_MONOTONIC: one
clock for every process of the machine, the one :class:`Viewer` stamps
``applied_at`` with.

State: the parent object is used from one event loop; ``down``/``up`` hold the
last counters received.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import pickle
import struct
import sys
from dataclasses import asdict
from typing import Any

from screencodec.transport.aio import wait_for

from ..errors import ProxyError
from .shaper import DirectionStats, Link

__all__ = ["LENGTH", "ProxyError", "ProxyProcess"]

_START_TIMEOUT = 30.0
#: Frames the child's answers: a 4-byte big-endian length, then the pickle.
LENGTH = struct.Struct(">I")




class ProxyProcess:
    """Runs ``ShapingProxy(upstream, link, **kwargs)`` in a child process.
    ``async with ProxyProcess(port, link) as proxy:`` then dial ``proxy.port``.
    ``kwargs`` must be JSON values (``sockbuf``, ``packet``, ...)."""

    def __init__(self, upstream: int, link: Link, **kwargs: Any) -> None:
        self.upstream = upstream
        self.link = link
        self.down = DirectionStats()
        self.up = DirectionStats()
        self.upload = DirectionStats()  #: someone else's upload's (``start_upload``)
        self.connections = 0
        self._kwargs = kwargs
        self._port: int | None = None
        self._proc: asyncio.subprocess.Process | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the proxy is not started")
        return self._port

    async def start(self) -> int:
        spec = json.dumps({"upstream": self.upstream, "link": asdict(self.link),
                           "kwargs": self._kwargs})  # fmt: skip
        self._proc = proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", f"{__package__}._proxy_main", spec,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert proc.stdout is not None
        try:
            line = await wait_for(proc.stdout.readline(), _START_TIMEOUT)
            self._port = int(line)
        except (asyncio.TimeoutError, ValueError) as exc:
            await self._kill()
            raise ProxyError(f"the proxy process did not start: {exc!r}") from exc
        return self._port

    async def _ask(self, command: str, timeout: float = 10.0) -> None:
        proc = self._proc
        assert proc is not None
        assert proc.stdin is not None
        assert proc.stdout is not None
        try:
            proc.stdin.write(command.encode() + b"\n")
            await proc.stdin.drain()
            (n,) = LENGTH.unpack(await wait_for(proc.stdout.readexactly(4), timeout))
            blob = await wait_for(proc.stdout.readexactly(n), timeout)
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, OSError) as exc:
            raise ProxyError(f"the proxy process stopped answering: {exc!r}") from exc
        self.down, self.up, self.connections, self.upload = pickle.loads(blob)  # our child's

    async def stats(self) -> tuple[DirectionStats, DirectionStats]:
        """Fetch the current counters (also kept in ``down`` and ``up``)."""
        await self._ask("stats")
        return self.down, self.up

    async def set_rate(self, rate: float) -> None:
        """The link's rate from now on, both ways (:meth:`ShapingProxy.set_rate`)."""
        await self._ask(f"rate {rate!r}")

    async def start_upload(self) -> None:
        """Someone else's upload shares the link (:meth:`ShapingProxy.start_upload`)."""
        await self._ask("upload")

    async def stop_upload(self) -> None:
        await self._ask("no upload")

    async def close(self) -> None:
        """Stop the proxy (closing its connections) and keep its final counters."""
        if self._proc is None:
            return
        try:
            await self._ask("close")
            await wait_for(self._proc.wait(), 5.0)
        except (ProxyError, asyncio.TimeoutError):
            pass  # keep the last counters; the process is ended below either way
        finally:
            await self._kill()

    async def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()  # our own child, by its handle
            await proc.wait()

    async def __aenter__(self) -> ProxyProcess:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
