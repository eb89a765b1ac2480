"""SecureChannel: the sealed, ordered message channel built on one TCP stream.

It implements :class:`~screencodec.transport.channel.base.Channel` with the keys a
confirmed handshake produced. Each message becomes one RECORD_DATA frame whose
body is ChaCha20-Poly1305 ciphertext (see crypto.py for nonce and associated
data). Two more record types never reach the caller: RECORD_KEEPALIVE, sent
when we have been quiet for ``timeouts.keepalive`` seconds, and RECORD_CLOSE,
sent by :meth:`close` so the peer can tell a deliberate end from a cut line.

A keepalive's body says what it is (every version ignores the body of one):
empty, a plain keepalive; :data:`PROBE`, a viewer that heard nothing from its
host for ``timeouts.probe`` seconds asks for an answer at once; :data:`ANSWER`,
that answer; :data:`HERE`, a viewer saying it sends a record at least
every ``timeouts.warm`` seconds (3), sent as it opens and whenever it has
sent nothing that long, so its host can tell a silent link from a still
screen too (:attr:`SecureChannel.keeps_warm`). So a live host is heard
from within a round trip of the probe, however quiet its screen, and a
viewer can tell a silent link from a quiet host within a few seconds
(:attr:`SecureChannel.last_heard`,
:attr:`SecureChannel.answers_probes`; the web page's status, web/bridge.py).
A host of an earlier version reads a probe as a keepalive and answers
nothing: its viewer never sees :attr:`~SecureChannel.answers_probes`. Either
side answers a probe. Once a host has answered, a viewer's channel whose session can resume
(:meth:`SecureChannel.mark_resumable`: its viewer holds a ticket) and that
hears nothing for ``timeouts.unanswered`` seconds (10 by default, not
``idle``'s 45) takes the link for lost: its probes went unanswered, so the
session resumes in seconds. So does a host's channel whose viewer said
:data:`HERE` and whose session can resume (its host issued a ticket) after
``timeouts.cold`` seconds (15) without a byte: its viewer is gone (a lid
closed, a Wi-Fi gone without a reset), and the session is parked for the
agent's retry from then on, not after ``idle``'s 45 s. A viewer that was
only stalled that long (stopped, a link held) resumes unasked on its return.

An orderly close lingers: it sends RECORD_CLOSE, shuts its sending side, and
reads on until the peer closes too. Closing a socket with unread data makes
TCP reset the connection, and a peer whose write meets the reset loses what
it had not read yet (asyncio drops it), which is our last message: the Bye.
The reset also throws away what our kernel had not sent yet. A peer that
writes only after our lingering gave up meets the reset all the same; its
channel then reads the close record from what it holds unread
(:meth:`SecureChannel._close_lost`), not "the connection broke".

Its waits follow the peer's progress (sendqueue.py), not a fixed time: what
we wrote reaches a peer behind a slow link (a megabyte queued ahead of the
Bye) seconds later, and the close waits while the peer takes our bytes; it
gives up on a peer that took nothing for :data:`STALL` seconds (it stopped
reading), and on any peer after :data:`CLOSE_CAP`. A peer whose program
reads slowly from a full receive buffer (a loaded machine) takes nothing
that TCP shows for seconds at a time (Linux opens the window again only
once a sixteenth of a buffer of megabytes is free): it looks stalled, and
may read a cut link instead of the Bye (review33b's strict xfails).
:meth:`SecureChannel.close_with` puts the last messages (a Bye; a revoke
and its Bye) at once behind what is already queued, ahead of sends still
waiting for the link, so they never wait behind them; the close record
then carries the caller's reason (the host's words, not "closed locally").
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from screencodec.errors import ProtocolError, SessionClosedError, TransportError
from screencodec.transport.aio import wait_for
from screencodec.transport.channel.base import CLOSED_HERE, MAX_MESSAGE_SIZE
from screencodec.transport.channel.crypto import (
    DIRECTION_HOST_TO_VIEWER,
    DIRECTION_VIEWER_TO_HOST,
    RecordOpener,
    RecordSealer,
    export,
)
from screencodec.transport.channel.display import safe_text
from screencodec.transport.channel.framing import (
    HEADER,
    FrameType,
    TruncatedError,
    close_writer,
    read_header,
    salvage,
    unread,
)
from screencodec.transport.channel.handshake import HandshakeResult
from screencodec.transport.channel.limits import MAX_RECORD_BODY, Timeouts
from screencodec.transport.channel.sendqueue import Progress, queued

__all__ = ["CLOSE_CAP", "STALL", "SecureChannel"]

_RECORD_TYPES = frozenset({FrameType.RECORD_DATA, FrameType.RECORD_KEEPALIVE,
                           FrameType.RECORD_CLOSE})
#: A lingering close stops early once the peer has sent nothing for this long:
#: a peer that is not sending cannot meet a reset before it reads our close.
_LINGER_QUIET = 0.25
#: A close gives up on a peer that took none of our bytes for this long: it
#: stopped reading (what a close of a stalled peer took before, with its
#: fixed bound: tests/transport/test_attack_close_disconnect_stalled.py).
STALL = 1.0
#: The most a close waits for a peer that keeps taking our bytes, however
#: slowly (a trickle must not hold the end of a session for ever). 10 s
#: carries what a sender's buffers hold when a session ends mid-file (1-1.5
#: MB measured on Linux, asyncio's and the kernel's) over 1.2 Mbit/s or more;
#: on a slower link that full, the peer may see a cut link instead of the
#: Bye, as it would after Timeouts.unanswered (10 s) without a word anyway.
CLOSE_CAP = 10.0
#: How the close sent to a peer we heard nothing from begins (the idle
#: timeout; earlier versions' words too). The peer reads it as a lost link:
#: its own sending side broke, nobody ended anything (:attr:`SecureChannel.broken`).
SILENCE = "nothing received for "
#: The watchdog woke this much later than it meant to (s): the program was
#: not running (SIGSTOP, a frozen machine, a suspend), not the peer silent.
_OVERSLEPT = 2.0
#: A keepalive's body asking the peer to answer at once (sent by a viewer).
PROBE = b"\x01"
#: A keepalive's body answering a :data:`PROBE`.
ANSWER = b"\x02"
#: A keepalive's body saying the sender (a viewer) sends a record at least
#: every ``timeouts.warm`` seconds while it reads (:attr:`SecureChannel.keeps_warm`).
HERE = b"\x03"


class SecureChannel:
    """One authenticated, encrypted link to a host or viewer.

    State: open until :meth:`close` is called (by the caller, by a fatal
    receive error, by the idle or maximum-duration timer, or by a RECORD_CLOSE
    from the peer). Once closed it stays closed: every send/recv raises
    SessionClosedError with :attr:`close_reason`, the keys are zeroed and
    dropped, and there is no resume; a new connection needs a new handshake.

    Concurrency: all methods run on one event loop. Any number of tasks may
    call :meth:`send` at once (a lock keeps records whole and in sequence
    order); one task at a time should call :meth:`recv` (a lock enforces it).
    Cancelling :meth:`recv` (e.g. ``wait_for`` with a timeout) is safe: no
    message is lost or split. A cancelled :meth:`send` may or may not have
    been delivered (the record was queued whole before the wait).
    :meth:`close` may be called from anywhere, any number of times, including
    while a send or recv is waiting; those then raise SessionClosedError.
    A watchdog task (keepalive, idle timeout, maximum duration) lives as long
    as the channel.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        handshake: HandshakeResult,
        *,
        is_host: bool,
        peer: str,
        timeouts: Timeouts | None = None,
    ) -> None:
        keys = handshake.keys
        out_dir, in_dir = ((DIRECTION_HOST_TO_VIEWER, DIRECTION_VIEWER_TO_HOST) if is_host
                           else (DIRECTION_VIEWER_TO_HOST, DIRECTION_HOST_TO_VIEWER))
        out_key, in_key = ((keys.host_to_viewer, keys.viewer_to_host) if is_host
                           else (keys.viewer_to_host, keys.host_to_viewer))
        self._sealer = RecordSealer(out_key, out_dir)
        self._opener = RecordOpener(in_key, in_dir)
        self._keys = keys
        self._reader = reader
        self._writer = writer
        self._peer = peer
        self._is_host = is_host
        self._timeouts = timeouts or Timeouts()
        self._send_lock = asyncio.Lock()
        self._recv_lock = asyncio.Lock()
        self._closed = False
        self._close_reason = ""
        self._last: tuple[bytes, ...] = ()  # close_with's, sent before RECORD_CLOSE
        self._written = 0  # bytes handed to the transport: what the peer took is this minus queued
        self._closing: asyncio.Future[None] | None = None  # done once close() has finished
        self._lost = False  # closed by the peer or the line, not by a caller here
        self._peer_closed = False  # the peer's own orderly close (RECORD_CLOSE)
        self._close_listeners: list[Callable[[SecureChannel], None]] = []
        loop = asyncio.get_running_loop()
        self._opened_at = loop.time()
        self._last_sent = self._last_received = self._opened_at
        # The last byte of a record arrived (a header, a piece of a body): a
        # large record on a slow link is heard from while it comes.
        self._last_heard = self._opened_at
        # A viewer's probes (Timeouts.probe): the last sent (the first goes at
        # once: whether the host answers is known before the link matters),
        # and whether the peer ever answered one.
        self._last_probe: float | None = None
        # Set by the first read: the watchdog sends the first probe then,
        # not at its next once-a-second check (the host's answer came after
        # the session's first picture, and a link that went silent then was
        # judged as an earlier host's: 12 s on the page instead of 3).
        self._first_read = asyncio.Event()
        # Set when a silence limit shortens (mark_resumable, the peer's first
        # HERE): the watchdog, asleep until the longer one's end or its next
        # keepalive (15 s away on a host), looks again at once.
        self._nudge = asyncio.Event()
        self._answers_probes = False
        self._keeps_warm = False  # the peer said HERE
        self._said_warm = False  # this side (a viewer's) said HERE
        self._resumable = False  # see mark_resumable
        self._body_parts: list[bytes] = []  # a body being read, kept across a cancel
        # What our kernel held when a write met the peer's reset (framing.salvage):
        # looked through for the peer's close only, never delivered or counted heard.
        self._salvaged = b""
        self._body_got = 0
        # When a recv() began waiting for its frame; None while nobody reads.
        # Idle is only judged while someone reads: a caller that stops reading
        # (busy decoding) must not have its channel closed for it.
        self._reading_since: float | None = None
        #: Seconds the last record received took from its header to its last
        #: byte (how long the link took to carry it, when it was not buffered
        #: already): the viewer reports it so the host can time the link.
        self.last_span: float | None = None
        self._header_at = 0.0
        self._pending_header: tuple[int, int] | None = None
        self._watchdog: asyncio.Task[None] | None = loop.create_task(self._watch())

    def __repr__(self) -> str:
        state = f"closed: {self._close_reason}" if self._closed else "open"
        return f"<SecureChannel {'host' if self._is_host else 'viewer'} peer={self._peer} {state}>"

    @property
    def peer(self) -> str:
        return self._peer

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def closed_here(self) -> bool:
        """Closed by a caller on this side (or its own time limit), not by the
        peer's close, a broken line or a silent peer."""
        return self._closed and not self._lost

    @property
    def broken(self) -> bool:
        """Closed because the line broke or the peer went silent, or because
        the peer heard nothing from us (our sending side broke; its close
        says so, :data:`SILENCE`): neither side ended it (the case for
        resuming a session, session/resume.py)."""
        return self._closed and self._lost and not self._peer_closed

    @property
    def close_reason(self) -> str:
        """Why the channel closed ("" while open)."""
        return self._close_reason

    @property
    def is_host(self) -> bool:
        return self._is_host

    @property
    def transport(self) -> asyncio.BaseTransport:
        """The TCP transport under the channel: the host's send loop reads
        its own socket's state from it (session/receipt_bound.py)."""
        return self._writer.transport

    @property
    def written(self) -> int:
        """Bytes this side has handed to the connection so far."""
        return self._written

    @property
    def unacked(self) -> int:
        """Of :attr:`written`, the bytes the link's next hop (the peer, or
        a relay) has not acknowledged yet: asyncio's buffer and the
        kernel's send queue (sendqueue.queued). The view's ``/type`` keeps
        it small (input44: a stalled link took ~50,000 characters)."""
        return queued(self._writer.transport)

    @property
    def last_heard(self) -> float:
        """Loop time (``loop.time()``) the last bytes of a record arrived:
        any record, a keepalive or probe answer too, or a piece of one still
        arriving. The channel's opening until then."""
        return self._last_heard

    @property
    def waiting_since(self) -> float | None:
        """Loop time since which this side has waited for the peer's next
        byte: the later of :attr:`last_heard` and when the :meth:`recv` now
        waiting began; None while nobody reads (this side is busy with what
        it received, e.g. a host whose disk holds a file's chunks: a silence
        then is its own, not the peer's)."""
        if self._reading_since is None:
            return None
        return max(self._reading_since, self._last_heard)

    @property
    def answers_probes(self) -> bool:
        """The peer answered a probe of ours: a live peer is heard from within
        a round trip of ``timeouts.probe`` seconds of silence (a viewer's
        channel; an earlier host never answers)."""
        return self._answers_probes

    @property
    def keeps_warm(self) -> bool:
        """The peer said it sends a record at least every ``timeouts.warm``
        seconds while it reads (:data:`HERE`; a viewer's channel of this
        version, heard by a host's): a silence of a few seconds is then its
        link's, not a still screen's. An earlier viewer never says it."""
        return self._keeps_warm

    def export(self, label: bytes) -> bytes:
        """32 bytes bound to this connection (its handshake's keys) for
        ``label``: the peer gets the same, no other connection does
        (crypto.export). Raises SessionClosedError once closed (the keys
        are gone)."""
        return export(self._keys.exporter, label)

    def mark_resumable(self) -> None:
        """The session on this channel can be taken up again on a new
        connection (its viewer holds a resume ticket; a host's, it issued
        one): from now on a silence of ``timeouts.unanswered`` seconds, once
        the host answered a probe (a viewer's channel), or ``timeouts.cold``
        seconds, once the viewer said it keeps the link warm (a host's),
        ends the channel as a lost link. Without this, only ``idle`` does:
        ending sooner a session that cannot resume would lose it to a stall
        that a longer wait survives."""
        if not self._resumable:
            self._resumable = True
            self._nudge.set()

    def add_close_listener(self, listener: Callable[[SecureChannel], None]) -> None:
        """Call ``listener(channel)`` once when the channel closes, for any reason."""
        if self._closed:
            listener(self)
        else:
            self._close_listeners.append(listener)

    async def send(self, message: bytes, /) -> None:
        """Seal and send one message; waits while the peer is slow (backpressure).

        Raises ValueError for a message over MAX_MESSAGE_SIZE (a local bug, the
        channel stays open) and SessionClosedError once the channel is closed;
        its ``handed`` is True when the close came after the record was
        written to the transport (while waiting for the peer to read): the
        peer may have it.
        """
        if len(message) > MAX_MESSAGE_SIZE:
            raise ValueError(f"message of {len(message)} bytes exceeds {MAX_MESSAGE_SIZE}")
        async with self._send_lock:
            self._check_open()
            handed = False  # the record is in the transport's hands (SessionClosedError.handed)
            try:
                self._write_record(FrameType.RECORD_DATA, message)
                handed = True
                await self._writer.drain()
            except SessionClosedError as exc:  # sequence numbers exhausted, or the line is gone
                cut = self._closed  # a close here cut the drain: its error stands
                await self._close_lost(str(exc))
                if cut:
                    exc.handed = handed
                    raise
                raise SessionClosedError(self._close_reason, handed=handed) from None
            except (OSError, RuntimeError) as exc:
                await self._close_lost(f"the connection broke: {exc}")
                raise SessionClosedError(self._close_reason, handed=handed) from None
            if self._closed:  # closed while we waited for the peer to read
                raise SessionClosedError(self._close_reason, handed=True)

    async def recv(self) -> bytes:
        """Receive the next message (see the Channel protocol for the errors).
        Once the channel is closed nothing more is delivered, not even records
        that arrive while the close lingers."""
        self._check_open()
        async with self._recv_lock:
            while True:
                self._check_open()
                self._reading_since = asyncio.get_running_loop().time()
                self._first_read.set()
                try:
                    # A caller may cancel recv (wait_for with a timeout). Keep a
                    # header already read, so the next call reads its body
                    # instead of mistaking body bytes for a header.
                    if self._pending_header is None:
                        self._pending_header = await read_header(self._reader, MAX_RECORD_BODY)
                        self._header_at = time.monotonic()
                        self._last_heard = asyncio.get_running_loop().time()
                    ftype, size = self._pending_header
                    body = await self._read_body(size)
                    self.last_span = time.monotonic() - self._header_at
                    self._pending_header = None
                    if ftype not in _RECORD_TYPES:
                        raise ProtocolError(f"unexpected frame type {ftype} on a sealed channel")
                    plaintext = self._opener.open(ftype, body)
                except TransportError as exc:
                    if self._closed:  # our own close() cut the read short
                        raise SessionClosedError(self._close_reason) from None
                    # Broken or hostile: tell the peer (it may be a bug there),
                    # but do not wait for it.
                    if isinstance(exc, (TruncatedError, SessionClosedError)):  # the line broke
                        await self._close_lost(str(exc))
                        raise SessionClosedError(self._close_reason) from None
                    self._lost = True
                    await self.close(str(exc), linger=False)
                    raise
                finally:
                    self._reading_since = None
                self._last_received = asyncio.get_running_loop().time()
                if self._closed:  # closed while we read: we linger, deliver nothing
                    raise SessionClosedError(self._close_reason)
                if ftype == FrameType.RECORD_DATA:
                    return plaintext
                if ftype == FrameType.RECORD_KEEPALIVE:
                    self._on_keepalive(plaintext)
                    continue
                if ftype == FrameType.RECORD_CLOSE:
                    await self._closed_by_peer(plaintext)
                    raise SessionClosedError(self._close_reason)

    async def close(
        self, reason: str = CLOSED_HERE, *, notify_peer: bool = True, linger: bool = True
    ) -> None:
        """Close, tell the peer (best effort, sealed) and forget the keys.

        Idempotent; a call while another is closing waits for it. Nothing is
        sent or delivered from the moment it is called. The close waits for
        what is queued to reach the peer while the peer takes it (at most
        :data:`STALL` seconds without progress). With ``notify_peer`` and
        ``linger`` (an orderly end) it then reads on, discarding, until the
        peer closes too, goes quiet for a moment without having sent
        anything since (and took all we sent), or ``timeouts.linger`` passes
        after the peer last took any of our bytes; :data:`CLOSE_CAP` in all
        (see the module docstring for why).
        """
        if self._closing is not None:
            if not self._closing.done():
                await asyncio.shield(self._closing)
            return
        self._closing = asyncio.get_running_loop().create_future()
        self._closed = True
        self._close_reason = reason
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None and watchdog is not asyncio.current_task():
            watchdog.cancel()
        try:
            if notify_peer:
                await self._say_close(reason, linger=linger)
        finally:
            try:
                await close_writer(self._writer)
            finally:
                self._sealer.wipe()
                self._opener.wipe()
                self._keys.wipe()
                for listener in self._close_listeners:
                    with contextlib.suppress(Exception):
                        listener(self)
                self._close_listeners.clear()
                self._closing.set_result(None)

    async def close_with(self, *last: bytes, reason: str = CLOSED_HERE) -> None:
        """Send ``last`` (a message or a few, in order) as the last ones and
        close in order for ``reason`` (:meth:`close`).

        They are written at once, behind only what is queued already and
        ahead of every :meth:`send` still waiting for the link (those then
        raise SessionClosedError): a Bye behind a file chunk on a slow link
        is neither held back by the chunks after it nor given up on while the
        peer still reads. Raises ValueError as :meth:`send` (nothing sent,
        the channel stays open) and SessionClosedError if the channel is
        closed already.
        """
        for message in last:
            if len(message) > MAX_MESSAGE_SIZE:
                raise ValueError(f"message of {len(message)} bytes exceeds {MAX_MESSAGE_SIZE}")
        self._check_open()
        self._last = last
        await self.close(reason)

    async def __aenter__(self) -> SecureChannel:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- internals ---------------------------------------------------------

    async def _read_body(self, size: int) -> bytes:
        """A record's body, read as it arrives (each piece is :attr:`last_heard`).
        Cancellation-safe: what was read is kept for the next call."""
        loop = asyncio.get_running_loop()
        parts = self._body_parts
        while self._body_got < size:
            try:
                piece = await self._reader.read(size - self._body_got)
            except OSError as exc:
                raise TruncatedError(f"the connection broke inside a frame: {exc}") from None
            if not piece:
                raise TruncatedError("stream truncated inside a frame")
            parts.append(piece)
            self._body_got += len(piece)
            self._last_heard = loop.time()
        body = parts[0] if len(parts) == 1 else b"".join(parts)
        parts.clear()
        self._body_got = 0
        return body

    def _on_keepalive(self, body: bytes) -> None:
        """A keepalive: a probe is answered at once; an answer is noted; any
        other body (a later version's) is ignored, as an empty one."""
        if body == PROBE:
            # Written whole at once (sealing and writing are synchronous), so
            # it cannot land inside a record another task is sending.
            with contextlib.suppress(OSError, RuntimeError, SessionClosedError):
                self._write_record(FrameType.RECORD_KEEPALIVE, ANSWER)
        elif body == ANSWER:
            self._answers_probes = True
        elif body == HERE and not self._keeps_warm:
            self._keeps_warm = True
            self._nudge.set()

    async def _say_close(self, reason: str, *, linger: bool) -> None:
        """The last messages (:meth:`close_with`) and RECORD_CLOSE, flushed;
        then (lingering) our sending side shut and the rest read. Each wait
        lasts while the peer takes our bytes (module docstring), up to
        :data:`CLOSE_CAP` in all."""
        loop = asyncio.get_running_loop()
        began = loop.time()
        give_up = began + CLOSE_CAP
        last, self._last = self._last, ()
        try:
            # Sealing and writing are synchronous, so these records cannot
            # land inside another task's half-written frame; no lock needed.
            for message in last:
                self._write_record(FrameType.RECORD_DATA, message)
            self._write_record(FrameType.RECORD_CLOSE, reason.encode()[:200])
            progress = Progress(self._taken, began)
            if not await self._flush(progress, give_up):
                # The peer stopped reading (or trickles past the cap): no
                # flush will come.
                self._writer.transport.abort()
                return
            if not linger or self._timeouts.linger is None:
                return
            if self._writer.can_write_eof():
                self._writer.write_eof()
            await self._discard_until_peer_closes(progress, began, give_up)
        except Exception:  # best effort: the peer may be gone, quiet or stalled
            return

    async def _closed_by_peer(self, plaintext: bytes) -> None:
        """Close for the peer's RECORD_CLOSE (its ``plaintext``, the reason)."""
        reason = safe_text(plaintext[:200].decode("utf-8", "replace"))
        # A peer that heard nothing from us did not end the session: the
        # line broke our way (a one-way failure).
        self._lost, self._peer_closed = True, not reason.startswith(SILENCE)
        await self.close(f"closed by peer: {reason}", notify_peer=False)

    async def _close_lost(self, reason: str) -> None:
        """Close for a broken line (``reason``), unless the peer's orderly
        close is among what we hold unread: then for that, as :meth:`recv`
        would have. close46: a peer that closed in order while we did not
        read, and lingered until it gave up on us, resets our next write;
        asyncio then raises the reset before the records it holds, and
        "the connection broke: Connection lost" hid the peer's reason (and
        made a resumable session try again)."""
        found = None if self._closed else self._peer_close_unread()
        self._salvaged = b""  # looked through: up to a kernel's buffer, not kept
        if found is not None:
            await self._closed_by_peer(found)
            return
        self._lost = self._lost or not self._closed  # not a close here cutting a wait
        await self.close(reason, linger=False)

    def _peer_close_unread(self) -> bytes | None:
        """The reason in the peer's RECORD_CLOSE if the records we hold
        unread (a record a recv() began, the reader's buffer, then what
        :meth:`_salvage` kept) come to one, each opened in order; None at
        the first that is cut short or fails. Messages before it are not
        delivered: the channel closes (a recv() waiting raises the close's
        reason)."""
        data = b"".join(self._body_parts) if self._pending_header else b""
        data += unread(self._reader) + self._salvaged
        pending, at = self._pending_header, 0
        while True:
            if pending is None:
                if len(data) - at < HEADER.size:
                    return None
                length, ftype = HEADER.unpack_from(data, at)
                at += HEADER.size
                if length < 1 or length - 1 > MAX_RECORD_BODY:
                    return None
                pending = ftype, length - 1
            (ftype, size), pending = pending, None
            if len(data) - at < size or ftype not in _RECORD_TYPES:
                return None
            body, at = data[at:at + size], at + size
            try:
                plaintext = self._opener.open(ftype, body)
            except TransportError:  # tampered, or the keys are gone
                return None
            if ftype == FrameType.RECORD_CLOSE:
                return plaintext

    def _taken(self) -> int:
        """Bytes of ours the peer's TCP acknowledged (as far as we can tell)."""
        return self._written - queued(self._writer.transport)

    async def _flush(self, progress: Progress, give_up: float) -> bool:
        """Wait until asyncio's buffer drained (True), while the peer takes
        our bytes: False once it took none for :data:`STALL` seconds, or at
        ``give_up``. Raises what a drain raises (the connection broke)."""
        loop = asyncio.get_running_loop()
        # A task waited on with asyncio.wait, not wait_for: a timeout cannot
        # swallow its outcome (Python <= 3.11), and cancelling it is harmless.
        drained = asyncio.ensure_future(self._writer.drain())
        try:
            while True:
                left = give_up - loop.time()
                if left <= 0:
                    return False
                done, _ = await asyncio.wait({drained}, timeout=min(STALL, left))
                if done:
                    drained.result()
                    return True
                now = loop.time()
                if not progress.check(now) and now - progress.at >= STALL:
                    return False
        finally:
            drained.cancel()

    async def _discard_until_peer_closes(self, progress: Progress, began: float,
                                         give_up: float) -> None:  # fmt: skip
        """Read and drop until EOF, or ``timeouts.linger`` after the peer last
        took any of our bytes (:class:`Progress`), or a quiet spell of a peer
        that has sent nothing since our close and has taken all we sent, or
        ``give_up``. Each wait is bounded by those times itself, not by an
        outer timeout: a cancel that lands as a read completes is swallowed
        (Python <= 3.11's wait_for), and a peer flooding us would have held
        the close open for good."""
        loop = asyncio.get_running_loop()
        linger = self._timeouts.linger or 0.0

        def left() -> float:
            now = loop.time()
            progress.check(now)
            return min(give_up, progress.at + linger) - now

        # A recv() already waiting keeps the lock until a record or the end
        # arrives; it then raises (the channel is closed) and we read on. It
        # waits on a peer that may be stalled (it sends nothing until it
        # wakes, and then may write before it reads), or still reading what
        # we sent before the close: the lingering bounds this wait.
        while True:
            wait = left()
            if wait <= 0:
                return
            with contextlib.suppress(asyncio.TimeoutError):
                # Acquired as this close is cancelled: given back (aio.py).
                await wait_for(self._recv_lock.acquire(), min(_LINGER_QUIET, wait),
                               dropped=lambda _: self._recv_lock.release())
                break
        try:
            self._pending_header = None
            self._body_parts.clear()
            self._body_got = 0
            # The peer sent since our close (``began``): also a record a
            # recv() still waiting read and dropped.
            sending = self._last_received >= began
            while (wait := left()) > 0:
                try:
                    data = await wait_for(self._reader.read(1 << 16),
                                          min(_LINGER_QUIET, wait))
                except asyncio.TimeoutError:
                    # Quiet: a peer that sent nothing since our close and
                    # has taken all we sent is not sending. One that was may
                    # only be busy (a loaded machine stalls it for longer
                    # than the quiet spell), and one still taking our bytes
                    # may answer them (a receipt) before it reads the Bye:
                    # either write would meet a reset and lose the Bye. They
                    # get until their own close, or the lingering's end.
                    if not sending and queued(self._writer.transport) == 0:
                        return
                    continue
                if not data:
                    return
                sending = True
                self._last_received = loop.time()
        finally:
            self._recv_lock.release()

    def _check_open(self) -> None:
        if self._closed:
            raise SessionClosedError(self._close_reason or "the channel is closed")

    def _write_record(self, ftype: FrameType, plaintext: bytes) -> None:
        if self._writer.is_closing():
            # The transport is gone (peer reset, or closed under us); writing
            # on would only make asyncio log "socket.send() raised exception".
            self._salvage()
            raise SessionClosedError("the connection is gone")
        sealed = self._sealer.seal(ftype, plaintext)
        self._writer.write(HEADER.pack(len(sealed) + 1, ftype))
        self._writer.write(sealed)
        if self._writer.is_closing():  # the write met a reset
            self._salvage()
        self._written += HEADER.size + len(sealed)
        self._last_sent = asyncio.get_running_loop().time()

    def _salvage(self) -> None:
        """Keep what the peer sent last, still in our kernel, before asyncio
        closes the socket (framing.salvage): a close record there is read by
        :meth:`_close_lost`. Not after our own close."""
        if not self._closed:
            self._salvaged += salvage(self._writer)

    def _idle_limit(self) -> float | None:
        """How long a silence ends the channel: once the session can resume
        (:meth:`mark_resumable`), a viewer's ``timeouts.unanswered`` once its
        host answered our probes (a live one would have been heard from),
        a host's ``timeouts.cold`` once its viewer said it keeps the link
        warm (a live one is heard from every few seconds); else
        ``timeouts.idle``; None (never) when ``idle`` is None."""
        t = self._timeouts
        if t.idle is None or not self._resumable:
            return t.idle
        if self._is_host:
            quick = t.cold if self._keeps_warm else None
        else:
            quick = t.unanswered if self._answers_probes and t.probe is not None else None
        return t.idle if quick is None else min(t.idle, quick)

    async def _watch(self) -> None:
        """Keepalive, idle timeout and maximum duration, on one timer."""
        t = self._timeouts
        loop = asyncio.get_running_loop()
        probe = None if self._is_host else t.probe  # a viewer's channel probes, a host's answers
        running_since = loop.time()  # since when this program is known to have run on
        while not self._closed:
            now = loop.time()
            deadlines = [now + 3600.0]
            if t.max_duration is not None:
                if now >= self._opened_at + t.max_duration:
                    await self.close("maximum session duration reached")
                    return
                deadlines.append(self._opened_at + t.max_duration)
            idle = self._idle_limit()
            if idle is not None and self._reading_since is not None:
                idle_deadline = max(self._reading_since, self._last_heard, running_since) + idle
                if now >= idle_deadline:
                    self._lost = True
                    # The silence heard, not the limit, when it was longer:
                    # the program did not run for part of it (the view had
                    # said "no word from the host for 84 s" just before).
                    quiet = now - max(self._reading_since, self._last_heard)
                    said = f"{idle:g}" if quiet < idle + _OVERSLEPT else f"{quiet:.0f}"
                    await self.close(f"{SILENCE}{said} s (peer gone)", linger=False)
                    return
                deadlines.append(idle_deadline)
            elif idle is not None or probe is not None:  # re-check once a read starts
                deadlines.append(now + min(idle or 1.0, probe or 1.0, 1.0))
            if probe is not None and self._reading_since is not None:
                probe_at = (now if self._last_probe is None  # the first at once
                            else max(self._last_heard, self._last_probe) + probe)
                if now >= probe_at:
                    # Not held back by a send waiting for the link: that it
                    # waits may be the silence itself.
                    try:
                        self._write_record(FrameType.RECORD_KEEPALIVE, PROBE)
                    except (OSError, RuntimeError, SessionClosedError) as exc:
                        await self._close_lost(f"keepalive failed: {exc}")
                        return
                    self._last_probe = probe_at = now
                    probe_at += probe
                deadlines.append(probe_at)
            # A viewer's channel keeps the link warm (Timeouts.warm): HERE
            # once its first read began, then a record at least that often.
            warm = None if self._is_host or not self._first_read.is_set() else t.warm
            every = min(x for x in (t.keepalive, warm, 3600.0) if x is not None)
            if warm is not None and not self._said_warm:
                keep_at = now
            elif t.keepalive is not None or warm is not None:
                keep_at = self._last_sent + every
            else:
                keep_at = None
            if keep_at is not None:
                held = self._send_lock.locked() and self._said_warm  # a send waits: it is news
                if now >= keep_at and not held:
                    body = b"" if warm is None else HERE
                    try:
                        self._write_record(FrameType.RECORD_KEEPALIVE, body)
                    except (OSError, RuntimeError, SessionClosedError) as exc:
                        await self._close_lost(f"keepalive failed: {exc}")
                        return
                    self._said_warm = self._said_warm or warm is not None
                # (While a send waits for the link, looked at again in a
                # while, not at once over and over.)
                deadlines.append(max(self._last_sent + every, now + 0.5) if held
                                 else self._last_sent + every)
            wait = max(0.005, min(deadlines) - loop.time())
            due = loop.time() + wait
            woken = (self._first_read if probe is not None and not self._first_read.is_set()
                     else self._nudge)  # fmt: skip
            with contextlib.suppress(asyncio.TimeoutError):
                await wait_for(woken.wait(), wait)
            self._nudge.clear()
            if loop.time() - due > _OVERSLEPT:
                # This program did not run meanwhile (stopped, frozen, a laptop
                # asleep): what the peer sent may be waiting unread, so its
                # silence is counted from now. walk36: a view stopped 84 s
                # closed its link at once on waking as "nothing received for
                # 10 s (peer gone)", right after saying 84 s.
                running_since = loop.time()
