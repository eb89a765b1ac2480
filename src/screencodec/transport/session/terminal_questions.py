"""The host terminal's questions: :class:`TerminalQuestions` asks the local
user on a terminal, one numbered question at a time, and is the one writer of
that terminal's other lines; :func:`terminal_consent` and
:func:`terminal_yes_no` are its shorter forms, ``_LineReader`` the stdin
reader thread they share.

Split from :mod:`.consent` (split42b), which keeps the queue every interface
goes through and hands these names on; what a question's callback can know
of the question being put comes from :mod:`.asking`.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, TextIO

from screencodec.transport.aio import wait_for
from screencodec.transport.channel.display import amount, safe_text
from screencodec.transport.session.asking import (
    ConsentCallback,
    _not_shown_yet,
    _when_settled,
    question_gone,
)
from screencodec.transport.session.permissions import ConsentRequest, Grant
from screencodec.transport.session.sidechannels import FileOfferInfo

__all__ = ["NUMBERED", "TerminalQuestions", "terminal_consent", "terminal_yes_no"]

#: A peer name the host made unique (session/host.py: "NAME #N").
NUMBERED = re.compile(r"(.*) #\d+", re.DOTALL)


class TerminalQuestions:
    """:class:`Questions` on a terminal, and the one writer of its other lines.

    Each question is printed alone, numbered, with its kind and what ``y``
    grants, and answered by the next line typed *after* it was shown (lines
    typed earlier are discarded); only ``y``/``yes`` is yes. While a question
    is on screen, status lines (:meth:`say` with ``status=True``) are dropped
    and other lines are held and printed after the answer, so nothing prints
    over it. A question withdrawn (timeout, viewer gone) says so.

    But the reply to a command the user typed meanwhile is not held (a
    ``/stop`` at a file's question showed nothing for 30 s: hostq38): the
    lines said inside :meth:`replying` (by the task that entered it) or
    with ``reply=True`` are printed at once, and then the open question's
    prompt once more (``*** Question 3 is still open: y = ...; anything
    else = no. [y/N] ``), so the user sees both. The question is still
    answered by the next line typed after it was first shown (the prompt
    shown again changes nothing of that, nor of ``settle``).

    ``names`` maps each peer the user said yes to onto the name its agent gave,
    for banners. One event loop; the stdin reader is a daemon thread.

    A question closed without an answer (withdrawn by its sender, timed
    out, its viewer gone) may be followed at once by the next: a ``y`` that
    comes within ``settle`` seconds of that close, before any question was
    answered since, was typed for the closed one (nobody reads a question
    and answers it that fast), so it grants nothing; the user is told, and
    the question stays open for its own answer (another line is taken: it
    can only refuse). Else a peer that withdraws its question as the user
    types ``y`` would have that ``y`` land on the question behind it.

    A question is not shown within ``hold`` seconds of the close of the
    one before (answered or not): it waits (:attr:`holding` says which),
    so a second ``y`` typed meanwhile (a double tap, an Enter that seemed
    not to take) is typed before it and not taken, and the user is told so
    in one line as it shows. Else an agent that asks for CONTROL before its
    first question is answered has that second ``y`` grant it, the
    question never read (settle41). The wait comes out of the question's
    timeout; a question put later than ``hold`` after the last close is
    shown at once.
    """

    #: Seconds after a question closed without an answer during which a
    #: typed line is taken for that question's, not the next one's.
    SETTLE = 2.0
    #: Seconds after a question closed before the next is shown: a double
    #: tap or a key's repeat comes within a few tenths of a second, and an
    #: Enter typed again because the first "seemed not to take" within
    #: about one; browsers hold a download or install dialog's buttons as
    #: long (Firefox's security.dialog_enable_delay is 1000 ms).
    HOLD = 1.0

    def __init__(
        self,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        *,
        download_dir: Path | None = None,
        settle: float = SETTLE,
        hold: float = HOLD,
    ) -> None:
        self._stdin = stdin
        self._out = stdout
        self._download_dir = download_dir
        self.settle = settle
        self.hold = hold
        #: When (loop time) the last question closed (its line read, or
        #: closed without one): the next is not shown before ``hold`` after.
        self._closed_at: float | None = None
        #: The label of the question waiting out ``hold`` ("Question 2"),
        #: else None: a line typed now is typed before it (host_terminal
        #: passes it on, to be told as not taken, not as "no question is open").
        self.holding: str | None = None
        #: Lines typed during the hold that never reached ``stdin``
        #: (:meth:`typed_before`): told with those discarded from it.
        self._early = 0
        #: When (loop time) and which question last closed without an answer.
        self._unanswered: tuple[float, int] | None = None
        #: When (time.monotonic) the open question began to be shown (its
        #: hold over), and its label: a line read before is not its answer
        #: (ask42). -inf once its answer is read (one after answered nothing).
        self._shown_at = -math.inf
        self._label = ""
        #: The label of the last question closed ("" before the first).
        self._last = ""
        self._reader: _LineReader | None = None
        self._lock = asyncio.Lock()
        self._open = False
        self._held: list[str] = []
        #: The open question's prompt, shown again after a reply (:meth:`replying`).
        self._again = ""
        #: A reply was printed while the question is open, and its prompt
        #: not shown again since.
        self._owed = False
        #: The last thing written was a prompt ("[y/N] ", no newline).
        self._prompted = False
        #: The tasks inside :meth:`replying`, each with how deep (None: a
        #: callback on the loop, or no loop).
        self._replying: dict[asyncio.Task[Any] | None, int] = {}
        #: Lines read from ``stdin`` (taken or dropped as typed before a
        #: question): :meth:`read_up_to` (review39a).
        self.read = 0
        #: Woken as a question closes, or reads a line it does not take.
        self._read_moved: list[asyncio.Future[None]] = []
        self.names: dict[str, str] = {}
        #: The name each agent gave in a request said to be waiting
        #: (:meth:`queued`), so that the line saying they left before being
        #: asked names them as the waiting line did (words45).
        self.waited: dict[str, str] = {}
        #: How a peer is shown where not as itself: an agent back on a new
        #: link whose unique name is its lost link's with " #N" (through a
        #: relay both come from one address) reads "..., reconnected", not
        #: as a second agent (walk44; cli/host_lines.reconnected_as).
        self.shown: dict[str, str] = {}
        #: The name this terminal gave each peer so far (:meth:`show_as`).
        self._told: dict[str, str] = {}
        #: Why a question still open closes now, when this side closes it:
        #: "you stopped the host program" (Ctrl-C), "the host program was
        #: stopped by SIGTERM", "you ended the session" (/end); set by the
        #: host's terminal (cli/host.py, host_commands.py). None: a question
        #: closed without its asker going timed out, a no. page51: its line
        #: read "closed without an answer: no." of the host stopping, as if
        #: the user had answered no.
        self.closing: str | None = None
        try:
            # Start reading now, so lines typed before the first question are
            # seen, and discarded, as typed-ahead (needs the running loop).
            asyncio.get_running_loop()
            self._reading()
        except RuntimeError:
            pass  # made outside the loop: the reader starts with the first question

    @property
    def out(self) -> TextIO:
        return self._out or sys.stdout

    @property
    def asking(self) -> bool:
        """Whether a question is on screen, waiting for its answer."""
        return self._open

    def say(self, text: str, *, status: bool = False, reply: bool = False) -> None:
        """Print ``text`` now, or after the open question (a status line is
        dropped instead: the next one is current again). A reply to what the
        user typed (``reply``, or said inside :meth:`replying`) is printed
        now, and the open question's prompt after it (after the
        ``replying`` block: once for all its lines)."""
        if self._open:
            if not (reply or self._in_reply()):
                if not status:
                    self._held.append(text)
                return
            self._owed = True
            if self._prompted and not self._echoes():
                text = "\n" + text  # no typed line ended the prompt's row
        self._prompted = False
        self.out.write(text + "\n")
        self.out.flush()
        if reply:
            self._show_again()

    @contextlib.contextmanager
    def replying(self) -> Iterator[None]:
        """A block whose lines (:meth:`say`, by this task: not by the tasks
        it starts, whose lines come later) answer a command the user typed:
        printed at once even while a question is open; the question's
        prompt is then shown again, once, as the block ends. Lines the user
        did not ask for, said meanwhile by other tasks, are still held."""
        task = _current_task()  # None: a callback on the loop, the block one step of it
        self._replying[task] = self._replying.get(task, 0) + 1
        try:
            yield
        finally:
            if self._replying[task] == 1:
                del self._replying[task]
                self._show_again()
            else:
                self._replying[task] -= 1

    async def read_up_to(self, lines: int, within: float) -> None:
        """Wait, at most ``within`` seconds, while a question is open and
        fewer than ``lines`` lines are read (:attr:`read`): a line typed
        before a command (host_terminal: its answer, passed on through a
        pipe and a thread) is the question's before the command is done.
        review39a: ``n`` and ``/say sorry`` in one write sent the line to the
        agent as still asking, before the refusal (2 of 10 runs), the
        terminal (``--once``) never saying it went."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while self._open and self.read < lines and loop.time() < deadline:
            moved: asyncio.Future[None] = loop.create_future()
            self._read_moved.append(moved)
            with contextlib.suppress(asyncio.TimeoutError):
                await wait_for(moved, deadline - loop.time())

    def _wake_readers(self) -> None:
        moved, self._read_moved = self._read_moved, []
        for waiting in moved:
            if not waiting.done():
                waiting.set_result(None)

    def _in_reply(self) -> bool:
        return bool(self._replying) and _current_task() in self._replying

    def _show_again(self) -> None:
        """The open question's prompt once more, after replies printed since
        it was last shown (none: nothing)."""
        if self._open and self._owed and self._again:
            self._owed = False
            self.out.write(self._again)
            self.out.flush()
            self._prompted = True

    def _echoes(self) -> bool:
        """Whether what the user types shows on :attr:`out` (a terminal):
        their line ends the prompt's row. Else (a pipe, a log) a reply
        begins a row of its own."""
        try:
            return self.out.isatty()
        except (OSError, ValueError):
            return False

    async def permission(self, request: ConsentRequest, notes: Sequence[str] = ()) -> Grant:
        """Ask the user; ``notes``: lines more under the request's (what
        the caller knows that the request does not say)."""
        kind = "MORE ACCESS" if request.upgrade else "SCREEN SHARING"
        yes = await self._yes_no(
            request.question,
            kind,
            [replace(request, peer=self.show_as(request.peer)).describe(), *notes],
            f"y = let them {request.grants()}, nothing more",
            "they get nothing more" if request.upgrade else "nothing was shared",
        )
        if yes and not request.upgrade and question_gone() is None:
            self.names[request.peer] = request.who
        # The user's answer, also one that came too late (its line said so):
        # the queue drops it then (GONE), and the audit log has both.
        return Grant(request.level) if yes else Grant.deny()

    def show_as(self, peer: str) -> str:
        """How this terminal names ``peer`` (:attr:`shown`, else itself). A
        name the host numbered ("ADDR #N") is numbered anew, by the names
        this terminal has shown: the first "ADDR #k" (k from 2) it has not
        (walk45: Alice back on a new link through a relay took "ADDR #2",
        shown "ADDR, reconnected", and Bob after her read "ADDR #3" with no
        "#2" ever shown). Events and revoke(peer=...) keep the host's name."""
        if peer in self.shown or peer in self._told:
            # Once named, always so (review45: a name shown as the host gave
            # it was renumbered past itself at the next line: Bob "#2" while
            # waiting, "#3" in his own question).
            name = self.shown.get(peer) or self._told[peer]
        elif (found := NUMBERED.fullmatch(peer)) is not None:
            told = set(self._told.values()) | set(self.shown.values())
            k = 2
            while f"{found[1]} #{k}" in told:
                k += 1
            name = f"{found[1]} #{k}"
            if name != peer:
                self.shown[peer] = name
        else:
            name = peer
        self._told[peer] = name
        return name

    def queued(self, question: object) -> None:
        """Another question waits for the one open now (QuestionQueue's
        ``on_queued``): said at once, the open question's prompt shown again
        after it. walk43: a second agent's request waited unsaid, and the
        user answered the first not knowing someone else waited."""
        if isinstance(question, ConsentRequest):
            # Its who and peer are safe_text's already.
            what = replace(question, peer=self.show_as(question.peer)).describe()
            if not question.upgrade:
                self.waited[question.peer] = question.who
        elif isinstance(question, FileOfferInfo):
            who = self.names.get(question.peer)
            what = replace(question, peer=self.show_as(question.peer)).describe()
            if who:
                what = f"{who!r} ({self.show_as(question.peer)}) sends the file {question.name!r}"
        else:
            return
        # Unlike a reply, no typed line ended the prompt's row on a terminal.
        row = "\n" if self._open and self._prompted and self._echoes() else ""
        self.say(f"{row}(also waiting: {what}: asked once the question open now is answered)",
                 reply=True)  # fmt: skip

    async def file_offer(self, offer: FileOfferInfo) -> bool:
        where = f" in {self._download_dir}" if self._download_dir else ""
        who, shown = self.names.get(offer.peer), self.show_as(offer.peer)
        text = replace(offer, peer=shown).describe()
        if who:
            text = f"{who!r} ({shown}) sends the file {offer.name!r} ({amount(offer.size)})"
        return await self._yes_no(
            offer.question,
            "FILE (grants no access to your screen or input)",
            [text],
            f"y = save this one file{where}",
            "the file is not saved",
        )

    async def _yes_no(self, number: int, kind: str, lines: list[str], means: str,
                      nothing: str = "no") -> bool:  # fmt: skip
        """Put the question; the user's answer. ``nothing``: what a question
        whose asker went (:func:`question_gone`) gives, in its closing line
        ("nothing was shared"): that line says why, and a yes typed after
        it is said to be too late, never shown as a bare yes (consent41)."""
        async with self._lock:
            reader = self._reading()
            label = f"Question {number}" if number else "Question"
            await self._wait_hold(label)
            # From now on the question is being shown: a line read before
            # (by the reader thread, however late the loop gets to it) was
            # typed before it (ask42); one read as it is written, after.
            self._shown_at, self._label = time.monotonic(), label
            dropped = reader.discard_pending()
            self.read += dropped
            dropped, self._early = dropped + self._early, 0
            body = "".join(f"***   {line}\n" for line in lines)
            self.out.write(
                f"{_typed_before(dropped, label)}\n*** {label}: {kind}\n{body}"
                f"*** {means}; anything else = no. [y/N] "
            )
            self.out.flush()
            self._again = f"*** {label} is still open: {means}; anything else = no. [y/N] "
            self._owed = False
            self._prompted = True
            self._open = True
            answered = later = False
            try:
                line = await self._own_line(reader, label)
                answered = True
                self._unanswered = None  # a line after this one is for the next
                yes = _says_yes(line)
                gone = question_gone()
                if yes and gone is not None:
                    self.out.write(f"*** {label}: your yes came too late, {gone}: {nothing}.\n")
                    return yes
                # A yes is shown once it reached its asker (the queue says,
                # a few loop steps on): its agent may go meanwhile, and a
                # "yes" then granted nothing (consent41). Held till then.
                later = yes and _when_settled(
                    lambda kept, why: self._answered_yes(label, kept, why, nothing)
                )
                if later:  # nothing more to show of this question meanwhile
                    self._again, self._prompted = "", False
                    # A command typed after the answer waits for it to be read
                    # (read_up_to), not shown: in this step, as before (a /say
                    # woken at the settle ran after the next agent's question
                    # was put, and went to that agent: review39a's test, 1 of 2
                    # loaded runs).
                    self._wake_readers()
                else:
                    self.out.write(f"*** {label}: {'yes' if yes else 'no'}\n")
                return yes
            finally:
                if not answered:
                    gone = question_gone() or self.closing
                    why = "no" if gone is None else f"{gone}; {nothing}"
                    self.out.write(f"\n*** {label} closed without an answer: {why}.\n")
                    self._unanswered = (asyncio.get_running_loop().time(), number)
                self._closed_at = asyncio.get_running_loop().time()
                self._shown_at, self._last = -math.inf, label
                if not later:
                    self._closed()

    def typed_before(self) -> None:
        """A line typed while a question waits out its hold (:attr:`holding`),
        kept from ``stdin`` by its caller (host_terminal): the question says,
        as it shows, that it was not taken."""
        self._early += 1

    async def _wait_hold(self, label: str) -> None:
        """Wait until ``hold`` has passed since the last question closed
        (at once if it has), not counted in the question's timeout;
        cancelled meanwhile (withdrawn), the question was never shown and
        nothing is printed."""
        if self._closed_at is None:
            return
        loop = asyncio.get_running_loop()
        wait = self._closed_at + self.hold - loop.time()
        if wait <= 0:
            return
        self.holding = label
        try:
            with _not_shown_yet():  # its timeout starts when it shows (ask42)
                await asyncio.sleep(wait)
        finally:
            self.holding = None

    def _answered_yes(self, label: str, kept: bool, why: str, nothing: str) -> None:
        """The yes to ``label`` reached its asker (``kept``) or was dropped."""
        said = (
            "yes"
            if kept
            else f"that yes came too late, {why}: {nothing}."
            if why
            else f"your yes was not taken (the host's program failed): {nothing}."
        )
        self.out.write(f"*** {label}: {said}\n")
        self._closed()

    def _closed(self) -> None:
        """The question on screen is closed: the lines typed for it and not
        read are told they answered nothing, then what was held is printed."""
        self._open = False
        self._wake_readers()  # answered: from the step its answer is printed in
        self._owed = self._prompted = False
        for line in () if self._reader is None else self._reader.take_pending():
            self._answered_nothing(line)
        held, self._held = self._held, []
        for text in held:
            self.out.write(text + "\n")
        self.out.flush()

    def _reading(self) -> _LineReader:
        """The reader of ``stdin`` (started now if not yet), which tells
        this object of a line that comes while no question reads one."""
        reader = self._reader = _LineReader.for_stream(self._stdin or sys.stdin)
        reader.idle = self._idle
        return reader

    def _idle(self, line: str) -> bool:
        """A line read while no question waits for one: one typed before a
        question about to show (:attr:`holding`) or for the open one whose
        answer is on its way (a yes, :meth:`_closed`) is left to them (False);
        any other is told now that it answered nothing (ask42: 4 of 14 race
        runs had a y that came as its question closed sit unread, no reply)."""
        if self._open or self.holding is not None:
            return False
        self._answered_nothing(line)
        return True

    def _answered_nothing(self, line: str) -> None:
        """Tell the user ``line``, typed for a question but read with none
        open, answered nothing (an empty line: nothing to tell)."""
        typed = safe_text(line, 40)
        if typed:
            after = f" (it came after {self._last} closed)" if self._last else ""
            self.say(f"*** No question is open: {typed!r} answered nothing{after}.")

    def typed_before_shown(self, stamp: float) -> bool:
        """Whether a line read from the terminal at ``stamp``
        (``time.monotonic()``), handed on only now, was typed before the
        open question began to be shown: then it is not its answer, and
        the user is told so (with the question's prompt again). For a
        caller that reads the terminal itself (host_terminal), as
        :meth:`_own_line` does for lines read here."""
        if not (self._open and stamp < self._shown_at):
            return False
        self.say(_typed_before(1, self._label).lstrip("\n"), reply=True)
        return True

    async def _own_line(self, reader: _LineReader, label: str) -> str:
        """The next line typed for the question on screen (``label``): a
        yes that comes within :attr:`settle` of the close of a question left
        unanswered was meant for that one, and is not taken (the user is
        told). Any other line (the end of input too) is taken: it refuses."""
        loop = asyncio.get_running_loop()
        while True:
            stamp, line = await reader.next_stamped()
            self.read += line != ""
            if line and self.typed_before_shown(stamp):
                # Read (the reader thread) before the question began to show,
                # handed on after: typed before it (ask42, the embedder's
                # window: the pending lines were cleared before it came).
                self._wake_readers()
                continue
            if self._unanswered is None or not _says_yes(line):
                return line
            closed_at, closed = self._unanswered
            if loop.time() - closed_at >= self.settle:
                return line
            self._wake_readers()  # read, not taken: the question stays open
            which = f"question {closed}" if closed else "the question before"
            self.out.write(
                f"\n*** That y came as {which} closed: not taken as the"
                f" answer to {label}. Read it, then answer. [y/N] "
            )
            self.out.flush()
            self._prompted = True


