"""One measured session: the real Host and Viewer over the sealed transport
through a shaped link, reporting what the person at the viewer sees.

:func:`run_session` plays a :class:`FrameSequence` on a :class:`PacedSource`
(frames become current at their own times, whatever the host does), shares
it with a :class:`Host` (default settings unless told, ``consent=allow()``),
and connects a :class:`Viewer` with ``connect_direct`` through a
:class:`~.shaper.ShapingProxy` (SPAKE2 + AEAD over TCP on 127.0.0.1).

How each figure is measured (all times on ``time.perf_counter``, which the
viewer's ``applied_at`` uses; the paced source is given the same clock):

* **Which frame each update carries.** The host's encoder is wrapped
  (``Host(encoder_factory=...)``): each encode notes the source's
  ``frame_index`` (with one viewer the hub grabs and encodes under one lock,
  so it is the grabbed frame's) and a hash of its output. The viewer's decoder
  is wrapped too (``Viewer(decoder=...)``) and finds the bytes it decodes
  among those outputs, in order; its successful decodes pair one to one with
  ``viewer.applied_at``. No assumption about how the host numbers or thins
  out its updates.
* **Display lag**, per source frame ``i >= 1`` that changed the screen (B, G,
  R differ from frame ``i - 1``): from ``PacedSource.time_of(i)`` until the
  viewer applied the first update carrying ``i`` or a later frame
  (``viewer.applied_at``). See :func:`.metrics.display_lags`.
* **The CPU's share of each lag** (``extra["lag_cpu_ms"]``, per lag as
  ``display_lags`` orders them; ``lag_net_p50_ms``/``lag_net_max_ms``: the
  lags less it): what the frame waited on the machine, not on the link
  (:func:`.metrics.cpu_on_path`). Until its update's encode ended, the time
  the host was encoding (its own encode, or one still running when the frame
  came) or the event loop stalled (:func:`_watch_loop`: over 2 ms late);
  from when its bytes could have arrived (its encode's end, the link's delay
  and its bytes' time at the rate: the link's own time is never counted)
  until it was applied, the time the viewer was decoding or the loop
  stalled. What is left is the link's, the flow control's and the proxy's.
  On a loaded 2-core machine the encodes alone were most of the lag (load
  22-25: 0.4-3 s each, flake48b).
* **Joining is measured apart**: until the viewer shows its first picture the
  host's source shows frame 0 and the paced clock has not started; the first
  decoded update starts it. So lag is the steady state, and the join is
  **time to first picture**: from ``viewer.start()`` to the first applied
  update (consent round trip, keyframe, queueing behind it).
* **fps**: updates applied per second while the source plays;
  ``content_fps``: distinct screen states shown per second (updates that
  brought a newer changed frame); ``source_fps``: changes per second at the
  source.
* **kbit/s**: bytes the proxy delivered to the viewer while the source played.
* **PSNR**: about every ``sample_period`` the decoder wrapper copies the
  framebuffer it just produced, and after the run each copy is compared (B,
  G, R) with the source frame its update carried. ``psnr_db`` is the worst
  lossy sample, ``inf`` when all were exact. ``extra["beside_exact_ms"]``:
  from the first change, the first sample from which every sample shows the
  pixels that are the same in all sampled source frames (the text beside a
  film) exactly.
* **Time to exact**: the screen stops at the last changed frame; from its
  ``time_of`` until the first framebuffer, among updates carrying that frame
  or later, that equals the final frame exactly (checked in the decoder
  wrapper). None when not reached within ``settle`` seconds after the source
  ended.

* **A file beside the screen** (``file=("down"|"up", size)``): once the source
  starts, the host sends the viewer a file of ``size`` random bytes (``down``)
  or the viewer sends the host one (``up``), both sides saying yes; the lag is
  then that of a screen sharing the link with a transfer, and ``extra`` says
  how long the file took (``file_s``) and what became of it. A transfer
  still going when the source ends is cut there ("unfinished when the
  source ended"), unless ``file_wait`` gives it that many seconds more: the
  source plays for its length in time, and a paced file yields to delay,
  the CPU's too (measured, 1.5 MB up at 8 Mbit/s beside a 3 s source: 1.75-
  1.9 s alone, 3.4-5.1 s with a tenth of a core, its queue as short).

Host and viewer share one event loop (as in the latency benchmark); the proxy
runs in its own process by default (see :mod:`.isolated`).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import tempfile
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import xxhash

from screencodec.frames import Frame
from screencodec.transport.aio import wait_for

from ..capture.base import CursorState, SourceWrapper
from ..capture.replay import FrameSequence, PacedSource
from ..decoder import ScreenDecoder
from ..transport import (
    Host,
    HostConfig,
    SessionCredentials,
    Viewer,
    allow,
    connect_direct,
    listen_direct,
    session_encoder,
)
from ..transport.session.viewer import default_capabilities
from .isolated import ProxyProcess
from .ledger import CountingChannel, Ledger
from .metrics import (
    BesideExact,
    Lags,
    bgr_equal,
    changed_frames,
    cpu_on_path,
    display_lags,
    percentile,
    psnr,
    union,
)
from .shaper import DirectionStats, Link, ShapingProxy
from .steps import LinkStep, after_steps, drop_and_recovery
from .tunwire import in_netns

__all__ = ["SessionResult", "host_default_encoder", "run_session"]

_CLOCK = time.perf_counter  # Viewer.applied_at's clock


class EncoderLike(Protocol):
    def encode(self, frame: Frame, /) -> bytes: ...
    def request_keyframe(self) -> None: ...
    def close(self) -> None: ...


class DecoderLike(Protocol):
    needs_keyframe: bool

    def decode(self, data: bytes, /) -> Frame: ...


def host_default_encoder(width: int, height: int) -> EncoderLike:
    """The encoder the host runs for our viewer (which decodes everything) when
    given none. Wrapping the host's encoder (to see what each update carries)
    means passing a factory, and a host given a factory uses it as is: so the
    default is built here, by the transport's own choice."""
    return session_encoder(width, height)


