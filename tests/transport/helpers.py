"""Shared helpers for the session-layer tests: freezable and multi-monitor
wrappers of the synthetic desktop, a plain (unsealed) TCP channel for
loopback, a delaying proxy, and waiting helpers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import struct
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any, TextIO, TypeVar

import numpy as np
import numpy.typing as npt

from screencodec.capture.base import CursorState, FrameSource, SourceWrapper
from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.errors import ProtocolError, SessionClosedError
from screencodec.geometry import Monitor
from screencodec.linkbench.shaper import Link, ShapingProxy
from screencodec.transport import Host, Viewer
from screencodec.transport.channel.base import CLOSED_HERE, MAX_MESSAGE_SIZE, Channel
from screencodec.transport.channel.framing import stop_listening
from screencodec.transport.connect.via_relay import reset_stream
from screencodec.transport.session import messages as m
from screencodec.transport.session.consent import questions_for

T = TypeVar("T")
Frame = npt.NDArray[np.uint8]


def run(coro: Awaitable[T], timeout: float = 30.0) -> T:
    async def _main() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(_main())


async def until(cond: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Return once ``cond()`` is true; fail after ``timeout`` seconds.

    A cheap condition is checked every 5 ms. A costly one (a full-screen
    comparison, a synthetic desktop's grab: milliseconds of CPU each) waits
    ten times its own CPU time between checks, 100 ms at most (time49): at
    5 ms it took most of a core, in the loop of the host and viewer it
    waits on."""
    deadline = time.monotonic() + timeout
    while True:
        began = time.thread_time()
        if cond():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or cond}")
        await asyncio.sleep(min(0.1, max(0.005, 10 * (time.thread_time() - began))))


@contextlib.contextmanager
def typing_pipe() -> Iterator[tuple[TextIO, int]]:
    """A pipe for what the local user types to the questions (the host's
    own path: host_terminal hands its lines on through one): its read end,
    a text stream, and its write end's descriptor, to ``os.write`` to.
    The write end is closed first however the block ends: closing the
    read end while the questions' reader thread blocks reading it waits
    for that read, so a failed assert hung to the test's timeout (ask42)."""
    r, w = os.pipe()
    stdin = os.fdopen(r, "r")
    try:
        yield stdin, w
    finally:
        os.close(w)  # the reader thread reads the end and lets go
        stdin.close()


async def host_read_past_the_question(host: Host, viewer_channel: Channel) -> None:
    """Return once ``host`` is provably waiting on the local user's answer to a
    viewer's first question *and* has handled a later message from it: a
    pointer move, which the host reads and drops while it waits. What did not
    happen by then (capture, anything sent) did not happen while it asked."""
    await until(lambda: len(host._runtime.serving) == 1, 10, "the viewer's session")
    (link,) = host._runtime.serving
    await until(lambda: questions_for(link.host).asking != 0, 10, "the question asked")
    before = link.gate.dropped_early
    await viewer_channel.send(m.encode(m.PointerMove(1, 1)))
    await until(lambda: link.gate.dropped_early == before + 1, 10, "the host read past it")


_BGR = np.uint32(0x00FFFFFF)  #: a BGRA pixel read as a little-endian uint32: its B, G, R


def bgr_equal(a: Frame | None, b: Frame | None) -> bool:
    """The same shape, and every pixel's first three bytes (B, G, R) equal."""
    if a is None or b is None or a.shape != b.shape:
        return False
    if (a.dtype == b.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 4
            and a.flags.c_contiguous and b.flags.c_contiguous):  # fmt: skip
        # Each BGRA pixel as one uint32, alpha masked off: a third of the
        # CPU of comparing the strided [..., :3] views (8 ms, not 28, at
        # 1920x1080; the polls of until() run it for seconds: time49).
        return not np.any((a.view("<u4") ^ b.view("<u4")) & _BGR)
    return bool(np.array_equal(a[..., :3], b[..., :3]))


# -- a plain, unsealed TCP channel (tests only: no authentication, no secrecy) ------

_LEN = struct.Struct(">I")


