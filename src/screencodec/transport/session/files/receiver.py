"""File transfer, receiving side (docs/transport.md, "Files"): every offer
goes to the local user's consent callback (no answer in time = refused); an
accepted file is written into the chosen directory only, chunk by chunk in
order, within a per-file and a per-session size cap, under a temporary name
(``.NAME.part-XXXXXXXX``, created exclusively when its first bytes come, so
a yes its sender no longer waited for leaves nothing on disk), checked
against the sender's SHA-256 at the end, and only then put under its
sanitised name, never over a file that is there (:mod:`.names`). Any
violation by the peer is a ProtocolError and the partial file is removed; a
file the local user said yes to that ends unsaved (its session ended
mid-way too) is told to the local user. Space is reserved when the offer
arrives, and only a few offers may wait for an answer at once.

State is owned by one session's receive loop (single task); the consent
question runs in its own task so the screen keeps flowing while the user
reads. What may wait on a slow disk for seconds (each chunk's write, the
fsyncs, the links that name a file, the write-back hints) runs on the
receiver's disk thread (:class:`~.disk.DiskThread`), one call after the
other in the order given, never on the session's loop, which carries the
screen and the input (:meth:`FileReceiver.chunk`, :meth:`FileReceiver.end`);
so does the look at the folder after a yes (:meth:`FileReceiver.decide`).
A session that ends waits for the files whole before its end to be saved
(:meth:`FileReceiver.settle`), unless its user gives up waiting
(:meth:`FileReceiver.give_up`): the thread is a daemon, so a program that
leaves then is not held until the disk answers. A program
that leaves without awaiting its sessions' end and without giving up (a
cancelled ``Viewer.run``) has them saved still: its exit waits for them
(:func:`_saves_at_exit`).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import errno
import functools
import os
import stat
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future, wait
from pathlib import Path
from typing import Any, TypeVar

from screencodec.errors import ProtocolError, ScreencodecError
from screencodec.transport.aio import wait_for
from screencodec.transport.channel.display import limit_amount, safe_text
from screencodec.transport.session.events import FileReceived, FileRefused
from screencodec.transport.session.files.disk import DiskThread, can_lock
from screencodec.transport.session.files.incoming import QUEUED_MOST, Incoming
from screencodec.transport.session.files.names import tidy
from screencodec.transport.session.files.offers import (
    FileConsent,
    FileOfferInfo,
    OfferDeadline,
    safe_filename,
)
from screencodec.transport.session.files.wire import (
    BUSY,
    CUT_SHORT,
    EXPIRED,
    MAX_OFFERS,
    MAX_PENDING_OFFERS,
    NO_FILES,
    NOT_SAVED,
    OVER_TOTAL,
    REASON_SHOWN,
    STOPPED_HERE,
    STOPPED_THERE,
    STOPPED_THERE_WHY,
    TOO_LARGE,
    WITHDRAWN,
    WITHDRAWN_OTHER,
    WITHDRAWN_STOPPED,
    file_progress,
    file_refusal,
    file_result_reason,
    file_saved_as,
)
from screencodec.transport.session.messages import (
    FileAccept,
    FileChunk,
    FileEnd,
    FileOffer,
    FileResult,
    Message,
)

__all__ = ["FileReceiver"]

T = TypeVar("T")

#: Each receiver's last save given to its disk thread, until it is done
#: (:meth:`FileReceiver._saved`) or given up (:meth:`FileReceiver.give_up`):
#: what the interpreter's exit waits for (:func:`_saves_at_exit`).
_SAVES: dict[FileReceiver, Future[Any]] = {}


def _saves_at_exit() -> None:
    """At the interpreter's exit (atexit: its daemon threads still run):
    wait for the files whose end came to be saved, unless their user gave
    up waiting (:meth:`FileReceiver.give_up`). A program that leaves
    without awaiting its sessions' end (``Viewer.run`` cancelled, or the
    host's tasks, without ``Host.close``) otherwise lost them: the disk
    thread, a daemon, stopped mid-save, and a whole file stayed under its
    temporary name, which the next receiver removes as half. Calls made
    one after the other: the last save done, all of a receiver's are. A
    Ctrl-C meanwhile stops waiting."""
    with contextlib.suppress(KeyboardInterrupt):
        for saving in list(_SAVES.values()):
            wait([saving])


atexit.register(_saves_at_exit)


async def _reply(
    answer: Awaitable[list[Message]], send: Callable[[Message], Awaitable[None]]
) -> None:
    """Send the peer what it is told of a file it sent once it is known
    (:meth:`FileReceiver.end`: its FileResult, after a reason code if the
    local user stopped it); nothing if it takes none."""
    for msg in await answer:
        await _tell_peer(msg, send)


async def _tell_peer(msg: Message, send: Callable[[Message], Awaitable[None]]) -> None:
    """Send ``msg`` to the peer; nothing if the session ended: nobody to tell."""
    with contextlib.suppress(ScreencodecError, OSError):
        await send(msg)



class FileReceiver:
    """Receives the files one peer offers (see the module docstring).

    State: ``_total`` bytes reserved (by offers waiting for an answer and by
    accepted files), the transfers in progress, the ids already offered and
    the offers waiting for an answer. Space is reserved when an offer arrives,
    before the question, so parallel offers can never together exceed
    ``max_total``; a refusal gives it back. At most ``max_pending`` offers wait
    for an answer at once; more are refused at once, unasked.
    """

    def __init__(
        self,
        directory: Path | None,
        consent: FileConsent | None,
        *,
        max_file: int = 1 << 30,
        max_total: int = 4 << 30,
        timeout: float = 30.0,
        max_pending: int = MAX_PENDING_OFFERS,
        side: str = "host",
        on_event: Callable[[FileReceived | FileRefused], None] | None = None,
    ) -> None:
        self.side = side  #: "host" or "viewer": how refusals name this end
        #: Told at once of a file the local user said yes to that cannot be
        #: saved (its file cannot be created), and of each file that ends,
        #: saved or not (:meth:`end`).
        self._on_event = on_event
        self.directory = directory
        self._consent = consent
        self.max_file = max_file
        self.max_total = max_total
        self.timeout = timeout
        self.max_pending = max_pending
        self._total = 0
        self._active: dict[int, Incoming] = {}
        self._asked: set[int] = set()
        #: Accepted transfers whose file could not be written: (name, size,
        #: why) until their end comes (their other chunks are dropped).
        self._failed: dict[int, tuple[str, int, str]] = {}
        #: Of those, the ones the local user stopped (:meth:`stop`): told
        #: then, their end or withdrawal tells nothing more.
        self._stopped: set[int] = set()
        #: The peer announced it takes FileResult: each accepted file's
        #: outcome is sent to it (:meth:`on_chunk`, :meth:`end`).
        self.reports = False
        #: The peer paces its files: each chunk is confirmed (file_progress).
        self.confirms = False
        #: What to send right after their FileAccept (take_result).
        self._unsent: dict[int, list[Message]] = {}
        #: The offers :meth:`decide` has not answered yet (asked, their
        #: folder looked at, the folder tidied), and of those the ones the
        #: local user stopped meanwhile (:meth:`stop`: files37; before, such
        #: a stop found nothing and the file came).
        self._deciding: set[int] = set()
        self._stop_wanted: set[int] = set()
        #: The offers :meth:`decide` said yes to whose FileAccept has not
        #: gone yet (:meth:`take_result` is called once it went): what a
        #: stop meanwhile sends follows it (review37: it went ahead, and the
        #: host ended the session for a result of a file not accepted).
        self._answering: set[int] = set()
        #: Of those, the ones the local user said yes to, their folder
        #: looked at still (:meth:`stoppable`: host37).
        self._said_yes: set[int] = set()
        #: The task asking about each offer whose question is open or
        #: waiting for its turn: cancelled when the sender gives it up.
        self._asking: dict[int, asyncio.Task[object]] = {}
        #: Offers the sender withdrew while they were asked about, and why.
        self._withdrawn: dict[int, str] = {}
        #: What the local user was asked, per transfer still open (asked,
        #: being received, or failed and awaiting its end): for the event
        #: of a withdrawal.
        self._infos: dict[int, FileOfferInfo] = {}
        self._tidied: asyncio.Future[None] | None = None  #: _clean()'s work, once begun
        #: :meth:`close` was called: the session is over, and its end waits
        #: (:meth:`settle`) for the removals :meth:`removing` lists.
        self.closed = False
        #: Closed because its link was lost, not because its session ended:
        #: the agent may come back (set by the host before :meth:`close`;
        #: files41: a host said "the session's end" of it).
        self.link_lost = False
        #: The disk thread (:meth:`_on_disk`), once a file needed it, and the
        #: last save given to it (:meth:`settle` waits for that, not for a
        #: tidy or a write-back hint: review7).
        self._pool: DiskThread | None = None
        self._last_save: Future[Any] | None = None
        #: The last removal of a half file given to the disk thread (its
        #: chunks were still being written: withdrawn, cut short by
        #: :meth:`close`, failed or broken by the peer): :meth:`settle` waits
        #: for it too, so that nothing of it stays once the session is told
        #: ended.
        self._last_drop: Future[Any] | None = None
        #: Those removals of half files, each with what the local user knows
        #: of its file and how much of it came, until done (:meth:`removing`:
        #: deflake39; a program that ends waits for them, names them, and
        #: may give them up, as for the files being saved).
        self._removing: dict[Future[None], tuple[FileOfferInfo, int]] = {}
        #: The files whose end came, being saved on the disk thread, until
        #: they are saved or not (:meth:`saving`), and what was received of
        #: each (:meth:`stop` marks it stopped: files37).
        self._saving: dict[int, FileOfferInfo] = {}
        self._finishing: dict[int, Incoming] = {}
        #: A save or a removal done on the disk thread whose outcome is not
        #: told on the loop yet (:meth:`settle` waits for these too: a
        #: stopped file's removal comes after its save; and a save can be
        #: done there while its word to the loop is still on the way).
        self._untold: set[asyncio.Future[Any]] = set()
        #: Set by :meth:`give_up`: :meth:`settle` no longer waits for the disk.
        self._left = asyncio.Event()
        #: Bytes of chunks handed to the disk thread and not yet written
        #: (:meth:`chunk`), and the event set whenever some are.
        self._queued = 0
        self._room = asyncio.Event()
        #: How far each file got on the disk, to confirm to a pacing peer,
        #: and the task that sends those confirmations (:meth:`_confirm`).
        self._to_confirm: dict[int, int] = {}
        self._confirming: asyncio.Task[None] | None = None
        self._later: set[asyncio.Task[None]] = set()  #: results sent from callbacks
        self.pending = 0
        self.refused = 0
        self.last_refusal = ""  #: why the last offer was refused unasked ("" if it was not)
        #: ... as a reason code for the peer, and the number it qualifies.
        self._last_code = (0, 0)

    @property
    def consent(self) -> FileConsent | None:
        """The callback that asks the local user (None: every offer is refused)."""
        return self._consent

    @property
    def takes_files(self) -> bool:
        """Whether an offer can be accepted at all (a directory, and a
        callback to ask): False refuses every one unasked ("takes no files")."""
        return self.directory is not None and self._consent is not None

    @property
    def reserved(self) -> int:
        """Bytes reserved by pending offers and accepted files."""
        return self._total

    def receiving(self) -> list[tuple[FileOfferInfo, int]]:
        """The files being received now (accepted, not yet ended or failed),
        each with the bytes of it written so far: for an interface's progress."""
        return [(info, inc.received) for transfer, inc in self._active.items()
                if (info := self._infos.get(transfer)) is not None]  # fmt: skip

    def stoppable(self) -> list[tuple[FileOfferInfo, int]]:
        """The files :meth:`stop` stops now, each with the bytes of it that
        came: those being received (:meth:`receiving`), those the local user
        said yes to and not taken yet (their folder looked at: 0 bytes), and
        those whose end came, being saved on the disk (:meth:`saving`: all
        of it); none stopped already. Before (host37), the host's ``/stop``
        looked at :meth:`receiving` only and found neither of the last two."""
        taking = [(info, 0) for transfer in sorted(self._said_yes - self._stop_wanted)
                  if transfer not in self._active
                  and (info := self._infos.get(transfer)) is not None]  # fmt: skip
        stopped = {t for t, inc in self._finishing.items() if inc.stopped}
        saving = [(info, info.size) for t, info in self._saving.items() if t not in stopped]
        receiving = [got for got in self.receiving() if got[0].transfer not in self._stop_wanted]
        return [*taking, *receiving, *saving]

    def admit(self, offer: FileOffer, peer: str) -> FileOfferInfo | None:
        """Check an offer and reserve its space; None: refuse it without asking.

        Synchronous, so the receive loop can refuse a flood without a task per
        offer. Raises ProtocolError for an id offered twice or too many offers.
        A non-None result must go to :meth:`decide`.
        """
        if offer.transfer in self._asked:
            raise ProtocolError(f"transfer {offer.transfer} offered twice")
        if len(self._asked) >= MAX_OFFERS:
            raise ProtocolError(f"more than {MAX_OFFERS} file offers in one session")
        self._asked.add(offer.transfer)
        self.last_refusal, code, number = self._refusal(offer.size)
        self._last_code = (code, number)
        if self.last_refusal:
            self.refused += 1
            return None
        self._total += offer.size
        self.pending += 1
        name = safe_text(safe_filename(offer.name), 100)
        return FileOfferInfo(safe_text(peer), name, offer.size, transfer=offer.transfer,
                             deadline=OfferDeadline())  # fmt: skip

    def refusal_event(self, offer: FileOffer, peer: str, why: str | None = None) -> FileRefused:
        """The event for an offer refused without asking: ``why`` (default:
        what :meth:`admit` just said), the name made harmless. Read right after
        :meth:`admit`, before anything awaits: another offer's admit replaces
        :attr:`last_refusal`."""
        name = safe_text(safe_filename(offer.name), 100)
        why = self.last_refusal if why is None else why
        return FileRefused(peer, name, offer.size, why, offer.transfer)

    def _refusal(self, size: int) -> tuple[str, int, int]:
        """Why an offer of ``size`` bytes is refused unasked ("": it is not),
        for the local user, and as a reason code and its number for the peer
        (:func:`file_refusal`)."""
        if not self.takes_files:
            return f"this {self.side} takes no files", NO_FILES, 0
        if self.pending >= self.max_pending:
            return f"{self.pending} files already wait for an answer", BUSY, self.pending
        if size > self.max_file:
            # Said as the peer reads the code (refusal_words): never a count
            # of bytes a person has to read digit by digit.
            return (f"larger than this {self.side} takes ({limit_amount(self.max_file)})",
                    TOO_LARGE, self.max_file)  # fmt: skip
        if self._total + size > self.max_total:
            return (f"over what this {self.side} takes in one session"
                    f" ({limit_amount(self.max_total)})",
                    OVER_TOTAL, self.max_total)  # fmt: skip
        return "", 0, 0

    def refuse(self, transfer: int, busy: int | None = None) -> list[Message]:
        """What to send the peer for an offer refused without asking (read
        right after :meth:`admit`, as :meth:`refusal_event`): to a peer that
        announced file results, why (:func:`file_refusal`: a code, never
        this side's words), then the FileAccept that refuses it. ``busy``:
        refused because that many questions of the peer's wait already (the
        host's question queue), not for what :meth:`admit` said."""
        answer = FileAccept(transfer, False)
        if not self.reports:
            return [answer]
        return [file_refusal(transfer, *self.refusal_code(busy)), answer]

    def refusal_code(self, busy: int | None = None) -> tuple[int, int]:
        """The reason code and its number of an offer refused without asking
        (as :meth:`refuse` says it: read right after :meth:`admit`), for the
        audit log (the host's session tells its recording)."""
        return self._last_code if busy is None else (BUSY, busy)

    async def decide(
        self,
        offer: FileOffer,
        info: FileOfferInfo,
        ask: Callable[[FileOfferInfo], Awaitable[bool]] | None = None,
    ) -> FileAccept:
        """Ask (through ``ask``, default the consent callback under the
        timeout) about an admitted offer; take the file if yes (its folder
        checked now, on the disk thread; the file created when its first
        bytes come). An offer the sender withdraws meanwhile closes the
        question (the task asking is cancelled; or the look at the folder
        after a yes) and is refused, whatever the answer; one whose sender
        stopped waiting before its turn was not put (``ask`` honours
        ``info.window``), and the local user is told. One the local user
        stops meanwhile (:meth:`stop`) and says yes to is stopped as it is
        taken (:meth:`_stopped_before_taken`)."""
        self._deciding.add(offer.transfer)
        try:
            accept = await self._decide(offer, info, ask)
            if accept.accepted and offer.transfer in self._stop_wanted \
                    and offer.transfer in self._active:
                return self._stopped_before_taken(offer.transfer)
            if accept.accepted and offer.transfer in self._active:
                self._answering.add(offer.transfer)
            return accept
        finally:
            self._deciding.discard(offer.transfer)
            self._stop_wanted.discard(offer.transfer)
            self._said_yes.discard(offer.transfer)

    def _stopped_before_taken(self, transfer: int) -> FileAccept:
        """The local user said yes to ``transfer`` and stopped it before it
        was taken (the page's Cancel right after its Accept, while the
        folder was looked at: files37): nothing of it is on disk (its file
        is created when its first bytes come, and none can come before this
        answer), its space is given back, and the local user is told as for
        a stop mid-way (:data:`STOPPED_HERE`, none of it had come). To a
        sender that takes file results it is accepted and stopped at once,
        as a stop mid-way: the reason code :data:`STOPPED_THERE` and a
        FileResult "not saved" right after the FileAccept (it sends no
        chunk, or drops the few that went as it read them; its user reads
        that this side's user stopped receiving it, 0 bytes of it gone).
        To an older one, a plain no: it sends nothing."""
        inc = self._active.pop(transfer)
        info = self._infos.pop(transfer, None)
        self._total -= inc.size
        if info is not None:
            self._told(FileRefused(info.peer, info.name, info.size, STOPPED_HERE, transfer, 0))
        if not self.reports:
            self.refused += 1
            return FileAccept(transfer, False)
        self._failed[transfer] = (inc.name, inc.size, STOPPED_HERE)
        self._stopped.add(transfer)
        self._unsent[transfer] = self._stop_words(transfer)
        return FileAccept(transfer, True)

    @staticmethod
    def _stop_words(transfer: int) -> list[Message]:
        """What a sender that takes file results is told of a file this
        side's user stopped (rstop36): the reason code, then the FileResult
        whose own words a sender of the version before the code reads."""
        return [file_result_reason(transfer, STOPPED_THERE),
                FileResult(transfer, False, STOPPED_THERE_WHY)]

    async def _decide(
        self,
        offer: FileOffer,
        info: FileOfferInfo,
        ask: Callable[[FileOfferInfo], Awaitable[bool]] | None,
    ) -> FileAccept:
        """:meth:`decide`, all but what a stop meanwhile changes."""
        # The question is asked in this task, not one of its own: it takes
        # its turn among the host's questions in the order the offers came.
        asking = asyncio.current_task()
        assert asking is not None
        self._asking[offer.transfer] = asking
        self._infos[offer.transfer] = info
        unusable: OSError | None = None
        try:
            ok = await (ask or self._ask)(info)
            if ok and self.directory is not None:
                self._said_yes.add(offer.transfer)
                # Still asked about meanwhile: a withdrawal closes it as it
                # closes the question.
                unusable = await self._unusable()
        except asyncio.CancelledError:
            if offer.transfer not in self._withdrawn:
                raise
            ok = False
        finally:
            self.pending -= 1
            del self._asking[offer.transfer]
            del self._infos[offer.transfer]  # back below while the file is taken
        if offer.transfer in self._withdrawn:
            # Withdrawn, whatever the answer (a cancellation that came as the
            # answer did may have been swallowed by a wait_for on the way).
            why = self._withdrawn.pop(offer.transfer)
            uncancel = getattr(asking, "uncancel", None)  # Python >= 3.11
            if uncancel is not None:
                uncancel()
            self._total -= info.size
            self.refused += 1
            self._tell(info, why, offer.transfer)
            return FileAccept(offer.transfer, False)
        if not ok or self.directory is None:
            self._total -= info.size
            self.refused += 1
            if info.deadline is not None and info.deadline.skipped:
                self._tell(info, EXPIRED, offer.transfer)
            return FileAccept(offer.transfer, False)
        if unusable is not None:
            # The directory went away, is not writable, read-only...: the
            # local user who said yes is told; the session goes on (a file
            # that cannot be created or written later fails in on_chunk). A sender that
            # takes results is told it was accepted and not saved (the
            # FileResult right after the FileAccept: take_result); an older
            # one that it was not accepted.
            self._total -= info.size
            self.refused += 1
            reason = safe_text(unusable.strerror or str(unusable), REASON_SHOWN) or "write error"
            self._tell(info, f"{NOT_SAVED}{reason}", offer.transfer)
            if not self.reports:
                return FileAccept(offer.transfer, False)
            self._infos[offer.transfer] = info
            self._failed[offer.transfer] = (info.name, info.size, f"{NOT_SAVED}{reason}")
            self._unsent[offer.transfer] = [FileResult(offer.transfer, False, reason)]
            return FileAccept(offer.transfer, True)
        self._active[offer.transfer] = Incoming(info.name, offer.size, self.directory,
                                                peer=info.peer)  # fmt: skip
        self._infos[offer.transfer] = info
        await self._clean()  # (a withdrawal meanwhile removes what it began)
        return FileAccept(offer.transfer, True)

    def _tell(self, info: FileOfferInfo, why: str, transfer: int) -> None:
        """Tell the local user at once that a file is not saved, and why."""
        self._told(FileRefused(info.peer, info.name, info.size, why, transfer))

    def _told(self, event: FileReceived | FileRefused) -> None:
        if self._on_event is not None:
            self._on_event(event)

    def _told_once(self, removed: Future[None] | None, event: FileRefused) -> None:
        """``event`` told once ``removed`` (the half file's removal on the
        disk thread, if it went there) is done: its words say nothing of the
        file was kept, and the user who looks at the folder on reading them
        must find it so (the fresh clone of 320cdd8 found the part file
        still there after the line and the next chat line had come)."""
        if removed is None:
            self._told(event)
        else:
            def tell(done: asyncio.Future[None]) -> None:
                if not done.cancelled():
                    done.exception()  # a removal that failed is the disk thread's to log
                self._told(event)

            # Among what settle() waits for (flake48f): a removal the disk
            # thread finished before the loop ran again is done, so settle()
            # did not wait for it, and the session said it ended before
            # this was told (its callback still queued on the loop).
            removing = asyncio.wrap_future(removed)
            removing.add_done_callback(tell)
            self._untold.add(removing)
            removing.add_done_callback(self._untold.discard)  # (after told)

    def _on_disk(self, call: Callable[..., T], *args: Any) -> Future[T]:
        """``call(*args)`` on the disk thread: the thread that makes this
        receiver's calls that may wait on a slow disk for seconds (fsync,
        link, rename, write-back), off the session's loop; one, so that
        they run in the order they were given (a file's write-back before
        its fsync, and that before its name)."""
        if self._pool is None:
            self._pool = DiskThread()
        return self._pool.submit(call, *args)

    def withdraw(self, transfer: int, why: str = WITHDRAWN) -> None:
        """The sender gave the offer up (its timeout came before it had this
        side's answer; or ``why``, it could not read the file after the
        yes, or its sending was stopped there): the question is closed
        (:meth:`decide` refuses it), or the file begun is removed and its
        space given back; the local user is told ``why`` (and, of a file
        whose sending was stopped, how much of it had come). An offer
        already answered no, refused unasked or ended: nothing to do. One
        never offered: ProtocolError.

        A question withdrawn for want of an answer shows how long its sender
        waits: the offers that came with it and still wait for their turn
        are reckoned to end as long after they came (:class:`OfferDeadline`),
        so none of them is put once it is void, even while their own
        withdrawals are still on the way."""
        if transfer not in self._asked:
            raise ProtocolError(f"withdrawal of transfer {transfer}, which was not offered")
        asking = self._asking.get(transfer)
        if asking is not None:
            if transfer not in self._withdrawn:
                # A reason that presumes a yes (the file could not be read
                # after it) is not the truth of a question still open: the
                # user is told only that the sender withdrew it.
                self._withdrawn[transfer] = why if why == WITHDRAWN else WITHDRAWN_OTHER
                if why == WITHDRAWN:
                    self._waited(transfer)
                asking.cancel()  # decide() refuses it and tells the user
            return
        info = self._infos.pop(transfer, None)
        self._unsent.pop(transfer, None)
        self._stopped.discard(transfer)
        if self._failed.pop(transfer, None) is not None:
            return  # it could not be saved, or they stopped it, and the local user was told so
        inc = self._active.get(transfer)
        if inc is not None:
            self._total -= inc.size
            removed = self._abort(transfer)
            if info is not None:
                came = inc.received if why == WITHDRAWN_STOPPED else -1
                self._told_once(removed, FileRefused(info.peer, info.name, info.size, why,
                                                     transfer, came))  # fmt: skip

    def _waited(self, transfer: int) -> None:
        """The sender gave ``transfer`` up while it was asked about: the
        other offers still asked about wait no longer after they came."""
        given_up = self._infos[transfer].deadline
        if given_up is None:
            return
        waited = asyncio.get_running_loop().time() - given_up.arrived
        for other, info in self._infos.items():
            if other in self._asking and info.deadline is not None:
                info.deadline.wait = min(info.deadline.wait, waited)

    def take_result(self, transfer: int) -> list[Message]:
        """What to send right after :meth:`decide`'s FileAccept for
        ``transfer``: a FileResult "not saved" if it was accepted and its
        file could not be created, or (after its reason code) if the local
        user stopped it before it was taken, or while its FileAccept
        waited to go (:meth:`stop`); else nothing. Called once the
        FileAccept went (:meth:`~.sender.FileSender.answer`)."""
        self._answering.discard(transfer)
        return self._unsent.pop(transfer, [])

    async def on_offer(self, offer: FileOffer, peer: str) -> FileAccept:
        """:meth:`admit`, then :meth:`decide`. Run it as its own task."""
        info = self.admit(offer, peer)
        if info is None:
            return FileAccept(offer.transfer, False)  # (its reason: refuse())
        return await self.decide(offer, info)

    async def _ask(self, info: FileOfferInfo) -> bool:
        assert self._consent is not None
        window = info.window(self.timeout)
        if window is None:
            return False
        try:
            return bool(await wait_for(self._consent(info), window))
        except asyncio.TimeoutError:
            return False
        except Exception:  # a crashing UI refuses, it never accepts
            return False

    async def _unusable(self) -> OSError | None:
        """Why the directory cannot take a new file now (:meth:`_usable`),
        or None: looked at on the disk thread, so that a folder on a disk
        that does not answer (NFS) holds neither the session's loop nor the
        screen and input it carries (only this file's answer waits)."""
        try:
            await asyncio.wrap_future(self._on_disk(self._usable))
        except OSError as exc:
            return exc
        return None

    def _usable(self) -> None:
        """Whether the directory can take a new file now; OSError in the OS's
        words if not (it is gone, not a directory, read-only, not writable).
        On the disk thread (:meth:`_unusable`)."""
        assert self.directory is not None
        if not stat.S_ISDIR(os.stat(self.directory).st_mode):
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
        if os.statvfs(self.directory).f_flag & os.ST_RDONLY:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        if not os.access(self.directory, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    def _root(self) -> Path:
        assert self.directory is not None
        return self.directory.resolve()

    async def _clean(self) -> None:
        """Once per receiver, at its first yes, on the disk thread: tidy
        what receivers that could not end left in the directory
        (:func:`~.names.tidy`). Nothing on a system without flock."""
        if not can_lock:
            return
        if self._tidied is None:
            self._tidied = asyncio.wrap_future(self._on_disk(self._tidy))
        if not self._tidied.done():  # each yes meanwhile waits too: answered in order
            await asyncio.wait({self._tidied})

    def _tidy(self) -> None:
        """:meth:`_clean`'s work, on the disk thread."""
        tidy(self._root())

    def _take(self, chunk: FileChunk) -> Incoming | None:
        """The file ``chunk`` belongs to, with the chunk counted in (its
        bytes and its hash); None if that file could not be saved (the rest
        of it goes nowhere). ProtocolError for a chunk of no accepted file,
        out of order or past the offered size (the file is removed)."""
        if chunk.transfer in self._failed:
            return None
        inc = self._active.get(chunk.transfer)
        if inc is None:
            raise ProtocolError(f"chunk for transfer {chunk.transfer}, which is not accepted")
        if chunk.offset != inc.received or inc.received + len(chunk.data) > inc.size:
            self._abort(chunk.transfer)
            raise ProtocolError("file chunk out of order or past the offered size")
        inc.hash.update(chunk.data)
        inc.received += len(chunk.data)
        return inc

    def on_chunk(self, chunk: FileChunk) -> Message | None:
        """Write a chunk on the calling thread (the session writes on the
        disk thread: :meth:`chunk`); what to send the peer: a FileResult
        (when it takes them) if this chunk's file could not be written, else
        to a pacing peer how far the file got."""
        inc = self._take(chunk)
        if inc is None:
            return None
        try:
            inc.write(chunk.data)
        except OSError as exc:  # gone, the disk is full, the file too large for it...
            self._abort(chunk.transfer)
            return self._fail(chunk.transfer, inc, exc)
        return file_progress(chunk.transfer, inc.written) if self.confirms else None

    async def chunk(self, chunk: FileChunk, send: Callable[[Message], Awaitable[None]]) -> None:
        """The peer's chunk, checked and counted in now (:meth:`_take`),
        then written on the disk thread after the chunks before it, so that
        a disk that stops answering holds neither the receive loop nor the
        session's loop, which carry the screen, the input and the chat.
        Once it is written, a pacing peer is told how far the file got
        (:meth:`_confirm`): a sender that paces sends no more than its
        window ahead of the disk. If it could not be written, its file is
        removed and the peer told at once (a FileResult, if it takes them).
        At most :data:`QUEUED_MOST` bytes wait for the disk: a chunk that
        would go over waits for room here (only a sender that does not pace
        gets that far ahead; the receive loop then waits, and TCP holds the
        sender)."""
        inc = self._take(chunk)
        if inc is None:
            return
        size = len(chunk.data)
        while self._queued and self._queued + size > QUEUED_MOST:
            self._room.clear()
            await self._room.wait()
            if self._active.get(chunk.transfer) is not inc:
                return  # withdrawn meanwhile, or the session ended
        self._queued += size
        inc.on_disk = True
        writing = asyncio.wrap_future(self._on_disk(inc.write, chunk.data))
        writing.add_done_callback(functools.partial(self._written, chunk.transfer, inc, size,
                                                    send))  # fmt: skip

    def _written(
        self,
        transfer: int,
        inc: Incoming,
        size: int,
        send: Callable[[Message], Awaitable[None]],
        writing: asyncio.Future[None],
    ) -> None:
        """On the loop, once the disk thread wrote a chunk of ``inc`` or
        could not (:meth:`chunk`)."""
        self._queued -= size
        self._room.set()
        if self._active.get(transfer) is not inc:
            return  # ended (its save reports a failed write), withdrawn, or its session ended
        error = writing.exception()
        if error is None:
            if self.confirms:
                self._confirm(transfer, inc.written, send)
        elif isinstance(error, OSError):
            self._abort(transfer)
            result = self._fail(transfer, inc, error)
            if result is not None:
                task = asyncio.ensure_future(_tell_peer(result, send))
                self._later.add(task)
                task.add_done_callback(self._later.discard)
        else:  # a bug: the file's end says so (its save fails with it)
            inc.error = OSError(errno.EIO, repr(error))

    def _confirm(self, transfer: int, written: int, send: Callable[[Message], Awaitable[None]]
                 ) -> None:  # fmt: skip
        """Tell the peer that ``written`` bytes of ``transfer`` are written
        (file_progress), in order, from one task: what was written while it
        sent the last is told in one confirmation each file."""
        self._to_confirm[transfer] = written
        if self._confirming is None or self._confirming.done():
            self._confirming = asyncio.ensure_future(self._confirm_all(send))

    async def _confirm_all(self, send: Callable[[Message], Awaitable[None]]) -> None:
        while self._to_confirm:
            transfer = next(iter(self._to_confirm))
            await _tell_peer(file_progress(transfer, self._to_confirm.pop(transfer)), send)

    def stop(self, transfer: int) -> list[Message] | None:
        """The local user stops receiving ``transfer`` mid-way (rstop36):
        what of it is on disk is removed (after its chunks queued there),
        its space given back, the rest of it dropped as it comes, and the
        local user told (a :class:`FileRefused`, :data:`STOPPED_HERE`, with
        how much of it had come). Returns what to send the peer: to one
        that takes file results, the reason code :data:`STOPPED_THERE` and
        a FileResult "not saved" (an older sender reads its words, stops
        sending and says it could not be saved); to an older one nothing
        (it sends the rest, dropped here).

        Also before it is taken and after all of it came (files37; before,
        both found nothing to stop and the file was saved): a file asked
        about and not answered to the peer yet (its question answered yes
        and its folder being looked at, or still open) is stopped as its
        yes is given (:meth:`_stopped_before_taken`; a no is a no); a file
        whose end came and is being saved is removed once the disk thread
        is done with it, never left under its name, and then the local
        user and the peer are told as of a stop mid-way, all of it had
        come (:meth:`_saved`). Both return [] (nothing to send now). None
        if ``transfer`` is none of these (never offered, refused, ended
        or failed): nothing to stop."""
        if transfer in self._deciding:
            self._stop_wanted.add(transfer)
            return []
        inc = self._active.get(transfer)
        if inc is None:
            finishing = self._finishing.get(transfer)
            if finishing is None or finishing.stopped:
                return None
            finishing.stopped = True  # its save does not name it, if not begun (Incoming.save)
            return []
        info = self._infos.pop(transfer, None)
        self._total -= inc.size
        removed = self._abort(transfer)
        self._to_confirm.pop(transfer, None)
        self._failed[transfer] = (inc.name, inc.size, STOPPED_HERE)
        self._stopped.add(transfer)
        if info is not None:
            self._told_once(removed, FileRefused(info.peer, info.name, info.size, STOPPED_HERE,
                                                 transfer, inc.received))  # fmt: skip
        self._room.set()  # a chunk of it waiting for room goes nowhere now
        words = self._stop_words(transfer) if self.reports else []
        if transfer in self._answering:  # its FileAccept has not gone: they follow it
            self._unsent.setdefault(transfer, []).extend(words)
            return []
        return words

    def _fail(self, transfer: int, inc: Incoming, exc: OSError) -> FileResult | None:
        """Record that ``transfer`` could not be saved (its file is gone);
        the result for the peer, if it takes them."""
        self._total -= inc.size
        reason = safe_text(exc.strerror or str(exc), REASON_SHOWN) or "write error"
        self._failed[transfer] = (inc.name, inc.size, f"{NOT_SAVED}{reason}")
        return FileResult(transfer, False, reason) if self.reports else None

    def _ending(self, end: FileEnd) -> Incoming | None:
        """The file ``end`` ends, taken out of those being received, checked
        whole and the one offered (ProtocolError if not: it is removed), or
        None if it could not be saved here (it failed mid-way)."""
        self._infos.pop(end.transfer, None)
        self._stopped.discard(end.transfer)
        if self._failed.pop(end.transfer, None) is not None:
            return None
        inc = self._active.pop(end.transfer, None)
        if inc is None:
            raise ProtocolError(f"end of transfer {end.transfer}, which is not accepted")
        if inc.received != inc.size or inc.hash.digest() != end.sha256:
            self._drop(inc, end.transfer)
            raise ProtocolError("file transfer incomplete or its hash does not match")
        return inc

    def on_end(self, end: FileEnd) -> tuple[Path, int] | None:
        """The file, complete and checked, under its name now, saved on the
        calling thread (the session saves off its loop: :meth:`end`); None if
        it failed mid-way; OSError if it could not be saved."""
        inc = self._ending(end)
        if inc is None:
            return None
        try:
            return inc.save(), inc.size
        except OSError:
            self._total -= inc.size
            raise

    def end(
        self, end: FileEnd, peer: str, send: Callable[[Message], Awaitable[None]]
    ) -> Coroutine[Any, Any, None]:
        """The peer's FileEnd: the file is checked now (ProtocolError if it
        is not whole or not the one offered), then saved on the disk thread
        (:meth:`~.incoming.Incoming.save`), so that the session's loop and the receive loop
        that calls this go on meanwhile. Once it is saved or not, the local
        user is told (``on_event``: a FileReceived, or a FileRefused saying
        why), even if the session ended meanwhile; the coroutine returned,
        run as a task of its own, then sends the peer its FileResult if it
        takes them and has not been sent one (a file that failed mid-way
        was told at once)."""
        answer: asyncio.Future[list[Message]] = asyncio.get_running_loop().create_future()
        failed = self._failed.get(end.transfer)
        stopped = end.transfer in self._stopped
        inc = self._ending(end)
        if inc is None and stopped:  # its user was told then
            answer.set_result([])  # (its FileResult went then)
        elif inc is None:
            assert failed is not None
            name, size, why = failed
            self._told(FileRefused(safe_text(peer), safe_text(name, 100), size, why, end.transfer))
            answer.set_result([])
        else:
            self._saving[end.transfer] = FileOfferInfo(safe_text(peer), inc.name, inc.size,
                                                       transfer=end.transfer)  # fmt: skip
            self._finishing[end.transfer] = inc
            self._last_save = last = self._on_disk(inc.save)
            _SAVES[self] = last
            saving = asyncio.wrap_future(self._last_save)
            told = functools.partial(self._saved, inc, end.transfer, peer, answer)
            saving.add_done_callback(told)
            self._untold.add(saving)
            saving.add_done_callback(self._untold.discard)  # (after told)
        return _reply(answer, send)

    def _saved(
        self,
        inc: Incoming,
        transfer: int,
        peer: str,
        answer: asyncio.Future[list[Message]],
        saving: asyncio.Future[Path],
    ) -> None:
        """On the loop, once the disk thread saved ``inc`` or could not
        (:meth:`end`): the local user is told, and ``answer`` is given what
        to tell the peer (unless whoever waited for it is gone). One the
        local user stopped meanwhile (:meth:`stop`) is removed instead."""
        self._saving.pop(transfer, None)
        self._finishing.pop(transfer, None)
        if self._last_save is not None and self._last_save.done():
            _SAVES.pop(self, None)  # its last save: the exit need not wait
        error = saving.exception()
        if error is not None and not isinstance(error, OSError):
            if not answer.done():
                answer.set_exception(error)  # a bug: the session ends
            return
        if inc.stopped:
            self._stopped_when_whole(inc, transfer, peer, answer,
                                     saving.result() if error is None else None)  # fmt: skip
            return
        said: list[Message] = []
        if error is None:
            event: FileReceived | FileRefused
            event = FileReceived(peer, str(saving.result()), inc.size, transfer)
            result = FileResult(transfer, True)
            # The name it has here, first: made safe or taken, it is not
            # the offered one (walk45), and the sender says what it was saved as.
            said.append(file_saved_as(transfer, saving.result().name))
        else:
            self._total -= inc.size
            reason = safe_text(error.strerror or str(error), REASON_SHOWN)
            event = FileRefused(safe_text(peer), safe_text(inc.name, 100), inc.size,
                                f"{NOT_SAVED}{reason}", transfer)  # fmt: skip
            result = FileResult(transfer, False, reason)
        self._told(event)
        if not answer.done():
            answer.set_result([*said, result] if self.reports else [])

    def _stopped_when_whole(
        self,
        inc: Incoming,
        transfer: int,
        peer: str,
        answer: asyncio.Future[list[Message]],
        named: Path | None,
    ) -> None:
        """``inc``, all of which had come, was stopped by the local user
        while it was saved (:meth:`stop`): the file is removed, on the disk
        thread, if its save named it before it saw the stop (``named``;
        else its save removed it), and only then are the local user and the
        peer told (its words say nothing of it was kept)."""
        self._total -= inc.size
        removed = None if named is None else self._on_disk(named.unlink, True)
        event = FileRefused(safe_text(peer), safe_text(inc.name, 100), inc.size, STOPPED_HERE,
                            transfer, inc.size)  # fmt: skip
        words = self._stop_words(transfer) if self.reports else []

        def tell() -> None:
            self._told(event)
            if not answer.done():
                answer.set_result(words)

        if removed is None:
            tell()
            return
        self._last_drop = removed  # settle() waits for it
        # ... and removing() lists it, all of it come (files41: not listed,
        # an embedder reading Host.removing() was told nothing was pending).
        self._removing[removed] = (FileOfferInfo(inc.peer, inc.name, inc.size,
                                                 transfer=transfer), inc.size)  # fmt: skip
        asyncio.wrap_future(removed).add_done_callback(
            lambda _: self._removing.pop(removed, None))

        def unlinked(done: asyncio.Future[None]) -> None:
            if not done.cancelled():
                done.exception()  # a removal that failed is the disk thread's to log
            tell()

        unlinking = asyncio.wrap_future(removed)
        unlinking.add_done_callback(unlinked)
        self._untold.add(unlinking)
        unlinking.add_done_callback(self._untold.discard)  # (after unlinked)

    def _abort(self, transfer: int) -> Future[None] | None:
        inc = self._active.pop(transfer, None)
        return None if inc is None else self._drop(inc, transfer)

    def _drop(self, inc: Incoming, transfer: int) -> Future[None] | None:
        """Remove what ``inc`` (``transfer``) has on disk, on the thread
        that writes it: on the disk thread after the chunks queued before
        (which it then does not write), so that a disk that does not answer
        does not hold the loop (:meth:`~.incoming.Incoming.remove`); its
        removal there, if it went there, is among :meth:`removing` until
        it is done."""
        if not inc.on_disk:
            inc.remove()
            return None
        self._last_drop = removal = self._on_disk(inc.remove)
        info = FileOfferInfo(inc.peer, inc.name, inc.size, transfer=transfer)
        self._removing[removal] = (info, inc.received)
        asyncio.wrap_future(removal).add_done_callback(
            lambda _: self._removing.pop(removal, None))
        return removal

    def removing(self) -> list[tuple[FileOfferInfo, int]]:
        """The half files (cut short by :meth:`close`, withdrawn, stopped,
        failed or broken by the peer), and the whole ones stopped once their
        save had named them (:meth:`_stopped_when_whole`: files41), whose
        removal the disk thread has not done yet, each with the bytes of it
        that came, in the order they were given to it: what a program that
        ends waits for too
        (:meth:`settle`), and says it waits for (deflake39: before, the
        host waited silently, 10 s, on a disk that did not answer, and a
        second Ctrl-C did not make it leave). Empty once :meth:`give_up`
        was called: nothing is waited for then."""
        if self._left.is_set():
            return []
        return [got for removal, got in self._removing.items() if not removal.done()]

    def saving(self) -> list[FileOfferInfo]:
        """The files whose end came that the disk thread is saving now (the
        fsync, the name; :meth:`end`), in the order they ended: what a
        program that ends waits for (:meth:`settle`)."""
        return list(self._saving.values())

    @property
    def disk_busy(self) -> bool:
        """A file whose end came is still being saved: what :meth:`settle`
        waits for. Not the other work of the disk thread (the tidy of the
        folder at the first yes, a write-back hint): a disk that stops
        answering then had a host's close wait for good, with no file to
        name and none to give up (review7). A half file's removal is
        (:meth:`removing`): it has a file to name, and is given up as a
        save is (deflake39)."""
        last = self._last_save
        saving = last is not None and not last.done()
        return (saving or bool(self.removing())) and not self._left.is_set()

    async def settle(self) -> None:
        """Wait until each file whose end came is saved or not, and its
        user told (:meth:`end`), and until the half files given to the disk
        thread to be removed are (withdrawn mid-way, or cut short by
        :meth:`close`). At the session's end: it is told after the files
        that came whole before it, and once nothing of those cut short or
        withdrawn stays. A caller cancelled stops waiting; the saves go on.
        Once :meth:`give_up` is called: at once."""
        # The calls run in order: the last save and the last removal done, all
        # are; the removals named (removing) too, so that what disk_busy
        # counts is waited for here whatever thread ran it.
        last = {call for call in (self._last_save, self._last_drop, *self._removing)
                if call is not None and not call.done()}  # fmt: skip
        if not (last or self._untold) or self._left.is_set():
            return
        left = asyncio.ensure_future(self._left.wait())
        try:  # (asyncio.wait cancels none: a save is never cancelled)
            if last:
                done: asyncio.Future[Any] = asyncio.gather(
                    *(asyncio.wrap_future(call) for call in last), return_exceptions=True)
                await asyncio.wait({done, left}, return_when=asyncio.FIRST_COMPLETED)
            # Each told on the loop, and what that gave the disk thread done
            # (review37: a file stopped as it was saved was removed, and its
            # user told, after the session was told ended).
            while self._untold and not left.done():
                await asyncio.wait({*self._untold, left}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            left.cancel()

    def give_up(self) -> list[FileOfferInfo]:
        """Stop waiting for the disk (the local user leaves without waiting
        for it): :meth:`settle` returns now and from now on. The disk thread
        goes on with what it was given; a file it saves while the program
        still runs is told saved as ever, and a program that ends meanwhile
        does not wait for it (a daemon thread): such a file is then not
        under its name, and what of it was written stays under its
        temporary name, which a later receiver in the folder tidies away
        (:meth:`_clean`). Returns the files that were still being saved."""
        self._left.set()
        _SAVES.pop(self, None)  # nor does the interpreter's exit
        return self.saving()

    def close(self) -> None:
        """Session over: remove every half-received file (on the disk
        thread, after its chunks queued there, if it had any: :meth:`_drop`),
        and tell the local user of each one they said yes to that it is not
        saved (:data:`CUT_SHORT`, with how much of it came), once it is
        removed: the words say nothing of it was kept (deflake39: they came
        while a disk that did not answer still held it). Once: what it
        removed it no longer has."""
        self.closed = True
        for transfer, inc in list(self._active.items()):
            removed = self._abort(transfer)
            info = self._infos.pop(transfer, None)
            if info is not None:
                why = f"{CUT_SHORT} ({inc.received} of {inc.size} bytes)"
                self._told_once(removed, FileRefused(info.peer, info.name, info.size, why,
                                                     transfer, inc.received))  # fmt: skip
        self._room.set()  # a chunk waiting for room goes nowhere now
        if self._pool is not None:
            # What it was given still runs (a file whole before the end is
            # saved, and its user told); then its thread ends.
            self._pool.shutdown()
            self._pool = None