@dataclass(slots=True)
class SessionResult:
    """What one session measured (times in ms, rates per second; see the module notes)."""

    scenario: str
    link: str
    link_kbit_s: float | None  #: the link's rate towards the viewer (None: unlimited)
    link_rtt_ms: float
    width: int
    height: int
    seconds: float  #: how long the source played
    source_frames: int
    changes: int  #: source frames that changed the screen (lag samples wanted)
    lag_p50_ms: float
    lag_p95_ms: float
    lag_max_ms: float
    lag_samples: int
    unshown: int  #: changed frames no update reached before the session ended
    fps: float
    content_fps: float
    source_fps: float
    kbit_s: float
    up_kbit_s: float
    psnr_db: float  #: worst lossy sample; inf when every sample was exact
    psnr_samples: int
    lossy_samples: int
    first_picture_ms: float
    exact_ms: float | None
    updates: int
    #: of each measured lag: source -> encode start (ticks, window, back-off) p95
    wait_p95_ms: float
    #: of each measured lag: encode start -> applied (encode, queues, wire, decode) p95
    transit_p95_ms: float
    max_queue_bytes: int
    queue_delay_p95_ms: float
    host_skipped: int | None  #: from the host's last Stats message
    ended: str
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: _json_safe(v) for k, v in d.items()}


def _json_safe(v: Any) -> Any:
    """JSON has no inf or NaN: inf becomes the string "inf", NaN None."""
    if isinstance(v, dict):
        return {k: _json_safe(x) for k, x in v.items()}
    if isinstance(v, float) and not math.isfinite(v):
        return None if math.isnan(v) else str(v)
    return v


