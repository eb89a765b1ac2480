"""The host: the person who needs help shares their screen with one or more viewers.

Usage::

    async with Host(source_factory, consent=my_dialog, injector=XTestInjector()) as host:
        listener = await listen_direct("0.0.0.0", 0, creds, host.serve)
        async for ev in host.events(): ...      # SharingChanged, StatsUpdated, ...

``serve`` is called once per authenticated channel (from ``listen_direct`` or
the relay) and may run for several viewers at once; each gets its own
encoder, flow control and consent. What the sessions share (the capture hub,
the injector, the local-input clock, the events) lives in a
:class:`~.runtime.HostRuntime` that the application never touches.
Everything runs on one event loop; there is no locking beyond that.

This file holds :class:`Host`'s making and ``serve``; how it ends sessions
and itself (``revoke``, ``disconnect``, ``close``) is in :mod:`.host_ending`,
what its user and the viewers send each other (extension messages, chat,
files) in :mod:`.host_exchange`: Host's mixins.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from screencodec.capture.base import FrameSource
from screencodec.errors import CaptureError, ProtocolError, ScreencodecError, SessionClosedError
from screencodec.transport.aio import wait_for
from screencodec.transport.channel.base import Channel, close_with
from screencodec.transport.channel.display import safe_text
from screencodec.transport.input.base import LOCAL_DEVICES, InputInjector
from screencodec.transport.session import messages as m
from screencodec.transport.session.away import LinkRecording
from screencodec.transport.session.clipboard import ClipboardLike
from screencodec.transport.session.config import HostConfig
from screencodec.transport.session.consent import (
    ConsentCallback,
    check_consent,
    questions_for,
)
from screencodec.transport.session.endreasons import (
    CONSENT_DENIED,
    LET_IN_TO_NOTHING,
    LINK_LOST,
    agent_gone,
    not_asked,
    unanswered,
)
from screencodec.transport.session.events import (
    PasswordGuessed,
    RelayChanged,
    SessionEnded,
    Subscription,
)
from screencodec.transport.session.held_silence import untold
from screencodec.transport.session.host_clipboard import HostClipboard
from screencodec.transport.session.host_ending import CLEANUP_WAIT, HostEnding, _quiet
from screencodec.transport.session.host_exchange import HostExchange
from screencodec.transport.session.link import (
    MAX_DURATION,
    SCREEN_GONE,
    ViewerLink,
)
from screencodec.transport.session.owncode import enter_session, leave_session
from screencodec.transport.session.permissions import ConsentRequest
from screencodec.transport.session.refusal import HOST_FAILED, failed_bye
from screencodec.transport.session.runtime import HostRuntime
from screencodec.transport.session.screens import SourceFactory
from screencodec.transport.session.services import EncoderFactory, RecorderLike
from screencodec.transport.session.sidechannels import FileConsent
from screencodec.transport.session.stats import LinkStats

if TYPE_CHECKING:
    from screencodec.transport.channel.codes import SessionCredentials
    from screencodec.transport.connect.registration import RelayRegistration, RelayStatus

__all__ = ["CLEANUP_WAIT", "Host"]

_log = logging.getLogger(__name__)


class Host(HostEnding, HostExchange, HostClipboard):
    """Shares one screen (or a set of monitors) with consenting viewers.

    ``source`` is one :class:`~screencodec.capture.FrameSource` (monitor 1
    only) or a factory ``index -> FrameSource`` for monitor switching.
    ``consent`` asks the local user whether a viewer may see or control the
    screen; nothing is captured for a viewer before it answers yes.
    ``injector`` carries granted remote input to the desktop. Without one the
    host cannot be controlled: CONTROL is refused without asking the local
    user, and a viewer that asks is told why (a ``Notice``, see
    :mod:`.refusal`). ``control_unavailable`` does the same with an injector (a
    host that shares for viewing only) and is what viewers are told (at most
    1024 bytes of UTF-8).
    ``on_unavailable(request, reason)`` is called when such a request is
    refused (``request.level`` is what was refused), a few times per viewer at
    most: the interface tells its user in one line.
    ``file_consent`` asks about each file a viewer sends (None: files refused).
    ``encoder_factory`` overrides the per-viewer encoder choice.
    ``recorder`` (:class:`screencodec.recording.Recorder`) records each viewer
    session and its audit log; the consent question then says so.
    ``clipboard`` (a :class:`~.clipboard.ClipboardLike`) is the host's
    clipboard: an agent holding CONTROL puts text on it, and the user sends
    it (:meth:`send_clipboard`, sync: .clipboard_host); None: neither.
    ``on_queued(question)`` is called when a question (a
    :class:`ConsentRequest` or a :class:`FileOfferInfo`, its names
    sanitised already) must wait for the one the user is being asked: the
    interface tells its user someone else waits (``TerminalQuestions.queued``).

    Use it as an async context manager, or call :meth:`close` at the end.
    All methods run on the event loop the host was created on.
    """

    def __init__(
        self,
        source: FrameSource | SourceFactory,
        *,
        consent: ConsentCallback,
        injector: InputInjector | None = None,
        config: HostConfig | None = None,
        file_consent: FileConsent | None = None,
        encoder_factory: EncoderFactory | None = None,
        recorder: RecorderLike | None = None,
        control_unavailable: str | None = None,
        on_unavailable: Callable[[ConsentRequest, str], None] | None = None,
        clipboard: ClipboardLike | None = None,
        on_queued: Callable[[object], None] | None = None,
    ) -> None:
        check_consent(consent)  # consent=allow for allow(): every agent refused unasked
        if control_unavailable is not None and (
                "\0" in control_unavailable or len(control_unavailable.encode()) > 1024):
            raise ValueError("control_unavailable: at most 1024 bytes of UTF-8, no NUL")
        self._recorder = recorder
        self._runtime = HostRuntime(
            source,
            consent=consent if recorder is None else recorder.wrap_consent(consent),
            injector=injector,
            config=config or HostConfig(),
            file_consent=file_consent,
            encoder_factory=encoder_factory,
        )
        self._runtime.clipboard = clipboard
        queue = questions_for(self._runtime)
        queue.control_unavailable = control_unavailable
        queue.on_unavailable = on_unavailable
        queue.on_queued = on_queued
        self._all_ended = asyncio.Event()  # set whenever no session is running
        self._all_ended.set()
        self._protocol_errors = 0
        #: The time limits of sessions whose agent is away, when they come
        #: before the ticket's window ends (:meth:`_limit_away`).
        self._limits: set[asyncio.TimerHandle] = set()
        #: When parked tickets' windows end (:meth:`_prune_after`).
        self._prunes: set[asyncio.TimerHandle] = set()
        #: close() from a session's own code: the release waits for its end.
        self._releasing: asyncio.Task[None] | None = None
        #: The release itself, once begun: every close returns after it.
        self._released: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Host:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def config(self) -> HostConfig:
        return self._runtime.config

    @property
    def injector(self) -> InputInjector | None:
        return self._runtime.injector

    @property
    def can_control(self) -> bool:
        """Whether a viewer may be granted CONTROL (an injector, and no
        ``control_unavailable``)."""
        policy = questions_for(self._runtime).control_unavailable
        return self.injector is not None and policy is None

    @property
    def protocol_errors(self) -> int:
        """Sessions ended because a viewer broke the protocol."""
        return self._protocol_errors

    def events(self) -> Subscription:
        """An async iterator of :mod:`.events` from now on."""
        return self._runtime.events_hub.subscribe()

    @property
    def viewers(self) -> tuple[str, ...]:
        """Peers the screen is shared with right now."""
        return self._runtime.viewers

    def heard(self) -> dict[str, tuple[float | None, bool]]:
        """Each viewer's ``(since, keeps_warm)``: since when this host has
        waited for a byte of it (the event loop's clock: its link's last
        byte, or the start of a read that came later), None while the host
        is not reading it (busy with what it received: a file's chunks
        waiting for a disk that does not answer hold its receive loop, and
        TCP holds the viewer; silent39, review38b: that wait was told as
        the agent's silence), and whether its viewer sends at least every
        few seconds (channel/sealed.py); viewers whose channel tells neither
        (in memory) are left out."""
        heard: dict[str, tuple[float | None, bool]] = {}
        for link in self._runtime.links:
            channel = link.channel
            last = getattr(channel, "last_heard", None)
            if isinstance(last, (int, float)) and not getattr(channel, "closed", False):
                since = getattr(channel, "waiting_since", last)
                since = float(since) if isinstance(since, (int, float)) else None
                heard[link.peer] = (since, bool(getattr(channel, "keeps_warm", False)))
        return heard

    async def serve(self, channel: Channel) -> str:
        """Run one viewer's session to its end; returns why it ended.

        Never raises (only cancellation propagates): whatever ends the session,
        a viewer's protocol error, its vanishing or a failure on our side, the
        channel is closed, the reason is returned and other viewers carry on.
        """
        runtime = self._runtime
        link = ViewerLink(runtime, channel)
        # Peer names identify viewers in events and in revoke(peer=...): make them
        # unique (two agents behind one NAT look alike through a relay).
        # Nor a name that still names a session (a link's before a take-over,
        # a lost one's): disconnect(peer) by it would end both (takeover36).
        taken = {n for x in runtime.serving for n in (x.peer, *x.earlier)}
        taken |= runtime.tickets.names()
        base, n = link.peer, 1
        while link.peer in taken:
            n += 1
            link.peer = f"{base} #{n}"
        recording = None
        if self._recorder is not None:
            recording, link.channel = self._recorder.open_session(link.peer, channel)
            link.recording = recording
        link.serve_task = asyncio.current_task()
        # What disconnect and close called from inside this session (this
        # task, its receive loop's, its consent callbacks') do not wait
        # for; a task that code leaves running is not it (owncode.py).
        here = enter_session(link)
        runtime.serving.add(link)
        self._all_ended.clear()
        reason = "ended"
        lost = False  # the link was lost: the agent may resume (.resume)
        try:
            if self.config.max_duration is not None:
                reason = await wait_for(link.run(), self.config.max_duration)
            else:
                reason = await link.run()
        except asyncio.TimeoutError:
            reason = MAX_DURATION
            # As disconnect: the Bye at once, ahead of a file's next chunk.
            await _quiet(close_with(link.channel, m.encode(m.Bye(reason)), reason=reason))
        except ProtocolError as exc:
            self._protocol_errors += 1
            reason = f"protocol error: {exc}"
        except SessionClosedError as exc:
            closed_here = getattr(link.channel, "closed_here", False)  # our listener closed it
            reason = link.ended_here or (str(exc) if closed_here else f"viewer gone: {exc}")
            lost = link.ended_here is None and bool(getattr(link.channel, "broken", False))
        except CaptureError as exc:  # the viewer was told so in a Bye (ViewerLink)
            reason = f"{SCREEN_GONE} ({safe_text(exc, 200)})"
        except (ScreencodecError, OSError) as exc:
            reason = f"failed: {exc}"
            # HOST_FAILED the close's reason too: a sealed close carries it
            # to the agent (review39b: the error's words, a path, went there).
            await _quiet(close_with(link.channel, *failed_bye(link.capabilities),
                                    reason=HOST_FAILED))  # fmt: skip
        except Exception as exc:
            # A bug on our side (encoder, injector, a handler) ends this viewer's
            # session, not the host: log it loudly and report it as the reason.
            _log.exception("session with %s failed", link.peer)
            reason = f"internal error: {exc!r}"
            await _quiet(close_with(link.channel, *failed_bye(link.capabilities),
                                    reason=HOST_FAILED))  # fmt: skip
        finally:
            if lost:  # its half files' removal is a lost link's, not the session's end
                runtime.link_lost(link)
            if link.leaving is None and link.ended_here is None:
                # What its open question (an upgrade's, a file's) says as
                # the cleanup withdraws it (consent41: it said only "no").
                if reason.startswith("viewer said bye"):  # or its program was stopped (words52)
                    link.leaving = agent_gone(reason.removeprefix("viewer said bye: "))
                elif lost or reason.startswith("viewer gone"):
                    link.leaving = LINK_LOST
            await link.cleanup()
            if lost and link.ended_here is not None:
                # The host's user ended the session (disconnect) while this
                # lost link was cleaning up, before its ticket was parked:
                # _end could not forget it, so it is not parked now (review34:
                # the agent came back and resumed unasked).
                reason, lost = link.ended_here, False
            resumable = window = 0.0
            ended_as, ended_who = link.peer, ""  # what its SessionEnded names
            if link.moved:  # the session goes on over the agent's new connection
                reason = link.ended_here or reason
            elif lost:
                ticket = runtime.tickets.held_by(link)
                resumable = window = runtime.tickets.park(link, link.level, link.monitor,
                                                          untold(link))  # fmt: skip
                if window:
                    # Its kept link secret is zeroed as its window ends, not
                    # at the next look at the tickets (review38b: a host
                    # nobody came back to kept it as long as it ran).
                    self._prune_after(window)
                limit = self.config.max_duration
                if ticket is not None and resumable and limit is not None:
                    # The time limit comes first: it ends the session then.
                    resumable = min(window, max(0.0, link.started + limit - time.monotonic()))
                    if resumable < window:
                        self._limit_away(link, ticket, resumable)
            claimed = link.claimed
            if claimed is not None and not link.moved and link not in runtime.links:
                # Ended after its claim, before it joined (lost: the session
                # away again; or ended by the host's user): named as the
                # host's user knows the session (.resume; takeover36: an end
                # by disconnect named this connection, never shown, and no agent).
                ended_as, ended_who = claimed.peer, claimed.who
            if recording is not None and not link.moved:
                if resumable > 0:  # the agent may come back: when the link went, for audit
                    recording.put("link_lost", {"reason": reason, "resumable": resumable})
                # Nothing of the stream comes any more: what checked it goes
                # now, not when the file ends (review33).
                recording.put("link_over")
                # The file ends once the session's chat is settled: now, or
                # (the link lost, the agent may come back) when the agent does
                # or the session is over. The host's lines that never went are
                # in it (recording/audit.py), those typed while the agent is
                # away too, and what the host's side did meanwhile (.away).
                link.chats.on_over = LinkRecording(recording, _recorded(link, reason),
                                                   time.monotonic())
            # Chat kept for a resume waits as long as the ticket does; else told not delivered.
            if link.moved or link.chats.bound_to(link):
                link.chats.detach(link, keep=link.moved, window=window)
            elif window:
                # A link that took the session up, lost before its chat
                # began there: the session is parked again (.resume).
                link.chats.keep(window)
            else:
                # It ended before its chat began (no ticket given: nothing to
                # resume): the session is over, and its recording ends now. A
                # resumed link's taken from a lost one is settled here too:
                # the ticket it presented is spent (review33).
                link.chats.give_up()
            runtime.tickets.forget(link)  # parked tickets have no holder any more
            was_sharing = runtime.forget(link)
            link.finished.set()
            if not runtime.serving:
                self._all_ended.set()
            if not link.moved:  # the new connection's join says it, or its end
                runtime.tell_sharing()
            runtime.emit(SessionEnded(ended_as, reason, resumable, link.moved,
                                      link.who if was_sharing else ended_who))
            if recording is not None and link.moved:  # else at the chat's end (above)
                recording.end(reason)
            leave_session(here)
        return reason

    def watch_credentials(self, credentials: SessionCredentials) -> None:
        """Tell the local user when a wrong password is tried for ``credentials``:
        a :class:`PasswordGuessed` event per failed check. The password stays
        valid; the session's throttle spaces checks out across all addresses
        (see channel/throttle.py).
        """
        emit = self._runtime.emit

        def guessed(creds: SessionCredentials, source: str) -> None:
            emit(PasswordGuessed(creds.display_code, creds.failed_attempts, safe_text(source),
                                 creds.throttle.next_delay))

        credentials.add_guess_listener(guessed)

    def watch_relay(self, registration: RelayRegistration) -> None:
        """Tell the local user when the session code stops or starts working at
        the relay: a :class:`RelayChanged` event per change (not per retry)."""
        emit = self._runtime.emit

        def changed(status: RelayStatus) -> None:
            emit(RelayChanged(status.reachable, status.relay, status.code, status.error,
                              status.others, status.moved_from))

        registration.add_status_listener(changed)

    def local_input_activity(self, device: str = "input") -> None:
        """The local user used mouse or keyboard: remote input pauses for a
        while. ``device`` ("pointer", "keyboard", or "input" when the caller
        cannot tell) is what a recording's audit log names."""
        if device not in LOCAL_DEVICES:
            raise ValueError(f"device must be one of {sorted(LOCAL_DEVICES)}, not {device!r}")
        self._runtime.local_input_activity()
        if self._recorder is not None:
            self._recorder.local_input(device)

    def stats(self) -> list[LinkStats]:
        """A snapshot per viewer the screen is shared with."""
        return [link.snapshot() for link in self._runtime.links]

    def last_frame(self, monitor: int | None = None) -> npt.NDArray[np.uint8] | None:
        """The newest captured frame of a monitor (None if it is not captured)."""
        return self._runtime.hub.last_frame(self.config.monitor if monitor is None else monitor)


def _recorded(link: ViewerLink, reason: str) -> str:
    """The END reason ``link``'s recording keeps: a session nobody was let in
    to (never granted, neither refused nor let in to nothing, not a resume)
    is marked so, which its own reason does not say: ended while its first
    question was open (:func:`.endreasons.unanswered`), or before that
    question was put to the user (:func:`.endreasons.not_asked`: a protocol
    error or a close before the request, a question still waiting its turn;
    audit38: these read "ended before the user answered" too)."""
    if link.let_in or link.claimed is not None or reason in LET_IN_TO_NOTHING \
            or reason.startswith(CONSENT_DENIED):
        return reason
    return unanswered(reason) if link.asked_first else not_asked(reason)