class PlainTcpChannel:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._r, self._w = reader, writer
        self._closed = False
        peer = writer.get_extra_info("peername")
        self._peer = f"{peer[0]}:{peer[1]}" if peer else "tcp"

    @property
    def peer(self) -> str:
        return self._peer

    @property
    def closed(self) -> bool:
        return self._closed

    async def send(self, message: bytes, /) -> None:
        if self._closed:
            raise SessionClosedError("closed")
        try:
            self._w.write(_LEN.pack(len(message)) + message)
            await self._w.drain()
        except (ConnectionError, RuntimeError) as exc:
            self._closed = True
            raise SessionClosedError(str(exc)) from exc

    async def recv(self) -> bytes:
        if self._closed:
            raise SessionClosedError("closed")
        try:
            (n,) = _LEN.unpack(await self._r.readexactly(4))
            if n > MAX_MESSAGE_SIZE:
                raise ProtocolError("too large")
            return await self._r.readexactly(n)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            await self.close()
            raise SessionClosedError("peer gone") from exc

    async def close(self, reason: str = CLOSED_HERE) -> None:  # (not carried)
        if self._closed:
            return
        self._closed = True
        self._w.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self._w.wait_closed()


async def tcp_pair(
    proxy: Callable[[int], Awaitable[int]] | None = None,
) -> tuple[PlainTcpChannel, PlainTcpChannel, asyncio.Server]:
    """A connected (host, viewer) pair over loopback, optionally through a proxy."""
    accepted: asyncio.Future[PlainTcpChannel] = asyncio.get_running_loop().create_future()

    async def _on(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        accepted.set_result(PlainTcpChannel(r, w))

    server = await asyncio.start_server(_on, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    if proxy is not None:
        port = await proxy(port)
    r, w = await asyncio.open_connection("127.0.0.1", port)
    return await accepted, PlainTcpChannel(r, w), server


class DelayProxy:
    """Forwards TCP both ways, holding each chunk ``delay`` s (+ random pauses).

    Order is preserved (one queue per direction); bandwidth is not limited.
    """

    def __init__(
        self, delay: float = 0.03, pause_p: float = 0.05, pause: float = 0.05, seed: int = 1
    ) -> None:
        self.delay, self.pause_p, self.pause = delay, pause_p, pause
        self._rng = random.Random(seed)
        self._server: asyncio.Server | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self, target_port: int) -> int:
        async def _on(cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
            sr, sw = await asyncio.open_connection("127.0.0.1", target_port)
            self._writers += [cw, sw]
            self._tasks += [
                asyncio.ensure_future(self._pipe(cr, sw)),
                asyncio.ensure_future(self._pipe(sr, cw)),
            ]

        self._server = await asyncio.start_server(_on, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def _pipe(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        q: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def _out() -> None:
            while True:
                due, data = await q.get()
                if not data:
                    w.close()
                    return
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                if self._rng.random() < self.pause_p:
                    await asyncio.sleep(self.pause)
                w.write(data)
                await w.drain()

        out = asyncio.ensure_future(_out())
        try:
            with contextlib.suppress(ConnectionError):
                while data := await r.read(65536):
                    q.put_nowait((time.monotonic() + self.delay, data))
            q.put_nowait((0.0, b""))
            await asyncio.gather(out, return_exceptions=True)
        finally:
            out.cancel()  # also when we are cancelled: never leave it unretrieved
            await asyncio.gather(out, return_exceptions=True)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for w in self._writers:
            w.close()
            with contextlib.suppress(ConnectionError, OSError):
                await w.wait_closed()
        if self._server is not None:
            await self._server.wait_closed()


class Freezable(SourceWrapper):
    """Wraps a source; while ``frozen`` it repeats the last frame (to check convergence)."""

    def __init__(self, inner: FrameSource) -> None:
        super().__init__(inner)
        # The host grabs on a worker thread: freezing waits for a grab in
        # flight, so that the frame it stores is the one repeated from then
        # on (a fresh clone at load 15 read the test's own grab, frozen, as
        # one frame and the host's last as the next).
        self._lock = threading.Lock()
        self._frozen = False
        self.grabs = 0
        self.cursor_polls = 0
        self._last: Frame | None = None

    @property
    def frozen(self) -> bool:
        return self._frozen

    @frozen.setter
    def frozen(self, value: bool) -> None:
        with self._lock:
            self._frozen = value

    def grab(self) -> Frame:
        with self._lock:
            self.grabs += 1
            if not self._frozen or self._last is None:
                self._last = np.array(self.inner.grab(), copy=True)
            return self._last

    def cursor(self) -> CursorState | None:
        self.cursor_polls += 1
        return self.inner.cursor()


#: Three monitors side by side, of different sizes (0 is their bounding box).
MONITORS = [
    Monitor(0, 0, 0, 320 + 200, 240, False),
    Monitor(1, 0, 0, 320, 240, True),
    Monitor(2, 320, 0, 200, 160, False),
]


class OnMonitor(Freezable):
    """A synthetic desktop the size of one of :data:`MONITORS`, reporting that
    layout (the synthetic desktop itself has one screen): for a host's
    per-monitor source factory. ``closed`` tells whether the host released it."""

    def __init__(self, index: int, scenario: str = "typing", seed: int = 5) -> None:
        mon = next(x for x in MONITORS if x.index == index)
        super().__init__(SyntheticDesktop(mon.width, mon.height, scenario=scenario, seed=seed))
        self.closed = False

    @property
    def monitors(self) -> list[Monitor]:
        return list(MONITORS)

    def close(self) -> None:
        self.closed = True
        super().close()


class LinkProxy:
    """Forwards TCP to ``target``; ``cut`` resets every connection (a link
    that failed: a RST, as a router or a dead NAT mapping gives, never the
    FIN of an orderly close, which a relay takes for a host program that
    stopped), ``abandon`` resets the viewer's side and leaves the host's
    open and silent, ``mute`` loses what one side sends from then on (one
    way only: the other's still arrives). An orderly end on one side is
    passed on as one, a reset as a reset. ``stop_accepting`` and ``start``
    take its port down and up again (the same port)."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = 0
        self._server: asyncio.Server | None = None
        self._pairs: list[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._silent: list[asyncio.StreamWriter] = []  # abandoned host sides
        #: Every connection it accepted or dialed, whatever became of it
        #: since (a pair not made yet, one that ended in order): close() resets them all.
        self._streams: set[asyncio.StreamWriter] = set()
        self._closed = False
        #: While set, new connections are reset at once (the link still down).
        self.refusing = False
        #: The side whose sending is lost ("viewer", "host"; :meth:`mute`).
        self.muted: str | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._on, "127.0.0.1", self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def stop_accepting(self) -> None:
        """New connections are refused (nothing listens) until :meth:`start`."""
        if self._server is not None:
            # Not a bare close(): on 3.11 a connection accepted just before
            # it is left open by the loop (framing.stop_listening).
            await stop_listening(self._server)
            await self._server.wait_closed()
            self._server = None

    def _on(self, cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        # Called as the connection is made (not a task that may never run),
        # so that close() knows it from then on.
        self._streams.add(cw)
        if self.refusing or self._closed:
            reset_stream(cw)
            return
        self._track(self._join(cr, cw))

    def _track(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _join(self, cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        try:
            sr, sw = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            reset_stream(cw)  # what it leads to is down
            return
        self._streams.add(sw)
        self._pairs.append((cw, sw))
        for r, w, sender in ((cr, sw, "viewer"), (sr, cw, "host")):
            self._track(self._pump(r, w, sender))

    async def _pump(self, r: asyncio.StreamReader, w: asyncio.StreamWriter,
                    sender: str) -> None:  # fmt: skip
        try:
            while data := await r.read(65536):
                if self.muted == sender:
                    continue  # its sending side is dead
                w.write(data)
                await w.drain()
        except (OSError, ConnectionError):
            reset_stream(w)  # a reset is passed on as one
            return
        # An orderly end is passed on as one: a reset here would make the
        # other side drop what it had not read yet (a Bye, say).
        with contextlib.suppress(OSError, ConnectionError):
            w.write_eof()

    def cut(self) -> None:
        for cw, sw in self._pairs:
            reset_stream(cw)
            reset_stream(sw)
        self._pairs.clear()

    def mute(self, side: str = "viewer") -> None:
        """``side``'s sending dies (the agent's uplink, say): what it sends
        ("viewer" or "host") is lost from now on, on every connection, while
        what the other sends still arrives. ``muted = None`` mends it."""
        self.muted = side

    def abandon(self) -> None:
        """The viewer's side reset; the host's kept open, nothing forwarded."""
        for task in list(self._tasks):
            task.cancel()
        for cw, sw in self._pairs:
            reset_stream(cw)
            self._silent.append(sw)
        self._pairs.clear()

    async def close(self) -> None:
        """Stop listening and reset every connection, each closed when this
        returns: a connection still being joined to the target, or accepted
        as it stopped listening, included (left open, the loop's end left
        them to the collector: ResourceWarnings in a later test)."""
        self._closed = True
        await self.stop_accepting()
        # A connection the loop wrapped as it stopped listening is made
        # (``_on``, which resets it now) in the turn after.
        await asyncio.sleep(0)
        self.cut()
        self._silent.clear()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        streams, self._streams = list(self._streams), set()
        for w in streams:
            reset_stream(w)
        await asyncio.gather(*(w.wait_closed() for w in streams), return_exceptions=True)


class ShapedLinkProxy(LinkProxy):
    """A :class:`LinkProxy` (cuttable) in front of a shaping proxy of
    ``link`` (``shaper``, linkbench), which dials ``target``."""

    def __init__(self, target: int, link: Link) -> None:
        super().__init__(target)
        self.shaper = ShapingProxy(target, link)

    async def start(self) -> int:
        self.target = await self.shaper.start()
        return await super().start()

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            await self.shaper.close()


async def ended_lost(viewer: Viewer, task: asyncio.Task[str]) -> None:
    """``viewer``'s run ended on its lost link (a record cut in half
    included: channel/sealed.py takes it for the line breaking)."""
    await asyncio.wait_for(task, 10)
    assert viewer.link_lost


class GrantingHost:
    """The host's end of a channel, written by hand in a test: grants VIEW to
    the viewer's opening, then sends what the test says; keeps every message
    the viewer sends in ``got`` (:meth:`read`, run as a task)."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.got: list[m.Message] = []
        self.seq = 0

    async def hello(self) -> None:
        assert isinstance(m.decode(await self.channel.recv()), m.Capabilities)
        assert isinstance(m.decode(await self.channel.recv()), m.PermissionRequest)
        await self.channel.send(m.encode(m.PermissionGrant(1)))

    async def read(self) -> None:
        while True:
            self.got.append(m.decode(await self.channel.recv()))


def taking_up(ticket: bytes, channel: Channel, level: int, who: str = "raw") -> list[m.Message]:
    """What an agent's own viewer sends to take its session up with
    ``ticket`` on ``channel``, raw: its Capabilities (legacy), the ticket,
    the proof made with the key it keeps with it (session/proof.py: a parked
    session resumes unasked only with it, parked38; none when the ticket
    keeps none), and the request for ``level`` (bits)."""
    from screencodec.transport.session.proof import PROOF_CHANNEL, prove
    from screencodec.transport.session.resume import RESUME_CHANNEL

    opening: list[m.Message] = [m.Capabilities.legacy(), m.Extension(RESUME_CHANNEL, ticket)]
    key = getattr(ticket, "proof_key", None)
    proof = None if key is None else prove(key, ticket, channel)
    if proof is not None:
        opening.append(m.Extension(PROOF_CHANNEL, proof))
    return [*opening, m.PermissionRequest(level, who)]


class CustomerMouse:
    """The customer using their own mouse on ``display``: xdotool moves the
    pointer between x = ``between[0]`` and ``between[1]`` (y 100) every
    0.1 s, in a thread, from :meth:`start` until :meth:`stop`."""

    def __init__(self, display: str, between: tuple[int, int]) -> None:
        self.display = display
        self.between = between
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._moves, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop moving (again: nothing; never started: nothing)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)

    def _moves(self) -> None:
        near, far = self.between
        x = near
        while not self._stop.is_set():
            x = far if x == near else near
            subprocess.run(["xdotool", "mousemove", str(x), "100"], env={"DISPLAY": self.display},
                           check=False, timeout=10)  # fmt: skip
            time.sleep(0.1)