class _Signal:
    """An asyncio.Event that any thread may set (the host's encode and the
    viewer's decode may run in worker threads)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.event = asyncio.Event()

    def set(self) -> None:
        self._loop.call_soon_threadsafe(self.event.set)


class _GatedSource(SourceWrapper):
    """Frame 0 (a copy) until :meth:`release`, then the paced source, whose
    clock starts at its first grab (``started`` is set then). Grabbed from the
    host's worker thread, released from the event loop. ``frame_index`` is the
    index of the frame the last grab returned."""

    def __init__(self, paced: PacedSource, first: Frame, started: _Signal) -> None:
        super().__init__(paced)
        self.paced = paced
        self.started = started
        self.frame_index = 0
        self._first = first
        self._released = threading.Event()

    def release(self) -> None:
        self._released.set()

    def grab(self) -> Frame:
        if not self._released.is_set():
            self.frame_index = 0
            return self._first
        fresh = self.paced.started_at is None
        frame = self.paced.grab()
        self.frame_index = self.paced.frame_index
        if fresh:
            self.started.set()
        return frame

    def cursor(self) -> CursorState | None:
        return None

    def close(self) -> None:
        pass  # the session closes the paced source itself


class _Probe:
    """What the encoder and decoder wrappers note.

    The host's encode thread appends ``(xxh3 of the output, frame index, encode
    start)`` to ``pending`` after each encode. The viewer's decode (one at a
    time: the viewer awaits each) finds the bytes it decodes there, in order,
    and appends that frame index and encode start to ``shown`` per successful
    decode, so ``shown[j]`` belongs to ``viewer.applied_at[j]``. Matching the
    bytes, not sequence numbers, keeps this right if the host leaves some
    encodes unsent (an empty update) or numbers updates otherwise. deque
    append/popleft are atomic, so no lock. ``first_picture`` and ``exact`` are
    signalled to the event loop.
    """

    def __init__(self, gate: _GatedSource, final: Frame, stop_index: int, *,
                 loop: asyncio.AbstractEventLoop, sample_period: float,
                 max_samples: int) -> None:  # fmt: skip
        self.gate = gate
        self.final = final
        self.stop_index = stop_index
        self.sample_period = sample_period
        self.max_samples = max_samples
        self.pending: deque[tuple[int, int, float, float]] = deque()
        self.encodes = 0
        self.shown: list[tuple[int, float]] = []  # (frame index, encode start)
        self.payload: list[int] = []  # bytes of each decoded update, as ``shown``
        #: the CPU's share of each lag (:func:`.metrics.cpu_on_path`): every
        #: encode's and decode's (start, end), and per ``shown`` its own
        #: (encode start, encode end, decode start, decode end)
        self.encoded: list[tuple[float, float]] = []
        self.decoded: list[tuple[float, float]] = []
        self.paths: list[tuple[float, float, float, float]] = []
        self.unmatched = 0
        self.samples: dict[int, Frame] = {}  # position in shown -> framebuffer copy
        # The buffer the next sample is copied into, faulted in by a thread:
        # a fresh frame-sized copy on the event loop stalls host and viewer
        # alike wherever first touches are slow (2-99 ms for 8 MB on the
        # benchmark VM), and that stall showed up as lag.
        self._spare: Frame | None = None
        self._spare_lock = threading.Lock()
        self._preparing = False
        self.exact_at: int | None = None  # position in shown
        self.first_picture = _Signal(loop)
        self.exact = _Signal(loop)
        self._next_sample = math.inf

    def on_encoded(self, index: int, started: float, ended: float, data: bytes) -> None:
        self.encodes += 1
        self.encoded.append((started, ended))
        self.pending.append((xxhash.xxh3_64_intdigest(data), index, started, ended))

    def match(self, data: bytes) -> tuple[int, float, float]:
        """The frame index, encode start and encode end of the bytes decoded."""
        key = xxhash.xxh3_64_intdigest(data)
        for k, (h, _, _, _) in enumerate(self.pending):
            if h == key:
                for _ in range(k):
                    self.pending.popleft()
                _, index, started, ended = self.pending.popleft()
                return index, started, ended
        self.unmatched += 1
        return -1, math.nan, math.nan

    def on_decoded(self, index: int, started: float, fb: Frame) -> None:
        pos = len(self.shown)
        self.shown.append((index, started))
        now = _CLOCK()
        if pos == 0:
            self.first_picture.set()
            self._next_sample = now + self.sample_period
            if self.max_samples > 0:
                self._prepare(fb.shape)
        elif now >= self._next_sample and len(self.samples) < self.max_samples:
            spare = self._take_spare(fb.shape)
            if spare is not None:  # else the next update is sampled
                np.copyto(spare, fb)
                self.samples[pos] = spare
                self._next_sample = now + self.sample_period
                if len(self.samples) < self.max_samples:
                    self._prepare(fb.shape)
        if self.exact_at is None and index >= self.stop_index and bgr_equal(fb, self.final):
            self.exact_at = pos
            self.exact.set()

    def _take_spare(self, shape: tuple[int, ...]) -> Frame | None:
        with self._spare_lock:
            spare, self._spare = self._spare, None
        if spare is not None and spare.shape == shape:
            return spare
        self._prepare(shape)
        return None

    def _prepare(self, shape: tuple[int, ...]) -> None:
        """Fault in a buffer for the next sample on a thread of its own."""
        with self._spare_lock:
            if self._preparing or self._spare is not None:
                return
            self._preparing = True

        def fault_in() -> None:
            buf: Frame | None = None
            try:
                buf = np.empty(shape, np.uint8)
                buf.fill(0)  # touches every page here, not on the loop
            finally:  # a failed allocation skips a sample; the next one tries again
                with self._spare_lock:
                    self._spare, self._preparing = buf, False

        try:
            threading.Thread(target=fault_in, name="probe-sample", daemon=True).start()
        except RuntimeError:  # no thread to be had: this sample is skipped, a later one tries
            with self._spare_lock:
                self._preparing = False


class _NotingEncoder:
    def __init__(self, inner: EncoderLike, probe: _Probe) -> None:
        self.inner = inner
        self.probe = probe

    def encode(self, frame: Frame, /) -> bytes:
        index, started = self.probe.gate.frame_index, _CLOCK()
        data = self.inner.encode(frame)
        self.probe.on_encoded(index, started, _CLOCK(), data)
        return data

    def request_keyframe(self) -> None:
        self.inner.request_keyframe()

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)  # whatever else the host asks of its encoder


class _WatchingDecoder:
    def __init__(self, inner: DecoderLike, probe: _Probe) -> None:
        self.inner = inner
        self.probe = probe

    @property
    def needs_keyframe(self) -> bool:
        return self.inner.needs_keyframe

    @needs_keyframe.setter
    def needs_keyframe(self, value: bool) -> None:
        self.inner.needs_keyframe = value

    def decode(self, data: bytes, /) -> Frame:
        began = _CLOCK()
        fb = self.inner.decode(data)
        done = _CLOCK()
        self.probe.payload.append(len(data))
        index, started, ended = self.probe.match(data)
        self.probe.decoded.append((began, done))
        self.probe.paths.append((started, ended, began, done))
        self.probe.on_decoded(index, started, fb)
        return fb

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _shared_clock() -> bool:
    """Whether perf_counter reads one clock in every process (CLOCK_MONOTONIC)."""
    return "CLOCK_MONOTONIC" in time.get_clock_info("perf_counter").implementation


async def _applied(viewer: Viewer, events: Any, position: int | None) -> None:
    """Until the viewer has applied the decode at ``position`` (each applied
    update emits an event)."""
    assert position is not None
    if len(viewer.applied_at) > position:
        return
    async for _ in events:
        if len(viewer.applied_at) > position:
            return
    # the viewer ended: nothing more will be applied


async def _wait(signal: _Signal, timeout: float, what: str) -> None:
    try:
        await wait_for(signal.event.wait(), timeout)
    except asyncio.TimeoutError:
        raise TimeoutError(f"{what} within {timeout:g} s") from None


def _staged(frames: FrameSequence, *, sample_period: float,
            max_samples: int) -> tuple[list[int], PacedSource, _Probe]:  # fmt: skip
    """The changed frames, the paced source and the probe (whose ``gate`` the
    host shares) of one session of ``frames``, on the running loop."""
    changed, final = changed_frames(frames.frame(i) for i in range(len(frames)))
    assert final is not None
    first = np.array(frames.frame(0), np.uint8, copy=True)
    paced = PacedSource(frames, clock=_CLOCK)
    loop = asyncio.get_running_loop()
    gate = _GatedSource(paced, first, _Signal(loop))
    stop = changed[-1] if changed else 0
    probe = _Probe(gate, final, stop, loop=loop, sample_period=sample_period,
                   max_samples=max_samples)  # fmt: skip
    return changed, paced, probe


async def run_session(
    frames: FrameSequence,
    link: Link,
    *,
    name: str = "",
    host_config: HostConfig | None = None,
    encoder_factory: Callable[[int, int], EncoderLike] | None = None,
    settle: float = 10.0,
    warmup: float = 0.0,
    join_timeout: float = 60.0,
    sample_period: float = 0.5,
    max_samples: int = 32,
    proxy: Literal["process", "inline", "none"] = "process",
    proxy_options: dict[str, Any] | None = None,
    compact: bool = True,
    file: tuple[Literal["down", "up"], int] | None = None,
    file_wait: float = 0.0,
    steps: Sequence[LinkStep] = (),
    cross: tuple[float, float] | None = None,
    actions: Sequence[tuple[float, Callable[[], Awaitable[Any]]]] = (),
    link_control: Callable[[float], Awaitable[None]] | None = None,
    listen_in: tuple[str, str] | None = None,
) -> SessionResult:
    """Play ``frames`` once to a viewer over ``link``; see the module notes.

    ``encoder_factory``: the host's encoder (default: :func:`host_default_encoder`),
    wrapped either way. ``settle``: how long to wait, after the source ended,
    for the viewer to be exact. ``warmup``: how long the first picture stays
    before the source starts playing (0: at once; more leaves the join's
    after-effects out of the lag).
    ``proxy``: the shaping proxy runs in its own process, on this event loop
    (``inline``), or not at all (``none``: the viewer dials the host; for a link
    shaped elsewhere, see :mod:`.netns`; kbit/s then counts update payloads).
    ``compact``: the viewer declares compact deltas (session kind 26).
    ``file``: a transfer beside the screen, see the module notes;
    ``file_wait``: how long after the source ended it may still take.
    ``steps``: the link's rate changes at these times after the source
    started (:mod:`.steps`; ``extra["steps"]`` says what they did);
    ``cross``: from its first to its second time (after the start) someone
    else uploads through the proxy's bottleneck as fast as TCP lets them
    (:meth:`.shaper.ShapingProxy.start_upload`; not with ``proxy="none"``);
    ``actions``: (seconds after the start, coroutine function) run then;
    ``link_control``: with ``proxy="none"``, what changes the rate.
    ``listen_in``: ``(network namespace, address)``: the host listens there
    and the viewer dials it there (``wire:`` links, :mod:`.tunwire`; with
    ``proxy="none"``).
    """
    if proxy == "process" and not _shared_clock():
        raise RuntimeError("perf_counter is not CLOCK_MONOTONIC here: run the proxy inline")
    changed, paced, probe = _staged(frames, sample_period=sample_period, max_samples=max_samples)
    make_encoder = encoder_factory or host_default_encoder
    with tempfile.TemporaryDirectory(prefix="screencodec-bench-") as tmp:
        transfer = None if file is None else _Transfer(Path(tmp), *file)
        config = host_config or HostConfig()
        if transfer is not None:
            config = replace(config, download_dir=transfer.host_dir)
        host = Host(probe.gate, consent=allow(), config=config, file_consent=_yes,
                    encoder_factory=lambda w, h: _NotingEncoder(make_encoder(w, h),
                                                                probe))  # fmt: skip
        return await _session(frames, link, host, name=name, changed=changed, paced=paced,
                              probe=probe, proxy=proxy, proxy_options=proxy_options,
                              warmup=warmup, join_timeout=join_timeout, settle=settle,
                              compact=compact, transfer=transfer,
                              file_wait=file_wait, steps=steps, actions=actions,
                              link_control=link_control, cross=cross,
                              listen_in=listen_in)  # fmt: skip


async def _yes(_: object) -> bool:
    return True


class _Transfer:
    """A file of random bytes to send one way once the source starts."""

    def __init__(self, tmp: Path, way: Literal["down", "up"], size: int) -> None:
        if way not in ("down", "up") or size <= 0:
            raise ValueError(f"file: ('down' or 'up', size > 0), not ({way!r}, {size})")
        self.way, self.size = way, size
        self.path = tmp / f"bench-{way}.bin"
        self.host_dir, self.viewer_dir = tmp / "host", tmp / "viewer"
        self.host_dir.mkdir()
        self.viewer_dir.mkdir()
        with self.path.open("wb") as fh:
            for left in range(size, 0, -(1 << 20)):
                fh.write(os.urandom(min(left, 1 << 20)))
        self.seconds = math.nan
        self.outcome = "not started"

    async def run(self, host: Host, viewer: Viewer) -> None:
        start = _CLOCK()
        send: Awaitable[Any]
        if self.way == "down":
            send = host.send(self.path, host.viewers[0])
        else:
            send = viewer.sender.send(self.path)  # its FileSent, as the host's
        self.outcome = "unfinished when the source ended"
        outcome = await send
        self.seconds = _CLOCK() - start
        self.outcome = str(getattr(outcome, "outcome", outcome))


async def _session(frames: FrameSequence, link: Link, host: Host, *, name: str,
                   changed: list[int], paced: PacedSource, probe: _Probe,
                   proxy: Literal["process", "inline", "none"],
                   proxy_options: dict[str, Any] | None, warmup: float, join_timeout: float,
                   settle: float, compact: bool, transfer: _Transfer | None,
                   file_wait: float = 0.0, steps: Sequence[LinkStep] = (),
                   actions: Sequence[tuple[float, Callable[[], Awaitable[Any]]]] = (),
                   link_control: Callable[[float], Awaitable[None]] | None = None,
                   cross: tuple[float, float] | None = None,
                   listen_in: tuple[str, str] | None = None) -> SessionResult:  # fmt: skip
    relay: _Proxy
    if proxy == "process":
        relay = ProxyProcess(0, link, **(proxy_options or {}))
    elif proxy == "inline":
        relay = _InlineProxy(0, link, **(proxy_options or {}))
    else:
        if cross is not None:
            raise ValueError("an upload beside the session needs the proxy (tc: has its own)")
        relay = _NoProxy(link_control)
    if cross is not None and not isinstance(relay, _NoProxy):
        actions = [*actions, (cross[0], relay.start_upload), (cross[1], relay.stop_upload)]
    ledger = Ledger(_CLOCK)
    try:
        run = await _play(host, relay, probe, ledger, count=len(frames), warmup=warmup,
                          join_timeout=join_timeout, settle=settle, compact=compact,
                          transfer=transfer, file_wait=file_wait, steps=steps,
                          actions=actions, listen_in=listen_in)  # fmt: skip
    finally:
        await host.close()
        paced.close()
    result = _result(name=name, link=link, frames=frames, paced=paced, probe=probe, run=run,
                     down=relay.down if proxy != "none" else None, up=relay.up,
                     changed=changed, ledger=ledger)  # fmt: skip
    if not isinstance(relay, _NoProxy) and relay.upload.deliveries:
        result.extra["upload_kbit_s"] = relay.upload.bytes_between(
            paced.started_at or 0.0, paced.time_of(len(frames) - 1)) * 8 / 1000 / max(
            result.seconds, 1e-9)  # fmt: skip
    if steps or actions:
        result.extra["steps"] = _step_figures(link, paced, probe, run, changed=changed,
                                              down=relay.down if proxy != "none" else None,
                                              end=paced.time_of(len(frames) - 1))
    result.extra["rate_cuts"] = run.cuts
    result.extra["keyframes"] = run.keyframes
    result.extra["socket_held"] = run.socket_held
    result.extra["spans_doubted"] = run.spans_doubted
    result.extra["untimed"] = run.untimed
    result.extra["timeline"] = run.timeline
    if transfer is not None:
        result.extra["file"] = {"way": transfer.way, "bytes": transfer.size,
                                "file_s": transfer.seconds, "outcome": transfer.outcome}
    return result


def _step_figures(link: Link, paced: PacedSource, probe: _Probe, run: _Run, *,
                  changed: list[int], down: DirectionStats | None,
                  end: float) -> dict[str, Any]:  # fmt: skip
    """What the link's steps did (:func:`.steps.after_steps`), and the steps as made."""
    times = [t for _, t in run.viewer.applied_at]
    shown = [(index, t) for (index, _), t in zip(probe.shown[: len(times)], times, strict=True)]
    lags = display_lags(changed, paced.time_of, shown)
    changes = [(paced.time_of(i), lag) for i, lag in zip(lags.frames, lags.lag, strict=True)]
    changes += [(paced.time_of(i), math.inf) for i in lags.unshown]
    if down is not None and down.deliveries:
        deliveries = down.deliveries
    else:  # no proxy: the update payloads the viewer applied
        total, deliveries = 0, []
        for n, t in zip(probe.payload, times, strict=False):
            total += n
            deliveries.append((t, total))
    assert link.rate is not None
    rates = [(t, r) for t, r in run.steps if not math.isnan(r)]
    drop, recovery = drop_and_recovery(rates, link.rate)
    if not rates:  # actions only (a competing upload): its start and its end
        done = [t for t, _ in run.steps]
        drop, recovery = [*done, None, None][:2]
    figures = after_steps(drop, recovery, sorted(changes), deliveries,
                          None if down is None else down.queue_delays, end=end)  # fmt: skip
    assert paced.started_at is not None
    made = [{"at_s": t - paced.started_at, "clock": t,
             "kbit_s": None if math.isnan(r) else r * 8 / 1000}
            for t, r in run.steps]  # fmt: skip
    return {"made": made, **figures}


