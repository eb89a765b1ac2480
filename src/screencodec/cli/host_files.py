"""The files of ``screencodec host``: the local user's ``/send`` (one offer
per agent, each in its own task, each told in its own line) and ``/stop``
(of files sent and received, by name), and the lines about files an agent
sends that were refused, withdrawn or cut short; refusals made unasked are
told at most every :data:`REFUSED_EVERY` s per agent.

:class:`_FileCommands` is the base class of host_commands._Commands, which
makes the state it uses (its ``__init__``; declared here for the type
checker). Separate: the file commands and their lines are half of the
commands' code, with rules of their own (what ``/end`` cut short is told
after its line, a file the agent's program takes not is only tried).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from screencodec.cli.host_lines import _agents
from screencodec.cli.progress import Progress
from screencodec.cli.say import file_to_send, stop_names
from screencodec.errors import ScreencodecError
from screencodec.transport.channel.display import amount, safe_text
from screencodec.transport.session.events import FileRefused
from screencodec.transport.session.host import Host
from screencodec.transport.session.sidechannels import (
    BEFORE_AN_ANSWER,
    EXPIRED,
    NOT_READ,
    NOT_SAVED,
    REFUSED_UNASKED,
    STOPPED_HERE,
    STOPPED_THERE_WHY,
    WITHDRAWN,
    WITHDRAWN_OTHER,
    WITHDRAWN_STOPPED,
    WITHDRAWN_UNREAD,
)
from screencodec.transport.session.terminal_questions import TerminalQuestions

__all__ = ["REFUSED_EVERY", "_FileCommands"]


#: A host started without ``--download-dir`` says a file was refused at most
#: this often per agent (s); $SCREENCODEC_TEST_REFUSED_EVERY (tests only).
REFUSED_EVERY = float(os.environ.get("SCREENCODEC_TEST_REFUSED_EVERY", "10"))
#: How a file the agent withdrew is told (after "'NAME' (PEER) withdrew the
#: file 'F'"), by the receiver's reason (transport/session/sidechannels.py).
_WITHDRAWN_WORDS = {
    WITHDRAWN: ": their viewer stopped waiting for your answer",
    WITHDRAWN_UNREAD: ": their viewer could not read it after your yes",
    EXPIRED: " before you were asked about it: their viewer stopped waiting for an answer",
    WITHDRAWN_OTHER: "",
}


class _FileCommands:
    """The ``/send`` and ``/stop`` commands and the lines about files, of
    :class:`~screencodec.cli.host_commands._Commands` (whose ``__init__``
    makes the state below; its docstring tells it)."""

    ui: TerminalQuestions
    host: Host
    takes_files: bool
    ended: set[str]
    offers_ended: set[str]
    ending: bool
    after_end: list[str]
    refusals: dict[str, tuple[float, int]]
    untold_refusal: dict[str, FileRefused]
    _sending: set[asyncio.Task[None]]
    _offers: dict[asyncio.Task[None], str]
    _stopped: set[asyncio.Task[None]]

    def _file_line(self, line: str, *, reply: bool = False) -> None:
        """Say a line about a file, after ``/end``'s own if it is under way
        (a file the end cut short: endleft35 found it told first);
        ``reply``: it tells what a command (``/stop``) did, printed at once
        even while a question is open (hostq38)."""
        if self.ending:
            self.after_end.append(line)
        else:
            self.ui.say(line, reply=reply)

    def _send(self, typed: str) -> None:
        """Offer a file to every agent, each offer in its own task."""
        path = file_to_send(typed)  # the same words as the agent's /send
        if isinstance(path, str):
            self.ui.say(path)
            return
        shown = safe_text(path, 300)
        viewers = self.host.viewers
        if not viewers:
            self.ui.say("(not sent: no support agent sees your screen)")
            return
        try:
            size = path.stat().st_size
        except OSError as exc:  # gone since it was checked
            self.ui.say(f"(not sent: {shown}: {(exc.strerror or str(exc)).lower()})")
            return
        # Those whose program said up front it takes no files are not asked
        # (nofiles35: "each is asked" was not so); they are told of it.
        takers = tuple(peer for peer in viewers if self.host.takes_files(peer))
        for peer in viewers:
            if peer not in takers:
                self.ui.say(f"(not sent to {_agents(self.ui, (peer,))}: their program takes"
                            " no files)")
                self._spawn_send(self._tell_tried(path, peer))
        if not takers:
            return
        # words39: "each is asked" of one agent read as if others were.
        asked = "; each is asked" if len(takers) > 1 else ", who is asked"
        self.ui.say(f"offering {shown} ({amount(size)}) to {_agents(self.ui, takers)}{asked}"
                    " whether to accept it")
        for peer in takers:
            task = self._spawn_send(self._offer(path, peer))
            self._offers[task] = path.name
            task.add_done_callback(self._offer_done)

    def _spawn_send(self, offering: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(offering)
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)
        return task

    def _offer_done(self, task: asyncio.Task[None]) -> None:
        self._offers.pop(task, None)
        self._stopped.discard(task)

    def _stop(self, typed: str) -> None:
        """Stop the files being sent and received (``typed``: only those of
        that name, or of the file that path names). Each offer's task is
        cancelled, and its sender withdraws the file at the agent's side,
        which removes what it has of it (files36's STOPPED); each says so in
        its own line (:meth:`_offer`). Each file being received is stopped
        here (Host.stop_receiving: its part file removed, the agent's
        program told, which stops sending it: rstop36), also one said yes
        to and not taken yet, and one all of which came, being saved
        (Host.stoppable: host37); its FileRefused says so
        (:meth:`file_refused`), and of one being saved a line says at once
        that it waits for the disk. Nothing under way, or none of that
        name: said."""
        wanted = typed.strip()

        def named(name: str) -> bool:
            return stop_names(wanted, name)

        offers = [task for task, name in self._offers.items() if not task.done() and named(name)]
        # Also a file said yes to and not taken yet, and one all of which
        # came, being saved (host37: receiving() lists neither).
        stoppable = [info for info, _ in self.host.stoppable()]
        incoming = [info for info in stoppable if named(info.name)]
        if not offers and not incoming:
            going = sorted({name for task, name in self._offers.items() if not task.done()}
                           | {info.name for info in stoppable})  # fmt: skip
            if not going:
                self.ui.say("(no file is being sent or received: nothing to stop)")
            else:
                names = ", ".join(repr(safe_text(name, 100)) for name in going)
                self.ui.say(f"(no file named {safe_text(wanted, 100)!r} is being sent or"
                            f" received: nothing stopped; under way: {names})")  # fmt: skip
            return
        for task in offers:
            self._stopped.add(task)
            task.cancel()
        saving = {(info.peer, info.transfer) for info in self.host.saving()}
        for info in incoming:
            if (info.peer, info.transfer) in saving:  # its line waits for the disk
                self.ui.say(f"stopping {safe_text(info.name, 100)!r} from"
                            f" {_agents(self.ui, (info.peer,))}: all of it came and the disk"
                            " is still saving it; it is removed once the disk answers")
            self._spawn_send(self._stop_receiving(info.peer, info.transfer))

    async def _stop_receiving(self, peer: str, transfer: int) -> None:
        """:meth:`_stop`'s for a file being received: its line comes with
        its FileRefused (the session's end first: that end's line says it)."""
        with contextlib.suppress(ScreencodecError, OSError):
            await self.host.stop_receiving(peer, transfer)

    async def _tell_tried(self, path: Path, peer: str) -> None:
        """Offer ``path`` to ``peer``, whose program takes no files, only so
        that it tells the agent the host's user tried (files36: the agent's
        terminal said nothing). It refuses it unasked, and none of the file
        goes (a yes from it is a protocol error: FileSender); what became of
        it was said here already."""
        with contextlib.suppress(KeyError, ScreencodecError, OSError):
            await self.host.send(path, peer)

    async def _offer(self, path: Path, peer: str) -> None:
        who = _agents(self.ui, (peer,))
        progress = Progress(f"sending {safe_text(path.name, 200)} to {who}", 0)
        loop = asyncio.get_running_loop()
        went = [-1, 0]  # bytes handed to the link, of size: -1 before the first chunk

        def sending(done: int, size: int) -> None:
            went[:] = [done, size]
            progress.size = size
            said = progress.line(done, loop.time())
            if said is not None:
                self.ui.say(said)

        try:
            sent = await self.host.send(path, peer, on_sending=sending)
        except KeyError:
            self._file_line(f"(not sent to {who}: they left)")
            return
        except asyncio.CancelledError:
            if asyncio.current_task() not in self._stopped:
                raise  # the program ends
            # /stop: the sender withdraws it there (FileCut "stopped").
            name = safe_text(path.name, 200)
            # What /stop did: its reply, though it comes from this task.
            if went[0] < 0:  # not answered yet: the question closes there
                self._file_line(f"you withdrew {name} from {who} before they answered;"
                                " none of it went", reply=True)  # fmt: skip
            elif went[0] >= went[1]:
                # All of it had gone: their viewer may be saving it, and
                # keeps it then (review41a: said "keeps nothing of it").
                self._file_line(f"you stopped waiting for the word of {name} from {who}: all"
                                f" of it ({amount(went[1])}) had gone, so their viewer may"
                                " have kept it", reply=True)  # fmt: skip
            else:
                self._file_line(f"you stopped sending {name} to {who} ({amount(went[0])} of"
                                f" {amount(went[1])} had gone); their viewer keeps nothing"
                                " of it", reply=True)  # fmt: skip
            return
        except (ScreencodecError, OSError) as exc:
            why = ("you ended the session" if peer in self.offers_ended
                   else safe_text(exc, 200))  # fmt: skip
            # Which file, and how much of it went (walk35: the line named
            # neither, where the line of a file coming the other way does).
            name = repr(safe_text(path.name, 200))
            if went[0] < 0:
                self._file_line(f"(not sent to {who}: {name}: {why})")
            else:
                self._file_line(f"(not sent to {who}: {name} ({amount(went[0])} of"
                                f" {amount(went[1])} had gone, {why}); nothing of it was"
                                " kept there)")  # fmt: skip
            return
        if sent.outcome == "delivered":
            # Under another name there (made safe, or taken): said (words45).
            shown = safe_text(path.name, 200)
            as_ = f" as {sent.saved_as}" if sent.saved_as and sent.saved_as != shown else ""
            self._file_line(f"delivered {shown} to {who}: saved there{as_}")
        elif sent.outcome == "failed" and sent.why.startswith(NOT_READ):  # this side's
            self._file_line(f"(not sent whole to {who}: {safe_text(path.name, 200)} could not be"
                            f" read here: {safe_text(sent.why[len(NOT_READ):], 200)})")  # fmt: skip
        elif sent.outcome == "failed" and sent.why == STOPPED_THERE_WHY:  # its user stopped it
            self._file_line(f"{who} stopped receiving {safe_text(path.name, 200)}"
                            f" ({amount(max(went[0], 0))} of {amount(went[1])} had gone);"
                            " nothing of it was kept there")  # fmt: skip
        elif sent.outcome == "failed":  # accepted, then not saved (disk full...)
            self._file_line(f"{who} could not save {safe_text(path.name, 200)}: "
                            f"{safe_text(sent.why, 200)}")
        elif sent.outcome == "unconfirmed" and sent.why:  # the session ended first
            self._file_line(f"sent {safe_text(path.name, 200)} to {who}, but the session ended"
                            " before their viewer said whether it saved it")
        elif sent.outcome == "unconfirmed":  # a viewer of the previous version
            self._file_line(f"sent {safe_text(path.name, 200)} to {who}")
        elif sent.why.endswith(BEFORE_AN_ANSWER):  # the session's end came first
            self._file_line(f"(not sent to {who}: the session ended before they answered about "
                            f"{safe_text(path.name, 200)})")  # fmt: skip
        elif sent.why.startswith(REFUSED_UNASKED):  # their viewer said why (a code)
            self._file_line(f"{who} did not accept {safe_text(path.name, 200)}: "
                            f"{sent.why[len(REFUSED_UNASKED):]}")
        elif sent.why:  # no answer in time: the offer is withdrawn there
            self._file_line(f"{who} did not answer about {safe_text(path.name, 200)} in time: "
                            "the offer is withdrawn, nothing of it stays there")
        elif sent.gives_reasons:  # no code: their user's no, or no answer there
            # Their viewer's own question closes at its timeout (30 s, before
            # this offer's 60 s) with a plain no: not always a no they said.
            self._file_line(f"{who} did not accept {safe_text(path.name, 200)}: they said no"
                            " or did not answer in time")
        else:  # a viewer of the version before the codes
            self._file_line(f"{who} did not accept {safe_text(path.name, 200)} (declined, no "
                            "answer, or their viewer takes no files)")

    def file_refused(self, ev: FileRefused) -> None:
        """Tell the local user of a file refused without a question (no
        ``--download-dir``, too large, too many waiting): for each agent, at
        most one line per :data:`REFUSED_EVERY` s; the files refused meanwhile
        are told in one line when it is up (:meth:`_refusals_due`). A file
        the agent withdrew (their viewer stopped waiting for the answer,
        could not read it after the yes, stopped sending it, or withdrew it
        for a reason of a later version), one not put to the user because
        the agent stopped waiting first, and one the user said yes to that
        could not be saved are each told every time, in their own words: the
        user may have said yes (those went through the counted line, and a
        yes could go untold)."""
        who, name = _agents(self.ui, (ev.peer,)), safe_text(ev.name, 100)
        if ev.why == WITHDRAWN_STOPPED:  # their program stopped sending it (files36)
            self.ui.say(f"{who} stopped sending the file {name!r} ({amount(max(ev.received, 0))}"
                        f" of {amount(ev.size)} had come); nothing of it was kept")
            return
        if ev.why == STOPPED_HERE:  # this user's /stop (rstop36): its reply (hostq38)
            self.ui.say(f"you stopped receiving {name!r} from {who} ({amount(max(ev.received, 0))}"
                        f" of {amount(ev.size)} had come); nothing of it was kept", reply=True)
            return
        withdrawn = _WITHDRAWN_WORDS.get(ev.why)
        if withdrawn is not None:
            self.ui.say(f"{who} withdrew the file {name!r}{withdrawn}; nothing of it was saved")
            return
        if ev.received >= 0:  # the link ended while it came
            # Told before its SessionEnded: /end, Ctrl-C and the signals have
            # put the peer in ``ended`` by then. Else the agent left, or the
            # link was lost and the session may go on (not known yet): the
            # connection ended, which is true of both.
            end = ("you ended the session" if ev.peer in self.ended | self.offers_ended
                   else "the connection ended before all of it came")  # fmt: skip
            self._file_line(f"not received from {who}: {name!r} ({amount(ev.received)} of"
                                f" {amount(ev.size)}, {end}); nothing of it was kept")  # fmt: skip
            return
        if ev.why.startswith(NOT_SAVED):
            self.ui.say(f"the file {name!r} ({amount(ev.size)}) from {who} "
                        f"{safe_text(ev.why, 300)}")
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        last, untold = self.refusals.get(ev.peer, (-REFUSED_EVERY, 0))
        if now - last < REFUSED_EVERY:
            self.refusals[ev.peer] = (last, untold + 1)
            self.untold_refusal[ev.peer] = ev
            if not untold:  # told when the time is up, whether or not another comes
                loop.call_later(last + REFUSED_EVERY - now, self._refusals_due, ev.peer)
            return
        self.refusals[ev.peer] = (now, 0)
        self.untold_refusal.pop(ev.peer, None)
        # Those counted are told by _refusals_due; one not yet (it is late) here.
        more = f" ({untold} more since the last such line)" if untold else ""
        self.ui.say(f"refused a file from {who}: {name!r} ({amount(ev.size)}){more}: "
                    f"{safe_text(ev.why, 200)}{self._refused_hint()}")

    def _refused_hint(self) -> str:
        return " (start it with --download-dir DIR to be asked)" if not self.takes_files else ""

    def _refusals_due(self, peer: str) -> None:
        """Tell the files refused unasked since the last line about them
        (:meth:`file_refused`), once :data:`REFUSED_EVERY` has passed: how
        many, and the last one and why."""
        _, untold = self.refusals.get(peer, (0.0, 0))
        ev = self.untold_refusal.pop(peer, None)
        if not untold or ev is None:
            return
        self.refusals[peer] = (asyncio.get_running_loop().time(), 0)
        files = "file" if untold == 1 else "files"
        self.ui.say(f"refused {untold} more {files} from {_agents(self.ui, (peer,))} since the"
                    f" last such line; the last, {safe_text(ev.name, 100)!r} ({amount(ev.size)}):"
                    f" {safe_text(ev.why, 200)}{self._refused_hint()}")
