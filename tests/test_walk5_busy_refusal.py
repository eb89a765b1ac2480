"""Files the agent sends while the host's user has 3 file questions open
(walk5: ``view``'s ``/send`` five times in a row through a relay). The
host refused the fourth unasked and the agent was told "its user said no or
did not answer in time, or the host takes no files": none of those
(FileAccept carries no reason). Now the host says why before its no, as a
code (files2: payload 0x05 on screencodec.file-results), and the agent is
told that questions wait for an answer there, and to send it again."""

from __future__ import annotations

import asyncio
from pathlib import Path

from screencodec.cli.view import _sent_words
from screencodec.transport import Viewer
from screencodec.transport.session.events import FileSent
from screencodec.transport.session.sidechannels import MAX_PENDING_OFFERS, FileOfferInfo
from test_review1_files import _with_viewer
from transport.helpers import run


def test_walk5_a_file_refused_while_the_user_has_questions_open_says_so(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    files = []
    for k in range(MAX_PENDING_OFFERS + 1):
        path = tmp_path / f"small{k}.txt"
        path.write_text(f"file {k}\n")
        files.append(path)

    async def never(info: FileOfferInfo) -> bool:
        await asyncio.Event().wait()  # the host's user has not answered yet
        return False

    async def send(viewer: Viewer) -> FileSent:
        waiting = [asyncio.ensure_future(viewer.sender.send(p)) for p in files[:-1]]
        while len(viewer.sender._waiting) < len(waiting):  # offered, in this order
            await asyncio.sleep(0.01)
        try:
            return await asyncio.wait_for(viewer.sender.send(files[-1]), 20)
        finally:
            for task in waiting:
                task.cancel()
            await asyncio.gather(*waiting, return_exceptions=True)

    sent = run(_with_viewer(inbox, never, send), 40)
    assert sent.outcome == "declined", sent
    words = _sent_words(files[-1].name, sent.size, sent.outcome, sent.why)
    assert "said no" not in words and "takes no files" not in words, words
    assert "wait" in words or "answer" in words, words
