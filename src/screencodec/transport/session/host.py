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
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from screencodec.capture.base import FrameSource
from screencodec.errors import CaptureError, ProtocolError, ScreencodecError, SessionClosedError
from screencodec.transport.aio import wait_for
from screencodec.transport.channel.base import Channel, close_with
from screencodec.transport.channel.display import safe_text
from screencodec.transport.channel.sealed import SILENCE
from screencodec.transport.input.base import LOCAL_DEVICES, InputInjector
from screencodec.transport.session import messages as m
from screencodec.transport.session.away import LinkRecording, end_away, kept_recording, log_away
from screencodec.transport.session.chat import MAX_UNACKED, ChatBacklogError, ChatLedger
from screencodec.transport.session.config import HostConfig
from screencodec.transport.session.consent import (
    ConsentCallback,
    check_consent,
    questions_for,
)
from screencodec.transport.session.endreasons import (
    CONSENT_DENIED,
    LET_IN_TO_NOTHING,
    not_asked,
    unanswered,
)
from screencodec.transport.session.events import (
    FileSent,
    PasswordGuessed,
    RelayChanged,
    SessionEnded,
    Subscription,
)
from screencodec.transport.session.link import (
    MAX_DURATION,
    SCREEN_GONE,
    STOPPED_SHARING,
    ViewerLink,
)
from screencodec.transport.session.owncode import enter_session, leave_session, own_session
from screencodec.transport.session.permissions import VIEW, ConsentRequest, Permission
from screencodec.transport.session.resume import Resumable
from screencodec.transport.session.runtime import HostRuntime
from screencodec.transport.session.screens import SourceFactory
from screencodec.transport.session.services import EncoderFactory, RecorderLike, RecordingLike
from screencodec.transport.session.sidechannels import (
    ExtensionHandler,
    FileConsent,
    FileOfferInfo,
    application_channel,
)
from screencodec.transport.session.stats import LinkStats

if TYPE_CHECKING:
    from screencodec.transport.channel.codes import SessionCredentials
    from screencodec.transport.connect.via_relay import RelayRegistration, RelayStatus

__all__ = ["CLEANUP_WAIT", "Host"]

_log = logging.getLogger(__name__)

#: How long :meth:`Host.disconnect` waits, once the channels it ended have
#: closed (CLOSE_CAP at most), for their sessions to finish cleaning up:
#: their tasks and encoder ended, half-received files removed, whole ones
#: saved and told, their recordings ended. On a working machine that takes
#: milliseconds (a second for a file's fsync); a disk that stopped answering
#: must not hold the host's user (``/end``) for good. The cleanup goes on
#: after it; :meth:`Host.close` still waits for files being saved. The same
#: as Host.close's own wait for the sessions.
CLEANUP_WAIT = 5.0