def _current_task() -> asyncio.Task[Any] | None:
    """The task running now; None in a callback on the loop, or with none."""
    try:
        return asyncio.current_task()
    except RuntimeError:  # no loop running
        return None


def _typed_before(dropped: int, label: str) -> str:
    """The line that tells the user the ``dropped`` lines typed before
    ``label`` was shown answer nothing ("" for none)."""
    if not dropped:
        return ""
    if dropped == 1:
        return f"\n*** A line typed before {label} was shown was not taken as its answer."
    return f"\n*** {dropped} lines typed before {label} was shown were not taken as its answer."


def _says_yes(line: str) -> bool:
    """Only ``y`` or ``yes`` (any case, spaces around) is yes."""
    return line.strip().lower() in ("y", "yes")


def terminal_consent(stdin: TextIO | None = None, stdout: TextIO | None = None) -> ConsentCallback:
    """Ask on the terminal, ``[y/N]``; only ``y``/``yes`` typed *after* the
    question grants (see :class:`TerminalQuestions`). The deadline in :func:`ask`
    applies; one question is on screen at a time."""
    return TerminalQuestions(stdin, stdout).permission


async def terminal_yes_no(
    question: str, stdin: TextIO | None = None, stdout: TextIO | None = None
) -> bool:
    """Print ``question [y/N]`` and read one line; only ``y``/``yes`` is yes.

    Lines typed before the question was shown are discarded: an answer must
    answer *this* question (a stray ``y`` typed earlier, or the answer to a
    question that already timed out, must never open the screen). Callers
    bound it with a timeout: an unanswered prompt is a no. Prefer
    :class:`TerminalQuestions`, which also keeps other output off the question.
    """
    reader = _LineReader.for_stream(stdin or sys.stdin)
    reader.discard_pending()
    out = stdout or sys.stdout
    out.write(f"\n*** {question} [y/N] ")
    out.flush()
    return _says_yes(await reader.next_line())


