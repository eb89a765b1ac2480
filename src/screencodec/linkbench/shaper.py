"""A shaping TCP proxy: a bottleneck link between viewer and host on loopback.

Sessions that are fine on loopback lag by seconds on a home uplink, so the
session benchmark needs a link with a rate, a propagation delay and a queue.
:class:`ShapingProxy` sits between the viewer (who dials the proxy) and the
host (the proxy dials ``upstream``) and models each direction the way a
router's egress port behaves:

* **Queue.** Bytes enter the bottleneck queue when the proxy reads them from
  the sender. The queue holds at most ``Link.queue`` bytes (default 256 KiB);
  while it is full the proxy stops reading, so TCP backpressure pushes the
  excess back into the *sender's* socket buffers and its user-space write
  buffer. That is realistic bufferbloat: on a real path the excess also
  waits in the sender's stack (its socket buffer grows with the congestion
  window), and nothing is dropped. The proxy's own sockets get small
  SO_RCVBUF/SO_SNDBUF (``sockbuf``: 32 KiB asked, 64 KiB as Linux doubles
  it) so that the modelled queue, not a kernel buffer inside the proxy, is
  where the standing queue builds; what those buffers still hold (some tens
  of KiB per side) comes on top of ``Link.queue``. The sockets also clamp
  the TCP segment size to an Ethernet one (``mss``, 1448): with loopback's
  64 KiB segments, a receive buffer that small advertises a zero window
  whenever less than one segment is free, and the link stalls on persist
  timers (measured: 2-5 frames/s of lossless video where 30 pass).
* **Serialization.** The link sends one packet (``packet`` bytes, default an
  Ethernet MTU) at a time at ``rate`` bytes/s: a packet admitted at ``t``
  leaves the queue at ``finish = max(t, link_free) + size / rate`` (a token
  bucket with no burst), and ``link_free = finish``.
* **Propagation.** It reaches the receiver ``delay`` (= RTT/2) after it left
  the queue. A per-connection delivery task writes each packet no earlier
  than that (never early: it re-checks the clock after every wake-up),
  coalescing packets that fell due together. If the receiver does not read,
  its ``drain`` holds the delivery back and, past a bound, the reader too
  (the receiver's TCP window).

``rate=None`` is an unlimited link (no queue; delay only, or a plain relay
when the delay is 0 too). :meth:`ShapingProxy.set_rate` changes the rate
mid-session, and :meth:`ShapingProxy.start_upload` relays someone else's bulk
upload through the host's side of the link (counted in ``upload``).

Counters per direction (:class:`DirectionStats`): bytes in and out, the
deepest the queue got, queueing-delay samples (how long each chunk read
waited before the link started sending it) and a delivery log ``(time,
cumulative bytes)`` for rates over any window. Times are ``clock()``
(default :func:`time.perf_counter`, which :class:`~screencodec.transport.Viewer`
also uses for ``applied_at``).

State: everything runs on the event loop that called :meth:`ShapingProxy.start`;
no locking. Counters may be read from that loop at any time.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from ..transport.channel.framing import stop_listening

__all__ = [
    "DEFAULT_QUEUE",
    "DirectionStats",
    "Link",
    "ShapingProxy",
    "parse_link",
]

DEFAULT_QUEUE = 256 * 1024
_READ_MAX = 64 * 1024  # one read: small enough to keep the queue bound exact
_SOCKBUF = 32 * 1024  # requested; Linux doubles it
_STREAM_LIMIT = 16 * 1024  # StreamReader pauses the socket past twice this
_UNLIMITED_WINDOW = 64 << 20


@dataclass(frozen=True, slots=True)
class Link:
    """A bottleneck link. ``rate`` (bytes/s, towards the viewer) and
    ``up_rate`` (towards the host) are None when unlimited; ``rtt`` in seconds
    (each direction adds half); ``queue`` bytes of bottleneck queue per direction.
    ``loss`` (a probability per packet) and ``jitter`` (seconds of extra delay,
    at most) need a link that carries packets, ``wire:`` (:mod:`.tunwire`):
    the proxy relays a byte stream and cannot lose or reorder one. ``tcp``:
    the kernels' TCP congestion control on a ``wire:`` ("" their default)."""

    rate: float | None = None
    rtt: float = 0.0
    queue: int = DEFAULT_QUEUE
    up_rate: float | None = None
    label: str = ""
    loss: float = 0.0
    jitter: float = 0.0
    tcp: str = ""

    def __post_init__(self) -> None:
        for r in (self.rate, self.up_rate):
            if r is not None and not r > 0:
                raise ValueError(f"a link rate must be positive, not {r!r}")
        if not self.rtt >= 0:
            raise ValueError(f"rtt must be >= 0, not {self.rtt!r}")
        if self.queue < 1:
            raise ValueError(f"queue must be >= 1 byte, not {self.queue!r}")
        if not 0 <= self.loss < 1:
            raise ValueError(f"loss must be in [0, 1), not {self.loss!r}")
        if not self.jitter >= 0:
            raise ValueError(f"jitter must be >= 0, not {self.jitter!r}")
        if not re.fullmatch(r"[a-z0-9_]*", self.tcp):
            raise ValueError(f"tcp must name a congestion control (cubic, bbr), not {self.tcp!r}")

    @classmethod
    def symmetric(cls, rate: float | None, rtt: float = 0.0, *, queue: int = DEFAULT_QUEUE,
                  label: str = "") -> Link:  # fmt: skip
        return cls(rate, rtt, queue, rate, label)

    @property
    def delay(self) -> float:
        """One-way propagation delay in seconds."""
        return self.rtt / 2

    @property
    def name(self) -> str:
        if self.label:
            return self.label
        if self.rate is None and self.rtt == 0:
            return "unlimited"
        rate = "unlimited" if self.rate is None else _fmt_rate(self.rate * 8)
        return f"{rate}/{self.rtt * 1000:g}ms"


