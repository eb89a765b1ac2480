"""What the agent types into ``screencodec view`` and what it is answered:
the lines read (:func:`_typed_lines`), chat (``/say TEXT``, marked
``delivered`` once the host's program has it, and what is told of the
lines never confirmed at the end), ``/send PATH`` (:class:`_Sending`,
:func:`_sent_words`), ``/monitor N`` and the host's screen list
(:class:`_Screens`), ``/help`` and any other line (:func:`_not_chat`); and
the conversation that carries all of it over a lost link and its
resumption (:class:`_Conversation`).

Apart from the session loop (cli/view.py), which only starts a
conversation and moves it to the viewer of the moment; it takes the
max-pixels hint from cli/view_ending.py, the take-back line from
cli/view_status.py, ``/type`` and ``/key`` from cli/view_typing.py and
``/control`` from cli/view_control.py, and nothing else of the view
modules.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from screencodec.cli.progress import Progress
from screencodec.cli.say import (
    SAY,
    VIEW_COMMANDS,
    Command,
    command,
    file_to_send,
    help_lines,
    said,
    say_parts,
    stop_names,
    unknown,
)
from screencodec.cli.terminal import TypedLine, tell
from screencodec.cli.view_clipboard import ViewClipboard
from screencodec.cli.view_control import ASK_AGAIN, AskControl, Unanswered
from screencodec.cli.view_ending import _watch_it
from screencodec.cli.view_status import TAKEN_BACK
from screencodec.cli.view_typing import Typing
from screencodec.decoder import too_large
from screencodec.errors import ScreencodecError, SessionClosedError
from screencodec.geometry import Monitor
from screencodec.transport.channel.display import amount, safe_text
from screencodec.transport.session import messages as m
from screencodec.transport.session.held_silence import is_agent_words
from screencodec.transport.session.permissions import CONTROL, VIEW
from screencodec.transport.session.sidechannels import (
    BEFORE_AN_ANSWER,
    NOT_READ,
    REFUSED_UNASKED,
    STOPPED_THERE_WHY,
    USER_SAID_NO,
)

if TYPE_CHECKING:
    from screencodec.transport.session.viewer import Viewer

__all__ = [
    "AWAY",
    "FILE_NOT_NOW",
    "HELD_LET_GO",
    "LOCAL_USE",
    "NOTHING_KEPT",
    "NOT_CONFIRMED",
    "NOT_DELIVERED",
    "OLD_HOST_CHAT",
    "_Conversation",
    "_Screens",
    "_Sending",
    "_chat",
    "_command",
    "_not_chat",
    "_sent_words",
    "_typed_lines",
    "said_early",
]


def said_early(text: str) -> None:
    """A line the host's user wrote while asked whether to let this agent
    in (say38; the viewer sanitised it): printed as their chat is, while
    ``view`` waits for the answer."""
    print(f"host says: {text}", flush=True)


def _typed_lines(line: TypedLine | None) -> asyncio.Queue[str]:
    """The lines typed (not blank), read by a daemon thread (a waiting read
    must not keep the process alive); one reader for the whole run,
    whichever connection the session is on. ``line``: on a terminal, the
    line being typed, kept whole while other lines print."""
    loop = asyncio.get_running_loop()
    typed: asyncio.Queue[str] = asyncio.Queue()

    def read() -> None:
        with contextlib.suppress(OSError, ValueError, RuntimeError):
            for text in iter(line.readline, "") if line is not None else sys.stdin:
                if text.strip():
                    loop.call_soon_threadsafe(typed.put_nowait, text)

    threading.Thread(target=read, name="view-terminal", daemon=True).start()
    return typed


async def _chat(viewer: Any, screens: _Screens, typed: asyncio.Queue[str],
                held: list[str], events: Any, *, clip: ViewClipboard | None = None,
                unanswered: Unanswered | None = None) -> None:  # fmt: skip
    """Show the host's chat (the viewer passed it through safe_text) and carry
    out the lines typed: ``/say TEXT`` is sent, ``/send PATH`` offers a file
    (:class:`_Sending`), ``/monitor N`` switches screens (``screens``),
    ``/help`` lists the commands, and any other line is answered with one
    line saying it was not sent and how to write (it was dropped without a
    word: an agent typing "hello" saw nothing happen). ``typed``: the lines
    (:func:`_typed_lines`). ``held``: chat typed while the link was down
    (:class:`_Conversation`), sent first, in order; a line that cannot be
    sent (the session is ending, or its link broke) is put back there.
    ``events``: the viewer's, subscribed before its run reads a message.
    ``clip``: the terminal's clipboard (cli/view_clipboard.py), which tells
    the clipboard events and carries out ``/clip``."""
    clip = clip or ViewClipboard()
    unanswered = unanswered or Unanswered()
    from screencodec.transport.session.chat import DELIVERED, SENT, ChatBacklogError
    from screencodec.transport.session.events import (
        ChatDelivery,
        ChatReceived,
        FileRefused,
        PermissionChanged,
        SessionRejoined,
    )

    async def shown() -> None:
        had = viewer.level
        async for ev in events:
            if isinstance(ev, ChatReceived):
                print(f"host says: {ev.text}", flush=True)
            elif isinstance(ev, ChatDelivery) and ev.state == DELIVERED:
                for text in ev.texts:  # the host's program has it (and shows it)
                    print(f"delivered: {safe_text(text, _MARKED)}", flush=True)
            elif isinstance(ev, ChatDelivery) and ev.state == SENT and ev.first == 1:
                print(OLD_HOST_CHAT, flush=True)  # once: every line of it is only sent
            elif isinstance(ev, PermissionChanged):
                # Not when VIEW went too: the session ends (Permission.taking
                # takes the whole level then), nothing is left to watch.
                if CONTROL in had and CONTROL not in ev.level and VIEW in ev.level:
                    print(f"{TAKEN_BACK} ({ASK_AGAIN})", flush=True)
                elif CONTROL not in had and CONTROL in ev.level:
                    unanswered.granted()  # told if its request was told unanswered
                had = ev.level
            elif isinstance(ev, SessionRejoined):  # after a lost link: what the host took up
                tell(ev.describe(viewer.level))
            elif isinstance(ev, FileRefused):
                print(f"the host's user offered {safe_text(ev.name, 100)!r} ({amount(ev.size)}):"
                      f" not received, {safe_text(ev.why, 100)} (screencodec view --web"
                      " --download-dir DIR receives files)", flush=True)  # fmt: skip
            else:
                await clip.event(ev)

    printer = asyncio.ensure_future(shown())
    sending = _Sending(viewer, unanswered)
    try:
        while True:
            if not held:
                line = await typed.get()
                text = said(line)
                if text is None:
                    await _guarded(line, sending, screens, clip)
                    continue
                if not text:
                    continue  # a bare /say: nothing to send
                held.extend(say_parts(text))  # a pasted log in parts, as the host's /say
            text = held[0]
            try:
                await viewer.chat(text)  # kept by the viewer until the host confirms it
            except ChatBacklogError as exc:
                held.pop(0)
                print(f"(not sent: {exc}): {safe_text(text, 1000)}", flush=True)
                continue
            except ScreencodecError:
                return  # the session is ending, or its link broke: the line stays held
            except ValueError as exc:  # a NUL: the wire takes none (walk46)
                held.pop(0)
                print(f"(not sent: {safe_text(exc, 200)})", flush=True)
                continue
            held.pop(0)
            print(f"you said: {safe_text(text, 1000)}", flush=True)
    except ScreencodecError:
        return  # the session is ending (a /monitor could not be sent)
    finally:
        printer.cancel()
        sending.cancel()
        events.close()


async def _guarded(line: str, sending: _Sending, screens: _Screens,
                   clip: ViewClipboard | None = None) -> None:  # fmt: skip
    """:func:`_command`, a bug in it said rather than ending this loop: a
    TypeError in one command's handler ended the loop silently, and every
    line typed after it went nowhere while the picture went on (review45:
    ``/key Shift+ß``)."""
    try:
        await _command(line, sending, screens, clip)
    except (ScreencodecError, asyncio.CancelledError):
        raise
    except Exception as exc:  # the session goes on; the bug is said
        name = safe_text(line.strip().split(maxsplit=1)[0] if line.strip() else line, 40)
        tell(f"({name} failed: {type(exc).__name__}: {safe_text(exc, 200)}; this is a bug in"
             " screencodec, please report it; the session goes on)")  # fmt: skip


async def _command(line: str, sending: _Sending, screens: _Screens,
                   clip: ViewClipboard | None = None) -> None:  # fmt: skip
    """Carry out a typed line that is not chat: ``/send``, ``/stop``,
    ``/monitor``, ``/clip``, ``/type``, ``/key`` (cli/view_typing.py),
    ``/control`` (cli/view_control.py), or
    the answer of :func:`_not_chat`."""
    typed = command(line)
    if typed is not None and typed.name == "send":
        sending.start(typed.arg)
    elif typed is not None and typed.name == "stop":
        # A bare /stop stops the /type under way too (type43); files
        # only when some are going or one is named.
        if not (sending.typing.stop() and not typed.arg.strip() and not sending.going):
            sending.stop(typed.arg)
    elif typed is not None and typed.name == "clip" and clip is not None:
        await clip.command(sending.viewer, typed.arg)
    elif typed is not None and typed.name == "monitor":
        await screens.select(typed.arg)
    elif typed is not None and typed.name == "type":
        sending.typing.start(sending.viewer, _typed_text(line))  # beside this loop (type43)
    elif typed is not None and typed.name == "key":
        await sending.typing.key(sending.viewer, typed.arg)  # after a /type under way
    elif typed is not None and typed.name == "control":
        sending.asking.start(sending.viewer)  # beside this loop: the answer may take a minute
    else:
        tell(_not_chat(line))


def _typed_text(line: str) -> str:
    """What ``/type TEXT`` types: the line after ``/type`` and one blank, its
    own blanks kept (``/type   x`` types two blanks, then x)."""
    rest = line.rstrip("\r\n").lstrip()[len("/type"):]
    return rest[1:] if rest[:1] in (" ", "\t") else rest


class _Sending:
    """The files the agent offers with ``/send PATH``, each in a task of its
    own (the host's user may take a minute to answer, and chat goes on
    meanwhile): one line when it is offered, one with what became of it
    (the :class:`~screencodec.transport.session.events.FileSent` the
    viewer's sender returns), or one saying why it was not offered."""

    def __init__(self, viewer: Viewer, unanswered: Unanswered | None = None) -> None:
        self.viewer = viewer
        #: Each offer's task and its file's name (what /stop NAME matches).
        self._tasks: dict[asyncio.Task[None], str] = {}
        self._stopped: set[asyncio.Task[None]] = set()  #: those /stop cancelled
        #: The /type under way (cli/view_typing.py), stopped with the rest.
        self.typing = Typing()
        #: The /control request under way (cli/view_control.py), stopped with the rest.
        self.asking = AskControl(unanswered)

    @property
    def going(self) -> bool:
        """Whether a file is being offered or sent."""
        return any(not task.done() for task in self._tasks)

    def start(self, arg: str) -> None:
        path = file_to_send(arg)
        if isinstance(path, str):
            tell(path)
            return
        task = asyncio.ensure_future(self._offer(path))
        self._tasks[task] = path.name
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task, None)
        self._stopped.discard(task)

    def cancel(self) -> None:
        self.typing.stop(ending=True)  # Ctrl-C, or the session ended: says how much went
        self.asking.cancel()
        for task in self._tasks:
            task.cancel()

    def stop(self, arg: str) -> None:
        """``/stop [NAME]``: stop the files being sent (only those named NAME,
        or named as the file the path NAME names), as the host's ``/stop``
        does its own: each offer's task is cancelled, and the sender
        withdraws the file at the host (files36's STOPPED), which removes
        what it has of it; each says so in its own line (:meth:`_offer`).
        walk41: the terminal had no way to stop a file but leaving."""
        wanted = arg.strip()
        going = {task: name for task, name in self._tasks.items() if not task.done()}
        chosen = [task for task, name in going.items() if stop_names(wanted, name)]
        if not chosen:
            if not going:
                tell("(no file is being sent: nothing to stop)")
            else:
                names = ", ".join(repr(safe_text(name, 100)) for name in sorted(going.values()))
                tell(f"(no file named {safe_text(wanted, 100)!r} is being sent: nothing"
                     f" stopped; being sent: {names})")  # fmt: skip
            return
        for task in chosen:
            self._stopped.add(task)
            task.cancel()

    async def _offer(self, path: Path) -> None:
        name = safe_text(path.name, 200)
        size, arrived = 0, -1  # arrived: what the host said it has of it (one that paces)
        went = -1  # bytes handed to the link: -1 before the host's user said yes

        def has(received: int) -> None:
            nonlocal arrived
            arrived = received

        try:
            size = path.stat().st_size
            tell(_offering_words(name, size, self.viewer.sender.peer_takes_none))
            progress = Progress(f"sending {name} to the host", size)
            loop = asyncio.get_running_loop()

            def sending(done: int, _size: int) -> None:
                nonlocal went
                went = done
                said = progress.line(done, loop.time())
                if said is not None:
                    tell(said)

            sent = await self.viewer.sender.send(path, on_sending=sending, on_arrived=has)
        except asyncio.CancelledError:
            if asyncio.current_task() in self._stopped:  # /stop: withdrawn at the host
                if went < 0:  # not answered yet: the question closes there
                    tell(f"you withdrew {name} before the host's user answered; none of it"
                         " went")  # fmt: skip
                elif went >= size:
                    # All of it had gone: the host may be saving it, and
                    # keeps it then (review41a: said "keeps nothing of it",
                    # and the host saved it).
                    tell(f"you stopped waiting for the host's word of {name}: all of it"
                         f" ({amount(size)}) had gone, so the host may have kept it")  # fmt: skip
                else:
                    tell(f"you stopped sending {name} to the host ({amount(went)} of"
                         f" {amount(size)} had gone); the host keeps nothing of it")  # fmt: skip
                return
            if self.viewer.link_lost:  # the terminal stops this session's offers
                tell(f"(not sent: {name}: {FILE_NOT_NOW})")
            raise
        except SessionClosedError:
            tell(f"(not sent: {name}: {self._ended_words(arrived, size)})")
            return
        except (ScreencodecError, OSError) as exc:  # the file went away meanwhile, say
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            tell(f"(not sent: {name}: {safe_text(why, 200).lower()})")
            return
        tell(_sent_words(name, sent.size, sent.outcome, sent.why, lost=self._lost(),
                         current=self.viewer.host_gives_reasons,
                         saved_as=sent.saved_as))  # fmt: skip

    def _ended_words(self, arrived: int, size: int) -> str:
        """Why a file being offered or sent did not go whole: the link was
        lost (send it again once back), or the host ended the session (its
        Bye came), or the session ended; and how much of it the host said
        had arrived (``arrived`` >= 0: a host that paces files says), and
        that none of it was kept: the host removes a file cut short, as this
        side's host says of one coming the other way (walk35: the agent was
        left unsure whether the host kept what had arrived)."""
        if self._lost():
            return FILE_NOT_NOW
        end = ("the host ended the session" if self.viewer.host_bye is not None
               else "the session ended")  # fmt: skip
        if arrived < 0:
            return end
        return f"{end}, {amount(arrived)} of {amount(size)} had arrived; {NOTHING_KEPT}"

    def _lost(self) -> bool:
        """Whether the session's link broke (it may be taken up again)."""
        return self.viewer.link_lost or bool(getattr(self.viewer.channel, "broken", False))


