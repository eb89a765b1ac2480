"""``screencodec host --download-dir`` (a real process on a pty; the agent
is a viewer in this process) asks about a file whose sender stops waiting
for the answer (its offer timeout, fired by hand once the question is on
the host's screen). Before, the question stayed open: a y typed then created
the file, empty, and it stayed in the download folder until the session
ended while the agent had been told it was not accepted. Expected outcome:
the question is closed, the host's user reads that the agent withdrew the
file, a y typed after that answers nothing, and the folder stays empty."""

from __future__ import annotations

import asyncio
from pathlib import Path

from .test_attack_prompts import PtyHost
from .test_host_cli_commands import AGENT, Where, goes_on, join, leave, run_to_bye, wait


def test_a_file_withdrawn_while_asked_closes_the_question_and_leaves_nothing(
        tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    sent = tmp_path / "notes.txt"
    sent.write_bytes(b"x" * 5000)
    host = PtyHost("--download-dir", str(inbox))

    async def body(at: Where) -> None:
        viewer, task = await join(host, at, "Alice")
        mark = len(host.text)
        sending = asyncio.ensure_future(viewer.sender.send(sent))
        asked = await wait(host, r"Question 2: FILE.*?\[y/N\] ", mark)
        viewer.sender._give_up(1)  # its offer timeout fires now
        assert (await sending).outcome == "declined"
        closed = await wait(host, r"Question 2 closed without an answer: no\.\n", asked.end())
        told = await wait(host, AGENT.format(who="Alice") + r" withdrew the file 'notes\.txt':"
                          r" their viewer stopped waiting for your answer; nothing of it"
                          r" was saved\n", closed.end())
        host.type("y")  # too late: no question is open
        await wait(host, r"\(not sent, and no question is open", told.end())
        await goes_on(host, viewer, told.end())
        assert list(inbox.iterdir()) == []
        await leave(viewer, task)

    run_to_bye(host, body)
    assert list(inbox.iterdir()) == []