def _fmt_rate(bits: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if bits >= scale:
            return f"{bits / scale:g}{unit}"
    return f"{bits:g}"


_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:bit(?:/s)?|bps)?\s*$", re.IGNORECASE)
_TIME = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$", re.IGNORECASE)
_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]?)(?:i?b)?\s*$", re.IGNORECASE)
_SCALE = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9}
_BINARY = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def _parse_rate(text: str) -> float | None:
    """Bits per second (``4M``, ``500k``, ``unlimited``) -> bytes per second."""
    if text.strip().lower() in ("unlimited", "inf", "none"):
        return None
    m = _RATE.match(text)
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"bad rate {text!r}: use e.g. 4M, 500k (bit/s) or unlimited")
    return float(m.group(1)) * _SCALE[m.group(2).lower()] / 8


def parse_link(text: str) -> Link:
    """Parse ``RATE[/UPRATE],RTT[,QUEUE][,loss=P%][,jitter=T]`` (``4M,40ms``,
    ``1M/10M,100ms,64K``, ``4M,40ms,loss=1%,jitter=10ms``) or ``unlimited``;
    ``,tcp=NAME`` picks a ``wire:``'s TCP congestion control.
    Rates are bit/s with k/M/G suffixes (decimal); the RTT and jitter are in
    ms unless they end in ``s``; the queue is bytes (K/M binary); the loss a
    percentage of packets. Without ``/UPRATE`` the link is symmetric."""
    parts = [p.strip() for p in text.split(",")]
    options = {}
    while len(parts) > 1 and "=" in parts[-1]:
        key, _, value = parts.pop().partition("=")
        options[key.strip().lower()] = value.strip()
    loss, jitter = _parse_options(options, text)
    tcp = options.get("tcp", "").lower()
    if len(parts) == 1 and parts[0].lower() == "unlimited":
        return Link(label="unlimited")
    if not 2 <= len(parts) <= 3:
        raise ValueError(f"bad link {text!r}: use RATE,RTT (e.g. 4M,40ms) or unlimited")
    down, _, up = parts[0].partition("/")
    rate = _parse_rate(down)
    up_rate = _parse_rate(up) if up else rate
    m = _TIME.match(parts[1])
    if not m:
        raise ValueError(f"bad RTT {parts[1]!r}: use e.g. 40ms or 0.04s")
    rtt = float(m.group(1)) / (1 if (m.group(2) or "ms").lower() == "s" else 1000)
    queue = DEFAULT_QUEUE
    if len(parts) == 3:
        q = _SIZE.match(parts[2])
        if not q:
            raise ValueError(f"bad queue size {parts[2]!r}: use e.g. 256K")
        queue = int(q.group(1)) * _BINARY[q.group(2).lower()]
    return Link(rate, rtt, queue, up_rate, label=text.strip(), loss=loss, jitter=jitter,
                tcp=tcp)  # fmt: skip


_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%?\s*$")


