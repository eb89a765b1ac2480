"""One viewer's session inside the host: consent, then stream + receive.

Tasks per session (all on the host's event loop):

* the *receive loop* (the task that called :meth:`ViewerLink.run`): parses and
  dispatches every message from the viewer; any ProtocolError ends this
  session only;
* the *send loop* (:class:`~.streaming.Streamer`, see there);
* the *cursor loop* (:class:`~.pointer.CursorStreamer`): the pointer at input
  rate, beside the pixels and outside their flow control;
* the *stats loop*; and short tasks for consent questions (permission upgrade,
  file offers) so the screen keeps flowing while the local user reads.

A helper task that fails ends the session: it records the failure and closes
the channel, which wakes the receive loop, which re-raises it. When the
screen could not be grabbed (a CaptureError: the X display died, say) the
viewer is first sent a Bye that says so (:data:`SCREEN_GONE`).

Nothing is grabbed, encoded or sent before the local user's answer granted
VIEW, nor once the user took VIEW back (the screen and pointer loops end
before the revoke is sent). While the first question waits, the receive loop keeps reading: a Bye or
a vanished viewer withdraws the question, input is dropped (input that arrived
before a grant is never injected after it), anything else waits for the grant.
Every question goes through the host's :class:`~.consent.QuestionQueue`, one at
a time; repeated permission requests collapse into the question already open,
and a request the user just refused is refused again unasked for a while.

A request is refused *without a question* when its answer is known or the
user could not give it (:mod:`.refusal` decides): the viewer is told why in
a ``Notice`` sent right before the ``PermissionDeny``, the two kept together
by one lock (no other level answer comes between them); a refusal with no
such notice is the local user's. A first request for VIEW+CONTROL on a host
that cannot grant CONTROL asks about VIEW alone, and the notice follows the
grant (before the monitor list).
Peer-supplied strings (the agent's name, the peer address a relay reports, Bye
reasons, chat) are passed through :func:`~..channel.display.safe_text` here,
before any event or question carries them.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import math
import time
from collections.abc import Awaitable
from typing import Any

from screencodec.errors import (
    CaptureError,
    ProtocolError,
    ScreencodecError,
    SessionClosedError,
    TransportError,
)
from screencodec.transport.aio import wait_for
from screencodec.transport.channel.base import Channel, close_with
from screencodec.transport.channel.display import safe_text
from screencodec.transport.session import messages as m
from screencodec.transport.session.away import end_away
from screencodec.transport.session.chat import CHAT_CHANNEL, MAX_EARLY_CHAT, ChatLedger
from screencodec.transport.session.clipboard import CLIPBOARD_CHANNEL
from screencodec.transport.session.clipboard_host import LinkClipboard
from screencodec.transport.session.compact import ReceiptState
from screencodec.transport.session.consent import (
    CALLBACK_FAILED,
    GONE,
    Answer,
    ask_permission,
    questions_for,
)
from screencodec.transport.session.encoding import choose_encoder
from screencodec.transport.session.endreasons import (
    AGENT_MOVED,
    CONSENT_DENIED,
    LINK_LOST,
    NO_REQUEST,
    NO_VIEW_ASKED,
    REQUEST_WAIT,
    agent_gone,
)
from screencodec.transport.session.events import (
    ChatReceived,
    SessionResumed,
    StatsUpdated,
)
from screencodec.transport.session.flow import CongestionControl
from screencodec.transport.session.held_silence import let_go_when_silent
from screencodec.transport.session.input_gate import InputGate
from screencodec.transport.session.kept import KEPT_CHANNEL, OFFER, KeptPicture
from screencodec.transport.session.link_asking import STOPPED_SHARING, LinkAsking
from screencodec.transport.session.permissions import (
    CONTROL,
    VIEW,
    ConsentRequest,
    Grant,
    Permission,
)
from screencodec.transport.session.pointer import CursorStreamer
from screencodec.transport.session.proof import OFFER as PROOF_OFFER
from screencodec.transport.session.proof import (
    PROOF_CHANNEL,
    PROOF_SIZE,
    link_key,
    verifies,
    verifies_with,
)
from screencodec.transport.session.refusal import (
    HOST_FAILED,
    NO_INJECTOR,
    REASK_AFTER,
    TAKES_NO_FILES,
    UnaskedRefusals,
    failed_bye,
)
from screencodec.transport.session.resume import RESUME_CHANNEL, TICKET_SIZE, Resumable
from screencodec.transport.session.services import RecordingLike, SessionHost
from screencodec.transport.session.sidechannels import FILE_RESULTS_CHANNEL, file_channel
from screencodec.transport.session.stats import LinkStats, StatsGate
from screencodec.transport.session.streaming import Streamer

# NO_INJECTOR and REASK_AFTER live in .refusal; also named here, where they were first.
__all__ = ["MAX_DURATION", "NO_INJECTOR", "OWN_END_WAIT", "REASK_AFTER", "STOPPED_SHARING",
           "VIEW_TAKEN_BACK", "ViewerLink"]

_HELLO_TIMEOUT = REQUEST_WAIT
#: How long a connection presenting a ticket waits for the live link that
#: took its session up with it to show the viewer holds the next one, or to
#: be lost (.resume); then it is asked about. One that proves it holds that
#: link's key (.proof) does not wait: it takes the session over at once.
_SETTLE_WAIT = 5.0
#: The Bye a viewer gets when this host's screen cannot be grabbed any more
#: (its X display died): the host's user reads it too, with the details.
SCREEN_GONE = "the host's screen can no longer be captured"
#: How long a session's end waits for its own code that ended it (a consent
#: callback calling Host.disconnect) to return: the disconnect does not wait
#: for that session, so it returns at once; a callback stuck after it is
#: cancelled then. As Host's CLEANUP_WAIT.
OWN_END_WAIT = 5.0
#: Why a session ended at its time limit (HostConfig.max_duration): its
#: Bye, its reason, its recording's END (also while its agent is away).
MAX_DURATION = "maximum session duration reached"
#: Messages (other than input, which is dropped) a viewer may send before the grant.
_MAX_EARLY = 32

_INPUT = (m.PointerMove, m.Button, m.Wheel, m.Key)


class ViewerLink(LinkAsking):
    def __init__(self, host: SessionHost, channel: Channel) -> None:
        self.host = host
        self.channel = channel
        self.peer = safe_text(channel.peer)
        self.who = ""
        self.level = Permission()
        #: Let in: the first question's yes, or a resume, gave it a level
        #: (which a revoke may empty later): a link that ends before ended
        #: with its question open, or refused (host._recorded).
        self.let_in = False
        #: The first question was put to the user (its consent callback
        #: called, in its turn): a link that ends neither let in nor refused
        #: ended before the user answered; else before the user was asked.
        self.asked_first = False
        #: The first question is before the user now (put, not answered):
        #: the user's chat may go to this agent (:meth:`say_asking`).
        self.first_open = False
        #: The first request's answer did not let them in (Host.joining).
        self.refused_first = False
        #: The user said yes to the first request; the answer is on its way
        #: to :meth:`run` (the callback's task, the question queue), which
        #: then lets it in. What the user takes back meanwhile
        #: (:meth:`withhold_answered`) is taken from that answer (review39d).
        self.said_yes = False
        self._taken_after_yes = Permission()
        self._early_said = 0  # lines said by say_asking
        self.gate = InputGate(self)
        self.clip = LinkClipboard(self)  # .clipboard_host
        self.monitor = host.config.monitor
        self._watching: int | None = None  # the monitor acquired in the hub
        #: What the viewer declared it decodes (a viewer that says nothing is a
        #: version-0.1 viewer: every op of that version, both profiles, no receipts).
        self.capabilities = m.Capabilities.legacy()
        self.stream = Streamer(self, choose_encoder(self.capabilities, host.encoder_factory))
        self.pointer = CursorStreamer(self)
        self._fresh = True  # no message since the grant yet
        self._tasks: set[asyncio.Task[Any]] = set()
        #: The open upgrade question, what it asks, and the requests it answers.
        self._upgrade: asyncio.Future[Any] | None = None
        self._asking = Permission()
        self._collapsed: list[Permission] = []
        #: What is refused without a question, and the user's recent refusals.
        self.refusals = UnaskedRefusals(host)
        #: Held while a level answer (and the Notice that explains it) is sent.
        self._answering = asyncio.Lock()
        self._next: asyncio.Future[bytes] | None = None  # a receive begun before the grant
        self._early: list[m.Message] = []
        self.failure: BaseException | None = None
        #: The loops that read the screen and the pointer (from the grant on).
        self._showing: tuple[asyncio.Task[Any], ...] = ()
        #: Why this host ended the session itself (Host.disconnect), if it did.
        self.ended_here: str | None = None
        #: The agent left (AGENT_LEFT: its Bye) or its link was lost
        #: (LINK_LOST), as this link read it: its open question says so.
        self.leaving: str | None = None
        #: The task of this session's own code (a consent callback, a
        #: handler) that ended it (Host.disconnect or close from inside it):
        #: let return, not cancelled, before the session ends (endleft35).
        self.ended_by_own: asyncio.Task[Any] | None = None
        #: The last receipt from the viewer, to rebuild compact ones (receive loop).
        self._receipts = ReceiptState()
        self.compact_receipts = 0  #: receipts that came in compact form
        #: When the session first started (a resumed one: its first link's
        #: start), for the overall time limit; set once the serve is over.
        self.started = time.monotonic()
        self.finished = asyncio.Event()
        #: The task that serves it (Host.serve): its end sets ``finished``.
        self.serve_task: asyncio.Task[Any] | None = None
        #: The task that runs :meth:`run` (its receive loop, so its extension
        #: handlers): the serve's, or one of its own where Host.serve's time
        #: limit runs it (aio.wait_for's, a task of its own).
        self.run_task: asyncio.Task[Any] | None = None
        #: The ticket the viewer presented, and the session it resumed.
        self._ticket: bytes | None = None
        #: The proof that came with it, if any (.proof): that its viewer holds
        #: the link the session is live on, not only a copy of the ticket.
        self._proof: bytes | None = None
        self._kept: KeptPicture | None = None  # the picture the viewer resumes on
        self.resumed: Resumable | None = None
        #: The session this link's ticket claimed, as it was then, from the
        #: claim on (a link taken over still ending; ``resumed`` comes after
        #: that): the host's user names it by its earlier names (:meth:`named`).
        self.claimed: Resumable | None = None
        #: The viewer of a resumed link may not have read its new ticket yet;
        #: set once it showed it has (it answered an update).
        self._unshown = False
        self.ticket_shown = asyncio.Event()
        #: Set when a new connection of the same agent took this session over.
        self.moved = False
        #: The viewer ended the session with a Bye (it may not resume).
        self.said_bye = False
        #: The host's recording of this session, if it records (audit log).
        self.recording: RecordingLike | None = None
        #: The session's chat on this side (.chat): a resumed one goes on with its own.
        self.chats = ChatLedger()
        self._granted = False  # the first grant was sent (revoke_joining)
        #: What the host's user took back while this link took the session
        #: over from a live link still ending (:meth:`withhold`).
        self._withheld = Permission()

    @property
    def earlier(self) -> tuple[str, ...]:
        """The peer names of the session this link holds, or takes up, on
        the links before it (oldest first); () for a new session."""
        claimed = self.claimed
        return () if claimed is None else (*claimed.was, claimed.peer)

    def named(self, peer: str | None) -> bool:
        """Whether ``peer`` names this link's session (None: any does): its
        own name, or one it had on an earlier link, whichever the host's
        user was shown (Host.disconnect, Host.revoke; takeover36: during a
        take-over and after it, the old link's name reached nothing)."""
        return peer is None or peer == self.peer or peer in self.earlier

    @property
    def flow(self) -> CongestionControl:
        return self.stream.flow

    @property
    def takes_files(self) -> bool:
        """False when the viewer declared it refuses every file offer
        (``Capabilities.NO_FILES``); a viewer of the version before, which
        says nothing of it, is taken to take files."""
        return not self.capabilities.flags & m.Capabilities.NO_FILES

    async def send(self, msg: m.Message) -> None:
        await self.channel.send(m.encode(msg))

    async def send_raw(self, payload: bytes) -> None:
        """Send a message already encoded (the send loop's updates)."""
        await self.channel.send(payload)

    def spawn(self, coro: Any) -> None:
        self._start(coro)

    def _start(self, coro: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # A helper task failing (send loop, consent, file) ends the session:
            # closing the channel wakes the receive loop with SessionClosedError.
            self.failure = task.exception()
            if isinstance(self.failure, CaptureError):  # the display died, say
                self._closer = asyncio.ensure_future(self._bye_then_close(SCREEN_GONE))
            elif isinstance(self.failure, TransportError):  # the link itself: no one to tell
                self.spawn_close()
            else:  # the host's program (a source's frame, a bug): said, not which (walk39)
                self._closer = asyncio.ensure_future(
                    self._bye_then_close(HOST_FAILED, *failed_bye(self.capabilities)))

    def spawn_close(self) -> None:
        self._closer = asyncio.ensure_future(self.channel.close())

    async def _bye_then_close(self, reason: str, *last: bytes) -> None:
        """Tell the viewer why before closing (it read only 'closed by peer:
        closed locally' when the host's screen could not be grabbed): the
        Bye at once (``last``, the messages that end it: by default the Bye
        of ``reason``), ahead of a file's next chunk, as Host.disconnect's."""
        try:
            await close_with(self.channel, *(last or (m.encode(m.Bye(reason)),)), reason=reason)
        except (ScreencodecError, OSError):
            pass  # gone already: the close says the rest
        finally:
            await self.channel.close(reason)

    # -- lifecycle ---------------------------------------------------------

    async def run(self) -> str:
        """Serve this viewer until it ends; returns the reason."""
        self.run_task = asyncio.current_task()
        try:
            hello = await wait_for(self._hello(), _HELLO_TIMEOUT)
        except asyncio.TimeoutError:
            return NO_REQUEST
        self.who = safe_text(hello.who, 64)
        asked = Permission(hello.level).known
        if VIEW not in asked:
            await self.send(m.PermissionDeny(hello.level))
            return NO_VIEW_ASKED
        # CONTROL this host cannot grant is refused here; VIEW is still asked.
        why = self.refusals.first(asked, self.who, self.peer)
        if why is not None:
            asked = asked - CONTROL
        resumed = await self._claim()
        held = None if resumed is None else await self._resume(resumed, asked)
        if held is not None:
            level = held
            self.stream.kept = self._kept  # go on from the viewer's picture
        else:
            resumed = None  # nothing left to resume: a new session, asked about
            self.claimed = None
            self.host.tickets.forget(self)  # a session claimed, and over after all
            answer = await self._ask_first(asked, hello.level)
            if isinstance(answer, str):
                return answer
            level = answer
        # Less what the user took back since their yes (none for a resume);
        # ``level`` stays the answer: the audit's why (_no_control).
        self.level = self._after_yes(level)
        self.let_in = True
        self.gate.granted(CONTROL in self.level, None)
        if resumed is not None:
            self.gate.resumed()
            if resumed.untold:
                # This link's own until its agent answers an update, which
                # is sent after them (keys44: cleared before they were sent,
                # and the new ticket has none, so a link lost before its
                # agent read them lost them): a loss before then parks them.
                self.gate.untold = (resumed.untold, math.inf)
        # Watched first, then its layout read: an X server that does not
        # answer the opening holds this join, never the loop (screens.py).
        self.watch(self.monitor)
        monitors = await self.host.hub.layout(self.monitor)
        if VIEW not in self.level:  # the host's user took it back meanwhile (revoke_joining)
            if self.recording is not None:  # the log says why (tail39b: it did not)
                self.recording.put("answer_why", ("taken", hello.level, VIEW_TAKEN_BACK))
            await self.send(m.PermissionDeny(hello.level))
            await self.send(m.Bye(STOPPED_SHARING))
            return STOPPED_SHARING
        grant = m.PermissionGrant(self.level.bits)
        if CONTROL not in self.level and self.recording is not None:  # the log says why
            self.recording.put("answer_why", ("grant", grant.level, _no_control(
                Permission(hello.level).known, why, level, resumed is not None)))
        self._granted = True  # a revoke from now on is told to the viewer (revoke_joining)
        await self.send(grant)
        if why is not None:  # why the grant lacks CONTROL: after it, before the monitors
            await self.send(m.Notice(m.Notice.CONTROL_UNAVAILABLE, why))
        await self.send(m.MonitorList(monitors, self.monitor))
        # Chat's hello, and the lines kept from a link lost, before any other
        # line and before the first update (.chat).
        self.chats.bind(self, self.send, self.host.emit, self.peer)
        await self.chats.attach(self, resumed=resumed is not None,
                                first=None if resumed is None else self._chat_resumed)  # fmt: skip
        self._chat_numbering()
        if resumed is not None:  # before SharingChanged: a UI names the agent from it
            away = 0.0 if resumed.lost_at is None else time.monotonic() - resumed.lost_at
            self.host.emit(SessionResumed(self.peer, self.who, self.level, round(away, 1),
                                          resumed.peer))  # fmt: skip
        self.host.joined(self)
        await self._issue_ticket()
        await self.clip.hello()
        if self.capabilities.flags & m.Capabilities.FILE_NOTICES \
                and not self.host.files_for(self).takes_files:
            # Up front, before any offer: none is asked about (files41).
            await self.send(m.Notice(m.Notice.TAKES_NO_FILES, TAKES_NO_FILES))
        if self.gate.untold is not None:
            # Its keys were let go of as its last link went silent, and it was
            # not heard from after: told now (input44), once (kept as above).
            await self.send(m.Notice(m.Notice.HELD_RELEASED, self.gate.untold[0]))
        self._showing = (self._start(self.stream.run()), self._start(self.pointer.run()))
        self.spawn(self._stats_loop())
        self.spawn(let_go_when_silent(self))
        return await self._recv_loop()

    async def say_asking(self, text: str) -> bool:
        """The host's user writes ``text`` to this agent while their first
        request is asked about (say38): the agent proved the session code
        and password (the channel's handshake), and a chat line shows them
        no pixel and grants nothing. Sent, as a plain :class:`~.messages.Chat`
        outside :attr:`chats` (no number, no acknowledgement: chat delivery
        begins with the grant), only to a viewer that reads chat before the
        answer (Capabilities EARLY_CHAT), at most
        :data:`~.chat.MAX_EARLY_CHAT` lines; the recording logs it as chat
        before the grant (recording/audit.py). True if it went. The agent
        cannot answer before the grant: what it sends meanwhile waits for
        the answer (chat included) and is dropped if refused."""
        if (not self.first_open or self.let_in or self._granted or self.channel.closed
                or not self.capabilities.flags & m.Capabilities.EARLY_CHAT
                or self._early_said >= MAX_EARLY_CHAT):  # fmt: skip
            return False
        self._early_said += 1
        try:
            # Written before this coroutine first yields (the channel's send
            # writes the record, then waits for the peer to read): the
            # question cannot be answered between the check and the write.
            await self.send(m.Chat(text))
        except (ScreencodecError, OSError):
            return False
        return True

    async def _claim(self) -> Resumable | None:
        """The session the viewer's ticket resumes, if any; not one whose
        time limit (from its first start) is over: that is a new session,
        asked about. A link that took the session up with this ticket, live
        and its viewer not yet shown the next one, is waited for (.resume)."""
        if self._ticket is None:
            return None
        settling = self.host.tickets.settling(self._ticket)
        # Or the live link holding the session this ticket is the current
        # one of (the agent's link died, not yet noticed; or a copy: review38).
        live = settling if settling is not None else self.host.tickets.holding(self._ticket)
        proven = None
        if isinstance(live, ViewerLink):
            if self._proves(live):
                proven = live
            else:
                await self._settle(live, shown=live is settling)
            if self._next is not None and self._next.done() and self._next.exception() is not None:
                await self._next  # its end (the receive loop reads what came)
        # A parked session: only with a proof made with a key kept with its
        # ticket (its agent's); a copy is asked about, the session left
        # parked for its agent (parked38).
        ticket, proof = self._ticket, self._proof

        def proves(key: bytearray) -> bool:
            return verifies_with(proof, ticket, key, self.channel)

        resumed = self.host.tickets.claim(ticket, self, self.peer, proven=proven,
                                          proves=proves, key=link_key(self.channel))  # fmt: skip
        limit = self.host.config.max_duration
        if resumed is None or limit is None or time.monotonic() < resumed.started + limit:
            self.claimed = resumed
            return resumed
        # Its ticket is spent and nothing takes it up: that session is over
        # (its kept lines told not delivered, its recording ends, saying
        # so), had the host not ended it at the limit yet (Host: a moment's lag).
        end_away(resumed.chat, {"type": "bye", "from": "host", "reason": MAX_DURATION},
                 MAX_DURATION)  # fmt: skip
        return None

    def withhold(self, level: Permission) -> None:
        """The host's user took ``level`` back from this session while this
        link takes it over from a live link that is ending (Host.revoke):
        neither that link, once it ended, nor this one, not yet holding
        what that link held, was reached, and the new link went on with it
        (review38). Taken from what the old link held as it ended
        (:meth:`_resume`)."""
        self._withheld = self._withheld | level

    def withhold_answered(self, level: Permission) -> None:
        """The host's user took ``level`` back after their yes to this link's
        first request, before the link was let in (:attr:`said_yes`): the
        answer, not at the link yet, goes on without it (Host.revoke;
        review39d: found reaching nothing, the agent let in with it)."""
        self._taken_after_yes = self._taken_after_yes | level

    def _after_yes(self, answer: Permission) -> Permission:
        """The first answer less what was taken back since the yes; the
        recording logs it as revoke_joining does (the agent is not told)."""
        taken = answer.taking(self._taken_after_yes)
        if not taken:
            return answer
        left = answer - taken
        if self.recording is not None:
            self.recording.put("away", {"type": "revoke", "level": str(taken),
                                        "remaining": str(left), "by": "host"})  # fmt: skip
        return left

    def _proves(self, settling: ViewerLink) -> bool:
        """Whether this viewer proved it holds the key of ``settling``, the
        live link that took the session up with the ticket it presents
        (.proof), or the one holding the session this ticket is the current
        one of: then it is that link's agent (a copy of the ticket cannot
        make the proof, nor can a replay: it binds this connection), and
        takes the session over from it at once, unasked, whatever that link
        shows (resume38). A link still joining holds no levels yet, and its
        agent no key of it: never."""
        return settling._granted and self._ticket is not None and verifies(
            self._proof, self._ticket, settling.channel, self.channel)

    async def _settle(self, settling: ViewerLink, *, shown: bool = True) -> None:
        """Wait (:data:`_SETTLE_WAIT` at most) for ``settling``, the live link
        that holds the session of the ticket this viewer presents, to end,
        or (``shown``: it took the session up with that ticket) to show its
        viewer holds the next one, or for this link to end (a presenter
        without that link's proof: .resume)."""
        if self._next is None:  # this link ending meanwhile ends the wait too
            self._next = asyncio.ensure_future(self.channel.recv())
        events = (settling.ticket_shown, settling.finished) if shown else (settling.finished,)
        waits: set[asyncio.Future[Any]] = {asyncio.ensure_future(e.wait()) for e in events}
        try:
            await asyncio.wait([*waits, self._next], timeout=_SETTLE_WAIT,
                               return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        finally:
            for waiting in waits:
                waiting.cancel()

    async def _ask_first(self, asked: Permission, bits: int) -> Permission | str:
        """The local user's answer to the first request: the levels granted,
        or why the session ends (the viewer has been told)."""
        request = ConsentRequest(self.who, self.peer, asked)
        queue = questions_for(self.host)
        if not queue.reserve(self):  # cannot happen for a first question; fail closed
            await self.send(m.PermissionDeny(bits))
            return CONSENT_DENIED
        consent = self.host.consent

        def put(question: ConsentRequest) -> Any:  # in its turn: the user is asked
            self.asked_first = self.first_open = True
            asking = consent(question)
            return self._answered(asking) if inspect.isawaitable(asking) else asking

        try:
            answer = await self._first_answer(ask_permission(
                queue, self, put, request, self.host.config.consent_timeout,
                gone=self.question_gone))  # fmt: skip
        finally:
            self.first_open = False  # answered, or the session ends: no more early chat
        # Not let in: nobody waits for this one to join (Host.joining, review39a).
        self.refused_first = isinstance(answer, str) or VIEW not in answer.value.level
        if isinstance(answer, str):
            return answer
        grant = answer.value
        if VIEW not in grant.level:
            await self.send(m.PermissionDeny(bits))
            if answer.outcome == "failed":  # the host program's fault: said as such
                await self.send(m.Bye(CALLBACK_FAILED))
                return f"{CONSENT_DENIED}: {answer.why or 'the consent callback failed'}"
            if answer.timed_out:
                await self.send(m.Bye("the local user did not answer in time"))
                return f"{CONSENT_DENIED}: no answer in time"
            await self.send(m.Bye("the local user declined"))
            return CONSENT_DENIED
        return grant.level

    def question_gone(self) -> str | None:
        """Why this link no longer waits for its question's answer (the
        agent left, its link lost, or took the session to a new connection),
        or None: the question's closing line says it, and an answer after it
        grants nothing (consent.GONE). Not when this host ended it (its
        user's /end says so itself)."""
        if self.moved:
            # Host.take_over (resume.MOVED). ask42: the old link's question
            # closed "without an answer: no.", and a yes read in the steps
            # before its close began (channel.closed still False) could
            # count for it, the new link taking up its levels.
            return AGENT_MOVED
        if self.leaving is not None or self.ended_here is not None:
            return self.leaving
        return LINK_LOST if self.channel.closed else None

    async def _answered(self, asking: Awaitable[Any]) -> Any:
        """The consent callback's answer; no more chat before the grant from
        the step it returns in (the one the host's terminal shows the answer
        in): a line typed at the answer goes after the grant, as its reply
        comes after the answer (words39: it went early, told after the yes
        as if the agent were still asking)."""
        answer = None
        try:
            answer = await asking
            return answer
        finally:
            self.first_open = False
            # In this step, not the link's next one: a /say waits for nobody refused.
            self.refused_first = not (isinstance(answer, Grant) and VIEW in answer.level)
            self.said_yes = not self.refused_first  # Host.revoke reaches it from now

    async def _resume(self, resumed: Resumable, asked: Permission) -> Permission | None:
        """Go on with a session whose ticket this viewer presented: the
        levels it held (no more than asked), the monitor it watched, the name
        the local user agreed to, the levels the user refused lately, and the
        time limit of its first start. A session still holding the ticket is
        ended first, and what it held when it ended is what goes on (.resume);
        None if that no longer includes VIEW (the user stopped it meanwhile)
        or the viewer had said bye there (its Bye read while the host was
        still ending it: not a lost link)."""
        if resumed.holder is not None:
            held = await self.host.take_over(resumed.holder)
            if held is None:  # it had said bye: that session is over
                return None
            resumed.level, resumed.monitor = held
            taken = resumed.level.taking(self._withheld)
            if taken:  # taken back by the host's user while the old link ended
                resumed.level = resumed.level - taken
                if self.recording is not None:
                    self.recording.put("away", {
                        "type": "revoke", "level": str(taken),
                        "remaining": str(resumed.level), "by": "host"})  # fmt: skip
        if VIEW not in resumed.level:
            return None
        if isinstance(resumed.refusals, UnaskedRefusals):
            self.refusals = resumed.refusals
        if isinstance(resumed.chat, ChatLedger):
            self.chats = resumed.chat
            self.chats.taken_up()  # the lost link's recording ends (session/host.py)
        self.who, self.started, self.resumed = resumed.who, resumed.started, resumed
        if any(mon.index == resumed.monitor for mon in self.host.hub.monitors(self.monitor)):
            self.monitor = resumed.monitor
        level = (resumed.level & asked) | VIEW
        if self.recording is not None:
            # first_peer: the session's name on its first link, the one the
            # host's user was asked about: a part listed without its first
            # part (pruned) still names the agent as the others (names52).
            earlier = self.earlier
            self.recording.put("consent", {
                "type": "consent", "who": self.who, "peer": self.peer, "asked": str(asked),
                "upgrade": False, "answer": str(level), "resumed": True,
                "first_peer": earlier[0] if earlier else self.peer,
            })  # fmt: skip
        limit = self.host.config.max_duration
        if limit is not None:
            self.spawn(self._end_at(self.started + limit))
        return level

    def _chat_resumed(self) -> None:
        """Tell the recording of this resumed link, right before the chat's
        hello goes (ChatLedger.attach: no line is given meanwhile), which of
        the host's lines went on the links before (logged in their
        recordings: those sent again here are not logged twice) and which
        never went (typed while the agent was away, or as the session was
        being taken up, or cut off with the link): they go first here,
        logged with when they were typed (recording/audit.py). Before
        auditleft it was told at the ticket's claim, so a line given while
        the session was being taken up (kept for this link since review33)
        was logged without ``typed`` and ``resent``."""
        if self.recording is not None:
            self.recording.put("chat_written", self.chats.written)
            self.recording.put("chat_held", self.chats.held())

    def _chat_numbering(self) -> None:
        """Tell the recording how the host numbers the viewer's chat lines
        from here on (before the next message from the viewer is recorded:
        the receive loop takes one at a time), so that its audit log marks
        a line the host drops as one it had, never shown (recording/audit.py)."""
        if self.recording is not None:
            self.recording.put("chat_numbering", self.chats.numbering)

    async def _end_at(self, deadline: float) -> None:
        """A resumed session's time limit counts from its first start."""
        await asyncio.sleep(max(0.0, deadline - time.monotonic()))
        self.ended_here = MAX_DURATION
        # As Host.disconnect: the Bye at once, ahead of sends still waiting,
        # and a close that waits while the viewer reads (channel/sealed.py).
        with contextlib.suppress(ScreencodecError, OSError):
            await close_with(self.channel, m.encode(m.Bye(MAX_DURATION)), reason=MAX_DURATION)
        await self.channel.close(MAX_DURATION)

    async def _issue_ticket(self) -> None:
        """Give the viewer a new ticket of this session (.resume); none when
        resuming is off."""
        ticket = self.host.tickets.issue(self, self.who, self.level, self.monitor, self.started,
                                         peer=self.peer, refusals=self.refusals,
                                         chat=self.chats, was=self.earlier,
                                         key=link_key(self.channel))  # fmt: skip
        if ticket is not None:
            # A silent link of a viewer that keeps it warm is given up on
            # sooner now (Timeouts.cold): the session parks for its retry.
            mark = getattr(self.channel, "mark_resumable", None)
            if mark is not None:
                mark()
            # Until the viewer answers an update (sent after this), the
            # ticket it resumed with stays this session's (.resume).
            self._unshown = self.resumed is not None
            await self.send(m.Extension(RESUME_CHANNEL, ticket))
            await self.send(m.Extension(KEPT_CHANNEL, OFFER))  # .kept
            await self.send(m.Extension(PROOF_CHANNEL, PROOF_OFFER))  # .proof

    async def _first_answer(self, asking: Any) -> Answer[Grant] | str:
        """Wait for the first question's answer while reading the viewer:
        returns the answer, or why the session ended before it (the question
        is withdrawn)."""
        task = asyncio.ensure_future(asking)
        try:
            while True:
                if self._next is None:
                    self._next = asyncio.ensure_future(self.channel.recv())
                await asyncio.wait({task, self._next}, return_when=asyncio.FIRST_COMPLETED)
                if task.done():
                    answer = task.result()
                    if not isinstance(answer, Answer) or answer.outcome != GONE:
                        return answer  # type: ignore[no-any-return]
                    # The yes came as the link went (dropped; the audit
                    # log says so: Recorder.wrap_consent): its end, read
                    # next, is the session's.
                    task = asyncio.get_running_loop().create_future()
                    continue
                data, self._next = self._next.result(), None
                msg = m.decode(data)
                if isinstance(msg, m.Bye):
                    # Said by its question as it closes: the agent left, or
                    # its viewer program was stopped (words52).
                    self.leaving = agent_gone(msg.reason)
                    return _bye_reason(msg)
                if isinstance(msg, _INPUT):
                    self.gate.dropped_early += 1  # before any grant: never injected
                    self.gate.count(msg)  # told with the next count (input_gate)
                elif len(self._early) >= _MAX_EARLY:
                    raise ProtocolError("too many messages before the local user answered")
                else:
                    self._early.append(msg)
        finally:
            if not task.done() and self.ended_by_own is not None:
                # The question's own callback ended the session: its await
                # returns, and the session ends once it has returned.
                await asyncio.wait({task}, timeout=OWN_END_WAIT)
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    async def _hello(self) -> m.PermissionRequest:
        """The viewer's opening: its Capabilities (optional), then its request."""
        hello = m.decode(await self.channel.recv())
        if isinstance(hello, m.Capabilities):
            self.capabilities = hello
            hello = m.decode(await self.channel.recv())
        if isinstance(hello, m.Extension) and hello.channel == RESUME_CHANNEL:
            if len(hello.payload) != TICKET_SIZE:
                raise ProtocolError(f"a resume ticket of {len(hello.payload)} bytes")
            self._ticket = hello.payload
            hello = m.decode(await self.channel.recv())
            if isinstance(hello, m.Extension) and hello.channel == PROOF_CHANNEL:
                if len(hello.payload) != PROOF_SIZE:
                    raise ProtocolError(f"a resume proof of {len(hello.payload)} bytes")
                self._proof = hello.payload
                hello = m.decode(await self.channel.recv())
            if isinstance(hello, m.Extension) and hello.channel == KEPT_CHANNEL:
                self._kept = KeptPicture.parse(hello.payload)
                hello = m.decode(await self.channel.recv())
        if not isinstance(hello, m.PermissionRequest):
            raise ProtocolError(f"expected a permission request, got {type(hello).__name__}")
        # Nothing is encoded before the grant: the encoder is opened with this.
        self.stream.choice = choose_encoder(self.capabilities, self.host.encoder_factory)
        self.stream.compact = bool(self.capabilities.flags & m.Capabilities.COMPACT)
        self.stream.compact_refs = bool(self.capabilities.flags & m.Capabilities.COMPACT_RECTS)
        return hello

    async def cleanup(self) -> None:
        """Release everything, even if cancelled while doing so (host shutdown)."""
        # The session is over: close first, so the viewer, whose close lingers
        # until ours, is not kept waiting while the encoder winds down.
        closing = asyncio.ensure_future(self.channel.close())
        if self._next is not None:
            self._next.cancel()
        own = self.ended_by_own
        if own is not None and not own.done() and own is not asyncio.current_task():
            # Code of this session's own (an upgrade's or a file's consent
            # callback) ended it: it returns from its await before the rest
            # is cancelled (endleft35: found cancelled in it).
            await asyncio.wait({own}, timeout=OWN_END_WAIT)
        for task in list(self._tasks):
            task.cancel()
        try:
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            # In a worker thread: it waits for an encode still running there (a
            # cancelled send loop cannot stop its thread) and completes even if
            # this coroutine is cancelled meanwhile.
            await asyncio.to_thread(self.stream.shutdown_encoder)
        finally:
            if CONTROL in self.level:
                self.host.release_input_of(self)
            if self._watching is not None:
                self.host.hub.release(self._watching)
                self._watching = None
            files = self.host.files_for(self)
            files.close()
            await closing
            await files.settle()  # the files whole before the end: saved (or not) and told

    def watch(self, index: int) -> None:
        """Show monitor ``index`` from now on (acquire it before releasing the old)."""
        self.host.hub.acquire(index)
        if self._watching is not None and self._watching != index:
            self.pointer.reset()  # other coordinates: send the pointer afresh
        if self._watching is not None:
            self.host.hub.release(self._watching)
        self._watching = index
        self.monitor = index

    async def _recv_loop(self) -> str:
        early, self._early = self._early, []
        self.clip.replaying = True  # sent before the grant: its clipboard text is refused
        for msg in early:
            await self._dispatch(msg)
        self.clip.replaying = False
        while True:
            if self.failure is not None:
                raise self.failure
            try:
                if self._next is not None:
                    data = await self._next
                    self._next = None
                else:
                    data = await self.channel.recv()
            except SessionClosedError:
                if self.failure is not None:
                    raise self.failure from None
                raise
            msg = m.decode(data)
            if isinstance(msg, m.Bye):
                self.said_bye = True
                return _bye_reason(msg)
            await self._dispatch(msg)
            self._fresh = False

    async def _dispatch(self, msg: m.Message) -> None:
        if isinstance(msg, m.Receipt | m.CompactReceipt | m.Ack):
            self.gate.receipt()
            if self.gate.untold is not None and self.gate.untold[1] == math.inf:
                self.gate.untold = None  # read: the update came after the words
            if self._unshown:  # the viewer read the new ticket before that update
                self._unshown = False
                self.host.tickets.shown(self)
                self.ticket_shown.set()
            if self.chats.peer_acks is None:  # no chat hello before it: an older viewer
                await self.chats.peer_is_old()
        if isinstance(msg, m.Receipt | m.CompactReceipt):
            if isinstance(msg, m.CompactReceipt):
                # A viewer may send one only after a compact delta (compact.py).
                if not self.stream.compact_sent:
                    raise ProtocolError("a compact receipt, and no compact update was sent")
                self.compact_receipts += 1
            receipt = self._receipts.take(msg)  # rebuilt in full before flow control
            span = None if receipt.span_us == m.Receipt.NO_SPAN else receipt.span_us / 1e6
            self.stream.on_receipt(receipt.seq, receipt.arrived_us / 1e6,
                                   receipt.held_us / 1e6, span)  # fmt: skip
        elif isinstance(msg, m.Ack):
            self.stream.on_receipt(msg.seq)
        elif isinstance(msg, m.KeyframeRequest):
            self.stream.request_keyframe()
            if not self._fresh:  # a join request: the new cursor encoder has sent all
                self.pointer.reset()
        elif isinstance(msg, m.PointerMove | m.Button | m.Wheel | m.Key):
            if isinstance(msg, m.Key) and msg.down:
                await self.clip.settled()  # its clipboard text first (the page's Ctrl+V)
            await self.gate.handle(msg)
        elif isinstance(msg, m.PermissionRequest):
            await self._on_request(Permission(msg.level))
        elif isinstance(msg, m.PermissionRevoke):
            # The agent gives levels back ("Give back control"): taken back
            # as if the local user had, so their screen shows it; VIEW is
            # kept (leaving is Bye). Asking again asks the user again.
            await self.revoke((Permission(msg.revoked) & self.level) - VIEW)
        elif isinstance(msg, m.SelectMonitor):
            monitors = self.host.hub.monitors(self.monitor)
            if any(mon.index == msg.index for mon in monitors):
                self.stream.switch_to = msg.index
            else:
                await self.send(m.Notice(m.Notice.UNKNOWN_MONITOR, f"no monitor {msg.index}"))
        elif isinstance(msg, m.Chat):
            if self.chats.take():  # not one had already (sent again after a resume)
                self.host.emit(ChatReceived(self.peer, safe_text(msg.text, 1000)))
            await self.chats.acknowledge()
        elif isinstance(msg, m.Extension) and msg.channel == CHAT_CHANNEL:
            await self.chats.on_channel(msg.payload, answer=False)
            self._chat_numbering()  # the viewer's hello may have set it
        elif isinstance(msg, m.FileOffer):
            await self._on_file_offer(msg)
        elif isinstance(msg, m.FileChunk):
            # Written on the receiver's disk thread, in order: a disk that
            # stops answering holds no input or chat (FileReceiver.chunk).
            await self.host.files_for(self).chunk(msg, self.send)
        elif isinstance(msg, m.FileEnd):
            # Checked here; saved (fsync, link) on the receiver's disk thread
            # while this loop reads on: a slow disk holds no input or receipt.
            self.spawn(self.host.files_for(self).end(msg, self.peer, self.send))
        elif isinstance(msg, m.FileAccept):
            self.host.sender_for(self).on_accept(msg)
        elif isinstance(msg, m.FileResult) and self.host.sender_for(self).peer_reports:
            self.host.sender_for(self).on_result(msg)
        elif isinstance(msg, m.Extension) and msg.channel == FILE_RESULTS_CHANNEL:
            file_channel(self.host.files_for(self), self.host.sender_for(self), msg.payload)
        elif isinstance(msg, m.Extension) and msg.channel == CLIPBOARD_CHANNEL:
            await self.clip.on_channel(msg.payload)
        elif isinstance(msg, m.Extension):
            handler = self.host.extensions.get(msg.channel)
            if handler is not None:
                reply = await handler(self.peer, msg.payload)
                if reply is not None:
                    await self.send(m.Extension(msg.channel, reply))
        else:
            raise ProtocolError(f"a viewer may not send {type(msg).__name__}")

    def snapshot(self) -> LinkStats:
        meter = self.stream.meter
        fps, kbps = meter.rates()
        quality = self.stream.quality
        return LinkStats(
            peer=self.peer,
            fps=fps,
            kbps=kbps,
            rtt_ms=(self.flow.srtt or 0.0) * 1000,
            in_flight=self.flow.in_flight,
            sent=meter.sent,
            skipped=self.flow.skipped,
            input_dropped=(self.gate.dropped + self.gate.dropped_local + self.gate.dropped_early
                           + self.gate.dropped_before_grant),
            input_ignored=tuple(self.gate.ignored),
            bytes_sent=meter.bytes_sent,
            link_kbps=self.flow.rate * 8 / 1000,
            target_kbps=self.flow.target_rate() * 8 / 1000,
            queue_ms=self.flow.queue_delay * 1000,
            lossy_pixels=int(quality.get("lossy_area", 0)),
            psnr=quality.get("psnr"),
        )

    async def _stats_loop(self) -> None:
        """A StatsUpdated event every period; a Stats message when the viewer
        has something new to show (:class:`~.stats.StatsGate`)."""
        gate = StatsGate()
        while True:
            await asyncio.sleep(self.host.config.stats_period)
            snap = self.snapshot()
            self.host.emit(StatsUpdated(snap))
            if not gate.due(snap):
                continue
            await self.send(
                m.Stats(
                    int(snap.fps * 1000), int(snap.kbps), int(snap.rtt_ms * 1000),
                    snap.skipped & 0xFFFFFFFF, snap.sent & 0xFFFFFFFF,
                )
            )  # fmt: skip


def _bye_reason(msg: m.Bye) -> str:
    return f"viewer said bye: {safe_text(msg.reason)}" if msg.reason else "viewer said bye"


#: The audit log's ``why`` of the deny sent when the host's user took VIEW
#: back while the agent was joining (after the yes, before the grant).
VIEW_TAKEN_BACK = "the host's user took view back before the grant"


def _no_control(wanted: Permission, unavailable: str | None, answered: Permission,
                resumed: bool) -> str:  # fmt: skip
    """Why a first grant holds no CONTROL, for the audit log, from this
    host's own facts (words39: the row said nothing): what the request
    asked (its bits, never its text), this host's reason it cannot give
    control (its own words, also the embedder's ``control_unavailable``),
    the answer, and whether the session was taken up again."""
    if CONTROL not in wanted:
        return "the agent asked only to view"
    if unavailable is not None:
        return unavailable
    if CONTROL in answered:  # the /view of revoke_joining, after the yes
        return "the host's user took control back before the grant"
    if resumed:
        return "the session it took up held no control"
    return "the host's user let them view only"
