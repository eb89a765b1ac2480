"""Helpers for the sealed-transport tests: running on asyncio and uvloop, a
connected direct pair, and a frame-aware TCP proxy that can tamper with,
replay, reorder, drop, delay or cut the frames it forwards."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import pytest

from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import HEADER
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import DirectListener, connect_direct, listen_direct

if TYPE_CHECKING:
    from screencodec.transport import Host, Viewer

T = TypeVar("T")

try:
    import uvloop
except ImportError as exc:  # a declared dependency (the transport extra): never skip quietly
    raise ImportError(
        "uvloop is missing: install the transport extra (pip install -e '.[transport]');"
        " the sealed-transport tests run on both asyncio and uvloop"
    ) from exc

LOOPS = ["asyncio", "uvloop"]
#: Parametrize a test over both event loops: ``@both_loops`` + a ``loop_kind`` argument.
both_loops = pytest.mark.parametrize("loop_kind", LOOPS)

# The handshake's limit is generous: SPAKE2 is pure Python (about 0.1 s of
# CPU each side, host and viewer on one loop in these tests), and at load 5-8
# on 2 cores a first handshake took more than 5 s (deflake38: 1 of 12 runs of
# a file). Tests of a handshake's own timeout set theirs.
FAST = Timeouts(handshake=20.0, idle=None, keepalive=None, max_duration=None)


def run(coro: Awaitable[T], *, timeout: float = 20.0, loop_kind: str = "asyncio") -> T:
    """Run a coroutine to completion on a fresh loop of the given kind."""

    async def main() -> T:
        return await asyncio.wait_for(coro, timeout)

    if loop_kind == "asyncio":
        return asyncio.run(main())
    assert loop_kind == "uvloop", loop_kind
    loop = uvloop.new_event_loop()
    try:
        return loop.run_until_complete(main())
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


@contextlib.asynccontextmanager
async def direct_pair(
    credentials: SessionCredentials | None = None,
    *,
    timeouts: Timeouts = FAST,
    viewer_timeouts: Timeouts | None = None,
    via: Callable[[int], Awaitable[int]] | None = None,
) -> AsyncIterator[tuple[SecureChannel, SecureChannel, DirectListener]]:
    """Yield ``(viewer, host, listener)`` connected directly (``via`` may put a
    proxy in between: it gets the listener's port and returns the port to dial)."""
    creds = credentials or SessionCredentials()
    accepted: asyncio.Queue[SecureChannel] = asyncio.Queue()
    listener = await listen_direct("127.0.0.1", 0, creds, accepted.put_nowait, timeouts=timeouts)
    try:
        port = await via(listener.port) if via else listener.port
        viewer = await connect_direct(
            "127.0.0.1", port, creds.code, creds.password, timeouts=viewer_timeouts or timeouts
        )
        host = await asyncio.wait_for(accepted.get(), 5)
        try:
            yield viewer, host, listener
        finally:
            # Both at once: each orderly close lingers until the other side
            # closes too, which a test that stopped reading never would.
            await asyncio.gather(viewer.close(), host.close())
    finally:
        await listener.close()


async def connect_controlled(
    host: Host, *, timeouts: Timeouts = FAST
) -> tuple[Viewer, asyncio.Task[str], DirectListener]:
    """Serve ``host`` on loopback and connect a viewer that starts with VIEW
    and CONTROL (the host's consent must grant them): ``(viewer, the host's
    serve task, listener)``. The caller runs the viewer and closes the
    listener (:func:`controlled_host` does both)."""
    from screencodec.transport import CONTROL, VIEW, Viewer

    creds = SessionCredentials()
    serving: asyncio.Queue[asyncio.Task[str]] = asyncio.Queue()
    listener = await listen_direct(
        "127.0.0.1",
        0,
        creds,
        lambda ch: serving.put_nowait(asyncio.ensure_future(host.serve(ch))),
        timeouts=timeouts,
    )
    channel = await connect_direct(
        "127.0.0.1", listener.port, creds.code, creds.password, timeouts=timeouts
    )
    viewer = Viewer(channel)
    await viewer.start(VIEW | CONTROL)
    return viewer, await serving.get(), listener


@contextlib.asynccontextmanager
async def controlled_host(
    host: Host, *, timeouts: Timeouts = FAST
) -> AsyncIterator[tuple[Viewer, asyncio.Task[str]]]:
    """:func:`connect_controlled`'s viewer, running, and the host's serve
    task. At the end, in this order (:func:`served`'s): the viewer's run
    cancelled, the host closed, the listener closed, the serve task cancelled."""
    viewer, serve, listener = await connect_controlled(host, timeouts=timeouts)
    running = asyncio.ensure_future(viewer.run())
    try:
        yield viewer, serve
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await host.close()
        await listener.close()
        serve.cancel()
        await asyncio.gather(serve, return_exceptions=True)


class Served:
    """A host served on loopback by :func:`served`: its ``listener``, the
    ``creds`` to dial it with, each connection's serve task (``serves``, in
    the order they came) and the test's own ``tasks`` (cancelled first)."""

    def __init__(
        self, listener: DirectListener, creds: SessionCredentials, serves: list[asyncio.Task[str]]
    ) -> None:
        self.listener = listener
        self.creds = creds
        self.serves = serves
        self.tasks: list[asyncio.Task[object]] = []

    async def viewer(
        self,
        *,
        resume: bytes | None = None,
        port: int | None = None,
        timeouts: Timeouts | None = None,
    ) -> Viewer:
        """A viewer connected (to ``port``: a proxy's, else the listener's)
        and started with VIEW and CONTROL, taking up ``resume`` if given."""
        from screencodec.transport import CONTROL, VIEW, Viewer

        creds = self.creds
        channel = await connect_direct(
            "127.0.0.1", port or self.listener.port, creds.code, creds.password,
            timeouts=timeouts or Timeouts(),
        )  # fmt: skip
        viewer = Viewer(channel, resume=resume)
        await viewer.start(VIEW | CONTROL)
        return viewer

    def spawn(self, aw: Awaitable[object]) -> asyncio.Task[object]:
        """Run ``aw`` (a viewer's ``run()``, a collector) until the end."""
        task = asyncio.ensure_future(aw)
        self.tasks.append(task)
        return task


@contextlib.asynccontextmanager
async def served(host: Host) -> AsyncIterator[Served]:
    """Serve ``host`` on loopback, each connection with the default Timeouts
    (a silent link is let go of, then lost, as a user's would be).
    At the end, in this order: the test's tasks cancelled, the host closed,
    the listener closed, the serve tasks cancelled."""
    creds = SessionCredentials()
    serves: list[asyncio.Task[str]] = []
    listener = await listen_direct(
        "127.0.0.1",
        0,
        creds,
        lambda ch: serves.append(asyncio.ensure_future(host.serve(ch))),
        timeouts=Timeouts(),
    )
    got = Served(listener, creds, serves)
    try:
        yield got
    finally:
        for task in got.tasks:
            task.cancel()
        await asyncio.gather(*got.tasks, return_exceptions=True)
        await host.close()
        await listener.close()
        for serve in got.serves:
            serve.cancel()
        await asyncio.gather(*got.serves, return_exceptions=True)


#: ``hook(index, frame) -> frames to send instead`` (``None`` closes the
#: connection right there). ``index`` counts frames in that direction from 0.
FrameHook = Callable[[int, bytes], "list[bytes] | None"]


class FrameProxy:
    """A TCP proxy that forwards whole frames and lets a hook rewrite them.

    ``upstream`` is the real server's port. ``to_server`` rewrites frames from
    the client, ``to_client`` those from the server. ``delay`` (max seconds per
    chunk) and ``fragment`` (split writes into random small pieces) make a
    poor but reliable link. Everything forwarded is kept in ``seen``.
    """

    def __init__(
        self,
        upstream: int,
        *,
        to_server: FrameHook | None = None,
        to_client: FrameHook | None = None,
        delay: float = 0.0,
        fragment: bool = False,
        seed: int = 1,
    ) -> None:
        self.upstream = upstream
        self.to_server = to_server
        self.to_client = to_client
        self.delay = delay
        self.fragment = fragment
        self.seen = bytearray()
        self._rng = random.Random(seed)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: list[asyncio.StreamWriter] = []

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self.port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for w in self._writers:
            w.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for w in self._writers:
            with contextlib.suppress(Exception):
                await w.wait_closed()
        if self._server is not None:
            await self._server.wait_closed()

    async def _handle(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        s_reader, s_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
        self._writers += [c_writer, s_writer]
        pumps = [
            asyncio.ensure_future(self._pump(c_reader, s_writer, self.to_server)),
            asyncio.ensure_future(self._pump(s_reader, c_writer, self.to_client)),
        ]
        self._tasks.update(pumps)
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for p in pumps:
            p.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)
        for w in (c_writer, s_writer):
            w.close()

    async def _pump(
        self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, hook: FrameHook | None
    ) -> None:
        index = 0
        while True:
            try:
                header = await src.readexactly(HEADER.size)
                length, _ = HEADER.unpack(header)
                frame = header + await src.readexactly(length - 1)
            except asyncio.IncompleteReadError as exc:
                await self._send(dst, exc.partial)
                return
            out = hook(index, frame) if hook else [frame]
            index += 1
            if out is None:
                return
            for piece in out:
                await self._send(dst, piece)

    async def _send(self, dst: asyncio.StreamWriter, data: bytes) -> None:
        self.seen += data
        while data:
            n = self._rng.randint(1, 1400) if self.fragment else len(data)
            piece, data = data[:n], data[n:]
            if self.delay:
                await asyncio.sleep(self._rng.uniform(0, self.delay))
            dst.write(piece)
            await dst.drain()