@dataclass(slots=True)
class _Run:
    viewer: Viewer
    t_start: float = math.nan
    ended: str = ""
    host_stats: Any = None
    steps: list[tuple[float, float]] = field(default_factory=list)  #: (when made, rate)
    #: the host's congestion control: rate cuts, keyframes sent, and every
    #: quarter second (s since the source started, target kbit/s, encoder
    #: budget kbit/s or None, lossy pixels, cuts so far)
    cuts: int = 0
    keyframes: int = 0
    #: ticks the host's own socket held back when due (receipt_bound.py),
    #: and whether the viewer's spans came to be doubted
    socket_held: int = 0
    spans_doubted: bool = False
    untimed: int = 0  # receipts a retransmit of ours may have held (flow44)
    timeline: list[tuple[float, float, float | None, int, int]] = field(default_factory=list)
    #: (due, woke): the event loop ran late (:func:`_watch_loop`), as long
    stalls: list[tuple[float, float]] = field(default_factory=list)


async def _timed(paced: PacedSource, proxy: _Proxy, steps: Sequence[LinkStep],
                 actions: Sequence[tuple[float, Callable[[], Awaitable[Any]]]],
                 made: list[tuple[float, float]]) -> None:  # fmt: skip
    """Change the link's rate at each step's time after the source started,
    noting when it was made, and run each action at its time."""
    assert paced.started_at is not None
    todo: list[tuple[float, LinkStep | Callable[[], Awaitable[Any]]]] = [
        *((s.at, s) for s in steps), *actions]
    for at, what in sorted(todo, key=lambda x: x[0]):
        await asyncio.sleep(max(0.0, paced.started_at + at - _CLOCK()))
        if isinstance(what, LinkStep):
            await proxy.set_rate(what.rate)
            made.append((_CLOCK(), what.rate))
        else:
            await what()
            made.append((_CLOCK(), math.nan))  # an action: when it was done


