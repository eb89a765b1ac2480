"""The host's terminal input, split in two (:class:`_TerminalInput`): command
lines (``/say``, ``/end``, ...) for host_commands, every other line for the
open question, so that a command never answers a question and an answer
never becomes a command.

Separate: it runs on a thread of its own and hands lines to the event loop;
its rules (a line typed while no question is open is told so, the end of
input answers no) are read apart from what the commands do.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TextIO

from screencodec.cli.say import SAY, Command, command
from screencodec.cli.terminal import TypedLine
from screencodec.transport.session.terminal_questions import TerminalQuestions

__all__ = ["_TerminalInput"]


class _TerminalInput:
    """The terminal's lines, split: command lines (``/say``, ``/view``, ...,
    :func:`~screencodec.cli.say.command`) go on :attr:`commands`; every other
    line goes on to the questions through :attr:`answers`, a pipe (a real
    text stream, so the questions keep their own rules: lines typed before a
    question are discarded, end of input is no).

    A line typed while no question is on screen answers nothing: it is
    told so in one line (with how to chat) and not passed on (it was dropped
    without a word: a user who typed "hello" to the agent saw nothing).
    One typed while a question waits to be shown (``ui.holding``: within a
    second of the one before) is not passed on either: that question says,
    as it shows, that a line typed before it was not taken (settle41); nor
    one read here before the open question began to show and handed on
    after (the loop late: ask42), told so at once. One passed on that the
    question closed before reading is told it answered nothing
    (TerminalQuestions).

    State: a daemon thread reading ``stdin``, through ``typed`` on a
    terminal (:class:`~.terminal.TypedLine`: the typed text stays whole while
    lines are printed), line by line otherwise (daemon: a waiting read must
    not keep the process alive at exit); :attr:`commands` is filled, and the
    pipe written and closed, on the event loop through
    ``call_soon_threadsafe`` (in the order typed); :attr:`ui`, the
    questions, once made (until then every line goes on to them).
    """

    def __init__(self, stdin: TextIO, loop: asyncio.AbstractEventLoop,
                 typed: TypedLine | None = None) -> None:  # fmt: skip
        read_fd, write_fd = os.pipe()
        self.answers: TextIO = os.fdopen(read_fd, "r", encoding="utf-8", errors="replace")
        self._to_questions = os.fdopen(write_fd, "w", encoding="utf-8")
        self.commands: asyncio.Queue[Command] = asyncio.Queue()
        self.ui: TerminalQuestions | None = None
        #: Lines written to :attr:`answers` (Command.after).
        self.passed = 0
        self._loop = loop
        read = stdin.readline if typed is None else typed.readline
        threading.Thread(target=self._run, args=(read,), name="host-terminal",
                         daemon=True).start()  # fmt: skip

    def _run(self, read: Callable[[], str]) -> None:
        try:
            while True:
                try:
                    line = read()
                except (OSError, ValueError):
                    line = ""
                if not line:
                    return  # end of input: closing the pipe reads as "no"
                stamp = time.monotonic()  # typed by now: before a question shown later
                typed = command(line)
                if typed is not None:
                    # Never an answer, even a bare "/say" or an unknown command.
                    self._loop.call_soon_threadsafe(self._command, typed)
                    continue
                self._loop.call_soon_threadsafe(self._typed, line, stamp)
        except (OSError, ValueError, RuntimeError):
            return  # the pipe or the loop is closed: the host is ending
        finally:
            try:
                self._loop.call_soon_threadsafe(self._close)  # after the lines before
            except RuntimeError:  # the loop is closed
                self._close()

    def _command(self, typed: Command) -> None:
        """On the loop: a command, with how many lines went on to the
        questions before it (a /say waits for them to be read)."""
        self.commands.put_nowait(replace(typed, after=self.passed))

    def _typed(self, line: str, stamp: float) -> None:
        """On the loop: a line that is no command goes on to the open
        question, if it was typed (read here at ``stamp``) after it showed."""
        if self.ui is not None and self.ui.typed_before_shown(stamp):
            # Typed as the question's hold ended, handed on after it was
            # shown (ask42): not its answer; told so, with its prompt again.
            return
        if self.ui is not None and self.ui.holding is not None:
            # Typed while a question waits out its hold: not passed on (a
            # line in the pipe as the hold ends could still be read as its
            # answer); that question says, as it shows, it was not taken.
            self.ui.typed_before()
            return
        if self.ui is not None and not self.ui.asking:
            if line.strip():
                self.ui.say(f"(not sent, and no question is open: to write to your agent,"
                            f" type {SAY} and your message)")  # fmt: skip
            return
        with contextlib.suppress(OSError, ValueError):  # closed: the host is ending
            self._to_questions.write(line)
            self._to_questions.flush()
            self.passed += 1

    def _close(self) -> None:
        with contextlib.suppress(OSError):
            self._to_questions.close()

    def close(self) -> None:
        """Close both ends of the pipe (the host has ended): its writing end
        first, so that the questions' reader, blocked reading the other end,
        reads its end and lets go of it (closing the reading end under a
        read waits for the read). The terminal's lines then go nowhere."""
        self._close()
        with contextlib.suppress(OSError):
            self.answers.close()