def _offering_words(name: str, size: int, takes_none: bool) -> str:
    """The line said as a file is offered. ``takes_none``: the host said
    this session that it takes no files (an earlier offer's reason code,
    or, up front, its ``Notice.TAKES_NO_FILES``): nobody there is asked
    (files40: before, every offer said "who is asked"; files41: a first
    offer did still, nothing telling it up front)."""
    if takes_none:
        return (f"offering {name} ({amount(size)}) to the host, which said this session"
                " that it takes no files")  # fmt: skip
    return f"offering {name} ({amount(size)}) to the host's user, who is asked whether to accept it"


def _sent_words(name: str, size: int, outcome: str, why: str, *, lost: bool = False,
                current: bool = False, saved_as: str = "") -> str:  # fmt: skip
    """What became of a file the agent sent, in words (``outcome`` and
    ``why``: FileSent's; ``why`` is the host's, through safe_text, or the
    sender's own when the session ended first). ``lost``: the session's
    link broke, and the session may go on: it is not said to have ended.
    ``current``: the host says why it refuses a file unasked (a code), so
    a no without one is its user's (``Viewer.host_gives_reasons``); only to a
    host of the version before is a no also maybe "it takes no files".
    ``saved_as``: the name the host saved it under, when it says (FileSent's,
    through safe_text): said when it is not the name offered (walk45)."""
    if outcome == "delivered" and saved_as and saved_as != name:
        return f"delivered {name} ({amount(size)}): the host saved it as {saved_as}"
    if outcome == "delivered":
        return f"delivered {name} ({amount(size)}): the host saved it"
    if outcome == "failed" and lost and why == _SENDER_ENDED:
        return f"(not sent whole: {name}: {FILE_NOT_NOW})"
    if outcome == "failed" and why.startswith(NOT_READ):  # this side's fault, not the host's
        reason = safe_text(why[len(NOT_READ):], 200) or "no reason given"
        return f"(not sent whole: {name}: it could not be read here: {reason})"
    if outcome == "failed" and why == STOPPED_THERE_WHY:  # its user stopped it (rstop36)
        return (f"the host's user stopped receiving {name} ({amount(size)}); nothing of it"
                " was kept there")  # fmt: skip
    if outcome == "failed":  # accepted, then not saved (its folder gone, a full disk)
        return f"the host could not save {name}: {safe_text(why, 200) or 'no reason given'}"
    if outcome == "unconfirmed" and why:  # the session ended before the host's word
        end = "the connection to the host was lost" if lost else "the session ended"
        return (f"sent {name} ({amount(size)}) to the host, but {end} before it said whether"
                " it saved it")  # fmt: skip
    if outcome == "unconfirmed":  # a host of a version that does not report results
        return f"sent {name} ({amount(size)}) to the host (it does not say whether it saved it)"
    if outcome == "declined" and why.endswith(BEFORE_AN_ANSWER):  # the end came first
        if lost:
            return f"(not sent: {name}: {FILE_NOT_NOW})"
        return f"(not sent: {name}: the session ended before the host's user answered)"
    if outcome == "declined" and why.startswith(REFUSED_UNASKED):  # the host said why (a code)
        return f"the host did not accept {name}: {why[len(REFUSED_UNASKED):]}"
    if outcome == "declined" and current:  # no code: its user said no (or let it go by)
        return f"the host did not accept {name}: {USER_SAID_NO}"
    return (f"the host did not accept {name}: {USER_SAID_NO}, or the host takes no files (or"
            " none this large)")  # fmt: skip