def _parse_options(options: dict[str, str], text: str) -> tuple[float, float]:
    """``loss=P%`` and ``jitter=T`` of a link spec: (probability, seconds)."""
    unknown = set(options) - {"loss", "jitter", "tcp"}
    if unknown:
        raise ValueError(f"bad link {text!r}: unknown option {sorted(unknown)[0]!r} "
                         "(use loss=1%, jitter=10ms or tcp=cubic)")  # fmt: skip
    loss = jitter = 0.0
    if "loss" in options:
        m = _PERCENT.match(options["loss"])
        if not m or float(m.group(1)) >= 100:
            raise ValueError(f"bad loss {options['loss']!r}: use e.g. loss=1% (below 100)")
        loss = float(m.group(1)) / 100
    if "jitter" in options:
        m = _TIME.match(options["jitter"])
        if not m:
            raise ValueError(f"bad jitter {options['jitter']!r}: use e.g. jitter=10ms")
        jitter = float(m.group(1)) / (1 if (m.group(2) or "ms").lower() == "s" else 1000)
    return loss, jitter


@dataclass(slots=True)
class DirectionStats:
    """Counters of one direction (summed over connections). Times are the proxy's ``clock``."""

    bytes_in: int = 0  #: read from the sender
    bytes_out: int = 0  #: written to the receiver
    queued: int = 0  #: in the bottleneck queue now
    max_queue: int = 0  #: the deepest the queue got, bytes
    #: ``(arrival time, seconds it waited before the link started on it)`` per read.
    queue_delays: list[tuple[float, float]] = field(default_factory=list)
    #: ``(time, bytes_out so far)`` per write to the receiver, the time taken
    #: just before the write.
    deliveries: list[tuple[float, int]] = field(default_factory=list)

    def bytes_between(self, start: float, end: float) -> int:
        """Bytes delivered to the receiver in the clock interval ``(start, end]``."""
        before = after = 0
        for t, total in self.deliveries:
            if t <= start:
                before = total
            if t <= end:
                after = total
            else:
                break
        return after - before


class _Bottleneck:
    """One direction's serializer and queue, shared by all connections in that
    direction (one link). Departures are kept in admission order and expired
    lazily against the loop clock."""

    def __init__(self, rate: float | None, limit: int, packet: int, stats: DirectionStats) -> None:
        self.rate = rate
        self.limit = limit
        self.packet = packet
        self.stats = stats
        self.free_at = 0.0
        self._departures: deque[tuple[float, int]] = deque()  # (finish, size)

    def backlog(self, now: float) -> int:
        d = self._departures
        while d and d[0][0] <= now:
            self.stats.queued -= d.popleft()[1]
        return self.stats.queued

    def next_departure(self) -> float:
        return self._departures[0][0]

    def admit(self, size: int, now: float, stamp: float) -> list[tuple[float, int]]:
        """Queue ``size`` bytes read at loop time ``now``; returns ``(finish, size)``
        per packet, in order."""
        assert self.rate is not None
        out = []
        start = max(now, self.free_at)
        self.stats.queue_delays.append((stamp, start - now))
        t = start
        for off in range(0, size, self.packet):
            n = min(self.packet, size - off)
            t += n / self.rate
            out.append((t, n))
            self._departures.append((t, n))
        self.free_at = t
        self.stats.queued += size
        self.stats.max_queue = max(self.stats.max_queue, self.stats.queued)
        return out


