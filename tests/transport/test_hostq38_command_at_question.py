"""hostq38: a command the host's user types while a question is open is
answered at once, and the question's prompt is shown again.

Found by a walk-through: at a file's ``[y/N]`` a ``/stop`` (or ``/help``)
showed nothing until the question was answered or timed out (30 s), as
every line printed while a question is open was held; a person who types a
command and sees nothing thinks the program hung. Expected: the command's
reply now, then ``*** Question N is still open: y = ...; anything else =
no. [y/N] ``; a ``y`` typed after that still answers that question (and the
command answered none). Lines the user did not ask for (an agent's chat,
events) are still held until the answer: test_consent.

A real ``screencodec host`` on a pty; the agent a viewer in this process."""

from __future__ import annotations

import asyncio
import io
import os
import re
from pathlib import Path

from screencodec.transport import VIEW, Viewer
from screencodec.transport.connect import connect_direct
from screencodec.transport.session.consent import TerminalQuestions
from screencodec.transport.session.events import FileSent
from screencodec.transport.session.permissions import CONTROL, ConsentRequest, Grant
from screencodec.transport.session.sidechannels import FileOfferInfo

from .helpers import run
from .test_attack_prompts import PtyHost
from .test_consent import _Lines
from .test_host_cli_commands import Where, join, leave, run_to_bye, wait

NOTHING = r"\(no file is being sent or received: nothing to stop\)\n"


def _still_open(number: int, means: str) -> str:
    return (rf"\*\*\* Question {number} is still open: {means}; anything else = no\."
            r" \[y/N\] ")  # fmt: skip