class _NoProxy:
    """The viewer dials the host itself; ``control`` changes the rate of a
    link shaped elsewhere (the kernel's, :mod:`.netns`)."""

    def __init__(self, control: Callable[[float], Awaitable[None]] | None = None) -> None:
        self.upstream = 0
        self.down = DirectionStats()
        self.up = DirectionStats()
        self._control = control

    async def set_rate(self, rate: float) -> None:
        if self._control is None:
            raise ValueError("steps need a link that can change: the proxy's or tc's")
        await self._control(rate)

    @property
    def port(self) -> int:
        return self.upstream

    async def start(self) -> int:
        return self.upstream

    async def close(self) -> None:
        pass


class _InlineProxy(ShapingProxy):
    """The proxy on the session's loop, its rate changed as the others'."""

    async def set_rate(self, rate: float, up_rate: float | None = None) -> None:  # type: ignore[override]
        ShapingProxy.set_rate(self, rate, up_rate)


_Proxy = ProxyProcess | _InlineProxy | _NoProxy


async def _play(host: Host, proxy: _Proxy, probe: _Probe, ledger: Ledger, *, count: int,
                warmup: float, join_timeout: float, settle: float, compact: bool,
                transfer: _Transfer | None = None, file_wait: float = 0.0,
                steps: Sequence[LinkStep] = (),
                actions: Sequence[tuple[float, Callable[[], Awaitable[Any]]]] = (),
                listen_in: tuple[str, str] | None = None) -> _Run:  # fmt: skip
    """Listen, dial through the proxy; at the first picture (+ ``warmup``) start
    the source; when it has played (and the file is done, ``file_wait`` at
    most), wait until the viewer is exact (at most ``settle``); say bye and
    close everything. Each side's channel notes what
    it receives in ``ledger``."""
    gate = probe.gate
    paced = gate.paced

    async def serve(channel: Any) -> None:
        await host.serve(CountingChannel(channel, ledger, "up"))

    creds = SessionCredentials()
    address = "127.0.0.1" if listen_in is None else listen_in[1]
    with contextlib.nullcontext() if listen_in is None else in_netns(listen_in[0]):
        listening = await listen_direct(address, 0, creds, serve)
    async with listening as listener:
        proxy.upstream = listener.port
        await proxy.start()
        try:
            channel = CountingChannel(
                await connect_direct(address, proxy.port, creds.code, creds.password),
                ledger, "down")  # fmt: skip
            run = _Run(Viewer(channel, decoder=_WatchingDecoder(ScreenDecoder(), probe),
                              capabilities=default_capabilities(compact=compact),
                              download_dir=None if transfer is None else transfer.viewer_dir,
                              file_consent=_yes))  # fmt: skip
            viewer = run.viewer
            viewer.record_times = True
            events = viewer.events()
            run.t_start = _CLOCK()
            await viewer.start()
            task = asyncio.ensure_future(viewer.run())
            try:
                await _wait(probe.first_picture, join_timeout, "no picture")
                if warmup > 0:
                    await asyncio.sleep(warmup)
                gate.release()
                await _wait(gate.started, join_timeout, "the host grabs nothing")
                sampler = asyncio.ensure_future(_sample_flow(host, run))
                watcher = asyncio.ensure_future(_watch_loop(run.stalls))
                sending = None if transfer is None else asyncio.ensure_future(
                    transfer.run(host, viewer))
                timed = asyncio.ensure_future(_timed(paced, proxy, steps, actions, run.steps))
                await asyncio.sleep(max(0.0, paced.time_of(count - 1) - _CLOCK()))
                timed.cancel()
                await asyncio.gather(timed, return_exceptions=True)
                if sending is not None:  # its end is measured, waited for file_wait at most
                    if file_wait > 0:
                        await asyncio.wait({sending}, timeout=file_wait)
                    sending.cancel()
                    await asyncio.gather(sending, return_exceptions=True)
                with contextlib.suppress(asyncio.TimeoutError):
                    await wait_for(probe.exact.event.wait(), settle)
                    # Exactness is seen in the decode: let the viewer apply it too.
                    await wait_for(_applied(viewer, events, probe.exact_at), settle)
                run.host_stats = viewer.host_stats
                sampler.cancel()
                watcher.cancel()
                await asyncio.gather(sampler, watcher, return_exceptions=True)
            finally:
                events.close()
                await viewer.bye()
                run.ended = await task
        finally:
            await proxy.close()
    return run