class _Pipe:
    """One connection, one direction: read from ``src`` into the bottleneck,
    deliver to ``dst`` on time. Owned by its two tasks."""

    def __init__(self, proxy: ShapingProxy, link: _Bottleneck, delay: float,
                 src: asyncio.StreamReader, dst: asyncio.StreamWriter, *,
                 counts: DirectionStats | None = None) -> None:  # fmt: skip
        self.proxy = proxy
        self.link = link
        #: where bytes in and out are counted: the link's own counters, or
        #: (someone else's upload) apart, the queue still shared
        self.counts = link.stats if counts is None else counts
        self.delay = delay
        self.src = src
        self.dst = dst
        self.pending: deque[tuple[float, memoryview]] = deque()
        self.pending_bytes = 0
        # The receiver's window: past this much undelivered data, stop reading.
        # An unlimited link has no bound of its own: only keep memory finite.
        self.window = (_UNLIMITED_WINDOW if link.rate is None
                       else link.limit + int(link.rate * delay) + _READ_MAX)  # fmt: skip
        self.eof = False
        self._wake = asyncio.Event()
        self._delivered = asyncio.Event()

    async def run(self) -> None:
        deliver = asyncio.ensure_future(self._deliver())
        try:
            await self._read()
            await deliver
        finally:
            deliver.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError, OSError):
                await deliver

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        stats, link = self.counts, self.link
        passthrough = link.rate is None and self.delay == 0
        while True:
            space = _READ_MAX
            if link.rate is not None:
                while (backlog := link.backlog(loop.time())) >= link.limit:
                    await _until(loop, link.next_departure())
                space = min(space, link.limit - backlog)
            while self.pending_bytes >= self.window:
                self._delivered.clear()
                await self._delivered.wait()
            try:
                data = await self.src.read(space)
            except (ConnectionError, OSError):
                data = b""
            if not data:
                self.eof = True
                self._wake.set()
                return
            stats.bytes_in += len(data)
            if passthrough:
                self._write([data])
                await self.dst.drain()
                continue
            now, view = loop.time(), memoryview(data)
            if link.rate is None:
                self.pending.append((now + self.delay, view))
            else:
                off = 0
                for finish, n in link.admit(len(data), now, self.proxy.clock()):
                    self.pending.append((finish + self.delay, view[off : off + n]))
                    off += n
            self.pending_bytes += len(data)
            self._wake.set()

    async def _deliver(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self.pending:
                if self.eof:
                    if self.dst.can_write_eof():
                        with contextlib.suppress(OSError):
                            self.dst.write_eof()
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            due = self.pending[0][0]
            now = loop.time()
            if due > now:
                await _until(loop, due)
                continue  # re-check: a timer may fire a hair early
            batch = []
            while self.pending and self.pending[0][0] <= now:
                batch.append(self.pending.popleft()[1])
            self.link.backlog(now)  # keep ``queued`` current: these left the queue
            self._write(batch)
            await self.dst.drain()

    def _write(self, batch: list[memoryview] | list[bytes]) -> None:
        data = b"".join(batch)
        # Stamped before the write: the receiver cannot have these bytes
        # before the stamp, which bounds where the byte ledger places a
        # message (a stamp after it could come after the receipt).
        stamp = self.proxy.clock()
        self.dst.write(data)
        stats = self.counts
        stats.bytes_out += len(data)
        stats.deliveries.append((stamp, stats.bytes_out))
        if self.pending_bytes:
            self.pending_bytes -= len(data)
            self._delivered.set()


async def _until(loop: asyncio.AbstractEventLoop, when: float) -> None:
    """Sleep until loop time ``when`` (one timer)."""
    fut = loop.create_future()

    def wake() -> None:
        if not fut.done():
            fut.set_result(None)

    handle = loop.call_at(when, wake)
    try:
        await fut
    finally:
        handle.cancel()


def _tune(sock: socket.socket, size: int, mss: int | None) -> None:
    """Small kernel buffers (0: the kernel's defaults) and Ethernet-sized segments."""
    if size:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
    if mss:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, mss)


