"""File transfer, sending side (docs/transport.md, "Files"): an offer, the
file streamed once the peer accepts it (paced on its confirmations by a
:class:`~..pacing.BulkWindow` when it sends them), and one outcome per
offer, a :class:`~..events.FileSent` (:class:`FileSender`)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from screencodec.errors import ProtocolError, ScreencodecError
from screencodec.transport.channel.display import safe_text
from screencodec.transport.session.events import (
    CUT_ENDED,
    CUT_FAILED,
    CUT_LOST,
    CUT_STOPPED,
    CUT_STOPPED_THERE,
    CUT_UNREAD,
    FileCut,
    FileSent,
)
from screencodec.transport.session.files.wire import (
    BEFORE_AN_ANSWER,
    NO_FILES,
    NOT_READ,
    OFFER_TIMEOUT,
    REASON_SHOWN,
    REFUSED_UNASKED,
    STOPPED,
    STOPPED_THERE,
    STOPPED_THERE_WHY,
    UNREAD,
    file_results_announcement,
    file_withdrawal,
)
from screencodec.transport.session.messages import (
    MAX_FILE_CHUNK,
    FileAccept,
    FileChunk,
    FileEnd,
    FileOffer,
    FileResult,
    Message,
)
from screencodec.transport.session.pacing import BulkWindow

__all__ = ["FileSender"]

#: A :class:`~.events.FileCut`'s ``why`` when nobody gave words for it.
_CUT_WORDS = {
    CUT_ENDED: "the session ended",
    CUT_LOST: "the connection was lost",
    CUT_STOPPED: "its sending was stopped here",
}


class FileSender:
    """Offers files to the peer and streams them once accepted.

    An offer not answered within ``timeout`` is given up (:meth:`send_file`
    returns False, "declined"). Which came first, the answer or the
    timeout, is decided once, synchronously on the loop (:meth:`on_accept`
    and :meth:`_give_up` each take the offer out of ``_waiting``; the other
    then finds it gone), so an answer that comes as the timeout fires is
    never lost between them. A given-up offer is withdrawn at the peer
    (:func:`file_withdrawal`: it closes its question or removes the file
    it began), and its answer, which may still come (the peer asks its user
    one question at a time and times each from when it is put), is ignored
    (counted in ``late``), never taken for a protocol error. An answer to
    an offer never made, or a second answer, is a ProtocolError.

    To a peer that announced file results (:attr:`peer_reports`), an
    accepted file is "delivered" only once the peer's FileResult says it was
    saved; a failure it reports mid-way stops the streaming (the FileEnd
    still goes). The result is awaited as long as the session lasts (the
    receiver sends it as soon as it has checked and closed the file; a slow
    close is no failure); a session that ends after the FileEnd went and
    before the result leaves it "unconfirmed", one that ends before the
    FileEnd "failed" (the receiver removes half files). Each outcome is a
    :class:`~.events.FileSent` event; a file whose streaming stopped before
    its end is also a :class:`~.events.FileCut`, once (:meth:`_cut`: from
    :meth:`close` for those still streaming as the session ends, else from
    :meth:`send` as it stops), so that a program can tell a cut file from
    one still going when no FileSent comes (the session ended). A send
    stopped here (its task cancelled) while the session goes on withdraws
    its offer at the peer, whatever it had got to (:meth:`_stopped`)."""

    class _Streaming:
        """A transfer being streamed: what a :class:`~.events.FileCut` says."""

        __slots__ = ("arrived", "name", "sent", "size")

        def __init__(self, name: str, size: int) -> None:
            self.name, self.size = name, size
            self.sent, self.arrived = 0, -1

    def __init__(
        self,
        send: Callable[[Message], Awaitable[None]],
        timeout: float = OFFER_TIMEOUT,
        *,
        peer: str = "",
        on_event: Callable[[FileSent | FileCut], None] | None = None,
        confirms_chat: Callable[[], bool] = lambda: False,
        link_lost: Callable[[], bool] = lambda: False,
        takes_files: Callable[[], bool] = lambda: True,
    ) -> None:
        self._send = send
        #: Whether the peer may accept a file: False for a viewer that said
        #: up front it takes none (Capabilities.NO_FILES), which is offered
        #: a file only to be told of it (the host's /send: files36), and
        #: whose yes is a ProtocolError: none of the file goes.
        self._takes_files = takes_files
        #: Whether the session's link was lost (neither side ended it): the
        #: cause of a file cut as the session goes (:data:`~.events.CUT_LOST`).
        self._link_lost = link_lost
        #: Accepted transfers being streamed, until they end or are cut
        #: (:meth:`_cut` takes one out: told once).
        self._streaming: dict[int, FileSender._Streaming] = {}
        #: Whether the peer confirms chat lines (its chat hello came): a
        #: version after the reason codes (:attr:`gives_reasons`).
        self._confirms_chat = confirms_chat
        self._timeout = timeout
        self._peer = safe_text(peer)
        self._on_event = on_event
        self._waiting: dict[int, asyncio.Future[bool | None]] = {}
        self._given_up: set[int] = set()
        #: Why the session ended (:meth:`close`): an offer still waiting for
        #: its answer ends with it, in these words.
        self._closed: str | None = None
        #: Accepted transfers of a reporting peer, until its FileResult
        #: (None: the session ended first).
        self._results: dict[int, asyncio.Future[FileResult | None]] = {}
        #: Of those, the ones whose FileEnd went: only they can be saved.
        self._ended: set[int] = set()
        #: Accepted after their offer was given up, by a peer that reports:
        #: its FileResult may follow (a file it could not create), ignored.
        self._late_accepted: set[int] = set()
        #: Withdrawn after the peer's yes (unread, stopped here), of a peer
        #: that reports: a FileResult it sent before it had the withdrawal
        #: (its write failed meanwhile) awaits nothing, and is ignored.
        self._withdrawn: set[int] = set()
        #: The withdrawals of sends stopped here, until sent (:meth:`_stopped`).
        self._withdrawing: set[asyncio.Task[None]] = set()
        #: Why the peer refuses an offer still waiting for its answer
        #: (:func:`file_refusal`), until that answer.
        self._refusals: dict[int, str] = {}
        #: Transfers whose FileResult "not saved", to come, the peer gave a
        #: reason code for (:meth:`on_result_reason`): its user stopped it.
        self._result_codes: dict[int, int] = {}
        self._saved_as: dict[int, str] = {}  #: the name the peer saved a transfer under
        #: Who is told how much of a transfer the peer has (:meth:`send`'s ``on_arrived``).
        self._arrived: dict[int, Callable[[int], None]] = {}
        self._next = 1
        self.late = 0  #: answers that came after their offer was given up
        #: The peer announced it sends FileResult (set by the session).
        self.peer_reports = False
        #: The peer said why it refused an offer without asking (a code) this
        #: session: it is of a version that says so, and a refusal without a
        #: code is its user's (see :attr:`.Viewer.host_gives_reasons`).
        self.peer_gave_reasons = False
        #: The peer refused an offer of this session unasked because it takes
        #: no files (reason code NO_FILES), or said so up front
        #: (``Notice.TAKES_NO_FILES``, files41; the Viewer sets it) (files40:
        #: the view's /send said "who is asked" to such a host).
        #: Set by the answer that refuses, not by the code alone; cleared by
        #: one that accepts (review40a: a host that sent the code and took
        #: the file had each later offer said "which said ... no files").
        self.peer_takes_none = False
        #: The peer accepted an offer of this session: a later word that it
        #: takes no files (a hostile host's Notice) is not believed (review41a).
        self.peer_took_one = False
        #: The offers waiting whose refusal's reason code said NO_FILES.
        self._no_files: set[int] = set()
        #: The peer confirms chunks: files go under this window (pace()).
        self.window: BulkWindow | None = None
        self.last: FileSent | None = None  #: the latest outcome
        self._announced = False
        self._announcing = asyncio.Lock()

    @property
    def gives_reasons(self) -> bool:
        """Whether the peer says why it refuses a file without asking its
        user (a reason code), so that a refusal without one was its user's
        no: it sent a code this session, or confirms chat (chat delivery
        came after the codes, in 4361f49 and 7eba360). False for a peer of
        the version before the codes, which does neither. Each
        :class:`~..events.FileSent` says it as it was known then."""
        return self.peer_gave_reasons or self._confirms_chat()

    async def announce(self) -> None:
        """Say once, before this side's first FileOffer and its first
        accepting FileAccept, that it sends and takes FileResult (so a
        session without files sends nothing new)."""
        async with self._announcing:  # nothing of a file goes before it
            if not self._announced:
                await self._send(file_results_announcement())
                self._announced = True

    async def answer(self, accept: FileAccept,
                     then: Callable[[], Sequence[Message]] = tuple) -> None:  # fmt: skip
        """Send this side's answer to the peer's offer (the receiver's),
        announced first if it accepts, and what ``then`` gives once it
        went, right after it: a FileResult if the file already failed or
        was stopped (:meth:`FileReceiver.take_result`). ``then`` is called
        once the answer went (or could not): a stop while the answer waited
        for the channel is sent after it, never ahead (review37)."""
        try:
            if accept.accepted:
                await self.announce()
            await self._send(accept)
        except BaseException:
            then()  # nothing of it goes: the session ended, or this was cancelled
            raise
        for msg in then():
            await self._send(msg)

    def pace(self) -> None:
        """The peer confirms each chunk of the files it takes: from now on
        they are sent under a :class:`~.pacing.BulkWindow`."""
        if self.window is None:
            self.window = BulkWindow()

    def on_progress(self, transfer: int, received: int) -> None:
        """The peer has ``received`` bytes of ``transfer``."""
        if self.window is not None:
            self.window.confirmed(transfer, received)
        streaming = self._streaming.get(transfer)
        if streaming is not None:
            streaming.arrived = received
        arrived = self._arrived.get(transfer)
        if arrived is not None:
            arrived(received)

    def on_refusal(self, transfer: int, why: str, code: int = 0) -> None:
        """The peer says why it refuses ``transfer`` without asking its user
        (the FileAccept that refuses it comes next; ``code``: its reason
        code): kept for that answer. For an offer no longer waiting (given
        up, answered): ignored."""
        self.peer_gave_reasons = True
        if transfer in self._waiting:
            self._refusals[transfer] = why
            if code == NO_FILES:
                self._no_files.add(transfer)

    def on_result_reason(self, transfer: int, code: int) -> None:
        """The peer says why the FileResult "not saved" that comes next for
        ``transfer`` is so (a reason code: :data:`STOPPED_THERE`, its user
        stopped receiving it). Kept for that result; of a transfer whose
        result is not awaited (withdrawn here, given up): ignored."""
        if transfer in self._results:
            self._result_codes[transfer] = code

    def on_saved_as(self, transfer: int, name: str) -> None:
        """The peer says the name it saved ``transfer`` under (its FileResult
        "saved" comes next): kept for that result, as this side shows it
        (safe_text); of a transfer whose result is not awaited: ignored."""
        if transfer in self._results:
            self._saved_as[transfer] = safe_text(name, 100)

    @staticmethod
    def _why_not_saved(answer: FileResult, code: int | None) -> str:
        """The why of a FileResult "not saved": this side's words for the
        peer's reason code (its user stopped it), else the peer's own words
        (a reason of theirs that reads as this side's is marked so)."""
        if code == STOPPED_THERE:
            return STOPPED_THERE_WHY
        why = safe_text(answer.reason, REASON_SHOWN) or "not saved"
        if why.startswith((NOT_READ, STOPPED_THERE_WHY)):  # never told as this side's words
            why = f"in its words: {why}"
        return why

    def on_accept(self, msg: FileAccept) -> None:
        if msg.accepted and not self._takes_files():
            raise ProtocolError(f"transfer {msg.transfer} accepted by a peer that said it"
                                " takes no files")
        fut = self._waiting.pop(msg.transfer, None)  # the answer is first: see _give_up
        if fut is None and msg.transfer in self._given_up:
            self._given_up.discard(msg.transfer)
            self.late += 1
            if msg.accepted and self.peer_reports:
                self._late_accepted.add(msg.transfer)
            return
        if fut is None:
            raise ProtocolError(f"answer for transfer {msg.transfer}, which was not offered")
        if msg.accepted and self.peer_reports:
            # Known now, in the receive loop: the announcement came before
            # this answer on the same channel, if at all.
            self._results[msg.transfer] = asyncio.get_running_loop().create_future()
        fut.set_result(msg.accepted)

    def _give_up(self, transfer: int) -> None:
        """The offer's timeout, on the loop: if no answer came before, the
        offer is given up now (:meth:`send` withdraws it at the peer)."""
        fut = self._waiting.pop(transfer, None)
        if fut is not None:  # else the answer came first
            self._given_up.add(transfer)
            fut.set_result(None)

    def on_result(self, msg: FileResult) -> None:
        """The peer's FileResult: for an accepted transfer, once."""
        fut = self._results.get(msg.transfer)
        if fut is None and msg.transfer in self._withdrawn:
            self._withdrawn.discard(msg.transfer)
            return  # it crossed the withdrawal on the way
        if fut is None and msg.transfer in self._given_up | self._late_accepted:
            self._given_up.discard(msg.transfer)
            self._late_accepted.discard(msg.transfer)
            self.late += 1
            return
        if fut is None or fut.done():
            raise ProtocolError(f"file result for transfer {msg.transfer}, which is not awaited")
        if msg.saved and msg.transfer not in self._ended:
            # A receiver says saved after the FileEnd only: before it, the
            # file is not all there (and the sender would stop streaming it).
            raise ProtocolError(f"file result for transfer {msg.transfer}: saved before its end")
        if not msg.saved and self.window is not None:
            # Nothing more of it will be confirmed: what it holds of the
            # window is let go now, not after the window's stall (5 s).
            self.window.forget(msg.transfer)
        fut.set_result(msg)

    def close(self, why: str = "the session ended") -> None:
        """Session over: transfers still waiting for their result end
        "unconfirmed" if their FileEnd went (the peer may have saved them),
        else "failed: ``why``"; offers still waiting for their answer end
        now, not at their timeout: "declined: ``why`` before an answer"
        (:data:`BEFORE_AN_ANSWER`)."""
        self._closed = why
        for transfer in list(self._streaming):  # told now: before the session's end is
            self._cut(transfer, self._ended_cause())
        waiting, self._waiting = self._waiting, {}
        for offer in waiting.values():
            offer.set_result(None)
        for transfer, fut in self._results.items():
            if not fut.done():
                ended = transfer in self._ended
                fut.set_result(None if ended else FileResult(transfer, False, why))
        if self.window is not None:
            self.window.close()  # a file waiting for room stops waiting

    async def send_file(self, path: Path, name: str | None = None) -> bool:
        """Offer ``path``; stream it if accepted. True if it was delivered
        (to a peer of an older version: accepted and streamed); what became
        of it is :attr:`last` and a :class:`~.events.FileSent` event."""
        return (await self.send(path, name)).outcome in ("delivered", "unconfirmed")

    async def send(
        self,
        path: Path,
        name: str | None = None,
        *,
        on_sending: Callable[[int, int], None] | None = None,
        on_arrived: Callable[[int], None] | None = None,
        on_offered: Callable[[int], None] | None = None,
    ) -> FileSent:
        """:meth:`send_file`, returning the outcome. ``on_sending(sent,
        size)``: the peer accepted the file (``sent`` 0), and then after each
        chunk handed to the channel (the bytes of it sent so far).
        ``on_arrived(received)``: a peer that paces said it has that many
        bytes of it (so that a session that ends mid-file can say how much
        had arrived). ``on_offered(transfer)``: the number this side gave
        the offer, before it goes: what its :class:`~.events.FileCut` and
        FileSent carry, so that a caller with several files of one name
        under way tells their events apart (files36: the page matched them
        by name). A session that ends (or whose link is lost) while the
        file's bytes are being sent raises
        :class:`~screencodec.errors.SessionClosedError`, no outcome and no
        FileSent, but a :class:`~.events.FileCut` (the caller says it too:
        it knows whether the link was lost);
        the host's ``Host.send`` and the viewer's ``viewer.sender.send``
        alike (walk34 checked both)."""
        data_size = path.stat().st_size
        name = name or path.name
        transfer = self._next
        self._next += 1
        if on_offered is not None:
            on_offered(transfer)
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[bool | None] = loop.create_future()  # None: given up
        self._waiting[transfer] = fut
        if on_arrived is not None:
            self._arrived[transfer] = on_arrived
        offering: asyncio.Future[None] | None = None  # the FileOffer's send, once begun
        try:
            await self.announce()
            # A task of its own, so that a cancellation here neither cuts
            # it off nor leaves it unknown whether the peer has the offer:
            # a withdrawal waits for it (_stopped).
            offering = asyncio.ensure_future(self._send(FileOffer(transfer, name, data_size)))
            await asyncio.shield(offering)
            timer = loop.call_later(self._timeout, self._give_up, transfer)
            try:
                accepted = await asyncio.shield(fut)
            finally:
                timer.cancel()
        except BaseException:  # cancelled here, or the offer could not go
            if offering is not None:
                self._stopped(transfer, offering)
            raise
        finally:
            if not fut.done():  # cancelled: whatever answer comes is late
                self._give_up(transfer)
            refused = self._refusals.pop(transfer, "")
            no_files = transfer in self._no_files
            self._no_files.discard(transfer)
            if not (fut.done() and not fut.cancelled() and fut.result() is True):
                self._arrived.pop(transfer, None)  # not accepted: nothing of it goes
        if accepted is None and self._closed is not None:
            # Never accepted: not sent, not "failed" (which says the peer
            # took it and could not save it).
            why = f"{self._closed} {BEFORE_AN_ANSWER}"
            return self._outcome(name, data_size, transfer, "declined", why)
        if accepted is None:
            await self._withdraw(transfer)
            return self._outcome(name, data_size, transfer, "declined", "no answer in time")
        if not accepted:  # why, if the peer refused it unasked and said so
            why = f"{REFUSED_UNASKED}{refused}" if refused else ""
            self.peer_takes_none = self.peer_takes_none or no_files
            return self._outcome(name, data_size, transfer, "declined", why)
        self.peer_takes_none = False  # it took this one: it takes files
        self.peer_took_one = True
        result = self._results.get(transfer)
        self._streaming[transfer] = self._Streaming(safe_text(name, 100), data_size)
        if on_sending is not None:
            on_sending(0, data_size)
        try:
            try:
                await self._stream(path, data_size, transfer, result, on_sending)
            except OSError as exc:
                if isinstance(exc, ScreencodecError):
                    self._cut(transfer, self._ended_cause())
                    raise  # the session ended
                # The file went or could not be read after the yes: the
                # receiver removes what it began, and tells its user why
                # (one of an earlier version waits for the rest until its
                # session ends, or has created nothing).
                why = f"{NOT_READ}{(exc.strerror or str(exc)).lower()}"
                self._cut(transfer, CUT_UNREAD, why)
                if self.peer_reports:
                    self._withdrawn.add(transfer)
                await self._withdraw(transfer, UNREAD)
                return self._outcome(name, data_size, transfer, "failed", why)
            except BaseException:  # cancelled here (or a bug): the rest does not go
                self._cut(transfer, self._ended_cause() if self._ending() else CUT_STOPPED)
                self._stopped(transfer)
                raise
            streaming = self._streaming.get(transfer)
            if streaming is not None and streaming.sent < data_size and result is not None \
                    and result.done():  # the peer stopped taking it (it said why)
                answer = result.result()
                if answer is None:
                    self._cut(transfer, CUT_FAILED, "not saved")
                elif self._result_codes.get(transfer) == STOPPED_THERE:  # its user stopped it
                    self._cut(transfer, CUT_STOPPED_THERE, STOPPED_THERE_WHY)
                else:
                    self._cut(transfer, CUT_FAILED,
                              safe_text(answer.reason, REASON_SHOWN) or "not saved")
            self._streaming.pop(transfer, None)  # it went whole
            if result is None:
                return self._outcome(name, data_size, transfer, "unconfirmed")
            try:
                answer = await result  # however late: the truth, not a guess
            except asyncio.CancelledError:
                # Stopped here (the view's /stop) once all of it went: the
                # peer may be saving it, and its answer is late, not a
                # protocol error (review41a: "file result ... which is not
                # awaited" ended the agent's session).
                self._given_up.add(transfer)
                raise
        finally:
            self._results.pop(transfer, None)
            self._ended.discard(transfer)
            stopped_there = self._result_codes.pop(transfer, None)
            saved_as = self._saved_as.pop(transfer, "")
            self._arrived.pop(transfer, None)
            self._streaming.pop(transfer, None)
        if answer is None:
            why = "the session ended before the peer said whether it saved it"
            return self._outcome(name, data_size, transfer, "unconfirmed", why)
        if answer.saved:
            return self._outcome(name, data_size, transfer, "delivered", saved_as=saved_as)
        why = self._why_not_saved(answer, stopped_there)
        return self._outcome(name, data_size, transfer, "failed", why)

    def _stopped(self, transfer: int, offering: asyncio.Future[None] | None = None) -> None:
        """The send of ``transfer`` stopped here before its end, its offer
        begun (``offering``: its send, if it may not have gone yet): its
        task was cancelled (or a bug), or the offer could not go. Unless
        the session is ending (the peer drops what it began, and there is
        no one to tell), the offer is withdrawn at the peer with the reason
        :data:`STOPPED`: it closes its question, or removes what it has of
        the file and tells its user how much came. Sent from a task of its
        own, once the offer has gone (a withdrawal of an offer never made
        is a protocol error there; one that failed to go needs none): the
        cancelled caller does not wait for the link."""
        self._results.pop(transfer, None)
        self._arrived.pop(transfer, None)
        if self.peer_reports:
            self._withdrawn.add(transfer)
        if self._ending():
            if offering is not None:
                offering.add_done_callback(_retrieved)
            return
        task = asyncio.ensure_future(self._withdraw_after(transfer, offering))
        self._withdrawing.add(task)
        task.add_done_callback(self._withdrawing.discard)

    async def _withdraw_after(self, transfer: int, offering: asyncio.Future[None] | None
                              ) -> None:  # fmt: skip
        """:meth:`_stopped`'s withdrawal, once the offer has gone."""
        if offering is not None:
            try:
                await offering
            except Exception:  # it did not go (the session ended): nothing to withdraw
                return
        await self._withdraw(transfer, STOPPED)

    async def _withdraw(self, transfer: int, reason: int = 0) -> None:
        """Withdraw ``transfer`` at the peer (:func:`file_withdrawal`);
        nothing if the session ended."""
        with contextlib.suppress(ScreencodecError, OSError):
            for msg in file_withdrawal(transfer, reason):
                await self._send(msg)

    async def _stream(
        self,
        path: Path,
        data_size: int,
        transfer: int,
        result: asyncio.Future[FileResult | None] | None,
        on_sending: Callable[[int, int], None] | None = None,
    ) -> None:
        """The chunks, then the FileEnd; a failure the peer reported stops
        the chunks (``on_sending`` told after each, as :meth:`send` says).
        OSError if the file cannot be read, or is shorter than offered
        (changed since): its FileEnd would not match."""
        digest = hashlib.sha256()
        offset = 0
        window = self.window
        try:
            with path.open("rb") as fh:
                while chunk := fh.read(MAX_FILE_CHUNK if window is None else window.chunk()):
                    if result is not None and result.done():
                        break  # the peer could not save it: the rest goes nowhere
                    if offset + len(chunk) > data_size:
                        chunk = chunk[: data_size - offset]  # file grew: send what we offered
                    digest.update(chunk)
                    if window is not None:
                        await window.wait_room(len(chunk))
                        if result is not None and result.done():
                            break  # it failed there while this chunk waited for room
                        window.sent(transfer, offset + len(chunk), len(chunk))
                    await self._send(FileChunk(transfer, offset, chunk))
                    offset += len(chunk)
                    streaming = self._streaming.get(transfer)
                    if streaming is not None:
                        streaming.sent = offset
                    if on_sending is not None:
                        on_sending(offset, data_size)
                    if offset >= data_size:
                        break
        finally:
            if window is not None:
                window.forget(transfer)
        if offset < data_size and not (result is not None and result.done()):
            raise OSError(errno.EIO, "it became shorter than offered")
        if result is not None:
            self._ended.add(transfer)  # before the send: the answer may come first
        await self._send(FileEnd(transfer, digest.digest()))

    def _ending(self) -> bool:
        """Whether the session ended here or its link was lost: no withdrawal goes."""
        return self._closed is not None or self._link_lost()

    def _ended_cause(self) -> str:
        """Why files are cut as the session goes: its link was lost, or it ended."""
        return CUT_LOST if self._link_lost() else CUT_ENDED

    def _cut(self, transfer: int, cause: str, why: str = "") -> None:
        """``transfer`` stopped before its end: a :class:`~.events.FileCut`
        (``why``: the peer's or the OS's words, else this side's for
        ``cause``), unless it was told already (no longer streaming)."""
        streaming = self._streaming.pop(transfer, None)
        if streaming is None or self._on_event is None:
            return
        why = why or _CUT_WORDS.get(cause, "")
        self._on_event(FileCut(self._peer, streaming.name, streaming.size, transfer,
                               streaming.sent, cause, why, streaming.arrived))  # fmt: skip

    def _outcome(
        self, name: str, size: int, transfer: int, outcome: str, why: str = "", *,
        saved_as: str = "",
    ) -> FileSent:  # fmt: skip
        ev = FileSent(self._peer, safe_text(name, 100), size, transfer, outcome, why,
                      self.gives_reasons, saved_as)  # fmt: skip
        self.last = ev
        if self._on_event is not None:
            self._on_event(ev)
        return ev


def _retrieved(fut: asyncio.Future[None]) -> None:
    """A send nobody awaits any more: its error is read (no "never retrieved")."""
    if not fut.cancelled():
        fut.exception()