class Host:
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
        queue = questions_for(self._runtime)
        queue.control_unavailable = control_unavailable
        queue.on_unavailable = on_unavailable
        self._all_ended = asyncio.Event()  # set whenever no session is running
        self._all_ended.set()
        self._protocol_errors = 0
        self._rotations: dict[int, asyncio.TimerHandle] = {}  # pending, per credentials
        #: The time limits of sessions whose agent is away, when they come
        #: before the ticket's window ends (:meth:`_limit_away`).
        self._limits: set[asyncio.TimerHandle] = set()
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
        except Exception as exc:
            # A bug on our side (encoder, injector, a handler) ends this viewer's
            # session, not the host: log it loudly and report it as the reason.
            _log.exception("session with %s failed", link.peer)
            reason = f"internal error: {exc!r}"
        finally:
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
                resumable = window = runtime.tickets.park(link, link.level, link.monitor)
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
            emit(RelayChanged(status.reachable, status.relay, status.code, status.error))

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

    async def revoke(self, level: Permission, peer: str | None = None) -> None:
        """Take ``level`` back from one viewer (by peer name: the one its
        link has, or one its session had on an earlier link, as
        :meth:`disconnect`) or all; they are told.
        Revoking VIEW ends that viewer's session. A viewer whose link was
        lost comes back without ``level``; without VIEW not at all: its
        session is over now (its kept chat lines told not delivered, its
        recording ended). Its recording logs it (``away``: the agent was
        not told)."""
        away = [(lost, lost.level.taking(level)) for lost in self._runtime.tickets.parked(peer)]
        self._runtime.tickets.revoke(level, peer)
        for lost, taken in away:
            if not taken:
                continue
            row = {"type": "revoke", "level": str(taken), "remaining": str(lost.level),
                   "by": "host"}  # fmt: skip
            if VIEW in lost.level:
                log_away(lost.chat, row)
            else:
                # Its ticket is dropped: the session is over, as for disconnect
                # (its kept lines told not delivered, its recording ends).
                end_away(lost.chat, row, STOPPED_SHARING)
        for link in list(self._runtime.serving):
            # A lost session being taken up (its ticket claimed, the new link
            # not joined: neither parked nor among the links), as send_chat.
            if link.resumed is not None and link not in self._runtime.links and link.named(peer):
                await _quiet(link.revoke_joining(level))
        for link in list(self._runtime.links):
            if link.named(peer):  # by any name it was shown (takeover36)
                await _quiet(link.revoke(level))

    async def disconnect(self, peer: str | None = None, reason: str = "host ended") -> None:
        """End sessions (also those still waiting for consent); those (of
        ``peer``) whose link was lost may not resume either. ``peer`` names
        a session by any peer name it was shown under: a session its agent
        resumed on a new link (SessionResumed's ``was``) is ended by its
        old link's name too, also while that link is being taken over.
        A new connection is never given a name that still names a
        session. Each viewer
        gets a Bye saying ``reason``, and its channel's close says it too.
        Returns once those sessions have cleaned up (a half-received file
        is gone from the disk, the recording's file complete), or
        :data:`CLEANUP_WAIT` after their channels closed, whichever comes
        first. Called from a session's own code (its extension handler, in
        its receive loop; its consent or file-consent callback) it does not
        wait for that session, which ends once that code returns; a task
        that code started and left running is not that code, and waits."""
        away: list[RecordingLike] = []
        await self._cleaned_up(await self._end(peer, reason, away), CLEANUP_WAIT, away)

    async def _end(self, peer: str | None, reason: str,
                   away: list[RecordingLike] | None = None) -> list[ViewerLink]:  # fmt: skip
        """:meth:`disconnect` without the wait for the cleanup: the sessions
        ended, their channels closed. Returns their links; the recordings
        of those ended while their agent was away (parked) are added to
        ``away``."""
        for lost in self._runtime.tickets.parked(peer):
            kept = kept_recording(lost.chat)
            # Its kept lines: told not delivered now; its recording says who ended it.
            end_away(lost.chat, {"type": "bye", "from": "host", "reason": reason},
                     _ended_by_host(reason))  # fmt: skip
            if kept is not None and away is not None:
                away.append(kept)
        self._runtime.tickets.forget_parked(peer)

        async def end(link: ViewerLink) -> None:
            # The Bye goes at once, behind what is queued and ahead of sends
            # still waiting (a file's next chunk), and the channel closes: no
            # more of the screen, no more input. The close lingers until the
            # viewer took the Bye, while it takes our bytes: a slow viewer
            # (a file queued ahead on a slow link) is told, one that stopped
            # reading is given up on (channel/sealed.py). Its close record
            # says the reason too (a viewer that reads no Bye).
            lost = bool(getattr(link.channel, "broken", False))
            await _quiet(close_with(link.channel, m.encode(m.Bye(reason)), reason=said))
            await link.channel.close(said)  # closed already, or waits for that close
            if lost and link.recording is not None:
                # Its link was lost, its cleanup under way: no Bye could go,
                # and its ticket is not parked (Host.serve). Its file says the
                # host ended it, as a parked session's does (.away; review34).
                link.recording.put("away", {"type": "bye", "from": "host", "reason": reason})

        # A close record beginning as an idle close does is read as the line
        # breaking (sealed.SILENCE): the viewer would take the host's end for
        # a lost link and come back with its ticket (review34).
        said = f"ended: {reason}" if reason.startswith(SILENCE) else reason

        # Not a link being taken over (moved): its session goes on over the
        # agent's new connection, which is ended here; its end says it moved
        # (endleft35: found 'ended by the host: ...' with moved True).
        # By any name the session was shown under: the one it has on the
        # link taking it over, or that has taken it over, is ended too
        # (takeover36: disconnect by the old link's name ended nothing).
        links = [link for link in list(self._runtime.serving)
                 if link.named(peer) and not link.moved]  # fmt: skip
        own = own_session()
        for link in links:
            # Now, not in end()'s task: a lost link still cleaning up parks
            # its ticket unless it sees this by then (Host.serve; the parked
            # ones were forgotten above, and parking leaves ``serving`` at once).
            link.ended_here = _ended_by_host(reason)
            if link is own:  # its end lets this code return first (ViewerLink.cleanup)
                link.ended_by_own = asyncio.current_task()
        await asyncio.gather(*(end(link) for link in links))
        return links

    @staticmethod
    async def _cleaned_up(links: list[ViewerLink], within: float,
                          away: Sequence[RecordingLike] = ()) -> None:
        """Wait until the sessions of ``links`` finished cleaning up (their
        serve's end: ``finished``) and their recordings have ended (the
        files complete), and the recordings ``away`` (sessions ended while
        their agent was away) too, ``within`` seconds at most in all."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        # Not the session whose own code this is (an extension handler of
        # its receive loop, a consent callback: owncode.py): its cleanup
        # comes once that code returns. A task such code left running is
        # not that code: it waits (owncode35: it returned before the cleanup).
        own = own_session()
        links = [link for link in links if link is not own]
        waits = [asyncio.ensure_future(link.finished.wait()) for link in links]
        if waits:
            try:
                await asyncio.wait(waits, timeout=within)
            finally:
                for waiting in waits:
                    waiting.cancel()
        # Ended at the serve's end (a link taken over goes on recording).
        recordings = [link.recording for link in links
                      if link.recording is not None and link.finished.is_set()
                      and not link.moved]  # fmt: skip
        recordings += away  # ended at their end_away
        left = deadline - loop.time()
        if recordings and left > 0:
            await asyncio.gather(*(asyncio.to_thread(r.join, left) for r in recordings))

    def _limit_away(self, link: ViewerLink, ticket: Resumable, after: float) -> None:
        """``link`` was lost, and its session's time limit runs out in
        ``after`` seconds, before its ticket's window: then, if its agent
        is still away, the session ends, saying so in its recording
        (before auditleft it waited for the window, or ended when the agent
        presented its ticket)."""

        def reached() -> None:
            self._limits.discard(handle)
            if self._runtime.tickets.drop(ticket):
                end_away(ticket.chat, {"type": "bye", "from": "host", "reason": MAX_DURATION},
                         MAX_DURATION)  # fmt: skip

        handle = asyncio.get_running_loop().call_later(after, reached)
        self._limits.add(handle)

    def register_channel(self, name: str, handler: ExtensionHandler) -> None:
        """Add an extension channel; ``handler(peer, payload)`` may return a reply."""
        self._runtime.extensions.register(name, handler)

    async def send_extension(self, name: str, payload: bytes, peer: str | None = None) -> None:
        """Send on an extension channel to one viewer (by peer name) or all.

        Raises :class:`ValueError` for a reserved or malformed name (as
        :meth:`register_channel`), before anything is sent."""
        application_channel(name)
        for link in list(self._runtime.links):
            if peer is None or link.peer == peer:
                await link.send(m.Extension(name, payload))

    async def send_chat(self, text: str, peer: str | None = None) -> dict[str, int]:
        """Send a chat line to one viewer (by peer name) or all, and keep it
        for those whose link was lost and who may resume (sent once they
        are back; to a viewer of an older version, not). Returns the line's
        id per viewer: a :class:`~.events.ChatDelivery` of that peer tells
        what became of it (.chat). :class:`~.chat.ChatBacklogError` when a
        viewer has not confirmed the last 64 lines: it goes to the others
        all the same (each waits for room on its own), and the error names
        those it was not sent to (``.refused``) and has the others' ids
        (``.sent``). A viewer whose session ended meanwhile has no id."""
        to: list[tuple[str, ChatLedger]] = [
            (link.peer, link.chats) for link in list(self._runtime.links)
            if peer is None or link.peer == peer]  # fmt: skip
        for lost in self._runtime.tickets.parked(peer):
            chats = lost.chat
            if isinstance(chats, ChatLedger) and chats.enabled and chats.peer_acks is not False:
                to.append((lost.peer, chats))
        for link in list(self._runtime.serving):
            # A lost session being taken up: its ticket claimed (no longer
            # parked), the new link not joined yet. Kept for it, sent first
            # there; before review33 the line went to nobody, in no log.
            took = link.resumed
            if (took is None or link in self._runtime.links
                    or peer not in (None, link.peer, took.peer)):  # fmt: skip
                continue
            chats = link.chats
            if (chats is took.chat and chats.enabled and chats.peer_acks is not False
                    and all(chats is not c for _, c in to)):  # fmt: skip
                to.append((link.peer, chats))
        got = await asyncio.gather(*(chats.send(text) for _, chats in to),
                                   return_exceptions=True)  # fmt: skip
        ids: dict[str, int] = {}
        refused: list[str] = []
        for (name, _), outcome in zip(to, got, strict=True):
            if isinstance(outcome, ChatBacklogError):
                refused.append(name)
            elif isinstance(outcome, SessionClosedError):
                continue  # that session ended meanwhile: not sent, not kept
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                ids[name] = outcome
        if refused:
            raise ChatBacklogError(f"not sent to {', '.join(refused)}: {MAX_UNACKED} chat lines"
                                   " wait for them to confirm", refused=tuple(refused),
                                   sent=ids)  # fmt: skip
        return ids

    async def send_file(self, path: Path, peer: str) -> bool:
        """Offer a file to a viewer; True if it was delivered (saved there;
        to a viewer of the previous version: accepted and sent).

        Raises :class:`KeyError` if no viewer of that name is sharing."""
        return (await self.send(path, peer)).outcome in ("delivered", "unconfirmed")

    async def send(self, path: Path, peer: str, *,
                   on_sending: Callable[[int, int], None] | None = None) -> FileSent:  # fmt: skip
        """:meth:`send_file`, returning what became of the file (also a
        :class:`~.events.FileSent` event); ``on_sending(sent, size)`` as
        :meth:`.FileSender.send` calls it (the viewer said yes, then after
        each chunk). :class:`KeyError` when no viewer ``peer`` shares the
        screen. A session that ends, or whose link is lost, while the
        file's bytes are being sent raises
        :class:`~screencodec.errors.SessionClosedError` (no FileSent: how
        much of it arrived is not known; the viewer drops what it began),
        as the viewer's ``viewer.sender.send`` does: one FileSender serves
        both sides. Before the viewer's answer, such an end returns
        "declined" (``why``: "... before an answer"); after the file's end
        went, "unconfirmed"."""
        link = next((x for x in self._runtime.links if x.peer == peer), None)
        if link is None:
            raise KeyError(peer)
        return await self._runtime.sender_for(link).send(path, on_sending=on_sending)

    def gives_reasons(self, peer: str) -> bool:
        """Whether the viewer ``peer`` says why it refuses a file without
        asking its user (a reason code: it takes no files, none this large),
        so that a refusal without one was its user's no (or its question
        closing unanswered at the viewer's own timeout): it sent a code on
        this link, or confirms chat (chat delivery came after the codes).
        False for a viewer of the version before, or one not sharing; the
        viewer's side of it is :attr:`.Viewer.host_gives_reasons`. Of a file
        sent, ask its :class:`~.events.FileSent` (``gives_reasons``): it
        says it of the viewer the file was offered to, as that viewer was
        known then; this looks ``peer`` up now, and a viewer who left
        meanwhile is not sharing (another may have its name by then)."""
        link = next((x for x in self._runtime.links if x.peer == peer), None)
        if link is None:
            return False
        return self._runtime.sender_for(link).gives_reasons

    def takes_files(self, peer: str) -> bool:
        """Whether the viewer ``peer`` may accept a file: False when it
        declared up front that it takes none (``Capabilities.NO_FILES``:
        no download folder, or no one to ask), so that an offer would only
        be refused unasked; True for a viewer of the version before (it
        says nothing of it: offer and learn). False for a peer not sharing
        (:meth:`send` raises KeyError for it)."""
        link = next((x for x in self._runtime.links if x.peer == peer), None)
        return link is not None and link.takes_files

    def receiving(self) -> list[tuple[FileOfferInfo, int]]:
        """The files the viewers send that are being received now, each with
        the bytes of it written so far (:meth:`.FileReceiver.receiving`)."""
        return self._runtime.receiving()

    def stoppable(self) -> list[tuple[FileOfferInfo, int]]:
        """The files the viewers send that :meth:`stop_receiving` stops now,
        each with the bytes of it that came: being received
        (:meth:`receiving`), said yes to and not taken yet (0), and whose
        end came, being saved on the disk (:meth:`saving`: all of it); none
        stopped already (:meth:`.FileReceiver.stoppable`)."""
        return self._runtime.stoppable()

    async def stop_receiving(self, peer: str, transfer: int) -> bool:
        """Stop receiving the file ``transfer`` that viewer ``peer`` sends
        (the :class:`~.files.offers.FileOfferInfo` of :meth:`receiving`
        names both) mid-way, as :meth:`.Viewer.stop_receiving` does on the
        viewer's side: what of it came is removed, the local user is told
        (a :class:`~.events.FileRefused` "you stopped receiving it"), and
        the viewer is told at once, which stops sending it (also a file
        said yes to and not taken yet, or one being saved:
        :meth:`.FileReceiver.stop`; :meth:`stoppable` lists them). False
        if no viewer of that name shares the screen or it is not receiving
        that file: nothing stopped."""
        link = next((x for x in self._runtime.links if peer in (x.peer, safe_text(x.peer))),
                    None)  # fmt: skip
        told = None if link is None else self._runtime.stop_receiving(link, transfer)
        if told is None:
            return False
        assert link is not None
        with contextlib.suppress(ScreencodecError, OSError):  # ended: nobody to tell
            for msg in told:
                await link.send(msg)
        return True

    def stats(self) -> list[LinkStats]:
        """A snapshot per viewer the screen is shared with."""
        return [link.snapshot() for link in self._runtime.links]

    def last_frame(self, monitor: int | None = None) -> npt.NDArray[np.uint8] | None:
        """The newest captured frame of a monitor (None if it is not captured)."""
        return self._runtime.hub.last_frame(self.config.monitor if monitor is None else monitor)

    def saving(self) -> list[FileOfferInfo]:
        """The files the viewers sent whose end came and that are being
        saved on the disk now (:meth:`.FileReceiver.saving`): what
        :meth:`close` waits for beyond its timeout."""
        return self._runtime.saving()

    def give_up_saves(self) -> list[FileOfferInfo]:
        """Stop waiting for the files being saved on the disk
        (:meth:`.FileReceiver.give_up`): their sessions end now, and
        :meth:`close` no longer waits for them. Returns those files."""
        return [info for rec in self._runtime.settling() for info in rec.give_up()]

    async def close(self, timeout: float = 5.0) -> None:
        """Say bye to every viewer, wait (up to ``timeout``) for their sessions
        to finish cleaning up, then release the sources and the injector.
        While a received file is being saved on the disk (:meth:`saving`),
        its session is waited for beyond the timeout, until the file is
        saved or :meth:`give_up_saves` (a slow or stalled disk: its user is
        the one to say how long to wait); that time is not counted.

        Called from a session's own code (an extension handler, a consent
        callback, while the library awaits it), it waits for the other
        sessions only: that one ends once its code returns, and the
        sources, the injector and the events are released after that (not
        under it), in a task of the host's own; a close from elsewhere,
        a task such code started and left running too, returns once that
        release is done."""
        own = own_session()
        await self._end(None, "host ended")  # its wait for the cleanup is this one
        for handle in [*self._rotations.values(), *self._limits]:
            handle.cancel()
        self._rotations.clear()
        self._limits.clear()
        if own is not None and own.finished.is_set():
            own = None  # its serve is over (a callback that outlived it calls this)
        loop = asyncio.get_running_loop()
        ended = asyncio.ensure_future(self._others_ended(own))
        left = timeout
        try:
            while not ended.done():
                disk = [asyncio.ensure_future(rec.settle()) for rec in self._runtime.settling()]
                if disk:
                    try:
                        await asyncio.wait({ended, *disk}, return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        for waiting in disk:
                            waiting.cancel()
                    continue
                if left <= 0:
                    break
                began = loop.time()
                await asyncio.wait({ended}, timeout=left)
                left -= loop.time() - began
        finally:
            ended.cancel()
        if own is None:
            await self._release()
        elif self._releasing is None:
            self._releasing = asyncio.ensure_future(self._release_after(own))

    async def _others_ended(self, own: ViewerLink | None) -> None:
        """Return once no session but ``own`` runs (any, for None)."""
        if own is None:
            await self._all_ended.wait()
            return
        while others := [link for link in self._runtime.serving if link is not own]:
            await asyncio.gather(*(link.finished.wait() for link in others))

    async def _release_after(self, own: ViewerLink) -> None:
        """:meth:`_release` once ``own``, the session whose code called
        :meth:`close`, has ended (its channel is closed: once that code returns)."""
        await own.finished.wait()
        await self._release()

    async def _release(self) -> None:
        """Release the events, the recorder, the sources and the injector,
        once; return when that is done, whoever began it (review35: a
        close after a handler's returned while it was under way)."""
        if self._released is None:
            self._released = asyncio.ensure_future(self._release_now())
        await asyncio.shield(self._released)

    async def _release_now(self) -> None:
        self._runtime.events_hub.close()
        if self._recorder is not None:
            await asyncio.to_thread(self._recorder.close)  # the recordings' END chunks
        self._runtime.hub.close()
        if self.injector is not None:
            # Off the loop: an injector may wait for its queued input to
            # reach the display server (XTestInjector drains its worker).
            await asyncio.to_thread(self.injector.close)


def _ended_by_host(reason: str) -> str:
    """A session's end reason when the host's user ended it (Host.disconnect)."""
    return f"ended by the host: {safe_text(reason, 200)}"


async def _quiet(coro: object) -> None:
    """Await a best-effort send: the peer may already be gone."""
    with contextlib.suppress(SessionClosedError, OSError, ProtocolError):
        await coro  # type: ignore[misc]


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
