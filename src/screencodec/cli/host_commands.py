"""The commands the local user of ``screencodec host`` types and their lines
(:class:`_Commands`): ``/say``, ``/view``, ``/end``, ``/help`` (``/send``
and ``/stop``: host_files, its base class), the answers to the consent
question noted, and what becomes of agents: away after a lost link, back,
gone for good, control given back; with ``--once``, the exit status.

Separate: the state of the sessions as the local user knows them, changed
by the commands and by the host's events (host_events hands them here),
read apart from the loop that starts and stops the host (host.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from screencodec.cli.host_clipboard import clip_command
from screencodec.cli.host_files import _FileCommands
from screencodec.cli.host_lines import (
    ENDED_BY_USER,
    STOPPED,
    _agents,
    _cannot_come_back,
    reconnected_as,
)
from screencodec.cli.main import Exit
from screencodec.cli.say import HOST_COMMANDS, SAY_PART, Command, help_lines, say_parts, unknown
from screencodec.errors import ScreencodecError
from screencodec.transport.channel.display import safe_text
from screencodec.transport.session.chat import MAX_UNACKED, ChatBacklogError
from screencodec.transport.session.consent import if_answer_dropped, question_gone
from screencodec.transport.session.endreasons import LET_IN_TO_NOTHING
from screencodec.transport.session.events import (
    FileRefused,
    PermissionChanged,
    SessionEnded,
    SessionResumed,
)
from screencodec.transport.session.host import Host
from screencodec.transport.session.link import SCREEN_GONE
from screencodec.transport.session.permissions import (
    CONTROL,
    VIEW,
    ConsentRequest,
    Grant,
    Permission,
)
from screencodec.transport.session.terminal_questions import TerminalQuestions

__all__ = ["_Commands"]

#: Who a /say line went to while nobody shares the screen (say38): the
#: agent the question is about, told what they have and have not.
ASKS_WORDS = "asks to see your screen"
ASKS = f"{ASKS_WORDS} (they see none of it until you say yes)"
#: Seconds a /say typed right after a yes waits for that agent to be in the
#: session (a join reads the screen layout and sends a few messages).
JOIN_WAIT = 10.0
#: Seconds a /say waits for the line typed before it (an answer: a pipe
#: and a thread away) to reach the open question.
ANSWER_WAIT = 1.0
#: Seconds between an agent's link lost and the relay lost within which the
#: link went with the relay (the sockets to it break within one look of the
#: registration's keepalive apart; reasoned, not measured beyond the walk's
#: and the test's 0-1 s).
WITH_THE_RELAY = 10.0


def _named(agents: tuple[tuple[str, str], ...], ui: TerminalQuestions) -> str:
    """Agents not let in yet, ``(peer, who)``, as the question named them."""
    shown = [(safe_text(ui.show_as(peer)), who) for peer, who in agents]
    return ", ".join(f"{safe_text(who, 64)!r} ({peer})" if who else peer for peer, who in shown)


class _Commands(_FileCommands):
    """Carries out the commands the local user types (cli/say.py parses them)
    and prints one line when each has taken effect.

    State: :attr:`levels`, what each agent was granted (set by :meth:`consent`
    from the answers, and by :meth:`note` from the host's events), so
    ``/view`` can say from whom control was taken back; the ``/send`` tasks in
    flight (an offer waits for the agent's answer, and must not hold up the
    next command), and the /say lines in flight (one may wait for room:
    :meth:`_say_in_turn`); :attr:`refusals`, per agent, the time of the last line
    about a file refused unasked and how many were not told since (an agent
    cannot flood the terminal with offers: those are told together when
    :data:`REFUSED_EVERY` is up). One event loop; no locking.
    """

    #: Set right after the host is made (this object's :meth:`consent` is its).
    host: Host

    def __init__(
        self, ui: TerminalQuestions, done: asyncio.Event, once: bool, takes_files: bool
    ) -> None:
        self.ui = ui
        self.done = done
        self.once = once
        self.levels: dict[str, Permission] = {}
        #: the agents told they can use the mouse and keyboard, while they can
        self.told_control: set[str] = set()
        self.refusals: dict[str, tuple[float, int]] = {}
        #: Per agent, the last file refused unasked and not told yet.
        self.untold_refusal: dict[str, FileRefused] = {}
        self.takes_files = takes_files  #: started with --download-dir
        #: Peers whose sessions ``/end`` ended (their end is told in those words).
        self.ended: set[str] = set()
        #: The signal (SIGTERM, SIGHUP) that stopped the program, if one did:
        #: the ends it makes are told as its, not the user's (words51).
        self.stopped_by: int | None = None
        #: The same peers, kept: a ``/send`` to one of them that the end cut
        #: short says so in those words (it may learn of it after the end is told).
        self.offers_ended: set[str] = set()
        #: Of those, the peers whose end ``/end`` tells in its own line ("you
        #: ended the session with ..."): their SessionEnded prints none (it
        #: came before /end's line, which waits for the cleanup).
        self.told_by_end: set[str] = set()
        #: ``/end`` is under way: the sharing banner waits for its line.
        self.ending = False
        #: Lines about files its end cut short, held while ``/end`` is under
        #: way: said after its own line (what the user typed is answered first).
        self.after_end: list[str] = []
        #: Sessions whose link was lost and whose agent may come back unasked,
        #: by the peer name their SessionEnded gave (the one a resume names
        #: as ``SessionResumed.was``), with the timer that tells the user if
        #: they do not (and ends a ``--once`` host): :meth:`_gone`. Not by
        #: the agent's name, its own choice: review36 found two agents named
        #: alike, one coming back, made the terminal forget the other's.
        self.away: dict[str, asyncio.TimerHandle] = {}
        #: Those of them who held CONTROL when their link was lost.
        self.away_control: set[str] = set()
        #: When (loop time) the host last heard those of them whose silence
        #: was told before the loss ("no word from ..."): their "is back
        #: after N s" counts from it (walk40: a view stopped 20 s was "back
        #: after 6 s", the time since the loss, 15 s after "no word ... 6 s").
        self.silent_since: dict[str, float] = {}
        #: Seconds this program did not run just before the loss of those of
        #: them lost meanwhile (:meth:`lost`): their "is back" says so.
        self.stalled_away: dict[str, float] = {}
        #: When (loop time) each of them was lost, and when the relay was
        #: last lost: an agent back whose link went with the relay is not
        #: told "their connection had dropped" (walk52).
        self.lost_at: dict[str, float] = {}
        self.relay_lost_at: float | None = None
        #: The peer name each agent who came back has now, by the peer name
        #: of a link of theirs that was lost (:meth:`resumed`): a line given
        #: before the resume and confirmed after it names them as they are now.
        self.now_as: dict[str, str] = {}
        self._sending: set[asyncio.Task[None]] = set()
        #: The ``/send`` offers under way (a task each, one per agent), by
        #: the name of their file: what ``/stop`` stops (:meth:`_stop`); and
        #: those it stopped, whose own line says so (:meth:`_offer`).
        self._offers: dict[asyncio.Task[None], str] = {}
        self._stopped: set[asyncio.Task[None]] = set()
        #: /say lines go one at a time, in order, each in a task of its own
        #: (:meth:`_say_in_turn`), cancelled with the /send tasks at the end.
        self._saying = asyncio.Lock()
        #: The sharing banner is up: from a share until the last agent's
        #: session ends, through a lost link its agent may come back over.
        self.sharing = False
        #: The exit status (cli.main.Exit): with ``--once``, how the session
        #: the host exits after ended (:meth:`ended_once`).
        self.status = Exit.ENDED
        #: Why the host has no clipboard (/clip says it), if it has none.
        self.clipboard_why = ""
        #: What Ctrl-C does now instead of stopping, if anything (the host's
        #: main loop sets it: a session's end waits for the disk while
        #: others go on, files41), for :meth:`_ctrl_c`.
        self.ctrl_c_now: Callable[[], str | None] = lambda: None

    def ended_once(self, event: SessionEnded) -> None:
        """A ``--once`` host's session ended (not lost: :meth:`lost`): the
        host exits, its status saying how (the agent refused, the screen
        gone, or ended in order). An agent that asked nothing, or not to view,
        was let in to nothing: refused too, as ``recordings list`` shows it."""
        if event.reason.startswith("consent denied") or event.reason in LET_IN_TO_NOTHING:
            self.status = Exit.REFUSED  # no session took place
        elif event.reason.startswith(SCREEN_GONE):  # its details follow in brackets
            self.status = Exit.ERROR
        self.done.set()

    async def consent(self, request: ConsentRequest) -> Grant:
        """The terminal's question, noting what was granted (at once: a
        ``/view`` typed right after a yes must know of it). The agent's name
        is kept whatever the answer: the end line of a join refused, or left
        unanswered, names them as every other line does."""
        try:
            grant = await self.ui.permission(request, self._same_name(request))
        finally:
            if not request.upgrade:
                self.ui.names.setdefault(request.peer, request.who)
        if question_gone() is not None:
            return grant  # too late: the queue drops it, nothing is granted (consent41)
        granted = grant.level & request.level
        before = self.levels.get(request.peer)
        if request.upgrade:
            granted = granted | (VIEW if before is None else before)
        self.levels[request.peer] = granted

        def dropped(_why: str) -> None:  # the link went as the yes went back
            if self.levels.get(request.peer) == granted:
                if before is None:
                    self.levels.pop(request.peer, None)
                else:
                    self.levels[request.peer] = before

        if_answer_dropped(dropped)
        return grant

    def note(self, event: PermissionChanged | SessionEnded) -> None:
        if isinstance(event, PermissionChanged):
            before = self.levels.get(event.peer)
            self.levels[event.peer] = event.level
            # Control that ends without /view (which says so itself, and has
            # already noted it): the agent gave it back.
            if before is not None and CONTROL in before and CONTROL not in event.level:
                self.ui.say(f"{_agents(self.ui, (event.peer,))} gave control back: only you"
                            " use your mouse and keyboard now")
            if CONTROL not in event.level:
                self.told_control.discard(event.peer)
            elif event.peer not in self.told_control:
                # walk42: "Question 2: yes" was all; nothing said how to take it back.
                # (Not by the level noted before: consent() notes it with the yes.)
                self.told_control.add(event.peer)
                self.ui.say(f"{_agents(self.ui, (event.peer,))} can now use your mouse and"
                            " keyboard (yours come first: while you use them, theirs is"
                            " ignored); /view takes control back, /end or Ctrl-C stops sharing")
        else:
            self.levels.pop(event.peer, None)
            self.told_control.discard(event.peer)

    def lost(self, event: SessionEnded, held: Permission, silent_since: float | None = None,
             stalled: float | None = None) -> None:  # fmt: skip
        """A session ended because its link was lost: its agent may come back
        unasked for ``event.resumable`` seconds with ``held``; the user is
        told, and a ``--once`` host waits that long before it closes. Not
        why it was lost (``event.reason``, "viewer gone: ..."): the socket's
        words ("stream truncated inside a frame", "connection reset by
        peer") tell the user nothing they can act on, and read as the
        session's end (walk4).

        A session put back to away (its agent came back, and the link that
        took it up was lost before it joined: session/resume.py) holds what
        it held when it was away before: its SessionEnded names it as the
        user knew it, whose levels were let go then (ends36: CONTROL was
        forgotten, and /view said there was nothing to take back).

        ``stalled``: this program did not run for that many seconds just
        before (Silences.stalled): the link was lost then, not by the agent
        (walk52: "their connection had dropped" of a host stopped 45 s)."""
        peer = event.peer
        name = self._name(peer)
        controls = CONTROL in held or peer in self.away_control
        # Not "session ... ended: viewer gone: ...": the session goes on if
        # they come back, and the code's words say nothing to the user.
        meanwhile = "" if self.host.viewers else "; no one sees your screen meanwhile"
        # Less time than the window: the session's time limit comes first
        # (Host.serve), and ends the session then.
        limit = self.host.config.max_duration
        limited = limit is not None and event.resumable < self.host.config.resume_window
        then = f" (then the session's time limit of {limit:.0f} s ends it)" if limited else ""
        can = "see and control your screen" if controls else "see your screen"
        self.lost_at[peer] = asyncio.get_running_loop().time()
        stall = ""
        if stalled is not None:
            stall = f" while this program did not run for {stalled:.0f} s"
            self.stalled_away[peer] = stalled
        self.ui.say(f"the connection to {_agents(self.ui, (event.peer,))} was lost{stall}"
                    f"{meanwhile}"
                    f"\n{name!r} may reconnect within {event.resumable:.0f} s{then} and {can}"
                    " again without being asked (type /end to prevent it)")
        loop = asyncio.get_running_loop()
        self.came_back(peer)
        if silent_since is not None:
            self.silent_since[peer] = silent_since
        self.away[peer] = loop.call_later(event.resumable, self._gone, peer, event.resumable,
                                          limit if limited else None)  # fmt: skip
        if controls:
            self.away_control.add(peer)

    def stopped(self) -> None:
        """Take the sharing banner down, once: the last agent's session ended,
        or the last whose link was lost can no longer come back."""
        if self.sharing:
            self.sharing = False
            self.ui.say(STOPPED)

    def _same_name(self, request: ConsentRequest) -> list[str]:
        """A line for each agent of the session whose name is the one the
        asking agent gives (walk36: a second 'Alice' was asked about with
        no word of the first): the user can then tell them apart."""
        if request.upgrade:
            return []
        lines = []
        for peer in (*self.host.viewers, *sorted(self.away)):
            if peer != request.peer and self.ui.names.get(peer) == request.who:
                # Away: its own program comes back unasked (it proves the
                # lost link's key, parked38), so a question under its name is
                # a new connection, perhaps someone else's.
                how = ("is already watching" if peer not in self.away
                       else "is in the session, its connection lost for now; their own"
                            " program comes back without asking you, so this request is"
                            " a new connection")  # fmt: skip
                lines.append(f"(another agent named {_agents(self.ui, (peer,))} {how})")
        return lines

    def _name(self, peer: str) -> str:
        """The agent's name the user knows a session ``peer`` by."""
        return self.ui.names.get(peer) or peer

    def let_away_go(self) -> list[str]:
        """The sessions away are over (ended, or the host stops): their
        timers are dropped. The names of their agents, sorted."""
        away = sorted(self._name(peer) for peer in self.away)
        for peer in list(self.away):
            self.came_back(peer)
        return away

    def came_back(self, peer: str) -> None:
        """The session away as ``peer`` is not any more (its agent came
        back, it ended, or it was lost again)."""
        self.away_control.discard(peer)
        self.silent_since.pop(peer, None)
        handle = self.away.pop(peer, None)
        if handle is not None:
            handle.cancel()

    def _gone(self, peer: str, window: float, limit: float | None) -> None:
        """The time to come back of the session away as ``peer`` ran out, or
        the session's time limit (``limit``, its seconds) came first and
        ended it: a ``--once`` host ends if no one else is there; any other
        says so, and takes the sharing banner down if no one sees the
        screen now."""
        self.away.pop(peer, None)
        self.away_control.discard(peer)
        self.stalled_away.pop(peer, None)
        self.lost_at.pop(peer, None)
        name = self._name(peer)
        if self.once:
            if not self.host.viewers:
                # The limit: ended as if the agent were there (ended_once).
                self.status = Exit.LOST if limit is None else Exit.ENDED
                self.done.set()
            return
        if limit is None:
            self.ui.say(f"{name!r} did not come back within {window:.0f} s: they can no longer"
                        " come back without asking you")
        else:
            self.ui.say(f"the session with {name!r} reached its time limit of {limit:.0f} s"
                        " while they were away: it is over, and they can no longer come back"
                        " without asking you")
        if not self.host.viewers and not self.away:
            self.stopped()

    def resumed(self, event: SessionResumed) -> None:
        """An agent whose link was lost came back with its session's ticket."""
        since = self.silent_since.get(event.was or event.peer)
        self.came_back(event.was or event.peer)
        self.ui.names[event.peer] = event.who
        was_shown = self.ui.shown.get(event.was, "")
        shown = reconnected_as(event.peer, event.was, was_shown) if event.was else None
        if shown is not None:
            self.ui.shown[event.peer] = shown
        if event.was and event.was != event.peer:
            self.levels.pop(event.was, None)  # a link taken over: its levels go on here
            for old, now in list(self.now_as.items()):
                if now == event.was:  # back a second time
                    self.now_as[old] = event.peer
            self.now_as[event.was] = event.peer
        self.levels[event.peer] = event.level
        if CONTROL in event.level:  # its line says so, and how to take it back
            self.told_control.add(event.peer)
        away = event.away
        if since is not None:  # told silent first: gone since then, for the user
            away = max(away, asyncio.get_running_loop().time() - since)
        after = f" after {away:.0f} s" if away >= 1 else ""
        control = CONTROL in event.level
        can = "see and control your screen" if control else "see your screen"
        # walk38: /view offered to a viewer's host too, with no control to take back.
        back = "/view takes control back, " if control else ""
        stalled = self.stalled_away.pop(event.was or event.peer, None)
        lost_at = self.lost_at.pop(event.was or event.peer, None)
        if stalled is not None:  # lost while this program did not run (walk52)
            away = max(away, stalled)
            after = f" after {away:.0f} s"
            dropped = "the connection had dropped while this program did not run"
        elif self._with_the_relay(lost_at):
            dropped = "the connection through the relay had dropped (the relay was lost)"
        else:
            dropped = "their connection had dropped"
        self.ui.say(f"{_agents(self.ui, (event.peer,))} is back{after}: {dropped};"
                    f" they {can} again, as you allowed ({back}/end or Ctrl-C"
                    " stops sharing)")

    def relay_lost(self) -> None:
        """The relay was lost (the registration's status): the agents' links
        through it went with it."""
        self.relay_lost_at = asyncio.get_running_loop().time()

    def _with_the_relay(self, lost_at: float | None) -> bool:
        """Whether a link lost at ``lost_at`` went with the relay: lost
        within :data:`WITH_THE_RELAY` seconds of it (either first: the two
        connections break apart)."""
        return (lost_at is not None and self.relay_lost_at is not None
                and abs(lost_at - self.relay_lost_at) <= WITH_THE_RELAY)  # fmt: skip

    async def run(self, typed: asyncio.Queue[Command]) -> None:
        try:
            while True:
                command = await typed.get()
                # Its lines are its reply: printed at once even while a
                # question is open, which is then shown again (hostq38).
                with self.ui.replying():
                    try:
                        await self.do(command)
                    except (ScreencodecError, OSError, ValueError) as exc:
                        # One command failing must not end the reading of the
                        # rest (a /send that raised once left /end unanswered).
                        self.ui.say(f"(/{command.name} failed: {safe_text(exc, 200)})")
        finally:
            for task in self._sending:
                task.cancel()

    async def do(self, typed: Command) -> None:
        if typed.name == "say":
            task = asyncio.ensure_future(self._say_in_turn(typed.arg, typed.after))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
        elif typed.name == "view":
            # The answer typed before it is the question's first, as /say's
            # (review39d: 'y' and '/view' in one write took control back
            # before the yes was read, and the agent was let in with it).
            await self.ui.read_up_to(typed.after, ANSWER_WAIT)
            await self._view()
        elif typed.name == "end":
            await self._end()
        elif typed.name == "send":
            self._send(typed.arg)
        elif typed.name == "stop":
            self._stop(typed.arg)
        elif typed.name == "clip":
            await clip_command(self, typed.arg)
        elif typed.name == "help":
            self.ui.say(help_lines((*HOST_COMMANDS, ("Ctrl-C", self._ctrl_c()))))
        else:
            self.ui.say(unknown(typed))

    def _ctrl_c(self) -> str:
        """What Ctrl-C does now, as ``/help`` says it (walk34: the list did
        not name it): it always quits the host (:func:`_stop_on_signals`),
        ending the sessions first while the screen is shared (an agent
        whose link was lost and may come back included); while a session's
        end waits for the disk and others go on, it stops that wait only
        (:attr:`ctrl_c_now`, files41)."""
        now = self.ctrl_c_now()
        if now is not None:
            return now
        if self.sharing:
            return "stop sharing: end the session with every agent, then quit"
        return "quit: the session code and password stop working"

    async def _say_in_turn(self, text: str, after: int = 0) -> None:
        """:meth:`_say`, after the lines typed before. Not awaited by
        :meth:`run`: a line to an agent that has not confirmed the last 64
        waits up to BACKLOG_WAIT for room, and the commands typed after it
        (/view, /end) do not wait behind it."""
        async with self._saying:
            # The answer typed before it is the question's first (review39a).
            await self.ui.read_up_to(after, ANSWER_WAIT)
            with self.ui.replying():  # /say's reply, as run's commands' (hostq38)
                try:
                    # A long line in parts, each said as it goes; the rest
                    # not after a part that was not sent (its line said why).
                    for part in say_parts(text):
                        if not await self._say(part):
                            break
                except (ScreencodecError, OSError, ValueError) as exc:
                    self.ui.say(f"(/say failed: {safe_text(exc, 200)})")

    async def _say(self, text: str) -> bool:
        """Send a chat line to every agent sharing the screen; while none
        does (nor may come back), to the agent whose request to see it the
        user is asked about (say38: "one moment, I close my mail first").
        False when it went to no one (a line said why)."""
        if not text:
            return False
        viewers = self.host.viewers
        if not viewers and not self.away:
            asking = await self.host.say_to_asking(text)
            if asking:
                said = safe_text(text, SAY_PART)
                self.ui.say(f"you said to {_named(asking, self.ui)}, who {ASKS}: {said}")
                return True
            # One question is open at a time: the asking agent takes no chat yet.
            if older := self.host.asking_without_chat():
                self.ui.say(f"(not sent: {_named(older, self.ui)} {ASKS_WORDS}, and their program"
                            " cannot receive chat until you let them in)")  # fmt: skip
                return False
            # An agent the user has just answered about (the answer shown)
            # is being let in: the line goes in the session, after the grant.
            await self.host.joining(JOIN_WAIT)
            viewers = self.host.viewers
            if not viewers and not self.away:
                self.ui.say("(not sent: no support agent sees your screen)")
                return False
        try:
            # Each agent's program confirms it (_delivery); kept for those away.
            ids = await self.host.send_chat(text)
        except ChatBacklogError as exc:
            # Sent to the others all the same (Host.send_chat).
            self.ui.say(f"(not sent to {_agents(self.ui, exc.refused) or 'every agent'}:"
                        f" {MAX_UNACKED} of your lines still wait for them to confirm)")
            if not exc.sent:
                return False
            ids = exc.sent
        except (ScreencodecError, OSError) as exc:
            self.ui.say(f"(not sent: {safe_text(exc, 200)})")
            return False
        away = tuple(peer for peer in ids if peer not in viewers)
        if not ids:
            self.ui.say("(not sent: no support agent sees your screen)")
            return False
        viewers = tuple(peer for peer in viewers if peer in ids)
        to = [_agents(self.ui, viewers)] if viewers else []
        if away:
            to.append(f"{_agents(self.ui, away)} (whose connection dropped: it goes once"
                      " they are back)")  # fmt: skip
        self.ui.say(f"you said to {', '.join(to)}: {safe_text(text, SAY_PART)}")
        return True

    async def _view(self) -> None:
        """Take CONTROL back from every agent; they keep VIEW."""
        # And one let in with control by the yes just given, not joined yet
        # (consent notes it at once): the revoke reaches it (review39d).
        joining = tuple(p for p in self.levels if p not in self.host.viewers)
        had = tuple(p for p in (*self.host.viewers, *joining)
                    if CONTROL in self.levels.get(p, VIEW))  # fmt: skip
        away = tuple(sorted(self.away_control, key=lambda peer: (self._name(peer), peer)))
        self.away_control = set()
        await self.host.revoke(CONTROL)  # also from those away (.resume)
        if had:
            for peer in had:
                self.levels[peer] = self.levels[peer] - CONTROL
            self.ui.say(f"you took back control from {_agents(self.ui, had)}: only you use"
                        " your mouse and keyboard now; your screen is still shared")
        if away:  # named as every other line names them: two may share a name
            self.ui.say(f"you took back control from {_agents(self.ui, away)}, whose connection"
                        " dropped: if they come back, they will only see your screen")
        if not had and not away:
            self.ui.say("(no agent controls your mouse and keyboard: nothing to take back)")

    async def _end(self) -> None:
        """End every session, including those still waiting for an answer
        and those whose agent could come back after a lost link."""
        viewers = self.host.viewers
        self.ended.update(viewers)
        self.offers_ended.update(viewers)
        self.told_by_end.update(viewers)
        self.ending = True
        ended = False
        # A question still open closes saying so, not "no" (page51).
        closing, self.ui.closing = self.ui.closing, self.ui.closing or "you ended the session"
        try:
            # Returns once their sessions are over (SessionEnded told), or
            # gives up waiting after CLEANUP_WAIT.
            await self.host.disconnect(reason=ENDED_BY_USER)
            ended = True
        finally:
            self.ending = False
            self.ui.closing = closing
            if not ended:
                self._say_after_end()
        # Those still cleaning up (disconnect gave up waiting) get their own
        # line when their session ends: "ended: you ended it" (endleft35:
        # none was said).
        self.told_by_end.difference_update(self.host.viewers)
        away = self.let_away_go()
        # The user's own line first, then what follows from it, then the
        # banner (SessionEnded left it to this line; sharing had waited for
        # those away too).
        who = f" with {_agents(self.ui, viewers)}" if viewers else ""
        if self.once:
            self.ui.say(f"you ended the session{who}; closing")
        else:
            self.ui.say(f"you ended the session{who}; the code and password above still"
                        " work, and you will be asked again before anyone sees your screen"
                        " (Ctrl-C to stop)")
        if away:  # also beside agents there (walk36: said only when none was)
            self.ui.say(_cannot_come_back(away))
        self._say_after_end()
        if not self.host.viewers and not self.away:
            self.stopped()
        if self.once:
            self.done.set()

    def _say_after_end(self) -> None:
        held, self.after_end = self.after_end, []
        for line in held:
            self.ui.say(line)