def test_stop_at_an_open_file_question_is_answered_at_once(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    notes = tmp_path / "notes.bin"
    notes.write_bytes(os.urandom(30_000))
    host = PtyHost("--download-dir", str(inbox))

    async def body(at: Where) -> None:
        viewer, task = await join(host, at, "Alice")
        mark = len(host.text)
        sending = asyncio.ensure_future(viewer.sender.send(notes))
        asked = await wait(host, r"Question 2: FILE.*?\[y/N\] ", mark)
        host.type("/stop")
        # Before the answer: the reply, then the question's prompt again.
        said = await wait(host, NOTHING, asked.end())
        again = await wait(host, _still_open(2, "y = save this one file in "
                                             + re.escape(str(inbox))), said.end())
        assert "Question 2: " not in host.text[asked.end():], host.text
        assert not sending.done()
        host.type("y")  # typed after the prompt was shown again: it answers question 2
        sent = await asyncio.wait_for(sending, 20)
        assert isinstance(sent, FileSent) and sent.outcome == "delivered", sent
        await wait(host, r"\*\*\* Question 2: yes\n", again.end())
        assert (inbox / "notes.bin").read_bytes() == notes.read_bytes()
        await leave(viewer, task)

    run_to_bye(host, body)
    assert "Question 2: no" not in host.text


def test_help_at_an_open_permission_question_is_answered_at_once() -> None:
    host = PtyHost()

    async def body(at: Where) -> None:
        viewer = Viewer(await connect_direct("127.0.0.1", *at), who="Alice")
        started = asyncio.ensure_future(viewer.start(VIEW))
        asked = await wait(host, r"Question 1: SCREEN SHARING.*?\[y/N\] ")
        host.type("/help")
        listed = await wait(host, r"/stop [^\n]*\n.*?Ctrl-C [^\n]*\n", asked.end())
        again = await wait(host, _still_open(1, r"y = let them SEE your screen, nothing more"),
                           listed.end())  # fmt: skip
        assert "Question 1: " not in host.text[asked.end():], host.text
        assert not started.done()
        host.type("/stop")  # a second command: its reply, the prompt again
        said = await wait(host, NOTHING, again.end())
        again = await wait(host, _still_open(1, r"y = let them SEE your screen, nothing more"),
                           said.end())  # fmt: skip
        host.type("y")
        assert await started == VIEW
        await wait(host, r"\*\*\* Question 1: yes\n", again.end())
        await leave(viewer, asyncio.ensure_future(viewer.run()))

    run_to_bye(host, body)
    assert "Question 1: no" not in host.text


async def _prompted(out: io.StringIO, times: int = 1) -> None:
    while out.getvalue().count("[y/N] ") < times:
        await asyncio.sleep(0.005)


def test_terminal_questions_print_a_reply_at_once_and_hold_the_rest() -> None:
    """On its own: inside ``replying()`` a task's lines are printed at once
    and the prompt shown again once the block ends; another task's line
    (an event), and one of a task the block started, still wait for the
    answer; the next line typed answers the question."""

    async def main() -> None:
        stdin, out = _Lines(), io.StringIO()
        ui = TerminalQuestions(stdin, out)
        asking = asyncio.ensure_future(ui.file_offer(FileOfferInfo(
            "1.2.3.4:5", "notes.txt", 10, question=4)))  # fmt: skip
        await _prompted(out)
        shown = out.getvalue()
        ui.say("an event")  # not asked for: held
        ui.say("[shared] 30 fps", status=True)  # dropped

        async def later() -> None:
            ui.say("a line from a task the command started")

        async def command() -> asyncio.Task[None]:
            with ui.replying():
                ui.say("reply one")
                await asyncio.sleep(0)
                ui.say("reply two")
                return asyncio.ensure_future(later())

        await (await command())
        assert out.getvalue()[len(shown):] == (
            "\n" "reply one\n" "reply two\n"  # a StringIO echoes nothing: a row of its own
            "*** Question 4 is still open: y = save this one file; anything else = no. [y/N] ")
        ui.say("one more reply", reply=True)  # one line: the prompt after it
        assert out.getvalue().endswith(
            "[y/N] \none more reply\n*** Question 4 is still open: y = save this one file;"
            " anything else = no. [y/N] ")  # fmt: skip
        stdin.feed("y\n")  # typed after the prompt was shown again: the answer
        assert await asyncio.wait_for(asking, 5) is True
        after = out.getvalue().rpartition("[y/N] ")[2]
        assert after == ("*** Question 4: yes\nan event\n"
                         "a line from a task the command started\n")
        with ui.replying():  # no question open: printed as ever, nothing shown again
            ui.say("no question")
        assert out.getvalue().endswith("started\nno question\n")

    run(main())


def test_a_prompt_shown_again_keeps_the_settle_rule() -> None:
    """A question closed unanswered and the next put at once: a reply shows
    the new one's prompt again, and a ``y`` right after still answers
    nothing (it was typed for the one that closed); the next line does."""

    async def main() -> None:
        stdin, out = _Lines(), io.StringIO()
        ui = TerminalQuestions(stdin, out, settle=30.0)
        first = asyncio.ensure_future(ui.file_offer(FileOfferInfo(
            "1.2.3.4:5", "notes.txt", 10, question=1)))  # fmt: skip
        await _prompted(out)
        first.cancel()  # withdrawn: closed without an answer
        await asyncio.gather(first, return_exceptions=True)
        second = asyncio.ensure_future(
            ui.permission(ConsentRequest("agent", "1.2.3.4:5", CONTROL, True, 2)))
        await _prompted(out, 2)
        ui.say("(no file is being sent or received: nothing to stop)", reply=True)
        assert out.getvalue().endswith("*** Question 2 is still open: y = let them CONTROL"
                                       " your mouse and keyboard, nothing more; anything else"
                                       " = no. [y/N] ")  # fmt: skip
        stdin.feed("y\n")
        while "not taken as the answer to Question 2" not in out.getvalue():
            await asyncio.sleep(0.005)
        assert not second.done()
        stdin.feed("n\n")
        assert await asyncio.wait_for(second, 5) == Grant.deny()

    run(main())
