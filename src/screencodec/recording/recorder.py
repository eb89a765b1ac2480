"""Recording a host's sessions: one ``.screc`` per viewer session.

:class:`Recorder` is what ``Host(..., recorder=...)`` takes. For each viewer
session the host hands it the authenticated channel and gets back a
:class:`RecordingChannel` that passes every message through unchanged and
puts a reference to it on a queue: the event loop pays one queue put per
message, nothing more. A worker thread per session (at a lower OS priority
than the encoders) does the rest:

* each UPDATE and cursor message goes into the file **exactly as sent** to
  that viewer (every viewer has its own encoder, rate and keyframes, so each
  session's recording is that viewer's stream and replays bit-exact to what
  that viewer saw);
* everything else becomes audit events (:mod:`.audit`) on the same timeline;
* **picture hashes** (on by default): the worker decodes every update as the
  viewer does and writes the xxh3-64 of the framebuffer after it in a
  PICTURE chunk right behind it, so that every picture a player shows is
  checked by ``verify`` against what the host saw, and is under the host's
  signature with the bytes it came from;
* **checkpoints** for seeking: the worker decodes the stream as the viewer
  does and writes the framebuffer as one lossless keyframe when a player
  would otherwise replay too much (:class:`CheckpointPolicy`, measured
  decode work). A wire keyframe is a seek point by itself. Checkpoints are
  only written while the decoder carries no state across updates; while a
  ZSTREAM history stream is open (until the next wire keyframe) the worker
  does not decode at all, and instead asks the session's streamer for
  **seek points** (``seek_point_wanted``): the encoder restarts its streams
  and hands over its reference picture (``seek_point``), which becomes the
  checkpoint (see docs/recording.md, "Seeking").

Thread safety: :meth:`Recorder.open_session`, :meth:`Recorder.local_input`
and the consent wrapper run on the host's event loop; each session's file
and decoder belong to its worker thread; the shared session table is guarded
by a lock. :meth:`Recorder.close` waits for every worker.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from screencodec.errors import DecodeError, ProtocolError
from screencodec.frames import framebuffer_hash
from screencodec.recording.audit import AuditTracker
from screencodec.recording.crypto import load_public_key
from screencodec.recording.format import (
    MIN_POINTER_VERSION,
    PICTURE_HASH,
    PICTURE_PAYLOAD,
    ChunkFlags,
    ChunkType,
    json_payload,
)
from screencodec.recording.pictures import drawn_pointer, pointer_digest
from screencodec.recording.reader import file_digest
from screencodec.recording.retention import RetentionPolicy, prune
from screencodec.recording.sign import HostSigner, as_signer
from screencodec.recording.writer import ChunkWriter
from screencodec.transport.channel.base import ChannelTap
from screencodec.transport.session import messages as m
from screencodec.transport.session.compact import CompactState
from screencodec.transport.session.permissions import ConsentRequest, Grant, Permission
from screencodec.transport.session.resume import RESUME_CHANNEL
from screencodec.wire import UpdateFlags
from screencodec.wire.format import HEADER, UPDATE_HEADER

if TYPE_CHECKING:
    from screencodec.transport.channel.base import Channel
    from screencodec.transport.session.consent import ConsentCallback

__all__ = ["CheckpointPolicy", "Recorder", "RecordingChannel", "SessionRecorder"]

_log = logging.getLogger(__name__)
_SYNC_EVERY = 5.0  # seconds between fsyncs (power loss; SIGKILL loses nothing written)
_UPDATE_KIND = m.Update.KIND
_CURSOR_KIND = m.Cursor.KIND
# Messages that say nothing for the audit log: skip decoding them.
_QUIET = frozenset({m.Receipt.KIND, m.CompactReceipt.KIND, m.Ack.KIND, m.Stats.KIND,
                    m.MonitorList.KIND, m.KeyframeRequest.KIND, m.Capabilities.KIND})  # fmt: skip


@dataclasses.dataclass(frozen=True, slots=True)
class CheckpointPolicy:
    """When to write a seek checkpoint (a lossless keyframe of the framebuffer;
    about 1 MB for a 1080p desktop, so as seldom as seeking allows).

    The recorder times its own decoding of the stream: a player seeking into
    the stretch since the last seek point replays that much decode work. A
    checkpoint is written once that work reaches ``budget`` seconds (seeking
    then stays under about ``budget`` + one keyframe decode), or earlier, from
    ``soft_budget`` on, when the wire bytes since the last seek point exceed
    ``bytes_ratio`` times the last checkpoint's size (a busy screen: the
    checkpoint is cheap next to the stream). Never closer than
    ``min_interval`` seconds. ``enabled=False`` writes none.

    While the stream carries a history stream the recorder does not decode,
    so it asks the streamer for a seek point by wire measures instead
    (:meth:`seek_due`): ``max_updates`` updates (each costs a player a
    decode), or wire bytes past ``bytes_ratio`` times the last checkpoint,
    since the last seek point; never closer than ``min_interval``."""

    budget: float = 0.3
    soft_budget: float = 0.05
    bytes_ratio: float = 1.0
    min_interval: float = 10.0
    enabled: bool = True
    max_updates: int = 3000

    def due(self, work: float, since: float, wire_bytes: int, checkpoint_bytes: int) -> bool:
        if not self.enabled or since < self.min_interval:
            return False
        if work >= self.budget:
            return True
        return work >= self.soft_budget and wire_bytes >= self.bytes_ratio * checkpoint_bytes

    def seek_due(self, since: float, wire_bytes: int, updates: int, checkpoint_bytes: int) -> bool:
        """Whether to ask the streamer for a seek point (a history stream)."""
        if not self.enabled or since < self.min_interval:
            return False
        return updates >= self.max_updates or wire_bytes >= self.bytes_ratio * checkpoint_bytes


def machine_id() -> str:
    """This machine's id (systemd's /etc/machine-id), else a hash of the hostname."""
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        with contextlib.suppress(OSError):
            text = Path(path).read_text().strip()
            if text:
                return text
    return uuid.uuid5(uuid.NAMESPACE_DNS, os.uname().nodename).hex


#: How long a resumed link's recording waits for the file of the link it
#: resumes to be complete, to name its hash (s): that link has ended by then
#: (the host ends it before it takes the new one up), its file is being closed.
EARLIER_WAIT = 10.0

#: The Capabilities flags a viewer must have declared to take each compact
#: delta kind.
_COMPACT_FLAGS = {
    m.CompactUpdate.KIND: m.Capabilities.COMPACT,
    m.CompactUpdateRefs.KIND: m.Capabilities.COMPACT | m.Capabilities.COMPACT_RECTS,
}


class RecordingChannel(ChannelTap):
    """A :class:`Channel` that reports every message to a session recorder.
    ``host_side=False`` wraps a viewer's channel: what it receives is then
    what the host sent. A compact delta from the host is recorded as the
    canonical Update it stands for (:mod:`~screencodec.transport.session.compact`:
    the channel keeps the link's state, from the one task that sends or
    receives the host's messages); one that cannot be expanded is left out,
    as the viewer refuses it too, and so is one of a kind the viewer did not
    declare in its Capabilities (it ends the session on it: the picture was
    never shown)."""

    def __init__(self, inner: Channel, session: SessionRecorder, *, host_side: bool = True
                 ) -> None:  # fmt: skip
        super().__init__(inner)
        self._session = session
        self._sent, self._received = ("out", "in") if host_side else ("in", "out")
        self._link = CompactState()
        self._declared = 0  # the viewer's Capabilities flags, once it sent them
        session.channel, session.side = self, "host" if host_side else "viewer"

    def _put(self, kind: str, message: bytes) -> None:
        if kind == "out":  # the host's message
            needs = _COMPACT_FLAGS.get(message[1] if len(message) > 1 else -1, 0)
            if needs & ~self._declared:
                return
            try:
                message = self._link.canonical(message)
            except ProtocolError:
                return
        elif len(message) > 1 and message[1] == m.Capabilities.KIND:
            with contextlib.suppress(ProtocolError, ValueError):
                caps = m.decode(message)
                if isinstance(caps, m.Capabilities):
                    self._declared = caps.flags
        if len(message) > 1 and message[1] == m.Extension.KIND:
            self._session.ticket(kind, message)
        self._session.put(kind, message)

    def on_sent(self, message: bytes, /) -> None:
        self._put(self._sent, message)

    def on_received(self, message: bytes, /) -> None:
        self._put(self._received, message)

    @property
    def session(self) -> SessionRecorder:
        return self._session


class SessionRecorder:
    """One viewer session's recording: a file, a queue and its worker thread.

    ``put``, ``seek_point_wanted`` and ``seek_point`` may be called from any
    thread (the request is a plain flag the worker sets and ``seek_point``
    clears; the seek point itself is queued in order with the messages); the
    worker owns everything else.
    ``done`` is set when the file is complete (END written and closed).
    """

    def __init__(self, recorder: Recorder, peer: str) -> None:
        self.recorder = recorder
        self.peer = peer
        self.session_id = uuid.uuid4().hex
        self.t0 = time.monotonic()
        self.start_unix = time.time()
        # Milliseconds: a resumed link's file starts within the second of
        # the one it continues, and names sort in the order files began.
        start = datetime.fromtimestamp(self.start_unix, timezone.utc)
        stamp = start.strftime("%Y%m%dT%H%M%S.%f")[:-3]
        self.path = recorder.directory / f"{stamp}Z-{self.session_id[:12]}.screc"
        self._hashes = recorder.picture_hashes
        # Version 2 (pointer hashes) only with them: without, a reader of
        # version 1 reads the file.
        self.writer = ChunkWriter(self.path, auditor=recorder.auditor, signer=recorder.signer,
                                  start_unix=self.start_unix, extra={
                                      "pictures": PICTURE_HASH, "pointer": PICTURE_HASH}
                                  if self._hashes else None,
                                  version=MIN_POINTER_VERSION if self._hashes else 1)  # fmt: skip
        self.audit = AuditTracker(include_keys=recorder.include_keys,
                                  include_clipboard=recorder.include_clipboard)  # fmt: skip
        self.updates = 0
        self.checkpoints = 0
        self.wire_bytes = 0
        self.error: BaseException | None = None
        #: The recorded channel (set by :class:`RecordingChannel`) and which
        #: end of it this recording is made at.
        self.channel: Any = None
        self.side = "host"
        self.cpu_seconds = 0.0  #: the worker thread's CPU time, once done
        self.done = threading.Event()
        #: SHA-256 of each resume ticket the host gave the viewer on this
        #: link, and of the one the viewer presented (never the tickets:
        #: secrets): a resumed link's recording names the file of the link
        #: whose ticket it presented (:meth:`Recorder.issuer`).
        self.issued: set[bytes] = set()
        self.presented: bytes | None = None
        #: The viewer's ticket took the session up on this link (its consent
        #: event says ``resumed``): should the link be lost before the viewer
        #: read the next one, the same ticket takes it up again
        #: (transport/session/resume.py), and this file is the one before.
        self.took_up = False
        self._queue: queue.SimpleQueue[tuple[str, float, Any]] = queue.SimpleQueue()
        self._policy = recorder.checkpoints
        self._sign_every = recorder.sign_every
        self._decoder: Any = None
        self._pointer: Any = None  # the cursor messages alone, for the pointer hashes
        self.cursors = 0
        self._ckpt_encoder: Any = None
        self._ckpt_size = (0, 0)
        self._since_seek = 0.0  # decode seconds since the last seek point
        self._bytes_since = 0  # wire bytes since the last seek point
        self._ckpt_bytes = 0  # the last checkpoint's (or keyframe's) size
        self.checkpoint_bytes = 0
        self._streams_open = False  # the decoder holds state a checkpoint cannot carry
        self._updates_since = 0  # updates since the last seek point
        # Set by the worker, read by the streamer's thread (a plain bool).
        self._want_seek = False
        self._pending_seek: tuple[Any, int] | None = None  # (reference, sequence)
        self._pending_continuation: tuple[Any, int] | None = None  # (picture, sequence)
        self.seek_points = 0  #: checkpoints written from the encoder's seek points
        self._seek_at = 0.0
        self._synced = self._signed = time.monotonic()
        self.writer.append(ChunkType.META, json_payload({
            "session_id": self.session_id, "host_id": recorder.host_id, "peer": peer,
            "start_unix": self.start_unix, "include_keys": recorder.include_keys,
            "include_clipboard": recorder.include_clipboard,
        }), 0)  # fmt: skip
        self._thread = threading.Thread(
            target=self._run, name=f"recorder-{self.session_id[:8]}", daemon=True)
        self._thread.start()

    def put(self, kind: str, obj: Any = None, at: float | None = None) -> None:
        """Queue ``obj``: ``"out"``/``"in"`` a session message sent/received,
        ``"consent"`` an audit event, ``"local"`` local input, ``"chat_*"``
        what the host's chat ledger says of its lines, ``"link_over"`` the
        link ended (the file may stay open: :meth:`_handle`), ``"link_lost"``
        (``{"reason", "resumable"}``) its link was lost and the agent may come
        back, ``"resumed"`` (the seconds it was away) it did (a new link's
        file goes on), ``"file_unasked"`` (``(transfer, code, number)``) the
        agent's file offer is refused without asking the host's user, for
        that reason code (files/wire.py), ``"answer_why"`` (``(kind,
        level, words)``) why the host's next grant or deny of that level is
        given, in the host's words (audit.AuditTracker.answer_why), ``"away"`` an
        audit event of the host's side while the agent is away. ``at`` is its
        ``time.monotonic()`` time (default now; tools that synthesise a
        recording pass ``session.t0 + seconds``)."""
        if self.done.is_set():
            return  # the recording ended (or failed: a full disk must not grow memory)
        if kind == "consent" and isinstance(obj, dict) and obj.get("resumed"):
            self.took_up = True
        self._queue.put((kind, time.monotonic() if at is None else at, obj))

    def ticket(self, kind: str, message: bytes) -> None:
        """An Extension message went by (``kind`` as for :meth:`put`): a
        resume ticket's digest is kept, given ("out") or presented ("in").
        On the loop, before the message is queued. Only the first one the
        viewer sends counts: the host takes a ticket in the viewer's hello
        alone, and a later one (another session's, or the one this link
        was just given, echoed) must not change the file the recording
        names, which the worker reads when it comes to the consent event."""
        try:
            ext = m.decode(message)
        except ProtocolError:
            return
        if not isinstance(ext, m.Extension) or ext.channel != RESUME_CHANNEL:
            return
        digest = hashlib.sha256(ext.payload).digest()
        if kind == "out":
            self.issued.add(digest)
        elif self.presented is None:
            self.presented = digest

    @property
    def seek_point_wanted(self) -> bool:
        """Whether the recorder asks for a seek point now (any thread): the
        session's streamer then calls ``restart_streams()`` on its encoder
        before the next delta and :meth:`seek_point` with its reference."""
        return self._want_seek and not self.done.is_set()

    def seek_point(self, reference: Any, sequence: int, at: float | None = None) -> None:
        """The next update sent (the encoder's update number ``sequence``, or
        the first one after it if that one was empty and not sent) was
        encoded after ``restart_streams()`` from ``reference``, a BGRX
        framebuffer the caller gives away: decoding from that picture alone
        gives what the viewer sees. Written as a checkpoint just before that
        update. Any thread, queued in order with the messages."""
        self._want_seek = False
        self.put("seek", (reference, sequence), at)

    def continuation(self, picture: Any, sequence: int, at: float | None = None) -> None:
        """The next update sent (the encoder's update number ``sequence``)
        is a continuation: a delta on the picture a resumed viewer kept
        (transport/session/kept.py), which this recording never held, and
        after it the viewer shows ``picture`` (a BGRX framebuffer the caller
        gives away). It is recorded as a keyframe of ``picture`` with the same
        number, so the recording decodes from it; the encoder restarts its
        streams before the update after it, which then needs nothing else.
        Any thread, queued in order with the messages."""
        self.put("continuation", (picture, sequence), at)

    def end(self, reason: str, at: float | None = None) -> None:
        """The session is over (``reason``). If this end closed the recorded
        channel without a Bye (the host's listener closing on Ctrl-C), the
        audit log gets this side's ``bye`` with ``reason`` all the same."""
        closed_here = bool(getattr(self.channel, "closed_here", False))
        self.put("end", (reason, self.side if closed_here else None), at)

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # -- the worker --------------------------------------------------------

    def _run(self) -> None:
        with contextlib.suppress(OSError, AttributeError):
            # Below the encoders: the recorder may lag, the viewer must not.
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        self.writer.batch = True
        try:
            while True:
                if self._queue.empty():
                    self.writer.flush()  # before sleeping: all taken so far is on disk
                item = self._next()
                if item is None:
                    continue
                kind, t, obj = item
                rel = max(0.0, t - self.t0)
                if kind == "end":
                    self._finish(rel, *obj)
                    return
                self._handle(kind, rel, obj)
                if self.writer.unsigned and time.monotonic() - self._signed >= self._sign_every:
                    self._sign()
                if t - self._synced > _SYNC_EVERY:
                    self.writer.sync()
                    self._synced = t
        except BaseException as exc:  # a full disk must not take the session down
            self.error = exc
            _log.exception("recording %s failed", self.path)
            with contextlib.suppress(OSError):
                self.writer.close()
        finally:
            self.cpu_seconds = time.thread_time()
            self._let_go()
            self.done.set()
            self.recorder._session_done(self)

    def _let_go(self) -> None:
        """The file is complete (or failed): what checked its stream goes.
        :attr:`Recorder.finished` keeps this recorder for the host's life
        (:meth:`Recorder.issuer`), and a 1080p session's decoder alone holds
        about 9 MB."""
        self._stream_over()
        while True:  # what came after the end (nothing reads it now)
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break

    def _stream_over(self) -> None:
        """No more of the stream comes (the link ended, or the file is
        complete): what checked it goes, also from a file kept open for an
        agent away (``"link_over"``, :meth:`_handle`)."""
        if self._ckpt_encoder is not None:
            with contextlib.suppress(Exception):  # closed already, or broken by the failure
                self._ckpt_encoder.close()
        self._decoder = self._pointer = self._ckpt_encoder = None
        self._pending_seek = self._pending_continuation = None

    def _next(self) -> tuple[str, float, Any] | None:
        """The next queued item. A signing recorder does not sleep on
        unsigned chunks for more than ``sign_every``: when nothing comes, it
        signs what it wrote (None), so a killed host's file verifies up to at
        most ``sign_every`` seconds before the kill."""
        if not self.writer.unsigned:
            return self._queue.get()
        wait = self._signed + self._sign_every - time.monotonic()
        try:
            return self._queue.get(timeout=max(0.0, wait))
        except queue.Empty:
            self._sign()
            return None

    def _sign(self) -> None:
        self.writer.sign()
        self._signed = time.monotonic()

    def _handle(self, kind: str, rel: float, obj: Any) -> None:
        us = int(rel * 1e6)
        if kind == "out":
            payload: bytes = obj
            k = payload[1] if len(payload) > 1 else -1
            if k == _UPDATE_KIND:
                self._update(payload, us, rel)
                return
            if k == _CURSOR_KIND:
                self._cursor(memoryview(payload)[2:], us)
                return
            if k in _QUIET:
                return
            try:
                sent = m.decode(payload)
            except ProtocolError:
                return  # not ours to judge; the recording goes on
            events = self.audit.from_host(rel, sent)
        elif kind == "in":
            if len(obj) > 1 and obj[1] in _QUIET:
                return
            try:
                received = m.decode(obj)
            except ProtocolError:
                return  # the session ends on it; nothing to log
            events = self.audit.from_viewer(rel, received)
        elif kind == "consent":
            events = [self._earlier(obj) if obj.get("resumed") else obj]
        elif kind == "local":
            events = self.audit.local_input(rel, obj or "input")
        elif kind == "chat_written":  # a resumed link: the host's lines logged before
            events = self.audit.chat_written(int(obj))
        elif kind == "chat_numbering":  # how the host numbers the viewer's lines now
            events = self.audit.chat_numbering(*obj)
        elif kind == "chat_held":  # a resumed link: the host's lines that go first here
            events = self.audit.chat_held(self._typed(obj))
        elif kind == "chat_unsent":  # the session is over: the host's lines that never went
            events = self.audit.chat_unsent(self._typed(obj))
        elif kind == "chat_went":  # ... and those that went, not confirmed: (lines, state)
            events = self.audit.chat_went(self._typed(obj[0]), obj[1])
        elif kind == "file_unasked":  # the agent's offer refused unasked: (transfer, code, number)
            events = self.audit.file_unasked(*obj)
        elif kind == "answer_why":  # why the next grant or deny: (kind, level, words)
            events = self.audit.answer_why(*obj)
        elif kind == "answer_gone":  # the user's yes came once the agent was gone: (level, why)
            events = self.audit.answer_gone(*obj)
        elif kind == "away":  # the host's side did this while the agent was away
            events = self.audit.away(obj)
        elif kind == "link_lost":  # the agent's link went; it may come back
            events = self.audit.link_lost(obj["reason"], obj["resumable"])
        elif kind == "resumed":  # ... and it came back: a new file goes on
            events = self.audit.resumed(float(obj))
        elif kind == "seek":
            self._pending_seek = obj
            return
        elif kind == "continuation":
            self._pending_continuation = obj
            return
        elif kind == "link_over":  # the file may stay open (an agent away): nothing more comes
            self._stream_over()
            events = self.audit.link_over()
        else:
            events = []
        self._events(events, us)

    def _typed(self, lines: list[tuple[int, str, float]]) -> list[tuple[int, str, float]]:
        """Chat lines ``(number, text, typed)`` with ``typed`` (a
        ``time.monotonic()``) on this recording's timeline: negative when
        typed before it began."""
        return [(number, text, typed - self.t0) for number, text, typed in lines]

    def _earlier(self, event: dict[str, Any]) -> dict[str, Any]:
        """The consent event of a resumed link with ``earlier``: the file of
        the link whose ticket the viewer presented (its name, session id,
        size and SHA-256 once it is complete), so that ``verify`` and a
        reader can chain the files of one session; ``earlier`` null when
        that link was not recorded here (docs/recording.md)."""
        before = None if self.presented is None else self.recorder.issuer(self.presented, self)
        if before is None:
            return {**event, "earlier": None}
        named: dict[str, Any] = {"file": before.path.name, "session_id": before.session_id,
                                 "sha256": None, "bytes": None}  # fmt: skip
        if before.done.wait(EARLIER_WAIT) and before.error is None:
            with contextlib.suppress(OSError):
                named.update(file_digest(before.path))
        return {**event, "earlier": named}

    def _events(self, events: list[dict[str, Any]], us: int) -> None:
        for ev in events:
            self.writer.append(ChunkType.EVENT, json_payload(ev), us)

    def _update(self, payload: bytes, us: int, rel: float) -> None:
        # payload: version, kind, u32 sequence, then the encoder's update message.
        cont, self._pending_continuation = self._pending_continuation, None
        if cont is not None:
            payload = self._as_keyframe(payload, *cont)
        data = memoryview(payload)[2:]
        keyframe = _is_keyframe(data[4:])
        pending, self._pending_seek = self._pending_seek, None
        if pending is not None and not keyframe and self._policy.enabled:
            self._seek_checkpoint(pending, data[4:], us, rel)
        self.writer.append(
            ChunkType.UPDATE, data, us, ChunkFlags.KEYFRAME if keyframe else 0)
        self.updates += 1
        self.wire_bytes += len(payload)
        # Decoded while a history stream is open only for the picture hash
        # (its PICTURE chunk right behind the update): a checkpoint made from
        # this decoder could not carry that stream.
        streams_open = self._streams_open and not keyframe
        decode = self._hashes or (self._policy.enabled and not streams_open)
        work = self._picture(data[4:], us) if decode else None
        if self.audit.open_intervals:
            self._events(self.audit.tick(rel), us)
        if not self._policy.enabled:
            return
        if streams_open:
            # A stream state no checkpoint made by decoding can carry is open
            # (a ZSTREAM history stream lasts until the next wire keyframe).
            # Seek points come from the encoder instead; the next keyframe
            # starts afresh.
            self._bytes_since += len(payload)
            self._updates_since += 1
            if not self._want_seek and self._policy.seek_due(
                    rel - self._seek_at, self._bytes_since, self._updates_since,
                    self._ckpt_bytes):  # fmt: skip
                self._want_seek = True
            return
        self._want_seek = False
        if work is None:
            return  # the viewer would ask for a keyframe: so do we
        self._since_seek += work
        self._bytes_since += len(payload)
        if keyframe:
            self._since_seek, self._seek_at, self._bytes_since = 0.0, rel, 0
            self._updates_since = 0
            self._ckpt_bytes = self._ckpt_bytes or len(payload)
        elif not self._streams_open and self._policy.due(
                self._since_seek, rel - self._seek_at, self._bytes_since, self._ckpt_bytes):
            self._checkpoint(us, rel)

    def _picture(self, message: memoryview, us: int) -> float | None:
        """Decode ``message`` as the viewer did; with picture hashes on, write
        the framebuffer's hash after it. Returns the decoding's seconds, None
        when the update does not decode (nor is a hash written: ``verify``
        finds the update itself bad)."""
        if self._decoder is None:
            from screencodec.decoder import ScreenDecoder

            self._decoder = ScreenDecoder()
        started = time.perf_counter()
        try:
            fb = self._decoder.decode(message)
        except DecodeError:
            return None
        work = time.perf_counter() - started
        self._streams_open = _streams_open(self._decoder)
        if self._hashes:
            self.writer.append(ChunkType.PICTURE, PICTURE_PAYLOAD.pack(
                self.updates, framebuffer_hash(fb)), us)  # fmt: skip
        return work

    def _cursor(self, message: memoryview, us: int) -> None:
        """A cursor message as sent, and with pointer hashes on, the hash of
        the pointer as drawn after it (none when it does not decode:
        ``verify`` finds the message itself bad)."""
        self.writer.append(ChunkType.CURSOR, message, us)
        self.cursors += 1
        if not self._hashes:
            return
        if self._pointer is None:
            from screencodec.decoder import ScreenDecoder

            self._pointer = ScreenDecoder()
        try:
            self._pointer.decode(message)
        except DecodeError:
            return
        self.writer.append(ChunkType.POINTER, PICTURE_PAYLOAD.pack(
            self.cursors, pointer_digest(drawn_pointer(self._pointer))), us)  # fmt: skip

    def _checkpoint(self, us: int, rel: float) -> None:
        # The keyframe takes the sequence number of the wire update it stands
        # for: a decoder resuming from it expects the next one to follow.
        self._write_checkpoint(self._decoder.framebuffer, self._decoder.sequence or 0, us, rel)

    def _seek_checkpoint(self, pending: tuple[Any, int], update: memoryview, us: int,
                         rel: float) -> None:  # fmt: skip
        """A checkpoint from the encoder's seek point, before ``update`` (the
        first update after it), if that is the update it was made for."""
        ref, sequence = pending
        if len(update) < HEADER.size + UPDATE_HEADER.size:
            return
        seq, flags, w, h = UPDATE_HEADER.unpack_from(update, HEADER.size)[:4]
        # A hashed update is not checked by number, and with a hash the encoder
        # counts an empty update it did not send: the next one may be later.
        if ref.shape[:2] != (h, w) or (seq != sequence and not flags & UpdateFlags.HASH):
            _log.warning("%s: a seek point for update %d met update %d; dropped",
                         self.path, sequence, seq)  # fmt: skip
            return
        self._write_checkpoint(ref, (seq - 1) & 0xFFFFFFFF, us, rel)
        self.seek_points += 1

    def _as_keyframe(self, payload: bytes, picture: Any, sequence: int) -> bytes:
        """The session message ``payload`` (an update) with its update
        replaced by a keyframe of ``picture`` numbered ``sequence``, if it is
        the continuation that was announced: a delta numbered ``sequence``
        of ``picture``'s size. Anything else is kept as it is (and logged)."""
        update = memoryview(payload)[6:]
        if len(update) >= HEADER.size + UPDATE_HEADER.size:
            seq, flags, w, h, _, count = UPDATE_HEADER.unpack_from(update, HEADER.size)
            if (seq == sequence and not flags & UpdateFlags.KEYFRAME
                    and picture.shape[:2] == (h, w)):  # fmt: skip
                # An empty delta (nothing changed during the cut) does not
                # count: it carries the next update's number, so the keyframe
                # in its place takes the one before (docs/protocol.md).
                counts = count > 0 or flags & UpdateFlags.HASH
                number = seq if counts else (seq - 1) & 0xFFFFFFFF
                return bytes(payload[:6]) + bytes(self._keyframe(picture, number))
        _log.warning("%s: a continuation announced as update %d did not come next; "
                     "recorded as sent", self.path, sequence)  # fmt: skip
        return payload

    def _keyframe(self, fb: Any, sequence: int) -> bytearray:
        """``fb`` as a lossless, hashed keyframe numbered ``sequence``."""
        from screencodec.encoder import ScreenEncoder

        h, w = fb.shape[:2]
        enc = self._ckpt_encoder
        if enc is None or self._ckpt_size != (w, h):
            if enc is not None:
                enc.close()
            enc = self._ckpt_encoder = ScreenEncoder(
                w, h, motion=False, video=False, history=False, integrity=True)
            self._ckpt_size = (w, h)
        enc.request_keyframe()
        key = bytearray(enc.encode(fb))
        key[HEADER.size : HEADER.size + 4] = sequence.to_bytes(4, "little")
        return key

    def _write_checkpoint(self, fb: Any, sequence: int, us: int, rel: float) -> None:
        """``fb`` as a lossless keyframe numbered ``sequence``, standing for
        the updates recorded so far."""
        key = self._keyframe(fb, sequence)
        self.writer.append(ChunkType.CHECKPOINT, self.updates.to_bytes(4, "big") + key, us)
        self.checkpoints += 1
        self.checkpoint_bytes += len(key)
        self._since_seek, self._seek_at, self._bytes_since = 0.0, rel, 0
        self._updates_since = 0
        self._ckpt_bytes = len(key)

    def _finish(self, rel: float, reason: str, closed_by: str | None) -> None:
        us = int(rel * 1e6)
        self._events(self.audit.finish(rel), us)
        if closed_by is not None:
            self._events(self.audit.closed_without_bye(closed_by, reason), us)
        self.writer.append(ChunkType.END, json_payload({
            "reason": reason, "end_unix": self.start_unix + rel, "duration": rel,
            "who": self.audit.who, "updates": self.updates, "wire_bytes": self.wire_bytes,
            "checkpoints": self.checkpoints,
        }), us)  # fmt: skip
        self.writer.close()  # the checkpoint encoder is closed by _let_go


def _is_keyframe(update: memoryview) -> bool:
    if len(update) < HEADER.size + UPDATE_HEADER.size:
        return False
    flags = UPDATE_HEADER.unpack_from(update, HEADER.size)[1]
    return bool(flags & UpdateFlags.KEYFRAME)


def _streams_open(decoder: Any) -> bool:
    """Whether the decoder holds state across updates that a checkpoint cannot
    carry (an open ZSTREAM history stream). Reads the decoder's stream codecs:
    ScreenDecoder has no public view of them yet."""
    return any(getattr(c, "active", False) for c in getattr(decoder, "_streams", ()))


class Recorder:
    """Records every session of a host into ``directory`` (one file each).

    ``auditor``: an X25519 public key (or the path of a key file from
    ``screencodec recordings keygen``): recordings are sealed for it and this
    host cannot read them back. ``signer``: this host's Ed25519 signing key
    (or its file from ``screencodec recordings keygen --host``): every
    recording names its public key and carries signatures over everything
    written, one at most ``sign_every`` seconds after a chunk reached the
    file and one after the END chunk (:mod:`.sign`). ``picture_hashes``
    (default on) decodes every update as the viewer does and records the
    hash of each picture (PICTURE chunks): ``verify`` then checks every
    picture a player shows, not only the checkpoints. ``include_keys`` logs
    keystroke text (off by default: it can hold passwords); so does
    ``include_clipboard`` the clipboard texts' (off by default: a ``clipboard``
    row has their length and SHA-256 only). ``retention`` is
    applied when the recorder starts and after each session ends.
    """

    def __init__(
        self,
        directory: Path | str,
        *,
        auditor: X25519PublicKey | Path | str | None = None,
        signer: Ed25519PrivateKey | HostSigner | Path | str | None = None,
        sign_every: float = 1.0,
        include_keys: bool = False,
        include_clipboard: bool = False,
        retention: RetentionPolicy | None = None,
        checkpoints: CheckpointPolicy | None = None,
        host_id: str | None = None,
        picture_hashes: bool = True,
    ) -> None:
        self.directory = Path(directory)
        self.picture_hashes = picture_hashes
        self.directory.mkdir(parents=True, exist_ok=True)
        if isinstance(auditor, str | Path):
            auditor = load_public_key(Path(auditor))
        self.auditor = auditor
        self.signer = as_signer(signer)
        if not sign_every > 0:
            raise ValueError(f"sign_every must be above 0 s, not {sign_every}")
        self.sign_every = sign_every
        self.include_keys = include_keys
        self.include_clipboard = include_clipboard
        self.retention = retention
        self.checkpoints = checkpoints or CheckpointPolicy()
        self.host_id = host_id or machine_id()
        self._lock = threading.Lock()
        self._finished_cond = threading.Condition(self._lock)
        #: The recordings not done yet, oldest first. Not keyed by peer name:
        #: through a relay every link of one agent has the same one ("relay
        #: HOST:PORT viewer IP"), and a resumed link's recording took the place
        #: of the one it resumes, still open, whose ticket was then not found
        #: (:meth:`issuer`: its consent event said ``"earlier": null``, walk33).
        self._live: list[SessionRecorder] = []
        self.finished: list[SessionRecorder] = []
        self.pruned: list[Path] = []
        #: ``hook(paths)``, on the thread that pruned (a session's writer),
        #: with what retention deleted after a session: the interface tells
        #: its user (walk43: the host deleted recordings without a word).
        #: What the start deleted is in :attr:`pruned` already.
        self.on_pruned: Callable[[list[Path]], None] | None = None
        self._apply_retention()

    @property
    def sessions(self) -> list[SessionRecorder]:
        with self._lock:
            return list(self._live)

    def open_session(self, peer: str, channel: Channel) -> tuple[SessionRecorder, RecordingChannel]:
        """Start recording a session on ``channel``; the host then uses the
        returned channel in its place."""
        session = self.start(peer)
        return session, RecordingChannel(channel, session)

    def record_viewer(self, channel: Channel, name: str | None = None) -> RecordingChannel:
        """Record at the viewer: pass the returned channel to ``Viewer``. The
        file is the same format (the host's stream as this viewer received
        it); call ``end`` on ``channel.session`` (or :meth:`close`) when the
        session is over."""
        session = self.start(name or channel.peer)
        return RecordingChannel(channel, session, host_side=False)

    def start(self, peer: str) -> SessionRecorder:
        """A new recording fed by hand (``session.put``): tools, benchmarks."""
        session = SessionRecorder(self, peer)
        with self._lock:
            self._live.append(session)
        return session

    def wrap_consent(self, consent: ConsentCallback) -> ConsentCallback:
        """The host's consent callback, telling the local user that the session
        is recorded and logging every question and answer."""
        from screencodec.transport.session.consent import if_answer_dropped, question_gone

        async def _asked(request: ConsentRequest) -> Grant:
            request = dataclasses.replace(request, recorded=True)
            grant = Grant.deny()
            try:
                grant = await consent(request)
                return grant
            finally:
                with self._lock:  # the newest of that name: the link that asks
                    session = next((s for s in reversed(self._live) if s.peer == request.peer),
                                   None)  # fmt: skip
                if session is not None:
                    level = getattr(grant, "level", None)
                    session.put("consent", {
                        "type": "consent", "who": request.who, "peer": request.peer,
                        "asked": str(request.level), "upgrade": request.upgrade,
                        "answer": str(level) if level else "denied",
                    })  # fmt: skip
                    if level:  # a yes: a not_granted row follows if it grants nothing
                        _not_granted(session, level)

        def _not_granted(session: SessionRecorder, level: Permission) -> None:
            """consent41: a yes that came once the agent was gone (or is
            dropped as it goes back) grants nothing: the audit says so."""
            def put(why: str) -> None:
                session.put("answer_gone", (level.bits, why))

            gone = question_gone()
            if gone is not None:
                put(gone)
            else:
                if_answer_dropped(put)

        return _asked

    def issuer(self, digest: bytes,
               asking: SessionRecorder | None = None) -> SessionRecorder | None:  # fmt: skip
        """The recording (live or done) of the link that gave the viewer the
        resume ticket whose SHA-256 is ``digest``, or that took the session
        up with it (``asking`` aside: it is lost before the viewer read the
        next one, so the same ticket takes the session up again); the latest
        if several."""
        with self._lock:
            recordings = [*self.finished, *self._live]
        found = [r for r in recordings if digest in r.issued
                 or (r.took_up and r.presented == digest and r is not asking)]  # fmt: skip
        return max(found, key=lambda r: r.start_unix) if found else None

    def local_input(self, device: str = "input") -> None:
        """The local user used ``device`` ("pointer", "keyboard" or "input"),
        in every recording not ended: one whose link ended (its channel
        closed) logs it if it came before its END (the tracker holds it
        until then: AuditTracker.link_over), so a file kept open for an
        agent away that ends at its link's end (the agent came back) does
        not. Before auditleft a link's recording dropped it from its
        channel's close on (its END comes after the link's cleanup)."""
        for session in self.sessions:
            session.put("local", device)

    def end_session(self, session: SessionRecorder, reason: str) -> None:
        session.end(reason)

    def _session_done(self, session: SessionRecorder) -> None:
        with self._lock:
            if session in self._live:
                self._live.remove(session)
            self.finished.append(session)
            self._finished_cond.notify_all()
        self._apply_retention()

    def _apply_retention(self) -> None:
        if self.retention is None:
            return
        with self._lock:
            active = {s.path for s in self._live}
        try:
            gone = prune(self.directory, self.retention, keep=active)
        except OSError:
            _log.exception("retention in %s failed", self.directory)
            return
        self.pruned += gone
        if gone and self.on_pruned is not None:
            try:
                self.on_pruned(gone)
            except Exception:  # the interface's failure: the recordings are gone anyway
                _log.exception("on_pruned failed")

    def close(self, timeout: float = 10.0) -> None:
        """End every session still recording ("host closed") and wait for the
        files, and for the threads of sessions already finished: each applies
        retention after it leaves the live list (prune, :attr:`on_pruned`);
        before lead49 close() could return while one still deleted files."""
        for session in self.sessions:
            session.end("host closed")
        deadline = time.monotonic() + timeout
        with self._lock:
            every = [*self._live, *self.finished]
        me = threading.current_thread()
        for session in every:  # never itself: close() called from an on_pruned hook
            if session._thread is not me:
                session.join(max(0.0, deadline - time.monotonic()))

    def wait(self, count: int, *, timeout: float = 10.0) -> list[SessionRecorder]:
        """Block until ``count`` sessions have finished (tests, tools), at most
        ``timeout`` seconds; returns those that did. ``timeout`` is named: a
        call wait(10) meant as a timeout waited for 10 sessions (time32)."""
        with self._finished_cond:
            self._finished_cond.wait_for(lambda: len(self.finished) >= count, timeout)
            return list(self.finished)
