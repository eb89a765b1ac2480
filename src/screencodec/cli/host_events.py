"""The host's events as lines (:func:`_show`, the display task): the sharing
banner, wrong-password warnings, an agent's chat, a file saved, the
``[shared]`` status line, each session's end; the progress of files an
agent sends (:func:`_receiving`); and an agent's link gone silent and heard
again (:func:`_silences`, :class:`Silences`).

Separate: one loop over :meth:`Host.events`, which keeps nothing itself and
hands what needs the sessions' state to host_commands._Commands; host.py
starts it and cancels it when the host ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from screencodec.cli.host_clipboard import ClipboardLines
from screencodec.cli.host_commands import _Commands
from screencodec.cli.host_lines import (
    BANNER,
    HOST_STOPPED,
    LET_IN_WORDS,
    SILENT_AFTER,
    WARM_SILENT_AFTER,
    _agents,
    _delivery,
    _heard_again,
    _in_users_words,
    _left_agent,
    _left_unanswered,
    _shared,
    _silent,
    stopped_words,
)
from screencodec.cli.progress import Receiving
from screencodec.cli.terminal import StatusLines
from screencodec.transport.channel.display import amount, safe_text
from screencodec.transport.session.endreasons import LET_IN_TO_NOTHING
from screencodec.transport.session.events import (
    ChatDelivery,
    ChatReceived,
    ClipboardRefused,
    ClipboardSent,
    ClipboardSet,
    FileReceived,
    FileRefused,
    InputLetGo,
    PasswordGuessed,
    PermissionChanged,
    SessionEnded,
    SessionResumed,
    SharingChanged,
    StatsUpdated,
)
from screencodec.transport.session.host import Host
from screencodec.transport.session.permissions import VIEW
from screencodec.transport.session.terminal_questions import TerminalQuestions

__all__ = ["GUESS_REPORT_EVERY", "RECEIVING_CHECK", "Silences", "_receiving", "_show", "_silences"]

#: After the first, wrong-password warnings are repeated at most this often (s).
GUESS_REPORT_EVERY = 30.0


async def _show(host: Host, ui: TerminalQuestions, commands: _Commands,
                silences: Silences | None = None) -> None:
    """Banner while shared, a viewer's status line when it says something new
    (:func:`_shared`; dropped while a question is open, and while the
    viewer's link is silent: ``silences``), wrong-password
    warnings; ``commands.sharing`` says whether the banner is up (it comes
    down when the last session ends, not when a lost link may come back)."""
    reported = [0.0]
    clip_lines = ClipboardLines()
    status = StatusLines(ui.out) if silences is None else silences.status
    async for ev in host.events():
        if isinstance(ev, SharingChanged):
            # No one left: told with the SessionEnded that follows, as a stop,
            # or not, for a lost link whose agent may come back unasked. Only
            # those /end is ending left: told by its line (one agent's end
            # before another's printed "BEING SHARED WITH" the other). Nor
            # once the host stops: every session is being ended (review40a:
            # one agent's end showed the banner of the other, whose end then
            # waited on a disk that did not answer, for good since files40).
            stopping = commands.done.is_set()
            if ev.viewers and not stopping and not set(ev.viewers) <= commands.told_by_end:
                commands.sharing = True
                ui.say(
                    f"\n{BANNER}\n##  YOUR SCREEN IS BEING SHARED WITH: {_agents(ui, ev.viewers)}"
                    f"\n##  Press Ctrl-C at any time to stop sharing.\n{BANNER}"
                )
        elif isinstance(ev, PasswordGuessed):
            now = asyncio.get_running_loop().time()
            if ev.failed == 1:
                ui.say(
                    f"\n{'!' * 64}\n!!  A wrong password was tried for session {ev.code}"
                    f" from {safe_text(ev.source)}.\n!!  If you did not just read it to"
                    " someone, someone may be guessing.\n!!  The password stays valid;"
                    " guesses are slowed down. Only read it to the\n!!  person you called"
                    f" for help.\n{'!' * 64}"
                )
                reported[0] = now
            elif now - reported[0] >= GUESS_REPORT_EVERY:
                ui.say(
                    f"!!  {ev.failed} wrong passwords tried for session {ev.code} so far"
                    f" (latest from {safe_text(ev.source)}); one more may be tried in"
                    f" {ev.next_in:.0f} s."
                )
                reported[0] = now
        elif isinstance(ev, ChatReceived):
            # Already passed through safe_text by the session; again here, as
            # every peer string this terminal shows is.
            ui.say(f"agent {_agents(ui, (ev.peer,))} says: {safe_text(ev.text, 1000)}")
        elif isinstance(ev, ChatDelivery):
            _delivery(ui, ev, commands.now_as)
        elif isinstance(ev, FileRefused):
            commands.file_refused(ev)
        elif isinstance(ev, FileReceived):
            sender = _agents(ui, (ev.peer,))
            ui.say(f"saved {safe_text(ev.path, 300)} ({amount(ev.size)}) from {sender}")
        elif isinstance(ev, PermissionChanged):
            commands.note(ev)
        elif isinstance(ev, InputLetGo):
            # input44: once per release (held_silence.py), the agent's name
            # through _agents' safe_text.
            ui.say(f"let go of the {ev.held()} {_agents(ui, (ev.peer,))} held down on this"
                   f" computer: nothing came from them for {ev.silence:g} s (their link went"
                   " silent); the session goes on")  # fmt: skip
        elif isinstance(ev, StatsUpdated):
            # Not while a question is open: a line due then would be lost.
            # Nor while the viewer is silent: its figures are not news (walk38:
            # "1 fps rtt 2 ms" went on being shown of a link gone silent).
            quiet = silences is not None and ev.stats.peer in silences.told
            line = None if ui.asking or quiet else _shared(
                ev.stats, status, asyncio.get_running_loop().time(), ui.shown.get(ev.stats.peer))
            if line is not None:
                ui.say(line, status=True)
        elif isinstance(ev, SessionEnded):
            status.forget(ev.peer)
            if ev.moved:
                # The agent came back on a new connection: told as
                # SessionResumed. What it holds goes on with the session: a
                # new link lost before it joined puts it back to away under
                # this name (takeover36: forgotten here, the lost line said
                # "see your screen" of an agent who held control).
                continue
            held = commands.levels.get(ev.peer, VIEW)
            # Never answered (nor let in by a resume): no session took place.
            unanswered = not ev.who and ev.peer not in commands.levels
            commands.note(ev)
            why = _in_users_words(ev.reason)
            if ev.peer in commands.told_by_end:
                # /end's own line tells it ("you ended the session with ..."),
                # and the banner after it: not this line before it.
                commands.told_by_end.discard(ev.peer)
                commands.ended.discard(ev.peer)
                if not commands.ending and not host.viewers and not commands.away:
                    commands.stopped()  # ended after /end gave up waiting
                continue
            if ev.reason == f"ended by the host: {HOST_STOPPED}":  # never answered
                why = stopped_words(commands.stopped_by, why)  # by which signal (words51)
            if ev.peer in commands.ended:
                commands.ended.discard(ev.peer)
                # A signal's stop is not the user's: "you ended it" (words51).
                why = stopped_words(commands.stopped_by, "you ended it")
            elif ev.resumable > 0:
                silent = None if silences is None else silences.since(ev.peer)
                stalled = (None if silences is None else
                           silences.stalled(asyncio.get_running_loop().time()))  # fmt: skip
                # (not ``why``: the link's words, walk4)
                commands.lost(ev, held, silent, stalled)
                continue
            left = _left_unanswered(ev.reason, ev.peer in ui.names) if unanswered else None
            if ev.reason in LET_IN_TO_NOTHING:  # never a session the user was asked about
                ui.say(f"{_agents(ui, (ev.peer,))} {LET_IN_WORDS[ev.reason]}")
            elif left is not None:  # consent41: it said "session with ... ended"
                ui.say(f"{_left_agent(ui, ev.peer)}: {left}")
            else:
                ui.say(f"session with {_agents(ui, (ev.peer,))} ended: {why}")
            # The end line, then the banner, as /end says them (host37: a
            # Ctrl-C or a signal said the banner first); after the end line
            # of every session the stop is ending (``ended``: review40a, one
            # whose end waited on the disk was told after the banner).
            if not host.viewers and not commands.away and not commands.ending \
                    and not commands.ended:
                commands.stopped()  # (/end's line says it after its own)
            if commands.once:
                commands.ended_once(ev)
        elif isinstance(ev, SessionResumed):
            commands.resumed(ev)
        elif isinstance(ev, ClipboardSet | ClipboardRefused | ClipboardSent):
            line = clip_lines.line(ev)
            if line is not None:
                ui.say(line)


#: How often the files being received are looked at for their progress (s).
RECEIVING_CHECK = 0.5


async def _receiving(host: Host, ui: TerminalQuestions) -> None:
    """How far each file an agent sends has gone (cli/progress.py): a line
    now and then while it moves (none while a question is open)."""
    receiving = Receiving(lambda f: f"receiving {safe_text(f.name, 200)} from"
                                    f" {_agents(ui, (f.peer,))}")  # fmt: skip
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(RECEIVING_CHECK)
        for line in receiving.lines(host.receiving(), loop.time()):
            if not ui.asking:
                ui.say(line)


#: How often each viewer's silence is looked at (s).
SILENCE_CHECK = 0.5
#: A look this late (s) was held up by this program not running (a stopped
#: host, a frozen machine), not by the viewer (channel/sealed.py alike).
_OVERSLEPT = 2.0
#: A link lost at most this long (s) after this program ran again was lost
#: while it did not run (the viewer gave up on it meanwhile): said so.
STALL_RECENT = 5.0


class Silences:
    """Which viewers' links are silent, as told to the host's user: one line
    when a viewer has sent nothing for :data:`WARM_SILENT_AFTER` seconds
    (:data:`SILENT_AFTER` for one that does not keep its link warm: an
    earlier version, channel/sealed.py ``keeps_warm``), one when it is heard
    again; its ``[shared]`` line is not printed meanwhile (``status``, the
    host's status lines, forgets it then, so the next is a first).
    State: :attr:`told`, each silent viewer's ``last_heard`` when told."""

    def __init__(self, status: StatusLines) -> None:
        self.status = status
        self.told: dict[str, float] = {}
        #: When the look after the last was due (loop time), and this
        #: program's last stall: (when it was seen, how long it lasted).
        self.due: float | None = None
        self._stall: tuple[float, float] | None = None
        #: Those of :attr:`told` whose link went (lost, ended) before they
        #: were heard again: :meth:`since` reads them once.
        self._gone: dict[str, float] = {}

    def stalled(self, now: float) -> float | None:
        """How long this program did not run, if that ended at most
        :data:`STALL_RECENT` seconds before ``now`` or is ending now (the
        look after it not made yet: a link's loss is read as early); None
        otherwise. walk52: a host stopped 45 s said of the agent's link
        "their connection had dropped"."""
        if self.due is not None and now - self.due > _OVERSLEPT:
            return now - self.due + SILENCE_CHECK
        if self._stall is not None and now - self._stall[0] <= STALL_RECENT:
            return self._stall[1]
        return None

    def since(self, peer: str) -> float | None:
        """When ``peer`` was last heard, if its silence was told and it was
        not heard since (its link may be gone already); None otherwise."""
        told = self.told.get(peer)
        gone = self._gone.pop(peer, None)
        return told if told is not None else gone

    def stall_seen(self, now: float, lasted: float) -> None:
        """This program did not run for ``lasted`` seconds, up to ``now``."""
        self._stall = (now, lasted)

    def lines(self, heard: dict[str, tuple[float | None, bool]], now: float,
              name: Callable[[str], str]) -> list[str]:
        """The lines of what changed since the last look: ``heard`` is
        Host.heard(), ``name`` a viewer's name in the user's words."""
        for gone in set(self.told) - set(heard):
            # Its session's own lines say what became of it (kept for since()).
            self._gone[gone] = self.told.pop(gone)
            if len(self._gone) > 1000:  # read by since() when the loss is told
                self._gone.pop(next(iter(self._gone)))
        lines = []
        for peer, (last, warm) in heard.items():
            if last is None:
                continue  # the host is not reading it: not its silence (Host.heard)
            told = self.told.get(peer)
            if told is not None:
                if last > told:
                    del self.told[peer]
                    self.status.forget(peer)
                    lines.append(_heard_again(name(peer), last - told))
                continue
            quiet = now - last
            if quiet >= (WARM_SILENT_AFTER if warm else SILENT_AFTER):
                self.told[peer] = last
                lines.append(_silent(name(peer), quiet))
        return lines


async def _silences(host: Host, ui: TerminalQuestions, silences: Silences) -> None:
    """Tell the host's user when a viewer's link goes silent and when it is
    heard again (:class:`Silences`)."""
    loop = asyncio.get_running_loop()
    while True:
        due = silences.due = loop.time() + SILENCE_CHECK
        await asyncio.sleep(SILENCE_CHECK)
        now = loop.time()
        if now - due > _OVERSLEPT:
            silences.stall_seen(now, now - due + SILENCE_CHECK)
        if now - due > _OVERSLEPT or ui.asking:
            # Woken late, this program did not run: what the viewers sent
            # meanwhile is still unread. A question open: said after it.
            continue
        for line in silences.lines(host.heard(), now, lambda p: _agents(ui, (p,))):
            ui.say(line)
