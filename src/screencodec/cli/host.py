"""The ``screencodec host`` command: share this screen (see ``cli.py``).

Runs one event loop: the listener or relay registration hands each
authenticated channel to :meth:`Host.serve`; a display task turns host events
into the banner and status lines; on X11 watchers pause remote input when
the local user moves the pointer, types or clicks.

All terminal output goes through one :class:`TerminalQuestions`: questions are
asked one at a time and nothing prints over an open one. Every string a peer
chose is passed through :func:`safe_text` before it is printed. Failures to
start (port in use, relay unreachable) are one line on stderr and exit code 2.

Commands: each chat line from an agent is printed as ``agent 'NAME' (PEER)
says: TEXT``; each of the local user's lines as ``delivered to AGENT: TEXT``
once that agent's program has it (``not confirmed by AGENT, the session
ended: TEXT`` if the session ended before it said so, ``NOT delivered to
AGENT, the session ended: TEXT`` if it was never sent: :func:`_delivery`). The local user types
commands (parsed by :mod:`.say`): ``/say
TEXT`` chats with every agent, ``/view`` takes control back (the agents keep
watching), ``/end`` ends the sessions (the host then exits with ``--once``,
else waits for the next agent, who is asked about again), ``/send PATH``
offers a file to each agent, ``/stop [NAME]`` stops the files being sent
and received (those of that name; nothing of them is kept: cancel36, rstop36),
``/help`` lists them; each prints one line once
it has taken effect. Command lines are split off the terminal's input before
the questions read it (:class:`_TerminalInput`), so a command never answers a
question and an answer never becomes a command.

Files: started without ``--download-dir``, the host refuses every file an
agent sends without asking, and says so in one line (the file's name through
safe_text).

Signals: Ctrl-C, SIGTERM and SIGHUP end the sessions as ``/end`` does (a
Bye, the agent's held keys let go, the recording closed), then the program.
A Ctrl-C pressed again while it stops is told that it is under way and
changes nothing: the exit is the same, status 0 (:func:`_stop_on_signals`).

Typing: on a terminal, what the user has typed of a line is kept whole while
chat, status and other lines are printed: each is printed where the typed
text began and the typed text follows it again (:class:`~.terminal.TypedLine`,
which puts the terminal's modes back however the program ends).

Relay: while registered at a relay (``--relay``), the host says in one line
when the relay is lost (the code does not work meanwhile; it keeps retrying)
and in one line when the code works again, never a line per retry
(:func:`_relay_status`).

Control: when the host cannot inject input (``--control none``, or
``--control xtest`` and no X display), the session layer refuses a request to
CONTROL without asking the local user (the agent is told why); the local user
is told in one line. The rest of a first request (VIEW) is asked as usual.

Where it lives: cli/host_args.py holds the command's arguments (``--help``
and a usage error load nothing else); this module its start, main
loop (:func:`_share`) and end; cli/host_events.py the events shown as lines;
cli/host_commands.py and cli/host_files.py what the typed commands do;
cli/host_start.py what the host opens from its arguments;
cli/host_terminal.py the terminal's lines split into commands and answers;
cli/host_signals.py the signals while it runs; cli/host_lines.py the words.
Each imports only modules later in that list (host_lines none of them). The
names tests take from here (``_Commands``, ``_show``, ``_check_source``,
``_start_watchers``, ``_StartError``, ``STOPPED``, ``CODE_GONE``,
``ENDED_BY_USER``, ``HOST_STOPPED``, ``VIEW_ONLY``) are imported here, and
load from here as before.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import threading
from typing import Any

from screencodec.capture.base import FrameSource
from screencodec.cli.clipboard_x11 import x11_clipboard
from screencodec.cli.host_commands import _Commands
from screencodec.cli.host_events import Silences, _receiving, _show, _silences
from screencodec.cli.host_lines import (
    BANNER,
    CODE_GONE,
    ENDED_BY_USER,
    HOST_STOPPED,
    NO_INPUT,
    STOPPED,
    VIEW_ONLY,
    X_GONE,
    _agents,
    _cannot_come_back,
    _relay_status,
    _told,
    stopped_words,
)
from screencodec.cli.host_signals import _stop_on_signals
from screencodec.cli.host_start import (
    _check_folders,
    _check_source,
    _injector,
    _open,
    _pruned_words,
    _recorder,
    _recording_words,
    _source_factory,
    _start_watchers,
    _StartError,
)
from screencodec.cli.host_terminal import _TerminalInput
from screencodec.cli.main import Exit
from screencodec.cli.saving import (
    again_words,
    finish_saving,
    say_ending_removals,
    stopped_waiting_words,
)
from screencodec.cli.say import SAY
from screencodec.cli.terminal import (
    StatusLines,
    TypedLine,
    ending_signals,
    in_words,
    settle_stdout,
    signals_given_back,
    tell,
)
from screencodec.transport.channel.display import safe_text
from screencodec.transport.session.config import HostConfig
from screencodec.transport.session.host import Host
from screencodec.transport.session.terminal_questions import TerminalQuestions

__all__ = ["BANNER", "NO_INPUT", "VIEW_ONLY", "run_host"]


async def _host_main(args: argparse.Namespace, typed: TypedLine | None = None) -> int:
    config = HostConfig(
        consent_timeout=args.consent_timeout,
        monitor=args.monitor,
        max_duration=args.max_duration,
        download_dir=args.download_dir,
    )
    _check_folders(args)
    opened = await _check_source(args)
    kept = [] if opened is None else [opened]
    terminal = _TerminalInput(sys.stdin, asyncio.get_running_loop(), typed)
    try:
        return await _share(args, config, terminal, kept)
    finally:
        # However the host ends, a Ctrl-C while it starts included (its
        # pipe's end was left to the garbage collector: a ResourceWarning).
        terminal.close()
        for source in kept:  # no viewer came: closed off the loop, as the hub's are
            threading.Thread(target=source.close, name="capture-close", daemon=True).start()


async def _share(args: argparse.Namespace, config: HostConfig, terminal: _TerminalInput,
                 kept: list[FrameSource]) -> int:  # fmt: skip
    """Share the screen until the host is stopped; its exit status."""
    from screencodec.transport.channel.codes import SessionCredentials
    from screencodec.transport.channel.limits import Timeouts
    from screencodec.transport.channel.sealed import SecureChannel
    from screencodec.transport.connect.registration import RelayRegistration
    from screencodec.transport.relay.protocol import RELEASE_DISPLAY_GONE

    ui = terminal.ui = TerminalQuestions(terminal.answers, download_dir=args.download_dir)
    injector, no_control = _injector(args)
    done = asyncio.Event()
    commands = _Commands(ui, done, args.once, args.download_dir is not None)

    async def on_channel(channel: SecureChannel) -> None:
        try:
            await host.serve(channel)
        except Exception as exc:
            # walk46: the agent read "the host failed to start the session",
            # the user nothing at all (the --record folder had gone).
            ui.say(f"could not start a session with {safe_text(channel.peer, 100)}:"
                   f" {_start_failure(args, exc)} (the agent was told the host failed to"
                   " start it)")  # fmt: skip
            raise

    x11 = x11_clipboard(primary=True)  # the agent's text goes there; /clip reads it
    clipboard = None if isinstance(x11, str) else x11
    commands.clipboard_why = x11 if isinstance(x11, str) else ""
    host = Host(
        _source_factory(args, kept),
        consent=commands.consent,
        injector=injector,
        config=config,
        file_consent=ui.file_offer if args.download_dir else None,
        recorder=(recorder := _recorder(args)),
        control_unavailable=None if no_control is None else no_control[1],
        on_unavailable=None if no_control is None else _told(ui, no_control[0]),
        clipboard=clipboard,
        on_queued=ui.queued,  # a second agent waits: said when it comes (walk43)
    )
    if recorder is not None:  # said on the loop: it prunes on a session's writer thread
        loop = asyncio.get_running_loop()
        recorder.on_pruned = lambda gone: loop.call_soon_threadsafe(
            ui.say, _pruned_words(args, recorder, gone))
    creds = SessionCredentials()
    host.watch_credentials(creds)
    timeouts = Timeouts(max_duration=args.max_duration)
    commands.host = host
    silences = Silences(StatusLines(ui.out))
    shower = asyncio.ensure_future(_show(host, ui, commands, silences))
    receiver = asyncio.ensure_future(_receiving(host, ui))
    hark = asyncio.ensure_future(_silences(host, ui, silences))
    sayer = asyncio.ensure_future(commands.run(terminal.commands))
    x_gone: list[str] = []  # why the X display was lost, once it was

    def display_lost(why: str) -> None:
        """The injector's or a watcher's X connection failed: the display is
        gone (the user logged out, the X server died). Said in one line; the
        host then ends every session and stops (remote control cannot work,
        and a screen on that display cannot be captured either)."""
        if x_gone or done.is_set():
            return  # said already, or the host is stopping anyway
        x_gone.append(why)
        commands.status = Exit.ERROR
        ui.say(f"the X display {safe_text(os.environ.get('DISPLAY', ''), 40)} is gone"
               f" ({in_words(safe_text(why, 200))}): remote control has stopped; ending the"
               " sessions and stopping")  # fmt: skip
        done.set()

    watchers = _start_watchers(host, display_lost)
    opened: Any = None
    # Ctrl-C again while received files are being saved, or half ones removed
    again = asyncio.Event()
    # The half files of sessions over whose end waits for the disk, said as
    # they come, with how to leave without them (review40a: said nothing).
    ending_told: set[tuple[str, int]] = set()

    def leave_now() -> bool:
        return any((f.peer, f.transfer) in ending_told for f, _ in host.removing(ending=True))

    def others() -> bool:
        """Sessions go on besides those whose end waits for the disk: an
        agent watching, or one away who may come back (files41: the Ctrl-C
        the line named stopped the host and ended them too). Not with
        ``--once``: that end ends the host, and every session with it."""
        if args.once:
            return False
        over = {f.peer for f, _ in host.removing(ending=True)}
        return bool(commands.away) or any(safe_text(p) not in over for p in host.viewers)

    # Whether the last line said that a Ctrl-C stops waiting while the
    # others go on (else that it leaves now): a Ctrl-C does what it read,
    # whoever came or went since (review41a: Bob left after the line, and
    # the Ctrl-C it named "stop waiting" left the host).
    said_goes_on = [False]

    def goes_on() -> bool:
        said_goes_on[0] = others()
        return said_goes_on[0]

    def stop_waiting() -> bool:
        """The Ctrl-C said while others go on: give up the removals said
        (their sessions end now), and run on; False: none, it stops."""
        if not said_goes_on[0]:
            return False
        said = [got for got in host.removing(ending=True)
                if (got[0].peer, got[0].transfer) in ending_told]  # fmt: skip
        host.give_up_saves([(f.peer, f.transfer) for f, _ in said])
        if said:
            ui.say(stopped_waiting_words(said, lambda f: _agents(ui, (f.peer,))), reply=True)
        return True

    commands.ctrl_c_now = lambda: (
        "stop waiting for the disk to remove what came of the half files said (they may then"
        " stay in the folder as hidden temporary files); the other sessions go on"
        if leave_now() and said_goes_on[0] else None)  # fmt: skip
    stopped = _stop_on_signals(done, ui, again, lambda: [*host.saving(), *host.removing()],
                               leave_now=leave_now, stop_waiting=stop_waiting)  # fmt: skip
    ending = asyncio.ensure_future(say_ending_removals(
        lambda: host.removing(ending=True), ui.say, lambda f: _agents(ui, (f.peer,)),
        ending_told, goes_on=goes_on,
        lost=lambda: host.removing(ending=True, lost=True)))  # fmt: skip

    current = [creds]  # the code in use (on_lost gives a new one)

    def on_lost(_: object) -> Any:
        # Someone else registered our code at the relay (it restarted and
        # forgot us): go on under a new code and tell the user to read it out.
        new = current[0] = SessionCredentials()
        host.watch_credentials(new)
        ui.say(
            f"The relay gave your session code to someone else; use this one instead.\n"
            f"Session code: {new.display_code}\nPassword:     {new.password}\n"
            "Read both to your support agent again."
        )
        return new

    try:
        # A stop (Ctrl-C, a signal) while still listening or registering
        # ends the start too: the relay may take 10 s to answer.
        told = _relay_status(ui, commands.relay_lost)  # an agent's link goes with it (walk52)
        opening = asyncio.ensure_future(_open(args, creds, on_channel, timeouts, on_lost,
                                              on_status=told))  # fmt: skip
        stopping = asyncio.ensure_future(done.wait())
        try:
            await asyncio.wait({opening, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not opening.done():
                opening.cancel()
                await asyncio.wait({opening})
        if not opening.cancelled():
            opened, where = opening.result()
        if not done.is_set():
            ui.say(
                f"{where}\nSession code: {creds.display_code}\nPassword:     {creds.password}\n"
                "Read both to your support agent. Nothing is shared until you answer y.\n"
                f"To write to your agent, type {SAY} and your message, then Enter."
                " Type /help for the other commands." + _recording_words(args, recorder)
            )
            await done.wait()
    finally:
        # Also on Ctrl-C (this task is cancelled): the local user must see
        # that sharing stopped, not just that the program ended.
        async def end() -> None:
            try:
                # The agent (and the audit log) gets the local user's Bye first:
                # closing the listener would close each channel without one.
                if not x_gone:
                    commands.ended.update(host.viewers)  # "ended: you ended it", as /end says
                    commands.stopped_by = stopped[0] if stopped else None  # or by a signal
                    # A question still open says the host stopped, not "no" (page51).
                    ui.closing = ui.closing or stopped_words(commands.stopped_by,
                                                             "you stopped the host program")
                reason = X_GONE if x_gone else HOST_STOPPED if stopped else ENDED_BY_USER
                try:
                    await host.disconnect(reason=reason)
                finally:
                    # The code ends with the program: a relay is told so
                    # (RELAY_RELEASE), and tells an agent reconnecting that
                    # the host ended the session, not that its program
                    # stopped (walk35: a SIGTERM read as a crash, status 5);
                    # nor that its user ended it, when its display went
                    # (ends36): an agent away heard no Bye that says so.
                    if x_gone and isinstance(opened, RelayRegistration):
                        opened.release_why = RELEASE_DISPLAY_GONE
                    current[0].end()
                    if opened is not None:
                        await opened.close()
            finally:
                # Whatever closing the listener did: the host releases what the
                # agent held and empties its spare keycodes on the user's screen.
                await host.close()

        # A received file still being written to the disk is waited for,
        # said at once, and a Ctrl-C more leaves without it (cli/saving.py);
        # so is a half one being removed from it (deflake39). Those said
        # already (ending_told) are left at once by the Ctrl-C that stopped it;
        # any other stop says them again, in its words.
        ending.cancel()
        await finish_saving(end(), host.saving, host.give_up_saves, again=again, say=ui.say,
                            sender=lambda f: _agents(ui, (f.peer,)), removing=host.removing,
                            leave=lambda: again_words(stopped[0] if stopped else None),
                            told=ending_told if again.is_set() else None)  # fmt: skip
        tasks = [shower, sayer, receiver, hark, ending, *watchers]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        # An agent away (its link lost) is told of as /end tells it (walk36:
        # a stop said only the banner, not that they can no longer come back).
        away = commands.let_away_go()
        if away and not x_gone:  # (which said it ends the sessions)
            tell(_cannot_come_back(away))
        if commands.sharing:  # also while an agent whose link was lost could come back
            tell(STOPPED)
        if not x_gone:  # (which said why it stops)
            # Said also when nothing was shared, or the user, who was reading
            # the code out, is left to guess whether it still works.
            tell(CODE_GONE)
        settle_stdout()  # after SIGHUP the terminal may be gone
    return commands.status


def _start_failure(args: argparse.Namespace, exc: Exception) -> str:
    """Why the host could not start a session, in the user's words: its
    recording could not be made in the ``--record`` folder (gone, full,
    not writable), or the error itself."""
    if isinstance(exc, OSError) and exc.errno and args.record is not None:
        return f"cannot record it in {args.record}: {os.strerror(exc.errno).lower()}"
    return safe_text(f"{type(exc).__name__}: {exc}", 200)


def run_host(args: argparse.Namespace) -> int:
    # On a terminal, what the person types is kept whole while chat and
    # status lines are printed (cli/terminal.TypedLine); its modes are put
    # back however the host ends.
    typed = TypedLine.on_terminal(sys.stdin, sys.stdout)
    real_stdout = sys.stdout
    if typed is not None:
        sys.stdout = typed.stdout
    # The loop's handlers of Ctrl-C and the ending signals go with it; the
    # ones before are put back once the terminal is (the program's, when
    # run inside one: walk34). A Ctrl-C while the program itself then exits
    # is cli.main's to ignore.
    try:
        with signals_given_back(signal.SIGINT, *ending_signals()):
            try:
                return asyncio.run(_host_main(args, typed))
            finally:
                # The host has ended: a Ctrl-C pressed while the terminal is
                # put back (the loop's handler is gone with the loop) must
                # not turn the exit into a traceback or status 130.
                with contextlib.suppress(ValueError):  # not the main thread
                    signal.signal(signal.SIGINT, signal.SIG_IGN)
                if typed is not None:
                    typed.close()
                    sys.stdout = real_stdout
    except _StartError as exc:
        print(f"screencodec host: {exc}", file=sys.stderr, flush=True)
        return Exit.USAGE
    # A Ctrl-C before the host's own handler is in place (nothing listens
    # yet) goes on up: cli.main makes it exit status 130, no traceback.