class _LineReader:
    """One daemon thread per (stream, event loop) reading lines into a queue.

    A daemon thread, because an unanswered prompt must not keep the process
    alive at exit (``asyncio.to_thread`` workers are joined); one thread per
    stream, so a question that timed out cannot leave a reader behind that
    steals the answer to the next one. End of input reads as "" (= no).
    Each line carries when the thread read it (``time.monotonic()``): one
    read before a question began to show is not its answer, however late
    the loop gets to it (ask42). A line that comes while nobody waits for
    one goes to :attr:`idle` first (TerminalQuestions: told at once that it
    answered nothing), and is queued unless that took it.
    """

    _readers: ClassVar[dict[tuple[int, int], _LineReader]] = {}

    def __init__(self, stream: TextIO, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queue: asyncio.Queue[tuple[float, str]] = asyncio.Queue()
        self._eof = False
        self._waiting = 0  #: next_stamped calls waiting for a line
        #: ``idle(line)``: True if it took a line that came with nobody waiting.
        self.idle: Callable[[str], bool] | None = None
        threading.Thread(target=self._run, args=(stream,), name="stdin-lines", daemon=True).start()

    @classmethod
    def for_stream(cls, stream: TextIO) -> _LineReader:
        loop = asyncio.get_running_loop()
        key = (id(stream), id(loop))
        reader = cls._readers.get(key)
        if reader is None:
            reader = cls._readers[key] = cls(stream, loop)
        return reader

    def _run(self, stream: TextIO) -> None:
        while True:
            try:
                line = stream.readline()
            except (OSError, ValueError):
                line = ""
            try:
                self._loop.call_soon_threadsafe(self._came, time.monotonic(), line)
            except RuntimeError:  # the loop is closed: nobody will ask again
                return
            if not line:
                return

    def _came(self, stamp: float, line: str) -> None:
        if line and not self._waiting and self.idle is not None and self.idle(line):
            return
        self._queue.put_nowait((stamp, line))

    def take_pending(self) -> list[str]:
        """The lines waiting (typed before a question, or for one that
        closed before it read them), taken out of the queue."""
        lines = []
        while not self._queue.empty():
            line = self._queue.get_nowait()[1]
            if line == "":
                self._eof = True
            else:
                lines.append(line)
        return lines

    def discard_pending(self) -> int:
        """Drop the lines waiting (typed before the question): how many."""
        return len(self.take_pending())

    async def next_stamped(self) -> tuple[float, str]:
        """The next line and when it was read; ("", ...) at the end of input."""
        if self._eof:
            return time.monotonic(), ""
        self._waiting += 1
        try:
            stamp, line = await self._queue.get()
        finally:
            self._waiting -= 1
        if line == "":
            self._eof = True
        return stamp, line

    async def next_line(self) -> str:
        return (await self.next_stamped())[1]
