"""The part of :class:`~.host.Host` that ends sessions: ``revoke``,
``disconnect`` (and the wait for the cleanup of the sessions it ended), the
time limit of a session whose agent is away, and ``close`` with the release
of what the sessions shared after it.

:class:`HostEnding` is a mixin of :class:`~.host.Host`, which sets the
attributes it declares (``Host.__init__``); the methods are Host's, moved
here unchanged (cycle38) so that host.py reads in one sitting."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from screencodec.errors import ProtocolError, SessionClosedError
from screencodec.transport.channel.base import close_with
from screencodec.transport.channel.display import safe_text
from screencodec.transport.channel.sealed import SILENCE
from screencodec.transport.session import messages as m
from screencodec.transport.session.away import end_away, kept_recording, log_away
from screencodec.transport.session.link import MAX_DURATION, STOPPED_SHARING, ViewerLink
from screencodec.transport.session.owncode import OwnSession, own_session
from screencodec.transport.session.permissions import VIEW, Permission
from screencodec.transport.session.resume import Resumable
from screencodec.transport.session.runtime import HostRuntime
from screencodec.transport.session.services import RecorderLike, RecordingLike

if TYPE_CHECKING:
    from screencodec.transport.input.base import InputInjector

__all__ = ["CLEANUP_WAIT", "HostEnding"]

#: How long :meth:`Host.disconnect` waits, once the channels it ended have
#: closed (CLOSE_CAP at most), for their sessions to finish cleaning up:
#: their tasks and encoder ended, half-received files removed, whole ones
#: saved and told, their recordings ended. On a working machine that takes
#: milliseconds (a second for a file's fsync); a disk that stopped answering
#: must not hold the host's user (``/end``) for good. The cleanup goes on
#: after it; :meth:`Host.close` still waits for files being saved. The same
#: as Host.close's own wait for the sessions.
CLEANUP_WAIT = 5.0
#: A parked ticket's window is looked at this long (s) after it ends: its
#: expiry, on the same monotonic clock, is then surely past.
_PRUNE_LATE = 0.05


class HostEnding:
    """How a :class:`~.host.Host` ends sessions, and itself."""

    _runtime: HostRuntime
    _recorder: RecorderLike | None
    _all_ended: asyncio.Event  # set whenever no session is running
    _limits: set[asyncio.TimerHandle]
    _prunes: set[asyncio.TimerHandle]
    _releasing: asyncio.Task[None] | None
    _released: asyncio.Task[None] | None

    if TYPE_CHECKING:
        @property
        def injector(self) -> InputInjector | None: ...

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
            if link in self._runtime.links or not link.named(peer):
                continue
            # A first join the user said yes to, its grant not sent yet (its
            # layout being read), is reached the same way: it had gone on
            # with what was taken back (tail39b's strict xfail).
            if link.resumed is not None or link.let_in:
                await _quiet(link.revoke_joining(level))
            elif link.said_yes:
                # Its yes given, the answer not at the link yet: taken from
                # it as it arrives (review39d: found lost in those steps).
                link.withhold_answered(level)
            elif link.claimed is not None:
                # Still taking it over from a live link that is ending (no
                # longer among the links once it ended): what that link held
                # goes on without it (review38: found regained).
                link.withhold(level)
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

    def _prune_after(self, window: float) -> None:
        """Drop the tickets whose window is over (their kept link secrets
        zeroed: resume.Resumable._keys) just after ``window`` seconds."""

        def due() -> None:
            self._prunes.discard(handle)
            self._runtime.tickets.prune()

        handle = asyncio.get_running_loop().call_later(window + _PRUNE_LATE, due)
        self._prunes.add(handle)

    async def close(self, timeout: float = 5.0) -> None:
        """Say bye to every viewer, wait (up to ``timeout``) for their sessions
        to finish cleaning up, then release the sources and the injector.
        While a received file is being saved on the disk (:meth:`saving`),
        or a half-received one removed from it (:meth:`removing`: deflake39),
        its session is waited for beyond the timeout, until that is done or
        :meth:`give_up_saves` (a slow or stalled disk: its user is the one
        to say how long to wait); that time is not counted. A caller that
        stops waiting (cancelled) has the release below done first, as
        after the timeout (review40a).

        Called from a session's own code (an extension handler, a consent
        callback, while the library awaits it), it waits for the other
        sessions only: that one ends once its code returns, and the
        sources, the injector and the events are released after that (not
        under it), in a task of the host's own; a close from elsewhere,
        a task such code started and left running too, returns once that
        release is done."""
        own = own_session()
        self._runtime.clip_sync.stop()
        await self._end(None, "host ended")  # its wait for the cleanup is this one
        for handle in (*self._limits, *self._prunes):
            handle.cancel()
        self._limits.clear()
        self._prunes.clear()
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
        except asyncio.CancelledError:
            # A caller that stops waiting (an embedder's bound on its exit,
            # asyncio.run's cancel at a Ctrl-C) has what is the host's own
            # released all the same, as after the timeout, before the
            # cancellation goes on (review40a: while a session waited on the
            # disk beyond the timeout, nothing was: its recording was never
            # ended, the injector never closed).
            await self._released_after(own)
            raise
        finally:
            ended.cancel()
        await self._released_after(own)

    async def _released_after(self, own: OwnSession | None) -> None:
        """:meth:`_release` now, or once ``own`` (the session whose code
        called :meth:`close`) has ended."""
        if own is None:
            await self._release()
        elif self._releasing is None:
            self._releasing = asyncio.ensure_future(self._release_after(own))

    async def _others_ended(self, own: OwnSession | None) -> None:
        """Return once no session but ``own`` runs (any, for None)."""
        if own is None:
            await self._all_ended.wait()
            return
        while others := [link for link in self._runtime.serving if link is not own]:
            await asyncio.gather(*(link.finished.wait() for link in others))

    async def _release_after(self, own: OwnSession) -> None:
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
