"""The host's send loop for one viewer: pace, grab + encode, send.

Each tick waits until the congestion controller (:mod:`.flow`) lets an update
go: the bottleneck has room for it and fewer than ``window`` updates await a
receipt. A held-back tick encodes and queues nothing: the viewer's encoder
keeps what it last sent, so the next encode covers everything skipped (damage
merges, the newest screen wins). Then: switch monitor if asked, hold the
encoder to the controller's target rate, grab and encode in one worker-thread
hop, send. An update with nothing in it is not sent at all: an idle screen
costs nothing on the wire. A small delta goes as a compact delta (session
kind 26, :mod:`.compact`) to a viewer that declared it (``compact``).

**Keyframes.** The encoder's first update is the join keyframe; a viewer's
KeyframeRequest while a keyframe is still unanswered is the same request and
is ignored, so a joining viewer gets exactly one full picture. Later requests
(a decode error) are honoured at most every ``KEYFRAME_MIN_GAP`` seconds.

**A kept picture.** A viewer that resumes the session may hold the picture
it showed before its link dropped (:mod:`.kept`): then the first update is
no keyframe but a delta painting only the tiles that changed since
(``ScreenEncoder.continue_from``), sent even if it paints nothing. On a
recorded link the recorder gets the picture it makes (``continuation``)
and records a keyframe of it in its place (its recording starts at this
link), and the encoder restarts its streams at the next update, so the
recording needs nothing from before.

**Seek points.** When the session is recorded and the recorder asks for a
seek point (a history viewer's stream, see docs/recording.md "Seeking"),
the next delta is encoded after ``restart_streams()`` and the recorder gets
a copy of the encoder's reference from just before it: its checkpoint.

**Idle.** Once an encode had nothing to send and the encoder holds no
lossy pixels it would refine, a tick asks the capture hub whether anything was drawn
since (``CaptureHub.quiet``: XDamage's events, read on the loop, no worker
hop) and, if not, grabs nothing, unless a keyframe or a monitor switch is
wanted or :data:`IDLE_NET` s passed since the last grab (the net for damage
the server never reports). The first change after stillness is grabbed at
the next tick, as before: an idle 1080p host spent a fifth of a core on 60
grabs + encodes a second of a screen that did not change.

State: the tick task owns everything here except the flags the receive loop
sets (``request_keyframe``, ``switch_to``, ``on_receipt``), which the tick
reads between awaits (one event loop, no lock). The encoder itself is only
used from the worker thread under ``_encoder_lock``; :meth:`shutdown_encoder`
takes the same lock, so it can never close the encoder under a running encode.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import threading
import time
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt

from screencodec.capture.base import Hint
from screencodec.errors import SessionClosedError
from screencodec.transport.session import messages as m
from screencodec.transport.session.compact import CompactState, compact_update
from screencodec.transport.session.encoding import EncoderChoice, open_encoder
from screencodec.transport.session.flow import CongestionControl
from screencodec.transport.session.kept import KeptPicture
from screencodec.transport.session.receipt_bound import SocketBound, kernel_state
from screencodec.transport.session.screens import HintCursor
from screencodec.transport.session.services import EncoderLike, SessionLink
from screencodec.transport.session.stats import StatsMeter

__all__ = ["KEYFRAME_MIN_GAP", "Streamer"]

#: Keyframes are expensive: requests are honoured at most this often (a later
#: one waits, it is not lost), so a viewer cannot make every update a refresh.
KEYFRAME_MIN_GAP = 0.25
#: The encoder's budget is the target rate over this long (or the tick
#: interval, if longer): fewer, better frames than 60 starved ones.
BUDGET_INTERVAL = 1 / 30
#: An update may grow to this when the link needs timing (see _encoder_budget).
PROBE_BYTES = 12_000
#: The rate handed to the encoder is updated when it moves by more than this.
_RATE_STEP = 0.05
#: While idle (see "Idle" above) a tick grabs at least this often (s) all
#: the same: the source's rolling band (capture/screen.py, ROLL_GRABS) is
#: the net for a change the X server draws but XDamage never reports, and
#: it only moves with grabs. At 60 Hz it swept the screen in 0.27 s; at
#: this period in ROLL_GRABS * IDLE_NET = 2 s. Slower when idle because at
#: 1080p each net grab (a 68-row band) and its encode cost what the whole
#: idle tick did; a change XDamage reports is seen at the next tick as before.
IDLE_NET = 0.125


class Streamer:
    def __init__(self, link: SessionLink, choice: EncoderChoice) -> None:
        cfg = link.host.config
        self._link = link
        #: How the encoder is opened at the first encode (the link sets it from
        #: the viewer's capabilities before the grant).
        self.choice = choice
        self.flow = CongestionControl(dataclasses.replace(cfg.flow, window=cfg.window))
        #: the host's own socket, which no receipt can forge: holds sends and
        #: the encoder's rate when the path is slower than we send
        self.socket_bound = SocketBound(cfg.flow.queue_target)
        self.meter = StatsMeter()
        self.switch_to: int | None = None
        self.encoder: EncoderLike | None = None
        self._hints = HintCursor()  # this viewer's place in the monitor's damage log
        self._encoder_hints = False  # the encoder takes encode(hint=...)
        self.keyframes_sent = 0
        #: The digest of the picture a resuming viewer kept (.kept), for the
        #: first update only; set by the link before the stream runs.
        self.kept: KeptPicture | None = None
        #: First updates that went on from a kept picture instead of a keyframe.
        self.continuations = 0
        self._continued = False  # the last encode was one (worker -> tick)
        self._restart = False  # restart the encoder's streams at the next delta (worker)
        self.empty_skipped = 0  #: unchanged ticks not sent
        self.idle_skipped = 0  #: ticks that grabbed nothing: nothing was drawn (Idle)
        self._still = False  # the last encode had nothing to send
        self._grabbed_at = -1e9  # when the last tick grabbed (monotonic)
        #: Send compact deltas (the viewer declared ``Capabilities.COMPACT``).
        self.compact = False
        #: ... with rect references (kind 28; it declared ``COMPACT_RECTS`` too).
        self.compact_refs = False
        self.compact_sent = 0  #: updates sent as compact deltas
        self._on_link = CompactState()  # the last update sent, as the viewer knows it
        self.rate_set: float | None = None  #: bits/s the encoder is held to (None: unlimited)
        self._budget_set: tuple[float, float] | None = None
        self._probed_at = -1e9
        self.quality: dict[str, Any] = {}  #: the encoder's latest quality figures
        self._want_keyframe = True
        self._keyframe_at = -1e9
        self._keyframe_seq: int | None = None  # the keyframe not yet acknowledged
        self._keyframe_encoding = False  # a keyframe is being grabbed and encoded
        self._wake = asyncio.Event()
        self._encoder_lock = threading.Lock()
        self._encoder_closed = False

    def request_keyframe(self) -> None:
        if self._want_keyframe or self._keyframe_encoding or self._keyframe_seq is not None:
            return  # one is on its way: the same picture answers both
        self._want_keyframe = True

    def on_receipt(
        self, seq: int, arrived: float | None = None, held: float = 0.0, span: float | None = None
    ) -> None:
        now = time.monotonic()
        # The host's own retransmits up to this receipt (.retransmits): one
        # may have held the update it answers.
        state = kernel_state(getattr(getattr(self._link, "channel", None), "transport", None))
        self.flow.retransmits.observe(None if state is None else state.retrans, now)
        self.flow.receipt(seq, now, arrived, held, span)
        ks = self._keyframe_seq
        if ks is not None and (seq - ks) & 0xFFFFFFFF < 0x80000000:
            self._keyframe_seq = None
        self._wake.set()

    async def run(self) -> None:
        link = self._link
        cfg = link.host.config
        next_tick = time.monotonic()
        while True:
            now = time.monotonic()
            bound = self.socket_bound
            channel = getattr(link, "channel", None)
            state = kernel_state(getattr(channel, "transport", None))
            bound.observe(state, now)
            self.flow.retransmits.observe(None if state is None else state.retrans, now)
            held = bound.delay()
            wait = max(next_tick - now, self.flow.delay(now), held)
            if wait > 0:
                if next_tick <= now:
                    self.flow.skip()
                    bound.held += held > 0
                await self._sleep(min(wait, 0.25))
                continue
            next_tick = now + cfg.min_interval
            if (self._still and self.switch_to is None and not self._want_keyframe
                    and now - self._grabbed_at < IDLE_NET
                    and link.host.hub.quiet(link.monitor, self._hints)):  # fmt: skip
                self.idle_skipped += 1
                continue
            self._grabbed_at = now
            if self.switch_to is not None:
                link.watch(self.switch_to)
                self.switch_to = None
                self._want_keyframe = True
                self._keyframe_at = -1e9  # a new picture now, whatever the rate limit
                await link.send(m.MonitorList(link.host.hub.monitors(link.monitor), link.monitor))
            keyframe = self._want_keyframe and now - self._keyframe_at >= KEYFRAME_MIN_GAP
            if keyframe:
                self._want_keyframe = False
                self._keyframe_at = now
                # A continuation (a kept picture) answers no keyframe request:
                # one that comes meanwhile is for a keyframe after it.
                self._keyframe_encoding = self.kept is None
            encode = partial(self._encode, keyframe, self._encoder_budget(now))
            try:
                data = await link.host.hub.grab_hinted_then(link.monitor, self._hints, encode)
            finally:
                self._keyframe_encoding = False
            # Still: nothing sent, and nothing lossy left to refine (an
            # encoder held to a rate may refine in later updates).
            self._still = data is None and not self.quality.get("lossy_area")
            if data is None:
                self.empty_skipped += 1
                continue
            message = self._message(self.flow.next_seq, data)
            payload_size = len(message) + 2
            seq = self.flow.sent(payload_size, time.monotonic())
            if keyframe:
                if self._continued:
                    self.continuations += 1
                else:
                    self._keyframe_seq = seq
                    self.keyframes_sent += 1
            await link.send_raw(message)
            self.meter.on_send(payload_size)

    def _message(self, seq: int, data: bytes) -> bytes:
        """Update ``seq`` as it goes on the wire: compact if it may be."""
        if not self.compact:
            return m.encode(m.Update(seq, data))
        message = compact_update(self._on_link, seq, data, refs=self.compact_refs)
        self._on_link.note(seq, data)
        if message is None:
            return m.encode(m.Update(seq, data))
        self.compact_sent += 1
        return message

    async def _sleep(self, seconds: float) -> None:
        """Sleep, or less if a receipt comes. A timer sets the event: no
        wait_for, whose inner task can outlive a cancellation on Python 3.11."""
        self._wake.clear()
        timer = asyncio.get_running_loop().call_later(seconds, self._wake.set)
        try:
            await self._wake.wait()
        finally:
            timer.cancel()

    def _encoder_budget(self, now: float) -> tuple[float, float] | None:
        """``(bits/s, interval)`` to hold the encoder to, or None for unlimited.

        Probing: small updates cannot time the link, so while the rate is
        stale one update a second may grow to :data:`PROBE_BYTES` (a cap, not
        a fill: an encoder with nothing more to send sends nothing more; one
        with lossy pixels to refine or photo areas to send uses it). Its
        arrival span measures the link; a link that freed up is found.
        """
        cfg = self._link.host.config
        if not cfg.adaptive:
            return None
        bps = min(self.flow.target_rate(), self.socket_bound.ceiling(now)) * 8
        if bps >= cfg.unlimited_rate:
            return None
        interval = max(BUDGET_INTERVAL, cfg.min_interval)
        if self.flow.stale(now) and now - self._probed_at >= self.flow.config.rate_window:
            self._probed_at = now
            interval = max(interval, PROBE_BYTES * 8 / bps)
        return bps, interval

    def _encode(
        self,
        keyframe: bool,
        budget: tuple[float, float] | None,
        frame: npt.NDArray[np.uint8],
        owned: bool,
        hint: Hint | None,
    ) -> bytes | None:
        """Worker thread: create the encoder from the first frame's size, set
        its rate, encode. None for an update that carries nothing. An
        ``owned`` frame (a fresh grab only this viewer sees) is given up to
        an encoder that can keep it (``ScreenEncoder.encode(keep=True)``).
        ``hint``: where the screen changed since this viewer's last frame
        (the hub's damage log), for an encoder that takes ``encode(hint=)``."""
        with self._encoder_lock:
            if self._encoder_closed:
                raise SessionClosedError("the session is ending")
            enc = self.encoder
            if enc is None:
                enc = self.encoder = open_encoder(self.choice, frame.shape[1], frame.shape[0])
                self._encoder_hints = _takes_hint(enc)
                keyframe = True
            set_rate = getattr(enc, "set_rate", None)
            if set_rate is not None and _moved(self._budget_set, budget):
                if budget is None:
                    set_rate(None)
                else:
                    set_rate(budget[0], interval=budget[1])
                self._budget_set = budget
                self.rate_set = None if budget is None else budget[0]
            self._continued = False
            if keyframe:
                kept, self.kept = self.kept, None
                rects = self._kept_rects(enc, kept, frame)
                if rects is None:
                    enc.request_keyframe()
                else:
                    enc.continue_from(rects)  # type: ignore[attr-defined]
                    self._continued = True
            if self._restart and not keyframe:
                # After a recorded continuation: the recording holds a
                # keyframe in its place, on which no stream can go on.
                enc.restart_streams()  # type: ignore[attr-defined]
            self._restart = False
            seeker = None if keyframe else self._seeker(enc)
            if seeker is not None:
                # A seek point for the recording: the encoder drops its
                # cross-update state, so the picture it holds now is all a
                # player needs before this update (docs/recording.md, "Seeking").
                enc.restart_streams()  # type: ignore[attr-defined]
                ref = np.array(enc.reference)  # type: ignore[attr-defined]
            kw: dict[str, Any] = {}
            if self._encoder_hints and hint is not None:
                # A change drawn between the damage's take and the grab shows
                # in this frame and is hinted only with the next one: the
                # encoder does not adopt a frame it compared in part
                # (encode(keep=True) then copies), so giving it up stays safe.
                kw["hint"] = hint
            if owned and hasattr(enc, "take_spare"):
                data = enc.encode(frame, keep=True, **kw)  # type: ignore[call-arg]
                enc.take_spare()  # mss allocates each grab: nothing to give it
            else:
                data = enc.encode(frame, **kw)
            last = getattr(enc, "last", None)
            recording = self._recording() if self._continued else None
            if recording is not None and last is not None:
                recording.continuation(np.array(enc.reference), last.sequence)  # type: ignore[attr-defined]
                self._restart = True
            if seeker is not None and last is not None and not last.keyframe:
                seeker.seek_point(ref, last.sequence)
            if last is not None:
                self.quality = _quality(enc, last)
                if not last.keyframe and not last.ops and not self._continued:
                    return None
            return data

    def _kept_rects(
        self, enc: EncoderLike, kept: KeptPicture | None, frame: npt.NDArray[np.uint8]
    ) -> npt.NDArray[np.int32] | None:
        """Worker thread: the rects of ``frame`` a viewer holding ``kept``
        lacks, or None when the update must be a keyframe: no kept picture,
        one of another size, an encoder that cannot go on from it, or a
        recorder that cannot record it (module notes)."""
        if kept is None or not hasattr(enc, "continue_from"):
            return None
        recording = self._recording()
        if recording is not None and not (
                hasattr(recording, "continuation") and hasattr(enc, "restart_streams")
                and hasattr(enc, "reference")):  # fmt: skip
            return None
        if (kept.width, kept.height) != (frame.shape[1], frame.shape[0]):
            return None
        return kept.differing(frame)

    def _seeker(self, enc: EncoderLike) -> Any:
        """The session's recorder (``Host(recorder=...)`` wraps the link's
        channel) if it asks for a seek point now and the encoder can restart
        its streams and show its reference, else None. Only for deltas: a
        keyframe is a seek point by itself."""
        session = self._recording()
        if not getattr(session, "seek_point_wanted", False):
            return None
        ok = hasattr(enc, "restart_streams") and hasattr(enc, "reference")
        return session if ok else None

    def _recording(self) -> Any:
        """The recorder of this link (``Host(recorder=...)`` wraps its
        channel: ``channel.session``), or None when it is not recorded."""
        return getattr(getattr(self._link, "channel", None), "session", None)

    def shutdown_encoder(self) -> None:
        """Worker thread: wait for a running encode, then close the encoder."""
        with self._encoder_lock:
            self._encoder_closed = True
            if self.encoder is not None:
                self.encoder.close()  # its own worker threads
                self.encoder = None


def _takes_hint(enc: EncoderLike) -> bool:
    """Whether ``enc.encode`` takes ``hint=`` (ScreenEncoder does; a wrapper
    may not)."""
    try:
        params = inspect.signature(enc.encode).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "hint" or p.kind is p.VAR_KEYWORD for p in params)


def _moved(old: tuple[float, float] | None, new: tuple[float, float] | None) -> bool:
    if old is None or new is None:
        return old is not new
    return abs(new[0] - old[0]) > _RATE_STEP * old[0] or new[1] != old[1]


def _quality(enc: Any, last: Any) -> dict[str, Any]:
    """The encoder's quality figures for stats (those it has)."""
    out: dict[str, Any] = {}
    for name in ("lossy_area",):
        if hasattr(enc, name):
            out[name] = getattr(enc, name)
    for name in ("psnr", "lossy_pixels", "refined_pixels", "budget"):
        if hasattr(last, name):
            out[name] = getattr(last, name)
    return out
