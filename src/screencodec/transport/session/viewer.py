"""The viewer: the support agent's side. Receives, decodes, acks; sends input.

Usage::

    viewer = Viewer(channel, who="Alice (support)")
    await viewer.start()                 # asks for VIEW; raises ConsentDeniedError
    task = asyncio.create_task(viewer.run())
    ... viewer.framebuffer ...           # (H, W, 4) BGRX, updated in place
    ... viewer.cursor ...                # PointerState: x, y, visible, image, hotspot
    if not await viewer.request(CONTROL):  # the local user is asked, or
        print(viewer.refusal)            # the host refused unasked, and said why
    await viewer.pointer_move(10, 20)
    await viewer.bye()

With a ``sink`` (the web viewer, :mod:`screencodec.web`), the viewer decodes
nothing itself: each update and cursor message is handed on unchanged as it
arrives, and the update's Receipt goes out when the sink reports it applied
(or refused) there, so the host's congestion control times the whole path
to the picture the agent sees.

State is owned by the task running :meth:`run`: its receive loop stamps each
update's arrival and hands it to an apply task that decodes in order, so a
long decode never delays the next arrival stamp. The send-side methods may be
called from any task on the same loop. Every update is answered with a
:class:`~.messages.Receipt` (arrival time, time held) after it is applied or
found undecodable: the host's congestion control times the link by these,
and its in-flight window only counts updates this viewer has not processed.

A compact delta (session kind 26, :mod:`.compact`) is expanded into its
canonical Update as it arrives, before the sink, the decoder or anything
else sees it; one that cannot be expanded is answered as refused and a
keyframe is asked for, like an update the decoder refused. Once the host
has sent one, it takes compact receipts too (kind 27, :mod:`.compact`):
each receipt goes coded against the previous one, unless it is the first
or a step is out of range.

Refusals: :attr:`Viewer.refusal` says why the last request (or the part of
:meth:`Viewer.start`'s request that was not granted) was refused: by the
host's user, or by the host without asking (it cannot grant CONTROL, the user
refused the same a moment ago, ...), from the ``Notice`` the host sends right
before its ``PermissionDeny``, or right after the first grant when it
explains why that grant lacks CONTROL. Answers are matched to the requests
they answer (:class:`~.refusal.RequestLedger`): a late answer to a request
that timed out does not answer the next one, and a notice explains only the
refusal it came with. The reason is the host's text through ``safe_text``.

Resuming: a host of this version gives the viewer a ticket of the session
once it is granted (:attr:`Viewer.resume_ticket`, renewed on every resume).
When :meth:`Viewer.run` ends with :attr:`Viewer.link_lost` set (no Bye, the
link broke), a new connection to the same host, authenticated as always,
with ``Viewer(channel, resume=old.resume_ticket)`` goes on with the levels
held, without the host's user being asked again, for the host's
``resume_window`` (60 s by default; :mod:`.resume`). A ticket that no longer
works is not an error: the user is asked, as for any new viewer. Input on
such a connection waits for the agent to see the screen again: until this
viewer's first receipt there (its first picture applied), the host drops
what it gets as typed blind, so :meth:`Viewer.pointer_move`, ``button``,
``wheel`` and ``key`` send nothing and return False (:attr:`Viewer.blind`,
:attr:`Viewer.input_withheld`); True once it went.
Pass ``picture=old.kept_picture`` as well, and a host of this version goes
on from the picture the old viewer showed, sending only the tiles that
changed since, not a full keyframe (:mod:`.kept`). A viewer with a sink
passes instead the :class:`~.kept.KeptPicture` digest its sink made of the
picture it holds (``KeptPicture(width, height, key, digests)``, the key from
``secrets``), if :attr:`Viewer.host_keeps` said the host offers it.

Picture size: an update whose frame has more than ``max_pixels`` pixels
(:data:`DEFAULT_MAX_PIXELS` unless the Viewer is told otherwise) ends the
session before anything of that size is allocated, here or in a sink: the
host gets a Bye saying why, and :meth:`Viewer.run` returns it ("the host's
screen is WxH, over this viewer's limit of N pixels"). Every picture comes
in an update's header (the first keyframe, a monitor switch, a resize), so
the check is there; a monitor list is only words until its keyframe comes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import importlib.util
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from screencodec.errors import (
    ConfigError,
    ConsentDeniedError,
    DecodeError,
    HostFailedError,
    ProtocolError,
    SessionClosedError,
)
from screencodec.geometry import Monitor
from screencodec.transport.aio import wait_for
from screencodec.transport.channel.base import Channel, close_with
from screencodec.transport.channel.display import safe_text
from screencodec.transport.channel.limits import DEFAULT_MAX_PIXELS
from screencodec.transport.session import messages as m
from screencodec.transport.session.chat import CHAT_CHANNEL, MAX_EARLY_CHAT, ChatLedger
from screencodec.transport.session.clipboard import CLIPBOARD_CHANNEL
from screencodec.transport.session.clipboard_viewer import ViewerClipboard
from screencodec.transport.session.compact import (
    CompactState,
    ReceiptState,
)
from screencodec.transport.session.consent import CALLBACK_FAILED
from screencodec.transport.session.events import (
    ChatReceived,
    CursorMoved,
    EventHub,
    PermissionChanged,
    SessionEnded,
    SessionRejoined,
    Subscription,
)
from screencodec.transport.session.input_gate import ignored_counts
from screencodec.transport.session.kept import KEPT_CHANNEL, OFFER, KeptPicture
from screencodec.transport.session.permissions import CONTROL, VIEW, Permission
from screencodec.transport.session.pointer import CursorTracker, PointerState
from screencodec.transport.session.proof import OFFER as PROOF_OFFER
from screencodec.transport.session.proof import PROOF_CHANNEL, link_key, prove
from screencodec.transport.session.refusal import (
    HOST_FAILED,
    UNASKED,
    USER_REFUSED,
    Refusal,
    RequestLedger,
    unanswered_end,
)
from screencodec.transport.session.resume import RESUME_CHANNEL, TICKET_SIZE, Ticket
from screencodec.transport.session.sidechannels import (
    FILE_RESULTS_CHANNEL,
    ExtensionRegistry,
    FileConsent,
    FileOfferInfo,
    FileReceiver,
    FileSender,
    file_channel,
)
from screencodec.transport.session.viewer_picture import (
    DecoderLike,
    RemoteApplier,
    ViewerPicture,
    _Queued,
)
from screencodec.transport.session.viewer_requests import ViewerRequests
from screencodec.wire import Op

# Refusal and USER_REFUSED live in .refusal; also named here, where they were first.
__all__ = ["DEFAULT_MAX_PIXELS", "USER_REFUSED", "DecoderLike", "Refusal", "RemoteApplier",
           "Viewer", "default_capabilities"]  # fmt: skip

#: Why a first request without VIEW was refused: the host refuses it by rule,
#: before its user is asked (the host sends no reason of its own for it).
CONTROL_ALONE_REFUSED = ("the host refused without asking its user: a session starts with a"
                         " request to view, and this one asked for control alone")
#: Updates waiting to be decoded at most: a host keeps far fewer in flight.
_MAX_QUEUED = 256


def default_capabilities(*, compact: bool = True) -> m.Capabilities:
    """What a Viewer declares by default: everything ScreenDecoder decodes
    here (no VIDEO without PyAV), compact deltas unless ``compact=False``."""
    caps = m.Capabilities.full(compact=compact)
    if importlib.util.find_spec("av") is None:
        caps = dataclasses.replace(caps, ops=caps.ops & ~(1 << Op.VIDEO), video=0)
    return caps


def _explains_bye(msg: m.Message) -> bool:
    """``msg`` is the host's code for the Bye right after it: its program
    failed (``Notice.HOST_FAILED``, to a viewer that declared BYE_NOTICES)."""
    return isinstance(msg, m.Notice) and msg.code == m.Notice.HOST_FAILED


def _default_decoder(max_pixels: int) -> DecoderLike:
    from screencodec.decoder import ScreenDecoder

    return ScreenDecoder(max_pixels=max_pixels)


class _NullDecoder:
    """The decoder of a viewer whose sink decodes: never called."""

    needs_keyframe = False

    def decode(self, data: bytes, /) -> npt.NDArray[np.uint8]:
        raise AssertionError("a viewer with a sink does not decode")


class Viewer(ViewerPicture, ViewerRequests):
    def __init__(
        self,
        channel: Channel,
        *,
        who: str = "support",
        decoder: DecoderLike | None = None,
        download_dir: Path | None = None,
        file_consent: FileConsent | None = None,
        capabilities: m.Capabilities | None = None,
        sink: RemoteApplier | None = None,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        resume: bytes | None = None,
        picture: npt.NDArray[np.uint8] | KeptPicture | None = None,
    ) -> None:
        if resume is not None and len(resume) != TICKET_SIZE:
            raise ConfigError(f"a resume ticket is {TICKET_SIZE} bytes, not {len(resume)}")
        if picture is not None and resume is None:
            raise ConfigError("a kept picture goes with a resume ticket")
        if isinstance(picture, KeptPicture) and sink is None:
            raise ConfigError("a digest of a kept picture goes with a sink, which holds it")
        self.channel = channel
        #: The session's chat on this side (.chat): carried on by the Viewer
        #: that resumes with this one's ticket.
        kept_chat = getattr(resume, "chat", None)
        self.chats = kept_chat if isinstance(kept_chat, ChatLedger) else ChatLedger()
        #: The host's newest ticket of this session (None: none yet, or a
        #: host that does not resume): pass it as ``resume`` to a Viewer on a
        #: new connection to the same host if this one is lost (module notes).
        #: It keeps what that connection must name to reach the same host
        #: (:class:`~.resume.Ticket`'s hold: a relay's pair tag).
        self.resume_ticket: Ticket | None = None if resume is None else self._ticket(resume)
        #: Set when run() ended because the link was lost (no Bye, not closed
        #: on this side): the case for reconnecting with resume_ticket.
        self.link_lost = False
        #: The host's Bye's reason, once one came (the host ended the session).
        self.host_bye: str | None = None
        #: That Bye ended the session because the host's program failed: an
        #: error there, told by its code (a ``Notice.HOST_FAILED`` right
        #: before it, odds40), whatever the Bye's words, which are only
        #: shown (before, an embedder compared them; a host's own end in
        #: those words read as a failure).
        self.host_failed = False
        self._bye_explained = False  # the message before was that Notice
        #: Whether the host took up the session this Viewer's ticket names,
        #: from its chat hello after the grant (run() reads it, before the
        #: first picture): True, the session goes on; False, the host began a
        #: new one (on a first connection, always). None until known, and
        #: for a host of the version before chat hellos. A Viewer that came
        #: with a ticket tells it once in a :class:`~.events.SessionRejoined`.
        self.resumed: bool | None = None
        self._rejoining = resume is not None  # the SessionRejoined is still to be told
        #: True while input would be typed blind: this connection resumes a
        #: session (``resume``) and no receipt has gone yet (no picture seen
        #: here). The input methods then send nothing and return False.
        self.blind = resume is not None
        #: Input calls that sent nothing because they came while :attr:`blind`.
        self.input_withheld = 0
        #: The most pixels a host's picture may have: a bigger one ends the
        #: session (module notes). Raise it for larger walls of screens.
        self.max_pixels = max_pixels
        #: What this viewer tells the host it decodes (default: everything
        #: ScreenDecoder decodes here; no VIDEO without PyAV), with
        #: ``Capabilities.NO_FILES`` added when it takes no files.
        self.capabilities = capabilities or default_capabilities()
        self.who = who
        #: Set: updates and cursor messages go there, undecoded (see module notes).
        self.sink = sink
        self.decoder = decoder or (
            _NullDecoder() if sink is not None else _default_decoder(max_pixels)
        )
        #: The host offered to go on from a kept picture after a resume
        #: (:mod:`.kept`): :attr:`kept_picture` then gives the picture to pass.
        self.host_keeps = False
        #: The picture this connection resumes on (``picture``), until start()
        #: sent its digest: a picture the decoder adopts then, or the digest
        #: of the one a sink holds (the page computes it).
        self._kept: npt.NDArray[np.uint8] | KeptPicture | None = None
        adopts = sink is None and hasattr(self.decoder, "adopt")
        if isinstance(picture, KeptPicture) or (picture is not None and adopts):
            self._kept = picture
        #: Called with every message from the host other than updates, after
        #: the viewer handled it (a UI mirrors stats, notices, levels this way).
        self.on_message: Callable[[m.Message], None] | None = None
        self._had: m.Message | None = None  # a chat line had already: not passed on
        self.framebuffer: npt.NDArray[np.uint8] | None = None
        self.level = Permission()
        self._level_moved = asyncio.Event()  # set when the host took a level back
        self.monitors: tuple[Monitor, ...] = ()
        self.monitor = 0
        self.last_seq = 0
        self.decoded = 0
        self.decode_errors = 0
        #: compact deltas that came while no keyframe was there to build on
        #: (after a refusal): answered as refused, counted here, not as errors
        self.awaiting_keyframe = 0
        self._stale: set[int] = set()  # their sequence numbers (receive -> apply)
        self.keyframe_requests = 0
        self.notices: list[m.Notice] = []
        #: LOCAL_USER_ACTIVE notices had (one a stretch of the host's user's
        #: own input): a /type that sees one come says so (words45).
        self.local_use_notices = 0
        #: The host's count of this link's key presses it ignored for its
        #: user's own input (Notice.KEYS_IGNORED); None: it sent none.
        self.keys_ignored: int | None = None
        #: Its counts of this link's input it ignored, by kind (keys, pointer
        #: moves, clicks, scrolls: input_gate.IGNORED_KINDS); None: a host
        #: that counts them sent none (one of words45's counts keys only).
        self.input_ignored: tuple[int, ...] | None = None
        #: Why the last request was refused (None: granted, pending, no
        #: answer, or none yet); set by start() and request() for their own.
        self.refusal: Refusal | None = None
        self._requests = RequestLedger()
        #: What start() asked for, until run() has read one message: a reason
        #: right after the first grant explains what that grant lacks.
        self._first: Permission | None = None
        self.host_stats: m.Stats | None = None
        self.extensions = ExtensionRegistry()
        self.events_hub = EventHub()
        self.pointer = CursorTracker()
        self.files = FileReceiver(download_dir, file_consent, side="viewer",
                                  on_event=self.events_hub.emit)
        if not self.files.takes_files:
            # Said up front (nofiles35): the host offers it no file just to
            # be told no. Neither the folder nor the consent changes later.
            self.capabilities = dataclasses.replace(
                self.capabilities, flags=self.capabilities.flags | m.Capabilities.NO_FILES)
        # start() reads the host's user's chat while its question is open
        # (say38); it shares text clipboards (.clipboard); it reads the
        # Notice that explains a Bye (host_failed), and the one that says
        # the host takes no files (files41: sender.peer_takes_none).
        self.capabilities = dataclasses.replace(self.capabilities, flags=self.capabilities.flags
                                                | m.Capabilities.EARLY_CHAT
                                                | m.Capabilities.CLIPBOARD
                                                | m.Capabilities.BYE_NOTICES
                                                | m.Capabilities.FILE_NOTICES
                                                | m.Capabilities.KEY_COUNTS
                                                | m.Capabilities.INPUT_COUNTS)  # fmt: skip
        #: The host's user's lines that came before the first answer (start),
        #: sanitised (safe_text): :data:`MAX_EARLY_CHAT` at most.
        self.early_chat: list[str] = []
        #: Called with each of them as it comes (a terminal prints it).
        self.on_early_chat: Callable[[str], None] | None = None
        self.sender = FileSender(self._send, peer=self.channel.peer,
                                 on_event=self.events_hub.emit,
                                 confirms_chat=lambda: self.chats.peer_acks is True,
                                 link_lost=lambda: self.link_lost or bool(
                                     getattr(self.channel, "broken", False)))
        self.chats.bind(self, self._send, self.events_hub.emit, self.channel.peer)
        #: Clipboard sharing with the host (:meth:`send_clipboard`; the
        #: host's text comes as a ClipboardReceived event).
        self.clipboard = ViewerClipboard(self._send, self.events_hub.emit,
                                         safe_text(self.channel.peer))  # fmt: skip
        #: ``(seq, time.perf_counter())`` of each applied update, kept only while
        #: ``record_times`` is set (benchmarks): unbounded otherwise.
        self.applied_at: list[tuple[int, float]] = []
        self.record_times = False
        #: The answer request() waits for: (answered, why refused).
        self._pending: asyncio.Future[tuple[bool, Refusal | None]] | None = None
        self._pending_number = 0
        self._keyframe_asked_at = -1e9
        self._tasks: set[asyncio.Task[None]] = set()
        self._updates: asyncio.Queue[_Queued] = asyncio.Queue()
        #: The last update received, for compact deltas (receive loop only).
        self._on_link = CompactState()
        #: Compact deltas received, and those refused (not expanded).
        self.compact_received = 0
        self.compact_refused = 0
        #: The last receipt sent (apply loop only), and whether the host takes
        #: compact ones (it sent a compact delta: module notes).
        self._receipts = ReceiptState()
        self._host_compact = False
        self.compact_receipts = 0  #: receipts sent in compact form

    async def send_clipboard(self, text: str) -> int:
        """Put ``text`` on the host's clipboard (this agent must hold
        CONTROL); returns its number, which the host's answer (a
        ClipboardSet or ClipboardRefused event) names.
        :class:`~.clipboard.ClipboardError` when it cannot go: the host
        takes none (``clipboard.host_takes``), no CONTROL, over 64 KiB."""
        return await self.clipboard.send(text, control=CONTROL in self.level)

    def events(self) -> Subscription:
        return self.events_hub.subscribe()

    @property
    def cursor(self) -> PointerState | None:
        """The host's pointer (None until the host sent a position). Draw it
        over the framebuffer yourself (or see :func:`~.pointer.composite`)."""
        return self.pointer.state

    @property
    def host_gives_reasons(self) -> bool:
        """Whether the host says why it refuses a file without asking its
        user (a reason code: no files taken, too large, too many waiting), so
        that a refusal without one was its user's no (or no answer in time).
        Known once it sent a code this session, or confirmed chat (a chat
        hello: chat delivery came after the codes, in 4361f49 and 7eba360);
        a host of the version before the codes does neither. A file's
        :class:`~.events.FileSent` says it as it was known then."""
        return self.sender.gives_reasons

    @property
    def kept_picture(self) -> npt.NDArray[np.uint8] | None:
        """The picture to pass as ``picture`` to the Viewer that resumes
        this session (with ``resume=resume_ticket``), or None: the host did
        not offer to go on from one, this viewer decodes nothing itself (a
        sink), or its picture is not one the host sent (it waits for a
        keyframe)."""
        if not self.host_keeps or self.sink is not None or self.framebuffer is None:
            return None
        return None if self.decoder.needs_keyframe else self.framebuffer

    def _ticket(self, ticket: bytes) -> Ticket:
        """``ticket`` held with what leads back to its host: this channel's
        (``resume_hold``: a relay's pairing, connect/via_relay.py), else
        the one it came with (a Ticket from the viewer this one resumes)."""
        hold = getattr(self.channel, "resume_hold", None)
        return Ticket(ticket, hold if hold is not None else getattr(ticket, "hold", None),
                      self.chats, getattr(ticket, "proof_key", None))

    async def _send(self, msg: m.Message) -> None:
        await self.channel.send(m.encode(msg))

    async def _send_kept(self, picture: npt.NDArray[np.uint8] | KeptPicture) -> None:
        """Offer the host ``picture`` to go on from: the decoder adopts it,
        and its digest goes right after the ticket (:mod:`.kept`); or the
        digest a sink made of the picture it holds. A picture the decoder
        cannot take is not offered: the host sends a keyframe."""
        if isinstance(picture, KeptPicture):
            await self._send(m.Extension(KEPT_CHANNEL, picture.encode()))
            return
        try:
            self.decoder.adopt(picture)  # type: ignore[attr-defined]
        except DecodeError:
            return
        # The digest is of the decoder's copy, not of ``picture``: its owner
        # may still write to it (an old viewer still decoding), and the host
        # would then skip tiles this picture does not hold.
        adopted = self.framebuffer = self.decoder.framebuffer  # type: ignore[attr-defined]
        digest = await asyncio.to_thread(KeptPicture.of, adopted)
        await self._send(m.Extension(KEPT_CHANNEL, digest.encode()))

    async def start(self, level: Permission = VIEW, timeout: float = 60.0) -> Permission:
        """Declare what this viewer decodes, ask the host for ``level`` (must
        include VIEW), and wait for the answer. The host's first update is the
        full picture: no keyframe needs asking for."""
        self.refusal = None
        await self._send(self.capabilities)
        if self.resume_ticket is not None:
            await self._send(m.Extension(RESUME_CHANNEL, bytes(self.resume_ticket)))
            key = self.resume_ticket.proof_key
            proof = None if key is None else prove(key, self.resume_ticket, self.channel)
            if proof is not None:  # its host reads one (it offered: .proof)
                await self._send(m.Extension(PROOF_CHANNEL, proof))
            if self._kept is not None:
                await self._send_kept(self._kept)
                self._kept = None
        await self._send(m.PermissionRequest(level.bits, self.who))
        try:
            answer = await wait_for(self._first_reply(), timeout)
        except asyncio.TimeoutError:
            # A host whose user takes longer than this to answer (its own
            # --consent-timeout is longer): ours ends the wait, in words.
            await self.channel.close()
            raise ConsentDeniedError(
                f"the host's user did not answer within {timeout:g} s") from None
        explained, self._bye_explained = self._bye_explained, False  # the answer's Notice
        if isinstance(answer, m.PermissionDeny):
            why = await self._why_denied()
            if VIEW not in level.known:
                # Refused by rule (link.py, NO_VIEW_ASKED): nobody was asked,
                # so "the host's user declined" would be untrue.
                why = CONTROL_ALONE_REFUSED
            self.refusal = Refusal(level, why)
            await self.channel.close()
            raise ConsentDeniedError(why)
        if isinstance(answer, m.Bye) and explained:
            # Its program failed (opening the screen at the user's yes): an
            # error there, not a refusal (walk39), by its code (odds40).
            self.host_failed = True
            self.host_bye = safe_text(answer.reason, 200)
            await self.channel.close()
            raise HostFailedError(HOST_FAILED)
        if isinstance(answer, m.Bye):
            # The host ended the session before its user answered (its user
            # typed /end, or the host closed): no grant, in words.
            await self.channel.close()
            raise ConsentDeniedError(unanswered_end(safe_text(answer.reason, 200)))
        if not isinstance(answer, m.PermissionGrant):
            raise ProtocolError(f"expected a grant, got {type(answer).__name__}")
        self.level = Permission(answer.level)
        if self.resume_ticket is not None and self.resume_ticket.proof_key is not None:
            # The session is live on this link now: should it drop before
            # the next ticket comes, the retry proves it holds this one.
            self.resume_ticket = self._ticket(self.resume_ticket)
            self.resume_ticket.proof_key = link_key(self.channel)
        if level.known - self.level:
            # The user's, unless a reason follows the grant (run() reads it).
            self.refusal = Refusal(level.known - self.level)
            self._first = level.known
        return self.level

    async def _first_reply(self) -> m.Message:
        """The host's answer to the first request; the chat lines its user
        writes while they decide come before it (EARLY_CHAT, say38): each is
        sanitised, emitted as a :class:`~.events.ChatReceived`, passed to
        ``on_early_chat`` and ``on_message`` (what a terminal or the page
        shows), kept in :attr:`early_chat`, and not acknowledged (the host's
        chat delivery begins with the grant). More than
        :data:`MAX_EARLY_CHAT` of them end the session (a
        :class:`ProtocolError`)."""
        count = 0
        while True:
            msg = m.decode(await self.channel.recv())
            if _explains_bye(msg) and not self._bye_explained:
                self._bye_explained = True  # the Bye it explains comes next (start reads it)
                continue
            if not isinstance(msg, m.Chat):
                return msg  # a second such Notice too: not an answer (ProtocolError)
            self._bye_explained = False
            count += 1
            if count > MAX_EARLY_CHAT:
                raise ProtocolError("the host sent too many chat lines before its answer")
            shown = m.Chat(safe_text(msg.text, 1000))
            self.early_chat.append(shown.text)
            self.events_hub.emit(ChatReceived(self.channel.peer, shown.text))
            if self.on_early_chat is not None:
                self.on_early_chat(shown.text)
            if self.on_message is not None:
                self.on_message(shown)

    async def _why_denied(self) -> str:
        """A host follows its refusal with a Bye that says whether its user
        declined or did not answer. Its text is the peer's: only which of the
        two it was is taken from it, the words are ours."""
        try:
            msg = m.decode(await wait_for(self.channel.recv(), 1.0))
        except (asyncio.TimeoutError, SessionClosedError, ProtocolError):
            return "the host's user declined"
        if isinstance(msg, m.Bye) and "in time" in msg.reason:
            return "the host declined: its user did not answer in time"
        if isinstance(msg, m.Bye) and msg.reason == CALLBACK_FAILED:
            return "the host refused: its program could not ask its user (a bug there)"
        return "the host's user declined"

    async def run(self) -> str:
        """Receive until the session ends; returns the reason. A host that
        breaks the protocol raises ProtocolError (the channel is closed first)."""
        reason = "closed"
        applier = asyncio.ensure_future(self._apply_loop())
        try:
            while True:
                data = await self.channel.recv()
                arrived = time.monotonic()
                span = getattr(self.channel, "last_span", None)
                msg = m.decode(data)
                explained, self._bye_explained = self._bye_explained, _explains_bye(msg)
                if isinstance(msg, m.Bye):
                    self.host_failed = explained
                    self.host_bye = safe_text(msg.reason, 200)
                    reason = f"host said bye: {self.host_bye}"
                    break
                if isinstance(msg, m.Update | m.CompactUpdate):
                    self._first = None
                    if self.chats.peer_acks is None:  # no chat hello before it: an older host
                        await self.chats.peer_is_old()
                        self._rejoined(None)
                    # Decoded by the apply loop, so this loop stays free to
                    # stamp arrivals truly: the host times its link by them.
                    if self._updates.qsize() >= _MAX_QUEUED:
                        raise ProtocolError("the host sent more updates than it may have in flight")
                    update, remote = self._take(msg)
                    refused = self._too_large(update)
                    if refused is not None:
                        reason = refused
                        # As bye(): at once, not behind a file's next chunk
                        # (an upload to a host that stopped reading held it
                        # for good); the close says why too.
                        with contextlib.suppress(SessionClosedError, OSError):
                            await close_with(self.channel, m.encode(m.Bye(refused)),
                                             reason=refused)  # fmt: skip
                        break
                    if remote is None and self.sink is not None:
                        remote = self.sink.update(update.data)
                    self._updates.put_nowait((update, arrived, span, remote))
                    if applier.done():
                        applier.result()  # its failure ends the session
                    continue
                await self._dispatch(msg)
                self._first = None  # only the message right after the grant explains it
                if self.on_message is not None and msg is not self._had:
                    self.on_message(msg)
        except SessionClosedError as exc:
            reason = f"channel closed: {exc}"
            # Neither side ended it: the link was lost, and a new connection
            # may resume the session with resume_ticket (module notes).
            self.link_lost = bool(getattr(self.channel, "broken", False))
        finally:
            applier.cancel()
            with contextlib.suppress(asyncio.CancelledError, SessionClosedError):
                await applier
            for task in list(self._tasks):
                task.cancel()
            if self._pending is not None and not self._pending.done():
                self._pending.set_result((False, None))
            self.files.close()
            self.sender.close()
            await self.channel.close()
            await self.files.settle()  # the files whole before the end: saved (or not) and told
            # Chat kept for the Viewer that resumes; else told not delivered.
            self.chats.detach(self, keep=self.link_lost and self.resume_ticket is not None)
            self.events_hub.emit(SessionEnded(self.channel.peer, reason,
                                              host_failed=self.host_failed))  # fmt: skip
            self.events_hub.close()
        return reason

    async def _dispatch(self, msg: m.Message) -> None:
        if isinstance(msg, m.Cursor):
            if self.sink is not None:
                self.sink.cursor(msg.data)
            st = self.pointer.apply(msg.data)
            if st is not None:
                self.events_hub.emit(CursorMoved(st.x, st.y, st.visible, st.shape_id))
        elif isinstance(msg, m.PermissionGrant):
            self.level = Permission(msg.level)
            self._answer(self._requests.granted(self.level), None)
            self.events_hub.emit(PermissionChanged(self.channel.peer, self.level))
        elif isinstance(msg, m.PermissionDeny):
            self._answer(*self._requests.denied(Permission(msg.level)))
        elif isinstance(msg, m.PermissionRevoke):
            self.level = Permission(msg.level)
            self._level_moved.set()
            self.events_hub.emit(PermissionChanged(self.channel.peer, self.level))
        elif isinstance(msg, m.MonitorList):
            self.monitors, self.monitor = msg.monitors, msg.current
        elif isinstance(msg, m.Stats):
            self.host_stats = msg
        elif isinstance(msg, m.Notice) and msg.code == m.Notice.KEYS_IGNORED:
            # A count (one a press ignored), kept as the count and not listed:
            # a long /type's counts pushed the notices a person reads out of
            # the last 100 (lead45).
            counts = ignored_counts(msg.text)  # the text is the peer's
            if counts is not None:
                self.keys_ignored = max(self.keys_ignored or 0, counts[0])
            if counts is not None and len(counts) > 1:  # input46: every kind
                had = self.input_ignored or (0,) * len(counts)
                self.input_ignored = tuple(map(max, had, counts))
        elif isinstance(msg, m.Notice):
            self.notices.append(msg)
            del self.notices[:-100]  # bounded: a chatty host cannot grow us
            if msg.code == m.Notice.LOCAL_USER_ACTIVE:
                self.local_use_notices += 1
            if msg.code == m.Notice.TAKES_NO_FILES:
                # Only if declared (a host that sends it unasked is read as
                # any notice); its text is never acted on (files41). Not after
                # it took a file: an honest host sends it only before any
                # (review41a: a hostile one made the next offer's words wrong).
                if self.capabilities.flags & m.Capabilities.FILE_NOTICES \
                        and not self.sender.peer_took_one:
                    self.sender.peer_takes_none = True
            elif msg.code in UNASKED:
                if self._first is not None:
                    self._explain_first(msg, self._first)
                else:
                    self._requests.notice(msg)
        elif isinstance(msg, m.Chat):
            if self.chats.take():  # not one had already (sent again after a resume)
                self.events_hub.emit(ChatReceived(self.channel.peer, safe_text(msg.text, 1000)))
            else:
                self._had = msg  # nor is it passed to on_message
            await self.chats.acknowledge()
        elif isinstance(msg, m.Extension) and msg.channel == CHAT_CHANNEL:
            await self.chats.on_channel(msg.payload, answer=True)
            if self.chats.peer_resumed is not None and self.resumed is None:
                self.resumed = self.chats.peer_resumed
                self._rejoined(self.resumed)
        elif isinstance(msg, m.FileOffer):
            # Checked here (an offer number used twice, too many offers: a
            # ProtocolError ends the session, as on the host); asked in a task.
            info = self.files.admit(msg, self.channel.peer)
            if info is None:
                # Refused without asking (no download directory, too large):
                # the agent's interface should still say a file was offered.
                # Its why, read now: the next offer's admit replaces it.
                self.events_hub.emit(self.files.refusal_event(msg, self.channel.peer))
                self._spawn(self._send_all(self.files.refuse(msg.transfer)))
            else:
                self._spawn(self._file_offer(msg, info))
        elif isinstance(msg, m.FileChunk):
            # Written on the receiver's disk thread, in order: a disk that
            # stops answering holds no update (FileReceiver.chunk).
            await self.files.chunk(msg, self._send)
        elif isinstance(msg, m.FileEnd):
            # Checked here; saved (fsync, link) on the receiver's disk thread
            # while this loop reads on: a slow disk holds no update.
            self._spawn(self.files.end(msg, self.channel.peer, self._send))
        elif isinstance(msg, m.FileAccept):
            self.sender.on_accept(msg)
        elif isinstance(msg, m.FileResult) and self.sender.peer_reports:
            self.sender.on_result(msg)
        elif isinstance(msg, m.Extension) and msg.channel == FILE_RESULTS_CHANNEL:
            file_channel(self.files, self.sender, msg.payload)
        elif isinstance(msg, m.Extension) and msg.channel == RESUME_CHANNEL:
            if len(msg.payload) != TICKET_SIZE:
                raise ProtocolError(f"a resume ticket of {len(msg.payload)} bytes")
            self.resume_ticket = self._ticket(msg.payload)
            # A silent link can now be given up on sooner: the session resumes.
            mark = getattr(self.channel, "mark_resumable", None)
            if mark is not None:
                mark()
        elif isinstance(msg, m.Extension) and msg.channel == PROOF_CHANNEL:
            # Its host reads a proof with this ticket (.proof): kept with it.
            if msg.payload == PROOF_OFFER and self.resume_ticket is not None:
                self.resume_ticket.proof_key = link_key(self.channel)
        elif isinstance(msg, m.Extension) and msg.channel == CLIPBOARD_CHANNEL:
            self.clipboard.on_channel(msg.payload)
        elif isinstance(msg, m.Extension) and msg.channel == KEPT_CHANNEL:
            # A later version may offer other digests: this one reads only its own.
            self.host_keeps = msg.payload == OFFER
        elif isinstance(msg, m.Extension):
            handler = self.extensions.get(msg.channel)
            if handler is not None:
                reply = await handler(self.channel.peer, msg.payload)
                if reply is not None:
                    await self._send(m.Extension(msg.channel, reply))
        else:
            raise ProtocolError(f"a host may not send {type(msg).__name__}")

    def _explain_first(self, notice: m.Notice, asked: Permission) -> None:
        """A reason right after the first grant: why it lacks part of ``asked``
        (CONTROL_UNAVAILABLE explains CONTROL only: the rest, the user refused)."""
        missing = asked - self.level
        if notice.code == m.Notice.CONTROL_UNAVAILABLE:
            missing = missing & CONTROL
        if missing:
            self.refusal = Refusal.explained(missing, notice)

    def _rejoined(self, resumed: bool | None) -> None:
        """Tell, once, whether the session this Viewer's ticket names was taken up."""
        if self._rejoining:
            self._rejoining = False
            self.events_hub.emit(SessionRejoined(self.channel.peer, resumed))

    def _answer(self, number: int | None, refusal: Refusal | None) -> None:
        """The host answered request ``number`` (None: none in flight)."""
        pending = self._pending
        if number == self._pending_number and pending is not None and not pending.done():
            pending.set_result((True, refusal))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_all(self, msgs: list[m.Message]) -> None:
        for msg in msgs:  # (a refusal: why, as a code, then the no)
            await self._send(msg)

    async def _file_offer(self, offer: m.FileOffer, info: FileOfferInfo) -> None:
        accept = await self.files.decide(offer, info)
        await self.sender.answer(accept, functools.partial(self.files.take_result,
                                                           offer.transfer))  # fmt: skip
