"""Ctrl-C, SIGTERM and SIGHUP while the host runs (:func:`_stop_on_signals`):
each ends the sessions as ``/end`` does (the agent's Bye, its held keys let
go, the recording closed complete), then the program; a Ctrl-C pressed again
while it stops is told that it is under way and changes nothing, and one
while a received file is still written to the disk leaves without it.

Separate: the handlers in force while the loop runs, with the reasons for
each. Those in place before and after the loop (put back however the host
ends, a Ctrl-C at the very end ignored) are host.run_host's, beside the
terminal's modes they are put back with.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from typing import Any

from screencodec.cli.terminal import ending_signals
from screencodec.transport.session.terminal_questions import TerminalQuestions

__all__ = ["_stop_on_signals"]


def _stop_on_signals(done: asyncio.Event, ui: TerminalQuestions, again: asyncio.Event,
                     saving: Callable[[], list[Any]], *,
                     leave_now: Callable[[], bool] = lambda: False,
                     stop_waiting: Callable[[], bool] = lambda: False) -> list[int]:  # fmt: skip
    """SIGTERM (a logout, a service manager) and SIGHUP (the terminal window
    closed; unless ignored, as under nohup) end the host as /end does: the
    agent gets a Bye, the recording is closed complete, and what the agent
    held is let go. Killed outright, the agent's keys would stay down on the
    user's screen. Returns the list the signals received are appended to.

    Ctrl-C (SIGINT) ends it the same way, as the local user's own stop, and
    a Ctrl-C pressed again while the host stops is told it is under way and
    changes nothing. Before, asyncio's handler raised KeyboardInterrupt at the
    second one wherever the shutdown was: a traceback, the recording left
    incomplete, the sharing banner never taken down. One pressed again while
    a received file is being written to the disk (``saving()``) sets
    ``again``: the host leaves without waiting for the disk
    (cli/saving.finish_saving); so does a SIGTERM or SIGHUP received again
    then (a service manager has no Ctrl-C to press). A first Ctrl-C sets
    it too while ``leave_now()``: a session over waits for the disk, and
    the host said a Ctrl-C leaves without it (cli/saving.say_ending_removals);
    unless ``stop_waiting()`` (called then) took it: other sessions go on,
    and only what was said is given up, the host running on (files41)."""
    stopped: list[int] = []
    loop = asyncio.get_running_loop()

    def on_signal(sig: int) -> None:
        if done.is_set() and saving():
            again.set()
        stopped.append(sig)
        done.set()

    def on_interrupt() -> None:
        if not done.is_set() and leave_now() and stop_waiting():
            return
        if (done.is_set() and saving()) or (not done.is_set() and leave_now()):
            again.set()
        elif done.is_set() and not told:
            told.append(True)
            # The reply to the key pressed: at once, a question open or not (hostq38).
            ui.say("(stopping: ending the session and closing what it opened; one moment)",
                   reply=True)
        done.set()

    told: list[bool] = []
    for sig in ending_signals():
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, on_signal, sig)
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # else started in the background
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGINT, on_interrupt)
    return stopped