#: Why the sender fails a file it had not sent whole when its session ends
#: (FileSender.close).
_SENDER_ENDED = "the session ended"


#: The host dropped what the agent typed while its user used their own mouse
#: or keyboard (its Notice.LOCAL_USER_ACTIVE, once a stretch of their use).
#: Our words, not the host's text (a peer's).
LOCAL_USE = ("(the host's user is using their own mouse or keyboard: what you send their"
             " keyboard meanwhile is ignored, not typed later; type it again once they stop)")


#: A host's HELD_RELEASED notice not in its own words (held_silence.agent_words).
HELD_LET_GO = ("(the host let go of the keys and mouse buttons you held down: nothing came"
               " from you for a few seconds (your link went silent); press again what you"
               " need)")  # fmt: skip


def _input_ignored(msg: m.Message) -> None:
    """Say that the host ignored this agent's keys for its user's own use
    (walk44: a /type of 205 characters, 195 of them dropped so, said only
    'sent 205 characters', the host's status line 'their input ignored: 195')."""
    if isinstance(msg, m.Notice) and msg.code == m.Notice.LOCAL_USER_ACTIVE:
        tell(LOCAL_USE)


#: The most rows of the host's screen list printed (the wire allows 64).
_SCREENS_SHOWN = 16


class _Screens:
    """The host's screens in the agent's terminal: listed when the host has
    more than one (its MonitorList, only numbers), each whose picture is
    over the viewer's ``max_pixels`` marked "too large for this viewer";
    a switch the host made is one line. ``/monitor N`` (:meth:`select`)
    asks the host for screen N, unless the terminal can say at once why
    not: no such screen, the one shown, or one too large (the host would
    switch, and the session end on its first picture)."""

    def __init__(self, viewer: Viewer) -> None:
        self.viewer = viewer
        self._told: tuple[tuple[Monitor, ...], int] | None = None

    def seen(self, msg: m.Message) -> None:
        """A message from the host (the viewer's ``on_message``)."""
        if isinstance(msg, m.Notice) and msg.code == m.Notice.HELD_RELEASED:
            # input44: the host let go of what this agent held down after its
            # link's silence. Its words as they came only if they are the
            # host's sentence (the counts); any other text, ours (review44: a
            # host put any line there in the view's voice).
            tell(f"({msg.text})" if is_agent_words(msg.text) else HELD_LET_GO)
            return
        if not isinstance(msg, m.MonitorList):
            return
        told, self._told = self._told, (msg.monitors, msg.current)
        if sum(mon.index != 0 for mon in msg.monitors) < 2:
            return  # nothing to choose from
        if told is not None and told[0] == msg.monitors:
            if told[1] != msg.current:
                tell(f"now watching {self._name(msg.current)}")
            return
        tell(self._listed(msg.monitors, msg.current))

    def _listed(self, monitors: tuple[Monitor, ...], current: int) -> str:
        lines = [f"the host has {sum(mon.index != 0 for mon in monitors)} screens;"
                 " type /monitor N to watch screen N:"]  # fmt: skip
        for mon in monitors[:_SCREENS_SHOWN]:
            what = "all screens, " if mon.index == 0 else ""
            notes = [*(["primary"] if mon.primary else []),
                     *(["watching"] if mon.index == current else []),
                     *(["too large for this viewer"] if self._too_large(mon) else [])]
            noted = f" ({', '.join(notes)})" if notes else ""
            lines.append(f"  {mon.index}: {what}{mon.width}x{mon.height}{noted}")
        if len(monitors) > _SCREENS_SHOWN:
            lines.append(f"  ... and {len(monitors) - _SCREENS_SHOWN} more")
        if any(self._too_large(mon) for mon in monitors):
            lines.append(f"(a screen too large for this viewer is over its limit of"
                         f" {self.viewer.max_pixels} pixels: --max-pixels sets it)")
        return "\n".join(lines)

    def _too_large(self, mon: Monitor) -> bool:
        return too_large(mon.width, mon.height, self.viewer.max_pixels) is not None

    def _monitor(self, index: int) -> Monitor | None:
        return next((mon for mon in self.viewer.monitors if mon.index == index), None)

    def _name(self, index: int) -> str:
        """``screen N (WxH)``, or ``all screens (WxH)`` for 0."""
        mon = self._monitor(index)
        size = "" if mon is None else f" ({mon.width}x{mon.height})"
        return f"{'all screens' if index == 0 else f'screen {index}'}{size}"

    async def select(self, arg: str) -> None:
        """``/monitor ARG``: ask the host for screen ARG, or say why not."""
        if not (arg.isascii() and arg.isdigit()):
            tell("(usage: /monitor N: N is the number of one of the host's screens, 0 for all)")
            return
        index = int(arg)
        mon = self._monitor(index)
        if mon is None:
            numbers = ", ".join(str(x.index) for x in self.viewer.monitors) or "none listed yet"
            tell(f"(not switched: the host has no screen {index}; its screens: {numbers})")
        elif index == self.viewer.monitor:
            tell(f"(you are watching {self._name(index)} already)")
        elif self._too_large(mon):
            tell(f"(not switched: {self._name(index)} is too large for this viewer, over"
                 f" its limit of {self.viewer.max_pixels} pixels;"
                 f" {_watch_it(mon.width * mon.height)})")  # fmt: skip
        else:
            await self.viewer.select_monitor(index)
            tell(f"asked the host for {self._name(index)}")


