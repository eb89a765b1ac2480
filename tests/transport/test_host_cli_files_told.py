"""``screencodec host --download-dir`` (a real process on a pty; the agent is
a viewer in this process): a file that is not saved after its question was
put, or after the user's yes, is told every time, in words that say what
happened. Before, only a withdrawal for want of an answer was: a file the
agent's viewer could not read after the yes, one withdrawn for a reason of a
later version, and one the user said yes to that could not be saved went
through the line for files refused unasked ("refused a file from ..."),
which is told at most once per 10 s per agent: the second of them in a row
was not told at all, though the user had said yes. And a file the host's
user sent whose session ended before the agent's viewer confirmed it was
"sent", as if it had arrived."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

from screencodec.cli.view import _sent_words
from screencodec.transport.session import messages as m
from screencodec.transport.session.events import FileSent
from screencodec.transport.session.sidechannels import FILE_RESULTS_CHANNEL

from .test_attack_prompts import PtyHost
from .test_fileresult_cli import _yes
from .test_host_cli_commands import AGENT, LongHost, Where, join, session, wait

#: A reason code for a withdrawal that no version knows yet.
LATER_REASON = 99


def test_every_file_not_saved_after_its_question_is_told(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    files = {}
    for name in ("gone.txt", "withdrawn.txt", "unsaved.txt"):
        files[name] = tmp_path / name
        files[name].write_bytes(b"x" * 3000)
    host = PtyHost("--download-dir", str(inbox))
    alice = AGENT.format(who="Alice")
    try:
        async def body(at: Where) -> None:
            viewer, task = await join(host, at, "Alice")
            # 1: removed before the yes, so the agent's viewer cannot read it after it.
            mark = len(host.text)
            sending = asyncio.ensure_future(viewer.sender.send(files["gone.txt"]))
            asked = await wait(host, r"Question 2: FILE.*?\[y/N\] ", mark)
            files["gone.txt"].unlink()
            host.type("y")
            assert (await sending).outcome == "failed"
            first = await wait(host, alice + r" withdrew the file 'gone\.txt': their viewer could"
                               r" not read it after your yes; nothing of it was saved\n",
                               asked.end())  # fmt: skip
            # 2: said yes to, and its folder gone meanwhile.
            shutil.rmtree(inbox)
            sending = asyncio.ensure_future(viewer.sender.send(files["unsaved.txt"]))
            asked = await wait(host, r"Question 3: FILE.*?\[y/N\] ", first.end())
            host.type("y")
            await sending
            second = await wait(host, r"the file 'unsaved\.txt' \(3\.0 kB\) from " + alice
                                + r" could not be saved: No such file or directory\n",
                                asked.end())  # fmt: skip
            # 3: withdrawn while asked, for a reason of a later version.
            sending = asyncio.ensure_future(viewer.sender.send(files["withdrawn.txt"]))
            asked = await wait(host, r"Question 4: FILE.*?\[y/N\] ", second.end())
            why = bytes([3]) + (3).to_bytes(4, "big") + bytes([LATER_REASON])
            await viewer._send(m.Extension(FILE_RESULTS_CHANNEL, why))  # raw: a reserved channel
            assert (await sending).outcome == "declined"
            await wait(host, alice + r" withdrew the file 'withdrawn\.txt'; nothing of it was"
                       r" saved\n", asked.end())  # fmt: skip
            await viewer.bye("done")
            await task

        session(host, body)
        host.wait_for(r"ended: the agent left, saying: done")
        assert "refused a file" not in host.text
    finally:
        host.close()


def test_a_file_whose_session_ended_before_the_agent_confirmed_it_is_not_said_sent(
    tmp_path: Path,
) -> None:
    """The agent's viewer takes the whole file, and its session ends before
    it says whether it saved it (its machine went down, say: here its
    FileResult is kept back, then it leaves)."""
    notes = tmp_path / "notes.txt"
    notes.write_text("for the agent\n")
    inbox = tmp_path / "in"
    inbox.mkdir()
    host = LongHost()
    try:
        async def body(at: Where) -> None:
            viewer, task = await join(host, at, "Alice", download_dir=inbox, file_consent=_yes)
            ended = asyncio.Event()
            end = viewer.files.end

            def no_word(msg: m.FileEnd, peer: str, send: Any) -> Any:
                async def held(_result: m.Message) -> None:
                    ended.set()  # saved; its FileResult never goes

                return end(msg, peer, held)

            viewer.files.end = no_word  # type: ignore[method-assign]
            mark = len(host.text)
            host.type(f"/send {notes}")
            await ended.wait()
            await viewer.bye("gone")
            await task
            await wait(host, r"sent notes\.txt to " + AGENT.format(who="Alice") + r", but the"
                       r" session ended before their viewer said whether it saved it\n", mark)

        session(host, body)
    finally:
        host.close()


def test_an_unconfirmed_file_says_why() -> None:
    """FileSent.describe() and the agent's terminal say why a file is not
    confirmed when its session ended first (it said only that the peer
    does not confirm files)."""
    why = "the session ended before the peer said whether it saved it"
    sent = FileSent("127.0.0.1:5", "notes.txt", 14, 1, "unconfirmed", why)
    assert sent.describe() == f"sent, not confirmed: {why}"
    assert FileSent("p", "n", 1, 1, "unconfirmed").describe() == (
        "sent (the peer does not confirm files)")
    assert _sent_words("notes.txt", 14, "unconfirmed", why) == (
        "sent notes.txt (14 bytes) to the host, but the session ended before it said whether it"
        " saved it")
    assert _sent_words("notes.txt", 14, "unconfirmed", why, lost=True) == (
        "sent notes.txt (14 bytes) to the host, but the connection to the host was lost before"
        " it said whether it saved it")
