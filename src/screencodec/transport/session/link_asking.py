"""The part of :class:`~.link.ViewerLink` that handles what a viewer asks
for after its first grant, and what the host's user takes back: a
permission request (refused unasked with a reason, answered from the levels
held, asked of the local user through the host's question queue, or left
to wait on the question already open about it), a file offer (asked about,
or refused), and a revoke (also of a link still taking a lost session up).

:class:`LinkAsking` is a mixin of :class:`~.link.ViewerLink`, which sets the
attributes it declares (``ViewerLink.__init__``) and dispatches the
viewer's messages to it; the methods are ViewerLink's, moved here unchanged
(cycle38) so that link.py reads in one sitting. :data:`STOPPED_SHARING` is
named in :mod:`.link` too."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from typing import TYPE_CHECKING, Any

from screencodec.errors import ScreencodecError
from screencodec.transport.channel.base import Channel, close_with
from screencodec.transport.session import messages as m
from screencodec.transport.session.consent import (
    GONE,
    ask_file,
    ask_permission,
    questions_for,
)
from screencodec.transport.session.events import PermissionChanged
from screencodec.transport.session.input_gate import InputGate
from screencodec.transport.session.permissions import (
    CONTROL,
    VIEW,
    ConsentRequest,
    Permission,
)
from screencodec.transport.session.refusal import TOO_MANY_QUESTIONS, UnaskedRefusals
from screencodec.transport.session.services import RecordingLike, SessionHost

if TYPE_CHECKING:
    from screencodec.transport.session.flow import CongestionControl

__all__ = ["STOPPED_SHARING", "LinkAsking"]

#: The Bye of a session whose VIEW the host's user took back; the reason of
#: one whose agent was away then (session/away.py).
STOPPED_SHARING = "the local user stopped sharing"


class LinkAsking:
    """How a :class:`~.link.ViewerLink` answers what its viewer asks for
    during the session, and takes levels back."""

    host: SessionHost
    channel: Channel
    peer: str
    who: str
    level: Permission
    gate: InputGate
    refusals: UnaskedRefusals
    recording: RecordingLike | None
    ended_here: str | None
    _upgrade: asyncio.Future[Any] | None
    _asking: Permission
    _collapsed: list[Permission]
    _answering: asyncio.Lock
    _showing: tuple[asyncio.Task[Any], ...]
    _granted: bool

    if TYPE_CHECKING:
        @property
        def flow(self) -> CongestionControl: ...
        async def send(self, msg: m.Message) -> None: ...
        def spawn(self, coro: Any) -> None: ...
        def question_gone(self) -> str | None: ...

    async def _on_request(self, asked: Permission) -> None:
        """A permission request after the grant: refuse it unasked (saying
        why), answer it, ask, or let it wait on the question already open
        about the same levels (it is answered with that one)."""
        open_question = self._asking if self._upgrade is not None else None
        unasked = self.refusals.check(asked, self.level, open_question, len(self._collapsed),
                                      who=self.who, peer=self.peer)  # fmt: skip
        if unasked is not None:
            await self._refuse(asked, *unasked)
            return
        if self._upgrade is not None:
            self._collapsed.append(asked)
            return
        wanted = asked - self.level
        if not wanted:  # all held already
            await self._answer(asked)
            return
        if not questions_for(self.host).reserve(self):
            await self._refuse(asked, m.Notice.NOT_ASKED, TOO_MANY_QUESTIONS)
            return
        self._asking, self._collapsed = wanted, [asked]
        self._upgrade = asyncio.ensure_future(self._ask_more(wanted))
        self.spawn(self._upgrade)

    async def _answer(self, asked: Permission) -> None:
        async with self._answering:
            await self._send_answer(asked)

    async def _send_answer(self, asked: Permission) -> None:
        """Grant or refuse ``asked`` from the levels held (``_answering`` held)."""
        if asked in self.level:
            await self.send(m.PermissionGrant(self.level.bits))
        else:
            await self.send(m.PermissionDeny(asked.bits))

    async def _refuse(self, asked: Permission, code: int, why: str) -> None:
        """Refuse ``asked`` without asking the local user, saying why: the
        Notice right before the Deny (no other level answer between them).
        The recording is told why with the deny (words39: an update or a
        chat line sent between the two, each send waiting its turn for the
        connection, left the deny's row without it)."""
        async with self._answering:
            if self.recording is not None:
                self.recording.put("answer_why", ("deny", asked.bits, why))
            await self.send(m.Notice(code, why))
            await self.send(m.PermissionDeny(asked.bits))

    async def _ask_more(self, wanted: Permission) -> None:
        try:
            request = ConsentRequest(self.who, self.peer, wanted, upgrade=True)
            answer = await ask_permission(questions_for(self.host), self, self.host.consent,
                                          request, self.host.config.consent_timeout,
                                          gone=self.question_gone)  # fmt: skip
            if answer.outcome == GONE:
                # The agent was gone as the answer came back (consent41):
                # the terminal said the yes came too late, and the audit
                # log (Recorder.wrap_consent); nothing is granted.
                return
            if self.channel.closed:
                # The link ended before the answer came back here (a yes
                # typed in the loop steps between the close and the
                # question's withdrawal, review40b): it was for a live
                # agent, and grants nothing, nor counts as a no. A session
                # parked for the agent's return holds what it held (the
                # host's lost line says so); before, it held CONTROL too.
                return
            granted = answer.value.level & wanted
            if granted:
                self.level = self.level | granted
                self.gate.granted(CONTROL in granted, self.flow.min_rtt)
                self.host.emit(PermissionChanged(self.peer, self.level))
            if wanted - granted:
                self.refusals.user_refused(wanted - granted)
            async with self._answering:
                # Closed only now, with no wait before the answers go: a
                # request that came meanwhile waited on this question and is
                # answered with it; one that comes later is answered after.
                requests, self._collapsed = self._collapsed, []
                self._upgrade = None
                for asked in requests:
                    await self._send_answer(asked)
        finally:
            if self._upgrade is asyncio.current_task():  # not a newer question's
                self._upgrade = None

    async def _on_file_offer(self, offer: m.FileOffer) -> None:
        files = self.host.files_for(self)
        queue = questions_for(self.host)
        info = files.admit(offer, self.peer)
        if info is None or not queue.reserve(self):
            if info is not None:  # admitted, but this viewer has enough questions open
                await files.decide(offer, info, _refuse)
            why = None if info is None else "too many questions wait"
            self.host.emit(files.refusal_event(offer, self.peer, why))
            # Why, as a code (to a viewer that takes it), then the no.
            busy = None if info is None else queue.max_per_asker
            if self.recording is not None:  # the audit log says why, whatever the viewer takes
                self.recording.put("file_unasked", (offer.transfer, *files.refusal_code(busy)))
            for msg in files.refuse(offer.transfer, busy):
                await self.send(msg)
            return
        consent = files.consent
        timeout = self.host.config.consent_timeout

        async def via_queue(q: Any) -> bool:
            if consent is None:
                return False
            return (await ask_file(queue, self, consent, q, timeout,
                                   gone=self.question_gone)).value  # fmt: skip

        async def run() -> None:
            accept = await files.decide(offer, info, via_queue)
            await self.host.sender_for(self).answer(
                accept, functools.partial(files.take_result, offer.transfer))

        self.spawn(run())

    async def revoke(self, level: Permission) -> None:
        removed = self.level.taking(level)
        if not removed:
            return
        self.level = self.level - removed
        if VIEW in removed:
            self.host.tickets.forget(self)  # the user stopped it: no coming back
            # Nothing of the screen after the user's stop: the screen and
            # pointer loops end now, before anything here waits. Behind a
            # congested link they would otherwise read the screen again and
            # queue it between the revoke and the Bye.
            for task in self._showing:
                task.cancel()
        if CONTROL in removed:
            self.host.release_input_of(self)
        revoked = m.PermissionRevoke(removed.bits, self.level.bits)
        if self.channel.closed:
            # Its link is gone, its cleanup under way (Host.serve then parks
            # its ticket with what is left): the agent is not told; its file
            # says it, as a parked session's does (session/away.py). Before
            # review34 the send failed quietly and no log had it.
            self.host.emit(PermissionChanged(self.peer, self.level))
            if self.recording is not None:
                row = {"type": "revoke", "level": str(removed), "remaining": str(self.level),
                       "by": "host"}  # fmt: skip
                self.recording.put("away", row)
            return
        if VIEW in self.level:
            await self.send(revoked)
            self.host.emit(PermissionChanged(self.peer, self.level))
            return
        # The session ends: the revoke and the Bye go at once, behind what is
        # queued and ahead of sends still waiting (a file's next chunk), as
        # Host.disconnect's; a viewer that stopped reading does not hold the
        # local user's stop (channel/sealed.py). Its reason (SessionEnded, the
        # recording's END) is the user's stop, whatever the channel's close
        # says (before endbye: "closed locally"), as Host.disconnect's.
        self.ended_here = STOPPED_SHARING
        self.host.emit(PermissionChanged(self.peer, self.level))
        with contextlib.suppress(ScreencodecError, OSError):
            await close_with(self.channel, m.encode(revoked), m.encode(m.Bye(STOPPED_SHARING)),
                             reason=STOPPED_SHARING)  # fmt: skip
        await self.channel.close(STOPPED_SHARING)

    async def revoke_joining(self, level: Permission) -> Permission:
        """The host's user takes ``level`` back while this link takes a lost
        session up (its ticket claimed, not joined yet: Host.revoke, which
        before auditleft reached neither this link nor the parked ticket, and
        the agent came back with it). Before the grant went, the session goes
        on without it (VIEW: not at all, :meth:`run`), and this link's
        recording logs it (``away``: the agent, not granted yet, is not told
        of it); after, it is a live link's revoke. Returns what was taken."""
        taken = self.level.taking(level)
        if not taken:
            return taken
        if self._granted:
            await self.revoke(level)
            return taken
        self.level = self.level - taken
        if VIEW in taken:
            self.host.tickets.forget(self)
        if self.recording is not None:
            self.recording.put("away", {"type": "revoke", "level": str(taken),
                                        "remaining": str(self.level), "by": "host"})  # fmt: skip
        return taken


async def _refuse(_: object) -> bool:
    return False