#: The loop watcher's sleep, and the lateness past it that is a stall.
_WATCH_PERIOD = 0.01
_STALL = 0.002


async def _watch_loop(stalls: list[tuple[float, float]]) -> None:
    """Note each time the event loop (host's and viewer's) woke this task
    over ``_STALL`` late: from when it was due to when it ran, the loop ran
    something else or the process did not run at all (a loaded machine)."""
    while True:
        due = _CLOCK() + _WATCH_PERIOD
        await asyncio.sleep(_WATCH_PERIOD)
        woke = _CLOCK()
        if woke - due > _STALL:
            stalls.append((due, woke))


async def _sample_flow(host: Host, run: _Run, period: float = 0.25) -> None:
    """Note the first viewer link's rate cuts, keyframes and level every ``period``."""
    t0 = _CLOCK()
    while True:
        for link in list(host._runtime.links)[:1]:
            flow, stream = link.flow, link.stream
            run.cuts, run.keyframes = flow.congestion_events, stream.keyframes_sent
            run.socket_held, run.spans_doubted = stream.socket_bound.held, flow.spans_doubt.doubted
            run.untimed = flow.untimed
            budget = None if stream.rate_set is None else stream.rate_set / 1000
            run.timeline.append((round(_CLOCK() - t0, 3), flow.target_rate() * 8 / 1000, budget,
                                 int(stream.quality.get("lossy_area", 0)), run.cuts))  # fmt: skip
        await asyncio.sleep(period)