def _not_chat(line: str) -> str:
    """The answer to a typed line that is not ``/say TEXT``, ``/send`` or
    ``/monitor``."""
    typed: Command | None = command(line)
    if typed is not None and typed.name == "help":
        return help_lines(VIEW_COMMANDS)
    if typed is not None:
        return unknown(typed)
    return f"(not sent: to write to the host's user, type {SAY} and your message)"


#: What the terminal says of a line never sent (the host's program never had it).
NOT_DELIVERED = "NOT delivered, the session ended"
#: ... of a line sent on a link that ended before the host confirmed it: it
#: may have arrived, its confirmation lost.
NOT_CONFIRMED = "not confirmed, the session ended"
#: ... once, of a host that confirms no chat (a version before chat delivery).
OLD_HOST_CHAT = "(sent: this host's version does not confirm that chat arrives)"
_MARKED = 80  # characters of a line shown again when it is marked delivered


class _Conversation:
    """The terminal's chat and commands (:func:`_chat`) for the viewer of
    the moment: moved to the new one when a lost link was taken up again.

    While the link is being taken up again (:meth:`reconnecting`), a
    ``/say`` line is held, told "(not sent yet: reconnecting)", and sent in
    order once back in the session (as the web page holds chat); so is one
    whose sending failed as the link broke. A ``/send`` is not offered then:
    it is told to be sent again once back (the page's words for a file).
    Lines still held when the session ends are told not sent
    (:meth:`not_sent`). The walk3 walkthrough found such a line dropped
    without a word, and a ``/send`` told "offering ..." and then "the
    session ended" while the session went on."""

    def __init__(self, viewer: Viewer, typed: asyncio.Queue[str]) -> None:
        self._typed = typed
        self._task: asyncio.Future[None] | None = None
        #: Chat typed while the link was down, to be sent after the resume.
        self.held: list[str] = []
        #: This machine's clipboard and the host's last text (kept over a resume).
        self.clip = ViewClipboard()
        #: Whether a request for control was told unanswered (view.py's, /control's).
        self.unanswered = Unanswered()
        self.move_to(viewer)

    def move_to(self, viewer: Viewer) -> None:
        self.stop()
        self.viewer = viewer
        self.away = False  #: the link is being taken up again (:meth:`reconnecting`)
        screens = _Screens(viewer)

        def seen(msg: m.Message) -> None:
            screens.seen(msg)
            _input_ignored(msg)

        viewer.on_message = seen
        # Subscribed now, before the viewer's run reads a message: a line
        # the host kept for the resume may be its first (transport/session/chat.py).
        events = viewer.events()
        self._task = asyncio.ensure_future(_chat(viewer, screens, self._typed, self.held,
                                                 events, clip=self.clip,
                                                 unanswered=self.unanswered))  # fmt: skip

    def reconnecting(self) -> None:
        """The link was lost and is being taken up again: the lines typed
        meanwhile are answered here (:meth:`_while_away`)."""
        self.stop()
        self.away = True
        self._task = asyncio.ensure_future(self._while_away())

    async def _while_away(self) -> None:
        while True:
            line = await self._typed.get()
            text = said(line)
            typed = command(line)
            if text:
                self.held.extend(say_parts(text))
                tell(f"(not sent yet: reconnecting; sent once back in the session):"
                     f" {safe_text(text, 1000)}")  # fmt: skip
            elif text is not None:
                continue  # a bare /say: nothing to send
            elif typed is not None and typed.name == "send":
                path = file_to_send(typed.arg)
                tell(path if isinstance(path, str)
                     else f"(not sent: {safe_text(path.name, 200)}: {FILE_NOT_NOW})")  # fmt: skip
            elif typed is not None and typed.name == "monitor":
                tell(f"(not switched: {AWAY}; type it again once back in the session)")
            elif typed is not None and typed.name == "clip" and typed.arg.strip() in (
                    "show", "take"):  # fmt: skip
                await self.clip.command(self.viewer, typed.arg)
            elif typed is not None and typed.name == "clip":
                tell(f"(not sent: {AWAY}; type it again once back in the session)")
            elif typed is not None and typed.name in ("type", "key"):
                tell(f"(not typed: {AWAY}; type it again once back in the session)")
            elif typed is not None and typed.name == "control":
                tell(f"(not asked: {AWAY}; type it again once back in the session)")
            else:
                tell(_not_chat(line))

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def not_sent(self) -> None:
        """The session has ended: the chat still held was not sent, the
        lines sent that the host never confirmed are not confirmed, and
        those given to the viewer and never sent were not delivered."""
        chats = self.viewer.chats
        chats.give_up()  # kept for a resume that did not come
        told = [(i, NOT_CONFIRMED, t) for i, t in chats.unconfirmed_lines]
        told += [(i, NOT_DELIVERED, t) for i, t in chats.lost_lines]
        for _, words, text in sorted(told):
            tell(f"{words}: {safe_text(text, 1000)}")
        chats.unconfirmed_lines.clear()
        chats.lost_lines.clear()
        for text in self.held:
            tell(f"(not sent, the session ended: {safe_text(text, 1000)})")
        self.held.clear()


#: Of a file cut short at the other side, which removes it (the host's
#: words for a file going the other way: cli/host_files.py).
NOTHING_KEPT = "nothing of it was kept there"
#: While a lost link is being taken up again.
AWAY = "the connection to the host was lost; reconnecting"
#: A file offered, or being offered, when the link to the host was lost
#: (the web page's words: docs/web.md).
FILE_NOT_NOW = "the connection to the host was lost; send it again once back in the session"
