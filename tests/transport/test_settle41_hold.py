"""settle41: a question is not shown within ``TerminalQuestions.HOLD`` of
the close of the one before, so a second ``y`` (a double tap) typed for the
first is typed before the next and answers nothing; a question put later is
shown at once.

Real TerminalQuestions on a pipe with the host's question queue (the pty
host and a CONTROL question: test_consent41_attacks.py)."""

from __future__ import annotations

import asyncio
import io
import os

from screencodec.transport import CONTROL, VIEW
from screencodec.transport.session.consent import (
    QuestionQueue,
    TerminalQuestions,
    ask_file,
    ask_permission,
)
from screencodec.transport.session.permissions import ConsentRequest, Grant
from screencodec.transport.session.sidechannels import FileOfferInfo

from .helpers import run, typing_pipe, until


async def _shown(out: io.StringIO, prompts: int) -> None:
    await until(lambda: out.getvalue().count("[y/N] ") >= prompts, 10, "the question")


async def _steps(n: int = 20) -> None:
    """Let the loop run ``n`` steps, no time passing on purpose."""
    for _ in range(n):
        await asyncio.sleep(0)


def test_a_y_typed_right_after_a_yes_does_not_answer_the_file_question_behind_it() -> None:
    """Question 1 (VIEW) is answered y; a file offer's question is put at
    once and a second y comes 0.3 s after the first. Expected: the file
    question waits (``holding``) until HOLD after the yes, then says the
    line typed before it was not taken, and its own later y saves."""

    async def main() -> None:
        with typing_pipe() as (stdin, w):
            out = io.StringIO()
            ui = TerminalQuestions(stdin, out)
            queue, asker = QuestionQueue(), object()
            assert queue.reserve(asker) and queue.reserve(asker)
            view = ConsentRequest("Dave", "127.0.0.1:1", VIEW)
            first = asyncio.ensure_future(ask_permission(queue, asker, ui.permission, view, 30))
            offer = FileOfferInfo("127.0.0.1:1", "notes.txt", 5, transfer=7)
            second = asyncio.ensure_future(ask_file(queue, asker, ui.file_offer, offer, 30))
            await _shown(out, 1)
            os.write(w, b"y\n")
            assert (await first).value == Grant(VIEW)
            await until(lambda: ui.holding or "Question 2" in out.getvalue(), 10, "its turn")
            assert ui.holding == "Question 2" and "Question 2" not in out.getvalue()
            await asyncio.sleep(0.3)
            os.write(w, b"y\n")  # the double tap
            await _shown(out, 2)
            said = out.getvalue().split("*** Question 1: yes\n", 1)[1]
            assert said.startswith("\n*** A line typed before Question 2 was shown was not"
                                   " taken as its answer.\n*** Question 2: FILE"), said
            assert not second.done() and ui.holding is None
            os.write(w, b"y\n")  # its own answer
            answer = await second
        assert answer.outcome == "answered" and answer.value is True, answer
        assert out.getvalue().endswith("*** Question 2: yes\n"), out.getvalue()

    run(main(), 30)


def test_a_question_put_5s_after_the_last_answer_is_shown_at_once() -> None:
    """Question 1 answered, Question 2 (CONTROL) put 5 s later: shown in
    the loop steps it is put in, nothing held, and no line said not taken."""

    async def main() -> None:
        with typing_pipe() as (stdin, w):
            out = io.StringIO()
            ui = TerminalQuestions(stdin, out)
            queue, asker = QuestionQueue(), object()
            assert queue.reserve(asker)
            view = ConsentRequest("Dave", "127.0.0.1:1", VIEW)
            first = asyncio.ensure_future(ask_permission(queue, asker, ui.permission, view, 30))
            await _shown(out, 1)
            os.write(w, b"y\n")
            assert (await first).value == Grant(VIEW)
            await asyncio.sleep(5)
            assert queue.reserve(asker)
            more = ConsentRequest("Dave", "127.0.0.1:1", CONTROL, upgrade=True)
            second = asyncio.ensure_future(
                ask_permission(queue, asker, ui.permission, more, 30))
            await _steps()
            assert ui.holding is None and out.getvalue().count("[y/N] ") == 2, out.getvalue()
            assert "not taken" not in out.getvalue(), out.getvalue()
            os.write(w, b"n\n")
            answer = await second
        assert answer.outcome == "answered" and not answer.value.granted, answer

    run(main(), 30)