def _cpu_ms(probe: _Probe, link: Link, run: _Run, lags: Lags,
            became: Callable[[int], float]) -> list[float]:  # fmt: skip
    """The CPU's share of each lag, ms (:func:`.metrics.cpu_on_path`). An
    update's bytes arrive no sooner than the link's delay and their time at
    its rate after its encode."""
    host_busy = union([*probe.encoded, *run.stalls])
    viewer_busy = union([*probe.decoded, *run.stalls])
    out = []
    for i, p, shown in zip(lags.frames, lags.positions, lags.shown_at, strict=True):
        _, encoded, _, _ = probe.paths[p]
        if math.isnan(encoded):  # bytes no encode made: nothing known, none counted
            out.append(0.0)
            continue
        wire = link.delay + (probe.payload[p] / link.rate if link.rate else 0.0)
        cpu = cpu_on_path(became(i), encoded, shown, arrival_at_least=encoded + wire,
                          host_busy=host_busy, viewer_busy=viewer_busy)  # fmt: skip
        out.append(round(cpu * 1000, 1))  # a figure per lag in the JSON: 0.1 ms will do
    return out


def _result(*, name: str, link: Link, frames: FrameSequence, paced: PacedSource, probe: _Probe,
            run: _Run, down: DirectionStats | None, up: DirectionStats,
            changed: list[int], ledger: Ledger) -> SessionResult:  # fmt: skip
    viewer = run.viewer
    times = [t for _, t in viewer.applied_at]
    # A decode can finish after the viewer stopped (its last one, in a worker
    # thread, when we said bye): it was never applied.
    if len(times) > len(probe.shown):
        raise RuntimeError(f"{len(times)} updates applied but {len(probe.shown)} decoded")
    decoded = probe.shown[: len(times)]
    shown = [(index, t) for (index, _), t in zip(decoded, times, strict=True)]
    assert paced.started_at is not None
    begin, end = paced.started_at, paced.time_of(len(frames) - 1)
    span = max(end - begin, 1e-9)
    lags = display_lags(changed, paced.time_of, shown)
    ms = [x * 1000 for x in lags.lag]
    starts = [probe.shown[p][1] for p in lags.positions]
    waits = [(s - paced.time_of(i)) * 1000 for i, s in zip(lags.frames, starts, strict=True)]
    transits = [(t - s) * 1000 for t, s in zip(lags.shown_at, starts, strict=True)]
    cpu = _cpu_ms(probe, link, run, lags, paced.time_of)
    net = [lag - c for lag, c in zip(ms, cpu, strict=True)]
    in_window = [(index, t) for index, t in shown if begin <= t <= end]
    states = len(set(display_lags(changed, paced.time_of, in_window).positions))
    scores = []
    beside = BesideExact()
    for p in sorted(probe.samples):
        if p < len(shown) and shown[p][0] >= 0:
            src = frames.frame(shown[p][0])
            scores.append(psnr(probe.samples[p], src))
            beside.add(times[p] - begin, probe.samples[p], src)
    beside_at = beside.at()
    lossy = [s for s in scores if math.isfinite(s)]
    exact_ms = None
    if probe.exact_at is not None and probe.exact_at < len(times):
        t_stop = paced.time_of(changed[-1]) if changed else begin
        exact_ms = max(0.0, times[probe.exact_at] - t_stop) * 1000
    payload = sum(n for n, t in zip(probe.payload[: len(times)], times, strict=True)
                  if begin <= t <= end)  # fmt: skip
    wire = payload if down is None else down.bytes_between(begin, end)
    steady = begin + span / 2
    steady_link = {"down": down.bytes_between(steady, end) if down and down.deliveries else None,
                   "up": up.bytes_between(steady, end) if up.deliveries else None}  # fmt: skip
    down = down or DirectionStats()
    qdelays = [d * 1000 for t, d in down.queue_delays if begin <= t <= end]
    return SessionResult(
        scenario=name or str(getattr(frames, "name", "")),
        link=link.name,
        link_kbit_s=None if link.rate is None else link.rate * 8 / 1000,
        link_rtt_ms=link.rtt * 1000,
        width=frames.width,
        height=frames.height,
        seconds=span,
        source_frames=len(frames),
        changes=len(changed),
        lag_p50_ms=percentile(ms, 50),
        lag_p95_ms=percentile(ms, 95),
        lag_max_ms=max(ms, default=math.nan),
        lag_samples=len(ms),
        unshown=len(lags.unshown),
        fps=len(in_window) / span,
        content_fps=states / span,
        source_fps=sum(1 for i in changed if paced.time_of(i) <= end) / span,
        kbit_s=wire * 8 / 1000 / span,
        up_kbit_s=up.bytes_between(begin, end) * 8 / 1000 / span,
        psnr_db=min(lossy, default=math.inf),
        psnr_samples=len(scores),
        lossy_samples=len(lossy),
        first_picture_ms=(times[0] - run.t_start) * 1000 if times else math.nan,
        exact_ms=exact_ms,
        updates=len(times),
        wait_p95_ms=percentile(waits, 95),
        transit_p95_ms=percentile(transits, 95),
        max_queue_bytes=down.max_queue,
        queue_delay_p95_ms=percentile(qdelays, 95),
        host_skipped=None if run.host_stats is None else int(run.host_stats.skipped),
        ended=run.ended,
        extra={
            "psnr_p50_db": percentile(lossy, 50),
            # From the screen's first change: the pixels still in every sample
            # exact in every sample from then on (the text beside a film).
            "beside_exact_ms": None if beside_at is None else max(0.0, beside_at) * 1000,
            # Of each lag (as ``lag_*``): the CPU's share, the encodes, decodes
            # and loop stalls it waited on (:func:`.metrics.cpu_on_path`), and
            # what is left: the link's, the flow's and the proxy's.
            "lag_cpu_ms": cpu,
            "lag_net_p50_ms": percentile(net, 50),
            "lag_net_max_ms": max(net, default=math.nan),
            "decode_errors": viewer.decode_errors,
            "encodes": probe.encodes,
            "unmatched": probe.unmatched,
            "payload_kbit_s": payload * 8 / 1000 / span,
            # The second half of the run only: what the session costs once the
            # join picture (and its refinement) is behind it, e.g. when idle.
            "steady_kbit_s": (down.bytes_between(begin + span / 2, end) if down.deliveries
                              else sum(n for n, t in zip(probe.payload[: len(times)], times,
                                                         strict=True)
                                       if begin + span / 2 <= t <= end)) * 16 / 1000 / span,
            "steady_up_kbit_s": up.bytes_between(steady, end) * 16 / 1000 / span,
            # Every byte of the second half by what it carries (linkbench.ledger).
            "ledger": ledger.report(steady, end, steady_link,
                                    deliveries={"down": down.deliveries, "up": up.deliveries}),
            "bytes_down": down.bytes_out,
            "bytes_up": up.bytes_out,
            "max_up_queue_bytes": up.max_queue,
        },
    )