class ShapingProxy:
    """A TCP proxy on ``bind`` that shapes both directions as ``link`` says.

    ``down`` counts host -> viewer (the viewer dialled the proxy), ``up`` the
    other way. Use ``async with ShapingProxy(port, link) as proxy:`` or
    :meth:`start` / :meth:`close`. Several connections share one link (one
    queue and one serializer per direction), as on a real uplink.
    """

    def __init__(self, upstream: int, link: Link, *, upstream_host: str = "127.0.0.1",
                 bind: str = "127.0.0.1", sockbuf: int = _SOCKBUF, packet: int = 1500,
                 mss: int | None = 1448,
                 clock: Callable[[], float] = time.perf_counter) -> None:  # fmt: skip
        if link.loss or link.jitter or link.tcp:
            raise ValueError("the shaping proxy relays bytes: loss, jitter and tcp= need wire: "
                             f"(e.g. wire:{link.name}), not {link.name!r}")  # fmt: skip
        self.upstream = upstream
        self.upstream_host = upstream_host
        self.link = link
        self.bind = bind
        self.sockbuf = sockbuf
        self.mss = mss
        self.clock = clock
        self.down = DirectionStats()
        self.up = DirectionStats()
        self.connections = 0
        self._down = _Bottleneck(link.rate, link.queue, packet, self.down)
        self._up = _Bottleneck(link.up_rate, link.queue, packet, self.up)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: list[asyncio.StreamWriter] = []
        #: someone else's bulk upload across the link (:meth:`start_upload`),
        #: counted apart from ``down``: what it delivered
        self.upload = DirectionStats()
        self._uploading: list[asyncio.Server | asyncio.Task[None]] = []

    def set_rate(self, rate: float, up_rate: float | None = None) -> None:
        """Change the link's rate (bytes/s) from now on, as when someone else
        starts or stops using the uplink; ``up_rate`` defaults to ``rate``.
        Only for a link created with a rate (an unlimited one has no queue)."""
        if self._down.rate is None or not rate > 0:
            raise ValueError("only a rate-limited link can change its rate, to a positive one")
        self._down.rate = rate
        if self._up.rate is not None:
            self._up.rate = rate if up_rate is None else up_rate

    async def start_upload(self) -> None:
        """From now on someone else uploads as fast as TCP lets them through
        the same bottleneck as the host's stream (host -> viewer), until
        :meth:`stop_upload`: a bulk sender on the host's side, whose
        connection the proxy relays like the session's, to a reader on the
        viewer's side that drops it all. Its bytes share the queue and the
        serializer; they are counted in ``upload``, not in ``down``."""
        if self._uploading:
            return

        async def send(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            chunk = bytes(_READ_MAX)
            try:
                while True:
                    writer.write(chunk)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                writer.close()

        parts: list[asyncio.Server | asyncio.Task[None]] = []
        self._uploading = parts
        sender = await asyncio.start_server(send, self.upstream_host, 0, limit=_STREAM_LIMIT)
        parts.append(sender)
        to = int(sender.sockets[0].getsockname()[1])

        def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self._writers.append(writer)
            task = asyncio.ensure_future(self._serve(reader, writer, upstream=to,
                                                     counts=self.upload))  # fmt: skip
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            parts.append(task)

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        _tune(sock, self.sockbuf, self.mss)
        sock.bind((self.bind, 0))
        route = await asyncio.start_server(relay, sock=sock, limit=_STREAM_LIMIT)
        parts.append(route)
        reader, writer = await asyncio.open_connection(
            self.bind, int(route.sockets[0].getsockname()[1]), limit=_STREAM_LIMIT)

        async def receive() -> None:
            try:
                while await reader.read(_READ_MAX):
                    pass
            except (ConnectionError, OSError):
                pass
            finally:
                writer.close()

        parts.append(asyncio.ensure_future(receive()))

    async def stop_upload(self) -> None:
        """End the upload :meth:`start_upload` began (if any)."""
        uploading, self._uploading = self._uploading, []
        for part in uploading:
            if isinstance(part, asyncio.Task):
                part.cancel()
                await asyncio.gather(part, return_exceptions=True)
            else:
                await stop_listening(part)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the proxy is not started")
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> int:
        """Listen; returns the port to dial."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        _tune(sock, self.sockbuf, self.mss)  # inherited by accepted sockets
        sock.bind((self.bind, 0))
        # StreamReader's limit bounds what it buffers before pausing the socket.
        self._server = await asyncio.start_server(self._accept, sock=sock, limit=_STREAM_LIMIT)
        return self.port

    async def close(self) -> None:
        await self.stop_upload()
        if self._server is not None:
            await stop_listening(self._server)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for w in self._writers:
            w.close()
            with contextlib.suppress(Exception):
                await w.wait_closed()
        if self._server is not None:
            await self._server.wait_closed()

    async def __aenter__(self) -> ShapingProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _accept(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        # Known from the accept, not from its task's first step: close() may
        # cancel the task before it runs, and then only this closes it.
        self._writers.append(c_writer)
        task = asyncio.ensure_future(self._serve(c_reader, c_writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter, *,
                     upstream: int | None = None,
                     counts: DirectionStats | None = None) -> None:  # fmt: skip
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            _tune(sock, self.sockbuf, self.mss)
            sock.setblocking(False)
            to = self.upstream if upstream is None else upstream
            await loop.sock_connect(sock, (self.upstream_host, to))
            s_reader, s_writer = await asyncio.open_connection(sock=sock, limit=_STREAM_LIMIT)
        except BaseException as exc:
            # Nothing listens upstream, or the proxy closed meanwhile (a
            # cancel): the socket is ours until a transport took it.
            sock.close()
            c_writer.close()
            if isinstance(exc, OSError):
                return
            raise
        self._writers.append(s_writer)
        self.connections += counts is None  # the session's, not an upload
        d = self.link.delay
        pipes = [_Pipe(self, self._down, d, s_reader, c_writer, counts=counts),
                 _Pipe(self, self._up, d, c_reader, s_writer, counts=counts)]  # fmt: skip
        runs = [asyncio.ensure_future(p.run()) for p in pipes]
        try:
            # Half-closes pass through; the connection ends when both directions have.
            await asyncio.gather(*runs)
        except (ConnectionError, OSError):
            pass
        finally:
            for r in runs:
                r.cancel()
            await asyncio.gather(*runs, return_exceptions=True)
            for w in (c_writer, s_writer):
                w.close()
